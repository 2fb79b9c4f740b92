"""``kubeactor up --store jetstream --apiservers 2``: a second apiserver process on ``up``'s
JetStream store, a supervised child of ``up`` (``server --apiserver-only``): both processes
answer requests (a watch's registration names the process holding it, and a request
addressed to either is served), each writes its own audit log, and stopping ``up`` stops the
child too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_apiservers import watches_on_each_server
from tests.integration.test_up_processes import children
from tests.processes import start_up, stop_up
from tests.support import until

pytestmark = pytest.mark.integration


def test_up_runs_two_apiserver_processes_that_both_answer_and_stop_with_it(tmp_path,
                                                                           admin_for):
    data = tmp_path / "up"
    cluster = start_up(data, "--runtime", "sim", "--nodes", "1", "--store", "jetstream",
                       "--apiservers", "2")
    try:
        until(lambda: "server" in children(cluster.process.pid),
              failure="up started no second apiserver")
        second = children(cluster.process.pid)["server"]
        admin = admin_for(cluster)
        watches = watches_on_each_server(admin, lambda event: None)
        for server, watch in watches.items():
            watch.stop()
            name = f"through-{server}"
            admin.request("create", "configmaps", namespace="default", name=name,
                          body={"metadata": {"name": name}}, server=server)
        for log in (data / "audit.log", data / "apiservers" / "2" / "audit.log"):
            until(lambda log=log: "through-" in log.read_text(),
                  failure=f"{log} shows no create it served")
    finally:
        assert stop_up(cluster) == 0
    assert not Path(f"/proc/{second}").exists()

