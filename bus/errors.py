"""The error tree of kubeactor: what went wrong, and what the caller should do about it.

Every error a component can see on the wire is an :class:`ApiError` carrying a Kubernetes
status (``code``, ``reason``, ``message``); the transport's own failures are :class:`BusError`.
Foreign exceptions (nats, docker, sqlite, the filesystem) are translated into these at the
boundary that meets them (:func:`translated`), so callers never catch a library's exception
type, and the ``kubeactor`` command catches this tree and nothing else. Leaves declared beside
the code that raises them are drawn here with their module::

    KubeactorError
    +-- BusError                      transport trouble; retrying later may help
    |   +-- BusTimeout                no reply within the deadline (surfaces as 504)
    |   |   +-- ReplyLost             the connection dropped while the reply was awaited: none
    |   |                             will come (504 too: done or not, as a timeout)
    |   +-- NoResponders              nobody serves that subject (surfaces as 503)
    |   +-- ConnectionLost            the connection dropped and is not back (within its
    |   |                             reconnect window, or the request's deadline)
    |   +-- PayloadTooLarge           over the server's max payload; not sent (narrow the query)
    |   +-- PermissionViolation       the locked-down bus refuses this identity that subject
    |   +-- NatsServerMissing         (bus.server) the nats-server binary is not installed
    +-- ApiError(code, reason)        a status from the apiserver; ``retryable`` says if it helps
    |   +-- BadRequest      400       malformed envelope or request; fix the caller
    |   |   +-- PatchError            (actors.api.jsonpatch) a JSON patch that cannot apply
    |   +-- Unauthorized    401       who you are could not be established
    |   +-- Forbidden       403       you may not do this; the message names the permission
    |   +-- NotFound        404
    |   +-- MethodNotAllowed 405      that verb does not apply to that (sub)resource
    |   +-- AlreadyExists   409       create of an existing name
    |   +-- Conflict        409       stale resourceVersion; re-read and retry
    |   +-- Gone            410       watch revision compacted; relist
    |   +-- RequestEntityTooLarge 413 the object or request is too big for the bus
    |   +-- UnsupportedMediaType 415  a body (a patch) of a type the server does not read
    |   +-- Invalid         422       the object fails validation
    |   +-- TooManyRequests 429       the server is full; retry after a pause
    |   +-- InternalError   500
    |   +-- SpaceExceeded   500       the store is full (etcd's quota); delete, then retry
    |   +-- ServiceUnavailable 503
    |   |   +-- Unreachable           (a client's own) no apiserver can be reached at all: the
    |   |                             CLI says ``Unable to connect to the server`` and stops
    |   +-- ServerTimeout   504
    +-- TemporaryError(delay)         try again after ``delay`` seconds, or the back-off (kopf)
    +-- PermanentError                a reconcile that retrying cannot mend: not retried until
    |                                 its object changes (controller-runtime's TerminalError)
    +-- UsageError                    what was asked cannot work as given; nothing was done:
    |   |                             fix it and ask again (the CLI: ``error: ...``, exit 1)
    |   +-- KubeConfigError           (bindings.kubeconfig) missing, unreadable or malformed
    |   +-- ManifestError             (bindings.cli.manifests) a manifest cannot be read or mapped
    |   +-- JsonPathError             (actors.api.jsonpath) an output template cannot be parsed
    |   +-- RolloutError              (bindings.cli.workloads) kubectl's refusal of a rollout action
    |   +-- CaptureError              (bindings.cli.tracing) not a ``trace --record`` capture
    +-- RolloutFailed                 (bindings.cli.printers) past its progress deadline: it will
    |                                 not finish by itself
    +-- ClusterError                  (bindings.cluster.config) the cluster could not start; the
    |                                 message says what to do
    +-- RuntimeFailure(reason)        (actors.kubelet.runtime) a container could not be made to run
    +-- NkeyError                     (bus.nkeys) a key, seed or JWT that is malformed or
                                      wrongly signed

How a controller retries (``actors.controllers.controller``): a :class:`TemporaryError` after its
delay, a :class:`PermanentError` or an :class:`ApiError` that is not ``retryable`` not at all (until
the object changes), anything else with exponential back-off.

Misuse of an API (a plugin that extends nothing, a ``BusActor`` overriding ``on_receive``)
raises ``TypeError`` or ``ValueError`` as Python does, outside this tree: it is a bug to fix,
not a condition to handle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar


class KubeactorError(Exception):
    """Base of every error kubeactor raises on purpose."""


@contextlib.contextmanager
def translated(into: type[KubeactorError], foreign: tuple[type[Exception], ...] = (OSError,)
               ) -> Iterator[None]:
    """Raise ``into`` (with the same message) for an exception of the ``foreign`` types
    raised inside the block: the translation at a boundary, as httpcore's
    ``map_exceptions``."""
    try:
        yield
    except foreign as error:
        raise into(str(error)) from error


class TemporaryError(KubeactorError):
    """Not yet: try again after ``delay`` seconds (kopf's ``TemporaryError``), or None: after
    the caller's exponential back-off. A controller's reconcile raises it to be called again
    then, whatever error it wraps (a Forbidden create refused by a quota may pass later)."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(KubeactorError):
    """Trying again cannot help (kopf's ``PermanentError``, controller-runtime's
    ``TerminalError``): a controller logs it and does not retry until the object changes."""


class UsageError(KubeactorError):
    """What was asked cannot work as given (a command line, a file, a template); nothing was
    done. The ``kubeactor`` command prints it as ``error: <message>`` and exits 1."""


class BusError(KubeactorError):
    """The bus could not carry a message; the request may or may not have been processed."""


class BusTimeout(BusError):
    """No reply arrived before the deadline."""


class ReplyLost(BusTimeout):
    """The connection lost its server while the request awaited its reply: the reply went, or
    goes, through the server lost, so none will come. Said once the connection is back (lost for
    good: :class:`ConnectionLost` instead). As a timeout: the request may or may not have been
    processed, and a read may be asked again at once."""


class NoResponders(BusError):
    """No subscriber serves the subject (is the apiserver running?)."""


class ConnectionLost(BusError):
    """The connection lost its server and did not get one back in time (its reconnect window,
    ``BusConfig.reconnect_window``, or the request's deadline): the request may or may not have
    been processed. Retrying helps once the bus is back."""


class PayloadTooLarge(BusError):
    """The message exceeds the NATS server's max payload and was not sent."""


class PermissionViolation(BusError):
    """The bus refused this connection's NATS user a subscription (bus.permissions): use the
    credentials of an identity allowed there; retrying does not help."""


class ApiError(KubeactorError):
    """A failed request, described as Kubernetes describes it: code, reason, message."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.has_details = details is not None
        """Said even when empty: kube's NotFound of a path it does not serve has ``details:
        {}``, which kubectl reads (``debug`` takes a nil one for a crash)."""

    def to_status(self) -> dict[str, Any]:
        """The Kubernetes ``Status`` object for this error (kind, code, reason, message)."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
        }
        if self.details or self.has_details:
            status["details"] = self.details
        return status

    @staticmethod
    def from_status(status: dict[str, Any]) -> ApiError:
        """Rebuild the matching leaf from a status received on the wire."""
        reason = str(status.get("reason", ""))
        code = int(status.get("code", 500))
        cls = _BY_REASON.get(reason) or _BY_CODE.get(code, InternalError)
        return cls(str(status.get("message", reason)), details=status.get("details"))


class BadRequest(ApiError):
    code, reason = 400, "BadRequest"


class Unauthorized(ApiError):
    code, reason = 401, "Unauthorized"


class Forbidden(ApiError):
    code, reason = 403, "Forbidden"


class NotFound(ApiError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(ApiError):
    code, reason = 405, "MethodNotAllowed"


class AlreadyExists(ApiError):
    code, reason = 409, "AlreadyExists"


class Conflict(ApiError):
    code, reason, retryable = 409, "Conflict", True


class Gone(ApiError):
    code, reason, retryable = 410, "Expired", True


class NotAcceptable(ApiError):
    code, reason = 406, "NotAcceptable"


class RequestEntityTooLarge(ApiError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(ApiError):
    code, reason = 422, "Invalid"


class TooManyRequests(ApiError):
    code, reason, retryable = 429, "TooManyRequests", True


class InternalError(ApiError):
    code, reason, retryable = 500, "InternalError", True


class SpaceExceeded(ApiError):
    """The store refused a write past its quota (``--quota-backend-bytes``), as kube-apiserver
    relays etcd's ``mvcc: database space exceeded``: 500 with no reason (an error the storage
    layer does not translate). Reads and deletes are still served; writes fit again once
    deletes have made room. Received, it comes back as an InternalError (by its code)."""

    code, reason = 500, ""


class ServiceUnavailable(ApiError):
    code, reason, retryable = 503, "ServiceUnavailable", True


class Unreachable(ServiceUnavailable):
    """No apiserver can be reached: the client's bus connection is lost, or nobody serves the
    API on the bus. Raised by the client itself, never sent on the wire (received, a 503 is a
    plain ServiceUnavailable); every later request would fail the same way, so a command stops
    at the first (kubectl's ``Unable to connect to the server``)."""


class ServerTimeout(ApiError):
    code, reason, retryable = 504, "Timeout", True


_LEAVES: tuple[type[ApiError], ...] = (
    BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, AlreadyExists, Conflict,
    Gone, NotAcceptable,
    RequestEntityTooLarge, UnsupportedMediaType, Invalid,
    TooManyRequests, InternalError, ServiceUnavailable, ServerTimeout,
)
_BY_REASON = {cls.reason: cls for cls in _LEAVES}
_BY_CODE = {cls.code: cls for cls in reversed(_LEAVES)}


def api_error(error: BusError) -> ApiError:
    """The ApiError a client of the apiserver raises for a failure of the bus under its request:
    a missed deadline is 504, a request too big for the bus 413, a connection lost or an API
    nobody serves :class:`Unreachable` (every later request would fail alike), the rest 503."""
    if isinstance(error, BusTimeout):
        return ServerTimeout(f"the server did not answer in time: {error}")
    if isinstance(error, PayloadTooLarge):
        return RequestEntityTooLarge(f"the request is too large: {error}")
    if isinstance(error, ConnectionLost | NoResponders):
        return Unreachable(str(error))
    return ServiceUnavailable(f"the apiserver cannot be reached: {error}")
