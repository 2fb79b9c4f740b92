"""Which volume a claim binds and the phases that follow (actors.api.volumebinding), and the
storage kinds' checks and cells (actors.api.storage)."""

from __future__ import annotations

from typing import Any

from actors.api import storage
from actors.api import volumebinding as binding


def volume(name: str, size: str = "10Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
           cls: str = "manual", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": spec.pop("labels", {})},
            "spec": {"capacity": {"storage": size}, "accessModes": list(modes),
                     "storageClassName": cls, "hostPath": {"path": f"/d/{name}"}, **spec},
            "status": {"phase": "Available"}}


def claim(name: str = "data", size: str = "3Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
          cls: str | None = "manual", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"accessModes": list(modes),
                            "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": body}


def on_node(name: str) -> dict[str, Any]:
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [name]}]}]}}


def test_the_smallest_volume_that_holds_the_request_binds():
    found = binding.best_volume(claim(size="3Gi"), [volume("big", "20Gi"), volume("small", "5Gi"),
                                                    volume("tiny", "1Gi")])
    assert found is not None and found["metadata"]["name"] == "small"


def test_class_access_modes_selector_and_a_volume_bound_elsewhere_rule_a_volume_out():
    wants = claim(modes=("ReadWriteMany",), selector={"matchLabels": {"tier": "fast"}})
    candidates = [volume("other-class", cls="slow", modes=("ReadWriteMany",),
                         labels={"tier": "fast"}),
                  volume("rwo-only", labels={"tier": "fast"}),
                  volume("unlabelled", modes=("ReadWriteMany",)),
                  volume("taken", modes=("ReadWriteMany",), labels={"tier": "fast"},
                         claimRef={"namespace": "default", "name": "other", "uid": "u"})]
    assert binding.best_volume(wants, candidates) is None
    fitting = volume("right", modes=("ReadWriteMany", "ReadWriteOnce"), labels={"tier": "fast"})
    assert binding.best_volume(wants, [*candidates, fitting]) is fitting


def test_a_volume_pre_bound_to_the_claim_wins_over_a_smaller_one_and_volume_name_is_obeyed():
    pre = volume("pre", "50Gi", claimRef={"namespace": "default", "name": "data"})
    assert binding.best_volume(claim(), [volume("small", "5Gi"), pre]) is pre
    named = claim(volumeName="big")
    assert binding.best_volume(named, [volume("small"), volume("big", "20Gi")])[
        "metadata"]["name"] == "big"
    assert binding.best_volume(named, [volume("small")]) is None


def test_a_waiting_claim_binds_only_a_volume_its_node_reaches():
    there = volume("there", nodeAffinity=on_node("node-2"))
    assert binding.best_volume(claim(), [there], ("node-1", {"kubernetes.io/hostname": "node-1"})
                               ) is None
    assert binding.best_volume(claim(), [there], ("node-2", {"kubernetes.io/hostname": "node-2"})
                               ) is there


def test_phases_of_a_volume_follow_its_claim():
    bound = volume("v", claimRef=binding.claim_ref(claim()))
    assert binding.volume_phase(volume("free"), None) == "Available"
    assert binding.volume_phase(bound, claim(volumeName="v")) == "Bound"
    assert binding.volume_phase(bound, None) == "Released"
    recreated = claim(volumeName="v")
    recreated["metadata"]["uid"] = "another"
    assert binding.volume_phase(bound, recreated) == "Released"


def test_a_released_volume_is_kept_deleted_by_its_provisioner_or_failed():
    assert binding.reclaim_failure(volume("kept", persistentVolumeReclaimPolicy="Retain")) is None
    made = volume("made", persistentVolumeReclaimPolicy="Delete")
    made["metadata"]["annotations"] = {storage.PROVISIONED_BY: storage.LOCAL_PATH_PROVISIONER}
    assert binding.reclaim_failure(made) is None
    assert "no deletable volume plugin matched" in binding.reclaim_failure(
        volume("static", persistentVolumeReclaimPolicy="Delete"))


def test_a_claim_is_lost_when_its_bound_volume_is_gone():
    was_bound = {**claim(volumeName="v"), "status": {"phase": "Bound"}}
    assert binding.claim_status(was_bound, None) == {"phase": "Lost"}
    assert binding.claim_status(claim(volumeName="v"), None) == {"phase": "Pending"}
    there = volume("v", claimRef=binding.claim_ref(claim()))
    assert binding.claim_status(claim(volumeName="v"), there) == {
        "phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}}


def test_only_unfinished_pods_use_a_claim():
    pod = {"spec": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]},
           "status": {"phase": "Running"}}
    assert binding.uses(pod, "data") and not binding.uses(pod, "other")
    assert not binding.uses({**pod, "status": {"phase": "Succeeded"}}, "data")


def test_storage_kinds_are_refused_in_kube_apiservers_words():
    assert storage.claim_problems({"spec": {}}) == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value"]
    assert storage.claim_problems(claim(modes=("ReadWriteSometimes",), size="0")) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
        '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        'spec.resources[storage]: Invalid value: "0": must be greater than zero']
    two = volume("two", nfs={"server": "s", "path": "/"})
    assert storage.volume_problems(two) == [
        "spec.nfs: Forbidden: may not specify more than 1 volume type"]
    local = volume("l", local={"path": "/x"})
    del local["spec"]["hostPath"]
    assert storage.volume_problems(local) == [
        "spec.nodeAffinity: Required value: Local volume requires node affinity"]
    assert storage.class_problems({"volumeBindingMode": "Later"}) == [
        "provisioner: Required value",
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", '
        '"WaitForFirstConsumer"']


def test_the_default_class_is_marked_in_get_sc_and_taken_by_claims_naming_none():
    local = {**storage.local_path_class(), "metadata": {
        **storage.local_path_class()["metadata"], "creationTimestamp": "2026-12-07T00:00:00Z"}}
    other = {"metadata": {"name": "slow"}, "provisioner": "x"}
    assert storage.default_class_of([other, local]) is local
    assert storage.class_cells(local, "1m") == [
        "local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer",
        "false", "1m"]


def test_get_pvc_shows_the_bound_volumes_capacity_and_short_access_modes():
    bound = {**claim(volumeName="pvc-1", cls="local-path"), "status": {
        "phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
        "capacity": {"storage": "5Gi"}}}
    assert storage.claim_cells(bound, "2m") == [
        "data", "Bound", "pvc-1", "5Gi", "RWO,ROX", "local-path", "<unset>", "2m", "Filesystem"]


def test_a_requested_volume_that_cannot_serve_the_claim_says_why_as_kubernetes():
    assert binding.unsatisfied(volume("v", "1Gi"), claim(size="3Gi")) == \
        "requested PV is too small"
    assert binding.unsatisfied(volume("v", cls="slow"), claim()) == \
        "storageClassName does not match"
    assert binding.unsatisfied(volume("v", modes=("ReadOnlyMany",)), claim()) == \
        "incompatible accessMode"
    assert binding.unsatisfied(volume("v", volumeMode="Block"), claim()) == \
        "incompatible volumeMode"
    assert binding.unsatisfied(volume("v"), claim()) is None


def test_a_claims_selector_is_checked_as_a_label_selector():
    """A malformed selector stored would fail the scheduler's VolumeBinding on every node
    (SchedulerError) and the binder's every look at the claim: refused, as Kubernetes does."""
    def claim(selector: Any) -> dict[str, Any]:
        return {"spec": {"accessModes": ["ReadWriteOnce"], "selector": selector,
                         "resources": {"requests": {"storage": "1Gi"}}}}
    for bad in ({"matchExpressions": [{"key": "a", "operator": "Foo"}]},
                {"matchExpressions": [{"key": "a", "operator": "In"}]},
                {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}):
        [problem] = storage.claim_problems(claim(bad))
        assert problem.startswith("spec.selector: Invalid value: matchExpressions")
    assert storage.claim_problems(claim({"matchLabels": {"tier": "db"}})) == []
    assert storage.claim_problems(claim({})) == []
