"""The DaemonSet controller's decisions (actors/controllers/daemonset.py) and the revision
history of actors/controllers/revisions.py, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.controllers import revisions
from actors.controllers.daemonset import (
    NodeState,
    daemon_plan,
    daemon_pod_spec,
    daemonset_status,
    fenceposts,
    new_pod,
    should_run,
    target_node,
)

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name: str, labels: dict | None = None, taints: list | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def pod(name: str, revision: str = "new", ready: bool = True, since: float = 100,
        phase: str = "Running") -> dict:
    return {"metadata": {"name": name, "creationTimestamp": stamp(since + 10),
                         "labels": {revisions.HASH_LABEL: revision}},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": stamp(since)}]}}


def test_a_node_runs_daemon_pods_when_its_labels_match_and_its_taints_are_tolerated():
    spec = {"nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]}
    assert should_run(spec, node("a", {"disk": "ssd"})) == (True, True)
    assert should_run(spec, node("b", {"disk": "hdd"})) == (False, False)
    tolerated = [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    assert should_run(spec, node("c", {"disk": "ssd"}, tolerated)) == (True, True)
    blocking = [{"key": "gpu", "effect": "NoSchedule"}]
    assert should_run(spec, node("d", {"disk": "ssd"}, blocking)) == (False, True)
    evicting = [{"key": "gpu", "effect": "NoExecute"}]
    assert should_run(spec, node("e", {"disk": "ssd"}, evicting)) == (False, False)


def test_daemon_pods_tolerate_what_kubernetes_gives_them_and_are_bound_by_affinity():
    for key, effect in (("node.kubernetes.io/not-ready", "NoExecute"),
                        ("node.kubernetes.io/unreachable", "NoExecute"),
                        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                        ("node.kubernetes.io/unschedulable", "NoSchedule")):
        assert should_run({}, node("a", taints=[{"key": key, "effect": effect}])) == (True, True)
    spec = daemon_pod_spec({"tolerations": [{"key": "node.kubernetes.io/not-ready",
                                             "operator": "Exists", "effect": "NoExecute",
                                             "tolerationSeconds": 5}]}, "n1")
    assert spec["tolerations"][0]["tolerationSeconds"] == 5  # its own is kept
    assert len(spec["tolerations"]) == 6
    made = new_pod({"metadata": {"name": "agent", "namespace": "default", "uid": "u"},
                    "apiVersion": "apps/v1", "kind": "DaemonSet"},
                   {"metadata": {"labels": {"app": "agent"}}, "spec": {}}, "h1", "n1")
    assert made["metadata"]["labels"] == {"app": "agent", revisions.HASH_LABEL: "h1"}
    assert target_node(made) == "n1" and "nodeName" not in made["spec"]


def test_each_eligible_node_gets_one_pod_and_others_lose_theirs():
    nodes = [NodeState("a", True, True), NodeState("b", True, True, [pod("b1"), pod("b2")]),
             NodeState("c", False, False, [pod("c1")]), NodeState("d", False, True, [pod("d1")]),
             NodeState("e", True, True, [pod("e1", phase="Failed")])]
    plan = daemon_plan(nodes, "new", ROLLING, 0, NOW)
    assert sorted(plan.create) == ["a"]
    assert sorted(plan.delete) == ["b2", "c1", "e1"]  # the oldest stays; d1 may stay


def test_a_rolling_update_replaces_at_most_max_unavailable_and_unavailable_old_ones_first():
    nodes = [NodeState(n, True, True, [pod(f"{n}1", "old")]) for n in "abc"]
    assert daemon_plan(nodes, "new", ROLLING, 0, NOW).delete == ["a1"]
    nodes[2] = NodeState("c", True, True, [pod("c1", "old", ready=False)])
    assert daemon_plan(nodes, "new", ROLLING, 0, NOW).delete == ["c1"]  # it serves nobody
    nodes[2] = NodeState("c", True, True, [])  # its replacement not made yet
    plan = daemon_plan(nodes, "new", ROLLING, 0, NOW)
    assert (plan.create, plan.delete) == (["c"], [])


def test_min_ready_seconds_holds_a_new_pod_unavailable():
    nodes = [NodeState("a", True, True, [pod("a1", "new", since=5)]),
             NodeState("b", True, True, [pod("b1", "old")])]
    assert daemon_plan(nodes, "new", ROLLING, 10, NOW).delete == []
    assert daemon_plan(nodes, "new", ROLLING, 0, NOW).delete == ["b1"]


def test_a_surge_starts_the_new_pod_beside_the_old_and_deletes_the_old_once_available():
    nodes = [NodeState(n, True, True, [pod(f"{n}1", "old")]) for n in "ab"]
    plan = daemon_plan(nodes, "new", SURGE, 0, NOW)
    assert (plan.create, plan.delete) == (["a"], [])
    nodes[0] = NodeState("a", True, True, [pod("a1", "old"), pod("a2", "new", ready=False)])
    plan = daemon_plan(nodes, "new", SURGE, 0, NOW)
    assert (plan.create, plan.delete) == ([], [])  # one surge at a time
    nodes[0] = NodeState("a", True, True, [pod("a1", "old"), pod("a2", "new")])
    plan = daemon_plan(nodes, "new", SURGE, 0, NOW)
    assert (plan.create, plan.delete) == (["b"], ["a1"])


def test_on_delete_replaces_nothing_by_itself():
    nodes = [NodeState(n, True, True, [pod(f"{n}1", "old")]) for n in "ab"]
    plan = daemon_plan(nodes, "new", {"type": "OnDelete"}, 0, NOW)
    assert (plan.create, plan.delete) == ([], [])


def test_fenceposts_round_percentages_up_and_never_stall():
    assert fenceposts({"rollingUpdate": {"maxUnavailable": "10%"}}, 15) == (0, 2)
    assert fenceposts({"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}, 3) == (0, 1)


def test_status_counts_nodes_as_kubectl_shows_them():
    nodes = [NodeState("a", True, True, [pod("a1")]),
             NodeState("b", True, True, [pod("b1", "old", ready=False)]),
             NodeState("c", True, True), NodeState("d", False, False, [pod("d1")])]
    status = daemonset_status({"metadata": {"generation": 3}, "spec": {}}, nodes, "new", NOW)
    assert status == {"desiredNumberScheduled": 3, "currentNumberScheduled": 2,
                      "numberMisscheduled": 1, "numberReady": 1, "numberAvailable": 1,
                      "numberUnavailable": 2, "updatedNumberScheduled": 1,
                      "observedGeneration": 3}


def test_revisions_keep_the_template_as_a_patch_and_prune_the_idle_oldest():
    owner = {"metadata": {"name": "agent", "namespace": "default", "uid": "u"},
             "apiVersion": "apps/v1", "kind": "DaemonSet",
             "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"x": 1}}}}
    made = revisions.new_revision(owner, 4, 0)
    assert made["revision"] == 4 and made["metadata"]["name"].startswith("agent-")
    assert made["data"]["spec"]["template"]["$patch"] == "replace"
    assert revisions.template_of(made) == owner["spec"]["template"]
    assert revisions.new_revision(owner, 4, 1)["metadata"]["name"] != made["metadata"]["name"]
    history = [{"metadata": {"name": f"r{i}", "labels": {revisions.HASH_LABEL: f"h{i}"}},
                "revision": i} for i in range(1, 6)]
    pruned = revisions.to_prune(history, 2, {"h1", "r5"})
    assert [r["metadata"]["name"] for r in pruned] == ["r2"]
