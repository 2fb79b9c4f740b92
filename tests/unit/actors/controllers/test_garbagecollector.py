"""The garbage collector's decisions (actors/controllers/garbagecollector.py) and how a delete's
propagationPolicy marks an object (actors/apiserver/registry.py)."""

from __future__ import annotations

from types import SimpleNamespace

from actors.api.discovery import Served
from actors.api.resources import lookup
from actors.apiserver.registry import graceful_deletion, with_propagation
from actors.controllers.controller import Key
from actors.controllers.garbagecollector import (
    FOREGROUND,
    ORPHAN,
    GarbageCollector,
    Owners,
    finalizer_step,
    owner_verdict,
)


def obj(name: str, *, finalizers: list[str] | None = None, deleting: bool = False,
        owners: list[tuple[str, bool]] = ()) -> dict:
    metadata: dict = {"name": name, "namespace": "default", "uid": f"{name}-uid",
                      "resourceVersion": "7"}
    if finalizers:
        metadata["finalizers"] = finalizers
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-26T12:00:00Z"
    if owners:
        metadata["ownerReferences"] = [{"kind": "ReplicaSet", "name": uid, "uid": uid,
                                        "blockOwnerDeletion": block} for uid, block in owners]
    return {"kind": "ConfigMap", "metadata": metadata}


def test_an_object_whose_owners_are_all_gone_is_deleted():
    assert owner_verdict(Owners([], ["a"], []), has_dependents=False) == ("delete", None)
    assert owner_verdict(Owners([], [], []), has_dependents=False) == ("keep", None)


def test_references_to_gone_owners_are_dropped_while_one_owner_lives():
    assert owner_verdict(Owners(["a"], ["b"], ["c"]), False) == ("unlink", ["b", "c"])
    assert owner_verdict(Owners(["a"], [], []), False) == ("keep", None)


def test_dependents_of_a_foreground_deletion_go_in_the_foreground_when_they_own_others():
    assert owner_verdict(Owners([], [], ["a"]), has_dependents=True) == ("delete", "Foreground")
    assert owner_verdict(Owners([], [], ["a"]), has_dependents=False) == ("delete", None)


def test_orphan_finalizer_unlinks_every_dependent():
    owner = obj("rs", finalizers=[ORPHAN], deleting=True)
    deps = [obj("p1", owners=[("rs-uid", True)])]
    assert finalizer_step(owner, deps) == ("orphan", deps)
    assert finalizer_step(obj("rs", finalizers=[ORPHAN]), deps) == ("none", [])  # not deleted


def test_foreground_deletes_dependents_then_waits_for_the_blocking_ones():
    owner = obj("rs", finalizers=[FOREGROUND], deleting=True)
    live = obj("p1", owners=[("rs-uid", True)])
    going = obj("p2", owners=[("rs-uid", True)], deleting=True)
    loose = obj("p3", owners=[("rs-uid", False)], deleting=True)
    assert finalizer_step(owner, [live, going]) == ("delete", [live])
    assert finalizer_step(owner, [going]) == ("delete", [])  # wait: it blocks its owner
    assert finalizer_step(owner, [loose]) == ("finish", [])  # does not block
    assert finalizer_step(owner, []) == ("finish", [])


def test_propagation_policy_adds_the_finalizer_the_collector_acts_on():
    plain = obj("rs")
    assert with_propagation(plain, None) is plain
    assert with_propagation(plain, "Background") is plain
    assert with_propagation(plain, "Orphan")["metadata"]["finalizers"] == [ORPHAN]
    switched = with_propagation(obj("rs", finalizers=["x", ORPHAN]), "Foreground")
    assert switched["metadata"]["finalizers"] == ["x", FOREGROUND]
    assert "finalizers" not in plain["metadata"]
    info = lookup("", "configmaps")
    marked = graceful_deletion(info, with_propagation(plain, "Foreground"), None)
    assert marked is not None and marked["metadata"]["deletionTimestamp"]
    assert graceful_deletion(info, plain, None) is None  # background: goes at once


def test_a_namespace_lingers_terminating_until_its_finalizer_goes():
    info = lookup("", "namespaces")
    namespace = {"metadata": {"name": "ns", "uid": "u"}, "spec": {"finalizers": ["kubernetes"]},
                 "status": {"phase": "Active"}}
    marked = graceful_deletion(info, namespace, None)
    assert marked is not None and marked["status"]["phase"] == "Terminating"
    assert marked["metadata"]["deletionTimestamp"]
    marked["spec"]["finalizers"] = []
    assert graceful_deletion(info, marked, None) is None


def test_a_dependents_change_looks_again_at_its_owner_only_while_the_owner_is_deleted():
    # Looking at a live ReplicaSet for each change of each of its pods costs all its pods each
    # time: 10,000 pods, 10,000 x 10,000 (the controller manager's CPU at scale)
    collector = GarbageCollector(SimpleNamespace(subjects=None),
                                 client=SimpleNamespace(served=Served()))
    try:
        rs, pod = obj("rs"), obj("p1", owners=[("rs-uid", True)])
        rs_key = Key("configmaps", "default", "rs")
        for item in (rs, pod):
            collector.objects["configmaps"]["default", item["metadata"]["name"]] = item
        collector.keys_for("configmaps", rs, "ADDED")
        assert rs_key not in collector.keys_for("configmaps", pod, "MODIFIED")
        deleting = obj("rs", finalizers=[FOREGROUND], deleting=True)
        collector.objects["configmaps"]["default", "rs"] = deleting
        collector.keys_for("configmaps", deleting, "MODIFIED")
        assert rs_key in collector.keys_for("configmaps", pod, "MODIFIED")
        assert rs_key in collector.keys_for("configmaps", pod, "DELETED")
    finally:
        collector.pool.shutdown()
