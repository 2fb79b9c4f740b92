"""The pipeline's first steps: what a bus message asks, and who asks it.

:class:`Decoding` (mixed into :class:`~actors.apiserver.server.ApiServer`) turns an incoming
message into a :class:`~actors.apiserver.requests.Request`: the subject parsed and checked
against what is served (404, 405), the sender authenticated (``authn``), its reply subject
checked (``busauth.check_reply``), the options parsed (``options``), then the forwarded
credentials of a front and the impersonation applied. What a subject asks for is remembered
per subject while the resources served stay the same (each worker its own: a flood sends the
same few subjects). :func:`attributes` is what RBAC is asked.

Neighbours: ``server`` (the pipeline that calls in here), ``authn``, ``busauth``, ``options``,
``rbac`` (the decisions it applies); ``http.discovery`` (reads :data:`VERBS`).

Which thread: the worker's actor thread.
"""

from __future__ import annotations

from actors.api import bindingbatches, discovery
from actors.api.discovery import Served
from actors.api.resources import REVIEWS, ResourceInfo
from actors.api.selectors import required_field
from actors.apiserver.authn import Authenticator, Forwarding, Signed, impersonation
from actors.apiserver.busauth import check_reply
from actors.apiserver.customresources import CustomResources
from actors.apiserver.options import parse_options
from actors.apiserver.rbac import Attributes, Authorizer
from actors.apiserver.requests import ApiServerConfig, Pending, Request
from bus.errors import BadRequest, MethodNotAllowed, NotFound, Unauthorized
from bus.subjects import Subjects

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
SUBRESOURCE_VERBS = {"status": ("get", "update", "patch"), "binding": ("create",),
                     "eviction": ("create",),
                     "log": ("get",), "exec": ("create",), "attach": ("create",),
                     "scale": ("get", "update", "patch"),
                     "finalize": ("update",), "approval": ("get", "update", "patch"),
                     "token": ("create",)}
"""The verbs each subresource answers; any other is 405, never the parent's handler."""
MAX_SUBJECTS = 4096
"""Subjects whose meaning a worker remembers before starting afresh."""
Asked = tuple[str, str, ResourceInfo, str | None]
"""What a request's subject asks for: the verb, the resource as named, the resource served,
the subresource (None: the resource itself)."""


class Decoding:
    """See the module docstring. What it uses of the pipeline is declared here."""

    config: ApiServerConfig
    subjects: Subjects
    authenticator: Authenticator
    authorizer: Authorizer
    forwarding: Forwarding | None
    resources: CustomResources
    _asked_of: Served | None = None
    """The resources served when :attr:`_asked_by_subject` was started."""
    _asked_by_subject: dict[str, Asked]
    """What each subject served asks for (:meth:`_asked`); this worker's own."""

    def _decode(self, pending: Pending) -> Request:
        incoming = pending.incoming
        envelope = incoming.envelope
        verb, resource, info, subresource = self._asked(incoming.subject)
        if envelope.verb not in (None, verb) or envelope.resource not in (None, resource):
            raise BadRequest("envelope verb/resource do not match the subject")
        for field_ in ("namespace", "name"):
            if not isinstance(getattr(envelope, field_), str | None):
                raise BadRequest(f"envelope field {field_!r} must be a string")
        user = pending.sender = self.authenticator.authenticate(
            envelope.auth, Signed(incoming.subject, incoming.data, incoming.mac,
                                  incoming.reply_to or ""))
        check_reply(user, incoming.reply_to, self.subjects)
        namespace = envelope.namespace if info.namespaced else None
        if info.namespaced and not namespace and verb not in ("list", "watch") and not (
                subresource == "binding" and bindingbatches.is_batch(envelope)):
            raise BadRequest(f"{verb} {info.name} needs a namespace")
        options = parse_options(envelope.options, self.subjects)
        if options.version is not None and options.version not in discovery.versions(info):
            raise NotFound(f'the server could not find the requested resource (version '
                           f'"{options.version}" of {info.qualified} is not served)')
        request = Request(verb, info, subresource=subresource,
                          namespace=namespace or None, name=envelope.name or None, user=user,
                          envelope=envelope, options=options)
        self._forwarded(request)
        self._impersonate(request)
        return request

    def _asked(self, subject: str) -> Asked:
        """What ``subject`` asks for (NotFound, MethodNotAllowed when this apiserver serves no
        such thing), remembered per subject served (a flood sends the same few) for the
        resources served now: a change of them (a CRD's) starts afresh."""
        served = self.resources.served
        if self._asked_of is not served:
            self._asked_by_subject, self._asked_of = {}, served
        asked = self._asked_by_subject.get(subject)
        if asked is None:
            asked = _meaning(self.subjects, served, subject, self.config.server)
            if len(self._asked_by_subject) >= MAX_SUBJECTS:
                self._asked_by_subject.clear()
            self._asked_by_subject[subject] = asked
        return asked

    def _forwarded(self, request: Request) -> None:
        """Act for the client whose credentials a front forwarded (``auth.forwarded``)."""
        auth = request.envelope.auth or {}
        if "forwarded" not in auth:
            return
        if self.forwarding is None:
            raise Unauthorized("Unauthorized: this apiserver takes no forwarded credentials")
        request.via, request.user = request.user, self.forwarding.user(auth["forwarded"],
                                                                       request.user)

    def _impersonate(self, request: Request) -> None:
        """Act as the identity ``auth.impersonate`` names, if the sender may (RBAC verb
        ``impersonate`` on ``users`` and on each of ``groups``, as in Kubernetes)."""
        wanted = impersonation(request.envelope.auth)
        if wanted is None:
            return
        asked = [("users", wanted.name)] + [("groups", g) for g in wanted.groups
                                            if g != "system:authenticated"]
        for resource, name in asked:
            self.authorizer.authorize(Attributes(request.user, "impersonate", group="",
                                                 resource=resource, subresource=None,
                                                 namespace=None, name=name))
        request.impersonator, request.user = request.user, wanted


def _meaning(subjects: Subjects, served: Served, subject: str, server: str | None) -> Asked:
    """What :meth:`Decoding._asked` remembers: the meaning of a request's subject for an
    apiserver process ``server`` serving ``served``."""
    parsed = subjects.parse_api(subject)
    if parsed is None:
        raise NotFound(f"the server could not find the requested resource "
                       f"({subject} is not <prefix>.api.<group>.<resource>.<verb>)")
    if parsed.server not in (None, server):
        raise NotFound(f'no apiserver process "{parsed.server}" serves this cluster')
    resource, _, subresource = parsed.resource.partition("/")
    info = served.lookup(parsed.group, resource)
    if subresource and subresource not in info.subresources:
        raise NotFound(f'{resource} has no subresource "{subresource}"')
    if subresource and parsed.verb not in SUBRESOURCE_VERBS.get(subresource, ()):
        raise MethodNotAllowed(f'the server does not allow "{parsed.verb}" on '
                               f"{resource}/{subresource}")
    if info.name in REVIEWS and parsed.verb != "create":
        raise MethodNotAllowed(f'the server does not allow "{parsed.verb}" on {resource}')
    if parsed.verb not in VERBS:
        raise MethodNotAllowed(f'the server does not allow the verb "{parsed.verb}" on '
                               f"{resource} (known: {', '.join(VERBS)})")
    return parsed.verb, resource, info, subresource or None


def attributes(request: Request) -> Attributes:
    """What ``request`` asks, for the authorizers. As in Kubernetes, a create is not
    authorized by name (the name is in the body), and a list or watch is by the name its
    field selector asks for (``metadata.name=<name>``)."""
    name = request.name if request.verb != "create" or request.subresource else None
    selector = request.options.field_selector
    if request.verb in ("list", "watch"):
        name = required_field(selector, "metadata.name")
    return Attributes(request.user, request.verb, group=request.info.group,
                      resource=request.info.name, subresource=request.subresource,
                      namespace=request.namespace, name=name, field_selector=selector)
