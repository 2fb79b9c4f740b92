"""Extending a running cluster in one call, on a real bus (a simulated cluster): a scheduler
whose plugin raises, returns None or a bare int never loses a pod (each gets a
FailedScheduling Event and PodScheduled=False naming the plugin, and is bound once the plugin
is fixed); the default scheduler runs the profile of ClusterConfig(profile=...); an admission
actor started with its own identity denies and patches; one started on a name its identity may
not serve is refused at once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from actors import ext
from actors.api.meta import condition
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection
from bus.errors import BadRequest, PermissionViolation
from tests.conftest import pod, wait_for

pytestmark = pytest.mark.integration

MISBEHAVIOURS: dict[str, tuple[Any, str]] = {
    "raises": (lambda: 1 // 0, "raised ZeroDivisionError"),
    "none": (lambda: None, "returned None, not (score, Status)"),
    "int": (lambda: 7, "returned 7, not (score, Status)"),
}
"""Each pod's misbehaviour of the plugin, and what its Error then says."""


class Moody(ext.ScorePlugin):
    """Misbehaves on each pod named in MISBEHAVIOURS until fixed; then prefers node-2."""

    name = "Moody"

    def __init__(self) -> None:
        self.fixed = False

    def score(self, state: Any, pod: ext.PodInfo, node: ext.NodeInfo) -> tuple[int, ext.Status]:
        name = pod.pod["metadata"]["name"]
        if not self.fixed and name in MISBEHAVIOURS:
            return MISBEHAVIOURS[name][0]()  # type: ignore[no-any-return]
        return (ext.MAX_NODE_SCORE if node.name == "node-2" else 0), ext.SUCCESS


def mine(name: str) -> dict[str, Any]:
    obj = pod(name)
    obj["spec"]["schedulerName"] = "moody"
    return obj


def failed_scheduling(obj: dict[str, Any]) -> bool:
    return obj.get("reason") == "FailedScheduling"


def test_a_plugin_that_raises_or_returns_none_or_an_int_never_loses_a_pod(
        sim_cluster: Cluster) -> None:
    plugin = Moody()
    scheduler = sim_cluster.start_scheduler("moody", plugins=[plugin], weights={"Moody": 5})
    admin = sim_cluster.admin_client()
    try:
        for name in MISBEHAVIOURS:
            admin.create("pods", mine(name))
        for name, (_, says) in MISBEHAVIOURS.items():
            event = wait_for(admin, "events", None, lambda e, name=name: failed_scheduling(e)
                             and e["involvedObject"]["name"] == name)
            assert event["message"].startswith("running Score plugin Moody on node node-")
            assert says in event["message"]
            scheduled = condition(wait_for(admin, "pods", name, lambda p: condition(
                p, "PodScheduled") is not None), "PodScheduled")
            assert scheduled is not None
            assert (scheduled["status"], scheduled["reason"]) == ("False", "SchedulerError")
            assert "Score plugin Moody on node node-" in scheduled["message"]
        plugin.fixed = True  # retried after its back-off, with no event needed
        for name in MISBEHAVIOURS:
            bound = wait_for(admin, "pods", name, lambda p: bool(p["spec"].get("nodeName")))
            assert bound["spec"]["nodeName"] == "node-2"
    finally:
        scheduler.stop()


class OnlyNode3(ext.ScorePlugin):
    name = "OnlyNode3"

    def score(self, state: Any, pod: ext.PodInfo, node: ext.NodeInfo) -> tuple[int, ext.Status]:
        return (ext.MAX_NODE_SCORE if node.name == "node-3" else 0), ext.SUCCESS


def test_the_default_scheduler_runs_the_profile_of_the_cluster_config(tmp_path) -> None:
    cluster = Cluster.start(ClusterConfig(
        data_dir=tmp_path / "sim", nodes=3, runtime="sim",
        profile=ext.ProfileConfig((OnlyNode3(),), {"OnlyNode3": 50})))
    try:
        admin = cluster.admin_client()
        for name in ("a", "b"):
            admin.create("pods", pod(name))
            assert wait_for(admin, "pods", name, lambda p: bool(
                p["spec"].get("nodeName")))["spec"]["nodeName"] == "node-3"
    finally:
        cluster.stop()


class TeamLabel(ext.AdmissionActor):
    """Pods need a ``team`` label; admitted ones are marked checked."""

    def admit(self, review: ext.Review) -> ext.Verdict:
        labels = (review.object or {}).get("metadata", {}).get("labels") or {}
        if "team" not in labels:
            return ext.deny("pods need a team label")
        return ext.patch({"op": "add", "path": "/metadata/labels/checked", "value": "yes"})


def test_an_admission_actor_started_in_one_call_denies_and_patches(sim_cluster: Cluster) -> None:
    actor = sim_cluster.start_admission(TeamLabel, "team-label")
    assert actor.subject == "team-label.team-label"
    admin = sim_cluster.admin_client()
    admin.create("admissionregistrations", {"metadata": {"name": "team-label"}, "spec": {
        "subject": actor.subject, "operations": ["CREATE"], "resources": ["pods"],
        "timeoutSeconds": 5, "failurePolicy": "Fail", "mutating": True}}, None)
    with pytest.raises(BadRequest, match='admission webhook "team-label" denied the request: '
                                         "pods need a team label"):
        admin.create("pods", pod("anonymous"))
    labelled = pod("owned")
    labelled["metadata"]["labels"] = {"team": "a"}
    assert admin.create("pods", labelled)["metadata"]["labels"] == {"team": "a", "checked": "yes"}
    actor.stop()
    actor.stop()  # idempotent


def test_an_admission_actor_on_a_name_its_identity_may_not_serve_is_refused_at_once(
        sim_cluster: Cluster) -> None:
    connection = Connection(sim_cluster.bus_of(sim_cluster.credentials("policy-bot")),
                            "policy-bot").connect()
    try:
        with pytest.raises(PermissionViolation, match=re.escape(
                "start it as 'policy-bot.images' and register it with spec.subject: "
                "policy-bot.images")):
            TeamLabel.start(connection, "images")
        TeamLabel.start(connection, "policy-bot.images").stop()
    finally:
        connection.close()
