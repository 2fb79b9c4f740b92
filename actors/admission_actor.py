"""A base class for writing an external admission actor: subclass, write ``admit``, register.

    class ImagePolicy(AdmissionActor):
        def admit(self, review: Review) -> Verdict:
            return Verdict(allowed=True) if ok(review.object) else deny("not allowed")

    ImagePolicy.start(connection, "image-policy")

The actor serves ``P.admission.<name>`` (queue group ``<name>``, so replicas share the
reviews); an ``AdmissionRegistration`` whose ``spec.subject`` is that name makes the apiserver
ask it (see ``actors.apiserver.admission.external``). On a locked-down bus a plain name is the
admin's to serve; any identity serves names ``<its NATS user>.<actor>``
(``ImagePolicy.start(connection, "policy-bot.images")`` on a connection of certificate user
``policy-bot``): :meth:`AdmissionActor.start` raises PermissionViolation at once, saying the
name to use, when the bus would refuse the name, rather than an actor that dies after it
started. ``admit`` runs on the actor's thread, one review at a time; it should answer well
within the registration's ``timeoutSeconds``. An exception in ``admit`` answers 500, which
the apiserver treats as a failed call (failurePolicy decides). ``actors.ext.admitting`` runs
an actor's ``admit`` on review objects, without a bus, for unit tests.

Neighbours: ``bus.actor`` (the bus side), ``actors.api.admission`` (the wire types),
``actors.apiserver.admission.external`` (the apiserver's side).
"""

from __future__ import annotations

from typing import Any

import pykka

from actors.api.admission import Review, Verdict
from bus.actor import BusActor
from bus.connection import Connection, Incoming
from bus.envelope import Envelope
from bus.errors import BadRequest, PermissionViolation
from bus.permissions import APISERVER

__all__ = ["AdmissionActor", "Review", "Verdict", "allow", "deny", "patch"]


def allow() -> Verdict:
    return Verdict(allowed=True)


def deny(message: str, code: int = 400) -> Verdict:
    """Refuse; the user reads ``admission webhook "NAME" denied the request: MESSAGE`` with
    ``code`` (400, as Kubernetes answers a webhook's denial without a code)."""
    return Verdict(allowed=False, message=message, code=code)


def patch(*operations: dict[str, Any]) -> Verdict:
    """Allow with JSON Patch operations (RFC 6902) on the object (mutating registrations)."""
    return Verdict(allowed=True, patch=list(operations))


def _nothing(incoming: Incoming) -> None:
    """The probe's handler: reviews it sees are the actors' (served in their queue group)."""


class AdmissionActor(BusActor):
    """See the module docstring. Subclasses implement :meth:`admit`."""

    answers = (APISERVER,)
    """Reviews come from the apiserver: an answer goes into its inbox, nowhere else."""

    def __init__(self, connection: Connection, name: str) -> None:
        super().__init__(connection)
        self.name = name

    @classmethod
    def start(cls, connection: Connection, name: str,
              *args: Any, **kwargs: Any) -> pykka.ActorRef[Any]:
        """Start serving ``name`` on ``connection`` (further arguments go to ``__init__``);
        PermissionViolation, nothing started, when its identity may not serve that name."""
        try:
            probe = connection.subscribe(connection.subjects.admission(name), _nothing)
        except PermissionViolation as refused:
            own = f"{connection.owner}.{name.rpartition('.')[2]}"
            raise PermissionViolation(
                f"{refused}: an identity serves the admission names <its NATS user>.<actor>; "
                f"start it as {own!r} and register it with spec.subject: {own}") from None
        connection.unsubscribe(probe)
        return super().start(connection, name, *args, **kwargs)

    def subscriptions(self) -> list[tuple[str, str]]:
        return [(self.subjects.admission(self.name), self.name)]

    def admit(self, review: Review) -> Verdict:
        """Decide about one request; must not block for long."""
        raise NotImplementedError(f"{type(self).__name__} must implement admit(review)")

    def handle(self, incoming: Incoming) -> Envelope | None:
        try:
            review = Review.of(incoming.envelope.body)
        except ValueError as error:
            raise BadRequest(f"{self.name}: {error}") from None
        verdict = self.admit(review)
        return incoming.envelope.reply(verdict.response(review.uid), sender=self.name)
