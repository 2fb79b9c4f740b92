"""``kubeactor drain``'s decisions: which of a node's pods it evicts, skips or refuses to
touch, in kubectl's words, and the Eviction it sends."""

from __future__ import annotations

from actors.api.objects import Object
from bindings.cli import drain


def pod(name: str, owner: str | None = "ReplicaSet", *, volumes: list | None = None,
        phase: str = "Running", deleting: bool = False, mirror: bool = False) -> Object:
    metadata: Object = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner, "name": "o", "uid": "o",
                                        "controller": True}]
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T12:00:00Z"
    if mirror:
        metadata["annotations"] = {drain.MIRROR: "x"}
    return {"metadata": metadata, "spec": {"volumes": volumes or []},
            "status": {"phase": phase}}


NODE = [pod("web"), pod("agent", "DaemonSet"), pod("cache", volumes=[{"name": "v",
                                                                       "emptyDir": {}}]),
        pod("lonely", None), pod("done", None, phase="Succeeded"), pod("going", deleting=True),
        pod("static", None, mirror=True)]


def names(pods: list[Object]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_without_flags_daemonset_local_storage_and_unmanaged_pods_are_errors():
    found = drain.sort_pods(NODE, False, False, False)
    assert drain.listed(found.errors) == (
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
        "default/agent; cannot delete Pods with local storage (use --delete-emptydir-data to "
        "override): default/cache; cannot delete Pods that declare no controller (use --force "
        "to override): default/lonely")
    assert names(found.evict) == ["web", "done"]  # a finished pod needs no controller


def test_the_flags_turn_the_errors_into_warnings_and_evictions():
    found = drain.sort_pods(NODE, True, True, True)
    assert found.errors == {}
    assert names(found.evict) == ["web", "cache", "lonely", "done"]
    assert drain.listed(found.warnings) == (
        "ignoring DaemonSet-managed Pods: default/agent; deleting Pods that declare no "
        "controller: default/lonely")


def test_the_eviction_names_the_pod_and_carries_a_grace_period_only_when_given():
    assert drain.eviction(pod("web"), -1) == {
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "web", "namespace": "default"}}
    assert drain.eviction(pod("web"), 0)["deleteOptions"] == {"gracePeriodSeconds": 0}
