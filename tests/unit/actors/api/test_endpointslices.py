"""Slices from pods: conditions, named target ports, 100 a slice, the plan, the mirror."""

from __future__ import annotations

from actors.api import endpointslices as slices


def _pod(name: str, ip: str | None = "127.64.0.2", ready: bool = True,
         deleting: bool = False, phase: str = "Running", port_name: str = "http",
         port: int = 8080) -> dict:
    metadata = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                "labels": {"app": "web"}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    status = {"phase": phase, "conditions": [{"type": "Ready",
                                              "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": metadata, "status": status, "spec": {"nodeName": "node-1", "containers": [
        {"name": "c", "ports": [{"name": port_name, "containerPort": port}]}]}}


def _service(**spec) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "web", "port": 80, "targetPort": "http",
                                "protocol": "TCP"}], **spec}}


def test_conditions_follow_readiness_and_deletion():
    ready, unready, leaving = (slices.endpoint(_pod("a"), False)["conditions"],
                               slices.endpoint(_pod("b", ready=False), False)["conditions"],
                               slices.endpoint(_pod("c", deleting=True), False)["conditions"])
    assert ready == {"ready": True, "serving": True, "terminating": False}
    assert unready == {"ready": False, "serving": False, "terminating": False}
    assert leaving == {"ready": False, "serving": True, "terminating": True}
    published = slices.endpoint(_pod("b", ready=False), True)["conditions"]
    assert published["ready"] is True


def test_pods_without_an_address_or_finished_have_no_endpoint():
    assert slices.endpoint(_pod("a", ip=None), False) is None
    assert slices.endpoint(_pod("a", phase="Succeeded"), False) is None


def test_a_named_target_port_groups_pods_by_the_number_it_resolves_to():
    pods = [_pod("a"), _pod("b", port=9090), _pod("c", port_name="other")]
    made = slices.slices_for(_service(), pods)
    assert sorted(p["ports"][0]["port"] for p in made) == [8080, 9090]
    assert all(p["metadata"]["labels"] == {slices.SERVICE_NAME: "web",
                                           slices.MANAGED_BY: slices.CONTROLLER} for p in made)


def test_at_most_100_endpoints_a_slice_and_a_placeholder_when_none():
    pods = [_pod(f"p{i:03}", ip=f"127.64.{i // 250}.{i % 250 + 2}") for i in range(250)]
    made = slices.slices_for(_service(), pods)
    assert [len(p["endpoints"]) for p in made] == [100, 100, 50]
    empty = slices.slices_for(_service(), [])
    assert len(empty) == 1 and empty[0]["endpoints"] == []


def test_the_plan_keeps_what_holds_reuses_the_rest_and_deletes_the_surplus():
    wanted = slices.slices_for(_service(), [_pod("a")])
    same = {**wanted[0], "metadata": {**wanted[0]["metadata"], "name": "web-1"}}
    stale = {**same, "endpoints": [], "metadata": {**same["metadata"], "name": "web-2"}}
    assert slices.plan([same], wanted) == ([], [], [])
    updates, creates, deletes = slices.plan([stale], wanted)
    assert updates[0]["metadata"]["name"] == "web-2" and not creates and not deletes
    assert updates[0]["endpoints"] == wanted[0]["endpoints"]
    assert slices.plan([same, stale], wanted) == ([], [], [stale])
    assert slices.plan([], wanted) == ([], wanted, [])


def test_endpoints_mirror_ready_and_not_ready_addresses_apart():
    pods = [_pod("a", ip="127.64.0.2"), _pod("b", ip="127.64.0.3", ready=False),
            _pod("c", ip="127.64.0.4", deleting=True)]
    mirrored = slices.mirrored_endpoints(_service(), slices.slices_for(_service(), pods))
    subset = mirrored["subsets"][0]
    assert [a["ip"] for a in subset["addresses"]] == ["127.64.0.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["127.64.0.3"]
    assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert mirrored["metadata"]["labels"][slices.SKIP_MIRROR] == "true"
