"""Exec streams over the bus at CI scale, on simulated nodes (one kubelet actor, one call pool
for all of them): as many streams at once as the kubelet has call workers, each echoing its
input through ``cat`` in many pieces, come back whole and in order with their exit codes."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from actors.client.client import Client
from actors.client.streams import ExecMessage, ExecStream
from actors.kubelet.config import KubeletConfig
from bindings.cluster import Cluster, ClusterConfig
from bus.errors import BadRequest
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

NODES = 4
STREAMS = KubeletConfig("any").call_workers
"""As many streams at once as the one kubelet of every simulated node serves at once."""
PIECES = 40


@pytest.fixture(scope="module")
def sim_cluster(tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("sim"),
                                          nodes=NODES, runtime="sim"))
    admin = cluster.admin_client()
    for n in range(STREAMS):
        admin.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{n}"},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}},
                     "default")
    for n in range(STREAMS):
        wait_for(admin, "pods", f"p{n}", lambda p: p["status"].get("phase") == "Running")
    yield cluster
    cluster.stop()


def run(admin: Client, pod: str, command: list[str], pieces: list[bytes]) -> tuple[bytes, int]:
    """Open an exec stream, give it ``pieces`` one per call for input then the end of input;
    what it printed and its exit code."""
    said: queue.Queue[ExecMessage] = queue.Queue()
    stream = ExecStream(admin, pod, "default", {"command": command, "stdin": True}, said.put)
    left, printed = list(pieces), b""
    try:
        while (message := said.get(timeout=60)).kind != "end":
            if message.kind == "output":
                printed += message.data
                stream.answer(message)
            else:
                stream.answer(message, {"stdin": left.pop(0)} if left else {"close": True})
        stream.answer(message)
        return printed, message.exit_code
    finally:
        stream.close()


def test_as_many_streams_as_call_workers_echo_their_input_whole_and_in_order(sim_cluster):
    admin = sim_cluster.admin_client()
    inputs = {f"p{n}": [f"{n}:{i:04d}\n".encode() * 64 for i in range(PIECES)]
              for n in range(STREAMS)}
    with ThreadPoolExecutor(STREAMS) as pool:
        done = {pod: pool.submit(run, admin, pod, ["cat"], pieces)
                for pod, pieces in inputs.items()}
        echoed = {pod: future.result(timeout=120) for pod, future in done.items()}
    assert echoed == {pod: (b"".join(pieces), 0) for pod, pieces in inputs.items()}


def test_each_stream_ends_with_its_own_commands_exit_code(sim_cluster):
    admin = sim_cluster.admin_client()
    with ThreadPoolExecutor(STREAMS) as pool:
        codes = list(pool.map(lambda n: run(admin, f"p{n}", ["sh", "-c", f"exit {n}"], [])[1],
                              range(STREAMS)))
    assert codes == list(range(STREAMS))


def test_streams_held_open_by_one_user_never_starve_anyones_logs(sim_cluster):
    """As many idle streams as the kubelet has call workers (a shell waiting for input, its
    opener answering every call for input with nothing yet) leave the calls of others,
    a log here, answered."""
    admin = sim_cluster.admin_client()
    said: queue.Queue[ExecMessage] = queue.Queue()
    streams = [ExecStream(admin, f"p{n}", "default", {"command": ["cat"], "stdin": True},
                          said.put) for n in range(STREAMS)]
    idle = threading.Event()

    def answer_nothing_yet() -> None:
        while not idle.is_set():
            with contextlib.suppress(queue.Empty):
                message = said.get(timeout=0.5)
                streams[0].answer(message, {} if message.kind == "input" else None)

    answering = threading.Thread(target=answer_nothing_yet, daemon=True)
    answering.start()
    try:
        assert admin.request("get", "pods", namespace="default", name="p0",
                             subresource="log") == ""
    finally:
        idle.set()
        answering.join(5)
        for stream in streams:
            stream.close()


def test_an_exec_cannot_be_a_dry_run_and_runs_nothing(sim_cluster):
    """A command cannot run dry: asked with dryRun, the exec is refused before admission (which
    would be told the CONNECT is a dry run) and before the kubelet (which would run it)."""
    admin = sim_cluster.admin_client()
    with pytest.raises(BadRequest, match="dryRun"):
        admin.request("create", "pods", namespace="default", name="p0", subresource="exec",
                      body={"command": ["sh", "-c", "exit 3"]}, options={"dryRun": ["All"]})


def attach(admin: Client, pod: str, pieces: list[bytes]) -> bytes:
    """Attach to ``pod``'s container with stdin, give it ``pieces``, read back as much as was
    given, then leave (hang up); what it printed."""
    said: queue.Queue[ExecMessage] = queue.Queue()
    stream = ExecStream(admin, pod, "default", {"stdin": True}, said.put, "attach")
    left, printed, wanted = list(pieces), b"", sum(map(len, pieces))
    try:
        while len(printed) < wanted:
            message = said.get(timeout=60)
            if message.kind == "output":
                printed += message.data
                stream.answer(message)
            elif message.kind == "input":
                stream.answer(message, {"stdin": left.pop(0)} if left else {})
        while (message := said.get(timeout=60)).kind != "input":
            stream.answer(message)
        stream.answer(message, {"hangup": True})
        return printed
    finally:
        stream.close()


def test_an_attach_echoes_a_stdin_containers_input_and_leaving_keeps_it_running(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tty"},
                          "spec": {"containers": [{"name": "c", "image": "busybox:1.35",
                                                   "stdin": True, "tty": True}]}}, "default")
    wait_for(admin, "pods", "tty", lambda p: p["status"].get("phase") == "Running")
    assert attach(admin, "tty", [b"one\n", b"two\n"]) == b"one\ntwo\n"
    assert attach(admin, "tty", [b"again\n"]) == b"again\n"  # the first left it running
    assert admin.get("pods", "tty", "default")["status"]["phase"] == "Running"


def test_an_attach_is_streamed_never_dry_and_never_to_a_completed_pod(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "done", "annotations": {"sim.kubeactor.io/run-seconds": "0"}}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.35"}]}},
        "default")
    wait_for(admin, "pods", "done", lambda p: p["status"].get("phase") == "Succeeded")
    with pytest.raises(BadRequest, match="cannot attach to a container in a completed pod"):
        ExecStream(admin, "done", "default", {}, lambda said: None, "attach")
    for options, refusal in (({}, "must be streamed"), ({"dryRun": ["All"]}, "dryRun")):
        with pytest.raises(BadRequest, match=refusal):
            admin.request("create", "pods", namespace="default", name="p0",
                          subresource="attach", body={}, options=options)
