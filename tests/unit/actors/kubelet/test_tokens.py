"""The kubelet's token manager (actors/kubelet/tokens.py): a token bound to its pod, kept, asked
for again at 80% of its life, forgotten with the pod."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.kubelet.tokens import TokenManager

POD = {"metadata": {"name": "web", "namespace": "team", "uid": "u1"},
       "spec": {"serviceAccountName": "builder"}}


class Api:
    """Answers TokenRequests with numbered tokens; remembers what was asked."""

    def __init__(self, clock: list[float]) -> None:
        self.clock, self.asked = clock, []

    def request(self, verb: str, resource: str, **call: Any) -> dict:
        self.asked.append((verb, resource, call))
        seconds = call["body"]["spec"]["expirationSeconds"]
        expires = datetime.fromtimestamp(self.clock[0] + seconds, UTC)
        return {"status": {"token": f"t{len(self.asked)}",
                           "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def test_a_token_is_bound_to_its_pod_kept_and_renewed_at_80_percent_of_its_life():
    clock = [1_800_000_000.0]
    api = Api(clock)
    manager = TokenManager(api, clock=lambda: clock[0])  # type: ignore[arg-type]
    source = {"expirationSeconds": 1000, "audience": "vault"}
    assert manager.token(POD, source) == b"t1"
    verb, resource, call = api.asked[0]
    assert (verb, resource, call["name"], call["namespace"], call["subresource"]) == (
        "create", "serviceaccounts", "builder", "team", "token")
    assert call["body"]["spec"] == {"expirationSeconds": 1000, "audiences": ["vault"],
                                    "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                       "name": "web", "uid": "u1"}}
    assert manager.due("u1") == clock[0] + 800
    clock[0] += 799
    assert manager.token(POD, source) == b"t1"
    clock[0] += 1
    assert manager.token(POD, source) == b"t2"
    manager.forget("u1")
    assert manager.due("u1") is None
