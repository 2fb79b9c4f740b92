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
``policy-bot``). ``admit`` runs on the actor's thread, one review at
a time; it should answer well within the registration's ``timeoutSeconds``. An exception
in ``admit`` answers 500, which the apiserver treats as a failed call (failurePolicy decides).

Neighbours: ``bus.actor`` (the bus side), ``actors.api.admission`` (the wire types),
``actors.apiserver.admission.external`` (the apiserver's side).
"""

from __future__ import annotations

from typing import Any

from actors.api.admission import Review, Verdict
from bus.actor import BusActor
from bus.connection import Connection, Incoming
from bus.envelope import Envelope
from bus.errors import BadRequest
from bus.permissions import APISERVER

__all__ = ["AdmissionActor", "Review", "Verdict", "allow", "deny", "patch"]


def allow() -> Verdict:
    return Verdict(allowed=True)


def deny(message: str, code: int = 403) -> Verdict:
    """Refuse; the user reads ``admission webhook "NAME" denied the request: MESSAGE``."""
    return Verdict(allowed=False, message=message, code=code)


def patch(*operations: dict[str, Any]) -> Verdict:
    """Allow with JSON Patch operations (RFC 6902) on the object (mutating registrations)."""
    return Verdict(allowed=True, patch=list(operations))


class AdmissionActor(BusActor):
    """See the module docstring. Subclasses implement :meth:`admit`."""

    answers = (APISERVER,)
    """Reviews come from the apiserver: an answer goes into its inbox, nowhere else."""

    def __init__(self, connection: Connection, name: str) -> None:
        super().__init__(connection)
        self.name = name

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
