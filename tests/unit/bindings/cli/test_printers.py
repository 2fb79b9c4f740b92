"""kubectl's output conventions (bindings/cli/printers.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from actors.api.columns import human_duration
from actors.api.resources import lookup, resolve
from bindings.cli import printers
from bindings.cli.printers import table


@pytest.mark.parametrize(("seconds", "shown"), [
    (5, "5s"), (119, "119s"), (120, "2m"), (312, "5m12s"), (600, "10m"), (10799, "179m"),
    (10800, "3h"), (18180, "5h3m"), (108000, "30h"), (360000, "4d4h"), (30 * 86400, "30d"),
])
def test_ages_read_like_kubectl(seconds, shown):
    assert human_duration(seconds) == shown


def test_quota_table_shows_used_over_hard_like_kubectl():
    quota = {"metadata": {"name": "compute", "creationTimestamp": "2020-01-01T00:00:00Z"},
             "status": {"hard": {"pods": "3", "requests.cpu": "1", "limits.memory": "1Gi"},
                        "used": {"pods": "2", "requests.cpu": "300m"}}}
    lines = printers.table(resolve("quota"), [quota]).splitlines()
    assert lines[0].split() == ["NAME", "REQUEST", "LIMIT", "AGE"]  # kube-apiserver's order
    assert lines[1].split("   ")[0] == "compute"
    assert "   pods: 2/3, requests.cpu: 300m/1   limits.memory: 0/1Gi   " in lines[1]


def test_workload_and_namespace_tables_have_kubectls_columns():
    rs = {"metadata": {"name": "web-abc"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
          "status": {"replicas": 3, "readyReplicas": 2}}
    rows = [line.split() for line in table(lookup("apps", "replicasets"), [rs],
                                           wide=True).splitlines()]
    assert rows == [["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES",
                     "SELECTOR"], ["web-abc", "3", "3", "2", "<unknown>", "c", "busybox",
                                   "app=web"]]
    deployment = dict(rs, metadata={"name": "web"},
                      status={"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2})
    rows = [line.split() for line in table(lookup("apps", "deployments"),
                                           [deployment]).splitlines()]
    assert rows == [["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
                    ["web", "2/3", "3", "2", "<unknown>"]]
    going = {"metadata": {"name": "old"}, "status": {"phase": "Terminating"}}
    rows = [line.split() for line in table(lookup("", "namespaces"), [going]).splitlines()]
    assert rows == [["NAME", "STATUS", "AGE"], ["old", "Terminating", "<unknown>"]]


def test_priority_class_table_has_kubectls_columns():
    critical = {"metadata": {"name": "system-node-critical"}, "value": 2000001000,
                "globalDefault": False, "preemptionPolicy": "PreemptLowerPriority"}
    rows = [line.split() for line in table(resolve("pc"), [critical]).splitlines()]
    assert rows == [["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
                    ["system-node-critical", "2000001000", "false", "<unknown>",
                     "PreemptLowerPriority"]]


def test_lease_table_shows_the_holder_like_kubectl():
    held = {"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": "vm_1f2e"}}
    released = {"metadata": {"name": "kube-controller-manager"}, "spec": {"holderIdentity": ""}}
    rows = [line.split() for line in table(lookup("coordination.k8s.io", "leases"),
                                           [held, released]).splitlines()]
    assert rows == [["NAME", "HOLDER", "AGE"], ["kube-scheduler", "vm_1f2e", "<unknown>"],
                    ["kube-controller-manager", "<none>", "<unknown>"]]


def test_describe_node_aligns_its_conditions_on_the_longest_cell():
    node = {"metadata": {"name": "n1"}, "status": {"conditions": [
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
         "message": "kubelet has sufficient memory available"},
        {"type": "Ready", "status": "True", "reason": "KubeletReady",
         "message": "kubelet is posting ready status"}]}}
    lines = printers.describe_node(node, [], []).splitlines()
    start = lines.index("Conditions:") + 1
    assert lines[start:start + 4] == [
        "  Type             Status   Reason                       Message",
        "  ----             ------   ------                       -------",
        "  MemoryPressure   False    KubeletHasSufficientMemory   kubelet has sufficient memory "
        "available",
        "  Ready            True     KubeletReady                 kubelet is posting ready status"]


def _event(reason: str, last_seen: str, version: int) -> dict:
    return {"metadata": {"name": f"web.{version:05x}", "resourceVersion": str(version)},
            "type": "Normal", "reason": reason, "lastTimestamp": last_seen,
            "source": {"component": "kubelet"}, "message": reason}


def test_describe_shows_events_oldest_first_as_kubectl_whatever_order_they_are_listed_in():
    listed = [_event("Started", "2026-12-06T19:59:42Z", 57),
              _event("Scheduled", "2026-12-06T19:59:41Z", 53),
              _event("Created", "2026-12-06T19:59:42Z", 56),
              _event("Pulled", "2026-12-06T19:59:41Z", 54)]
    pod = {"metadata": {"name": "web", "namespace": "default"}, "spec": {}, "status": {}}
    lines = printers.describe_pod(pod, listed).splitlines()
    shown = [line.split()[1] for line in lines[lines.index("Events:") + 3:]]
    assert shown == ["Scheduled", "Pulled", "Created", "Started"]


def test_describe_counts_an_event_seen_again_as_kubectl_does():
    now = datetime.now(UTC)

    def ago(seconds: int) -> str:
        return (now - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    backoff = {**_event("BackOff", ago(5), 60), "count": 4, "firstTimestamp": ago(200)}
    series = {**_event("Unhealthy", ago(9), 61), "firstTimestamp": ago(90),
              "series": {"count": 7, "lastObservedTime": ago(3)}}
    once = {**_event("Pulled", ago(300), 50), "firstTimestamp": ago(300)}
    pod = {"metadata": {"name": "web", "namespace": "default"}, "spec": {}, "status": {}}
    lines = printers.describe_pod(pod, [backoff, series, once]).splitlines()
    ages = {line.split()[1]: line for line in lines[lines.index("Events:") + 3:]}
    assert re.search(r"  (5|6)s \(x4 over 3m2\ds\) +kubelet", ages["BackOff"])
    assert re.search(r"  (3|4)s \(x7 over 9\ds\) +kubelet", ages["Unhealthy"])
    assert re.search(r"Pulled +5m +kubelet", ages["Pulled"])


def test_describe_deployment_leaves_out_kubectl_applys_record_as_kubectl_does():
    deployment = {"metadata": {"name": "web", "namespace": "default", "annotations": {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Deployment"}'}},
        "spec": {"replicas": 1, "template": {"metadata": {}, "spec": {"containers": []}}}}
    text = printers.describe_deployment(deployment, None, [], [])
    assert "Annotations:    deployment.kubernetes.io/revision=1" in text
    assert "last-applied-configuration" not in text


def test_json_and_yaml_hide_managed_fields_unless_asked_as_kubectl():
    managed = {"kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [
        {"manager": "ops", "operation": "Apply"}]}}
    info = resolve("configmaps")
    assert "managedFields" not in printers.render(info, managed, "yaml", single=True)
    assert "managedFields" not in printers.render(info, {"items": [managed]}, "json",
                                                  single=False)
    assert "managedFields" in printers.render(info, managed, "json", single=True,
                                              show_managed_fields=True)
    assert managed["metadata"]["managedFields"]  # the object is left as it was
