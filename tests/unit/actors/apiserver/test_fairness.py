"""What a request's claim classifies it as before it is authenticated (``fairness``): a claim
of another's inbox, with other credentials or none, never borrows that user's flow."""

from __future__ import annotations

from typing import Any

from actors.api import flowcontrol
from actors.api.users import UserInfo
from actors.apiserver.classifying import policy
from actors.apiserver.fairness import Identities, asked
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.subjects import Subjects

SUBJECTS = Subjects()
ADMIN = UserInfo("admin", groups=("system:masters", "system:authenticated"))
ALICE = UserInfo("alice", groups=("system:authenticated",))


def _request(owner: str, auth: dict[str, Any] | None) -> Incoming:
    return Incoming(f"{SUBJECTS.prefix}.api.core.v1.configmaps.list",
                    Envelope(verb="list", auth=auth, namespace="default"),
                    f"{SUBJECTS.inbox_prefix}.{owner}.x1")


def _flow(identities: Identities, incoming: Incoming) -> tuple[str, str]:
    flow = policy(flowcontrol.defaults()).classify(
        asked(incoming, SUBJECTS, identities.user(incoming)))
    return flow.level.name, flow.key


def test_a_forged_inbox_is_classified_neither_exempt_nor_as_its_owner():
    identities = Identities(SUBJECTS)
    for user, token in ((ADMIN, "tok-admin"), (ALICE, "tok-alice")):
        identities.learn(_request(user.name, {"token": token}), user)
    assert _flow(identities, _request("admin", {"token": "tok-admin"}))[0] == "exempt"
    alice = _flow(identities, _request("alice", {"token": "tok-alice"}))
    assert alice == ("global-default", "global-default/alice")
    forged: tuple[dict[str, Any] | None, ...] = (
        {"token": "tok-mallory"}, {}, None, {"ticket": b"mallory's"})
    for auth in forged:
        assert _flow(identities, _request("admin", auth))[0] != "exempt"
        assert _flow(identities, _request("alice", auth)) != alice


def test_a_forwarded_certificate_without_the_fronts_own_credential_is_not_the_forwarded_user():
    """A certificate is no secret: naming the front's inbox and forwarding the admin's
    certificate, without the front's own ticket, does not make a request exempt."""
    identities = Identities(SUBJECTS)
    front = "system:kube-apiserver-https"
    forwarded = {"certificate": b"admin's DER"}
    identities.learn(_request(front, {"ticket": b"front's", "forwarded": forwarded}), ADMIN)
    assert _flow(identities, _request(front, {"ticket": b"front's",
                                              "forwarded": forwarded}))[0] == "exempt"
    for auth in ({"forwarded": forwarded}, {"token": "tok-mallory", "forwarded": forwarded}):
        assert _flow(identities, _request(front, auth))[0] != "exempt"
