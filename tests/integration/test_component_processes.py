"""The scheduler and the controller manager in processes of their own (``kubeactor scheduler``,
``kubeactor controller-manager``), joining a ``kubeactor server --disable-scheduler
--disable-controller-manager`` with the kubeconfigs it wrote for them, as kube-scheduler and
kube-controller-manager join a kube-apiserver; replicas fail over through their Lease; the
scheduler's ``--metrics-listen`` ``/healthz`` checks its leader election."""

from __future__ import annotations

import re
import urllib.request

import pytest

from bindings import kubeconfig
from tests.conftest import node, pod, wait_for
from tests.processes import UpProcess, start_joining, start_up, stop_up

pytestmark = pytest.mark.integration

ELECTION = ("--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s",
            "--leader-elect-retry-period=0.5s")
"""Short enough for a takeover within seconds, long enough that a leader slowed down by a
loaded machine keeps its Lease."""


def bound(obj):
    return bool(obj.get("spec", {}).get("nodeName"))


def holder(lease):
    return lease["spec"].get("holderIdentity") or ""


def stop_all(*processes: UpProcess) -> None:
    for process in processes:
        if process.process.poll() is None:
            assert stop_up(process) == 0


def test_a_scheduler_and_a_controller_manager_of_their_own_run_the_cluster(tmp_path,
                                                                            admin_for):
    server = start_up(tmp_path / "server", "--disable-scheduler", "--disable-controller-manager",
                      verb="server")
    joined: list[UpProcess] = []
    try:
        for verb, user in (("scheduler", "system:kube-scheduler"),
                           ("controller-manager", "system:kube-controller-manager")):
            own = kubeconfig.load(server.data_dir / f"{verb}.kubeconfig")
            assert (own.user, own.nats_user) == (user, user)
            assert oct((server.data_dir / f"{verb}.kubeconfig").stat().st_mode & 0o777) == "0o600"
        admin = admin_for(server)
        assert admin.list("leases", "kube-system")["items"] == []  # nothing runs them here
        joined.append(start_joining(server, "scheduler", *ELECTION,
                                    "--metrics-listen", "127.0.0.1:0"))
        joined.append(start_joining(server, "controller-manager", *ELECTION,
                                    "--node-monitor-grace-period", "3600"))
        admin.create("nodes", node("n1"), None)
        admin.create("replicasets", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}}}})

        placed: set[str] = set()

        def both_bound(pod: dict) -> bool:  # made by one process, bound by the other
            if bound(pod):
                placed.add(pod["metadata"]["name"])
            return len(placed) == 2

        wait_for(admin, "pods", None, both_bound)
        leases = {lease["metadata"]["name"]: holder(lease)
                  for lease in admin.list("leases", "kube-system")["items"]}
        assert set(leases) == {"kube-scheduler", "kube-controller-manager"}
        assert all(leases.values())
        metrics = re.search(r"metrics at (\S+)/metrics", joined[0].ready)
        assert metrics is not None, joined[0].ready
        with urllib.request.urlopen(f"{metrics[1]}/healthz?verbose", timeout=10) as answer:
            assert answer.read().decode().splitlines() == [  # leading, and renewing in time
                "[+]ping ok", "[+]bus ok", "[+]leaderElection ok", "healthz check passed"]
    finally:
        stop_all(*joined, server)


def test_a_standby_scheduler_process_takes_over_when_the_leader_dies(tmp_path, admin_for):
    server = start_up(tmp_path / "server", "--disable-scheduler", verb="server")
    first = start_joining(server, "scheduler", *ELECTION)
    second: UpProcess | None = None
    try:
        admin = admin_for(server)
        admin.create("nodes", node("n1"), None)
        leading = wait_for(admin, "leases", "kube-scheduler", lambda lease: bool(holder(lease)),
                           namespace="kube-system")["spec"]
        second = start_joining(server, "scheduler", *ELECTION)
        admin.create("pods", pod("before", cpu="100m"))
        wait_for(admin, "pods", "before", bound)

        first.process.kill()  # as a crash: the Lease is not released, it must expire
        first.process.wait(timeout=30)
        admin.create("pods", pod("after", cpu="100m"))
        taken = wait_for(admin, "leases", "kube-scheduler", lambda lease: holder(lease) not in (
            "", leading["holderIdentity"]), namespace="kube-system")
        assert taken["spec"]["leaseTransitions"] == leading["leaseTransitions"] + 1
        assert wait_for(admin, "pods", "after", bound)["spec"]["nodeName"] == "n1"
    finally:
        stop_all(*(p for p in (first, second) if p is not None), server)
