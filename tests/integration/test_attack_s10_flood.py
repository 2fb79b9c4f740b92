"""A flood of made-up credentials against a real cluster (``kubeactor up`` in a process of its
own, a real nats-server), from another process, as test_fairness floods with a user's real
ones: mallory, whose certificate lets her on the bus and nowhere else, keeps a thousand
requests out, each with a token she makes up, and sends the next as soon as one is answered
(429 or 401: she does not wait what Retry-After says). Every such claim is a newcomer's, so
their time is paced as one sender's (``Flow.debtor``), and the admin's requests travel on a
lane of their own: the admin's p99 stays within 3x its idle p99, as under a user's flood, and
a node's requests (a flow of the ``system`` level, not paced, on the same workers as the
flood) are still answered within the clients' patience."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from actors.client.client import Client
from bindings import kubeconfig
from bus.connection import Connection
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.integration

FLOODER = """
import json, os, sys, threading, time
from pathlib import Path
from actors.client.client import Client
from bindings import kubeconfig
from bus.connection import Connection
from bus.envelope import Envelope

config = kubeconfig.load(Path(sys.argv[1]))
in_flight, seconds, made_up = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "made-up"
connection = Connection(config.bus(), "flooder").connect()
client = Client(connection, config.credentials())
subject = connection.subjects.api("", "configmaps", "list")
slots, lock, codes = threading.Semaphore(in_flight), threading.Lock(), {}

def count(code):
    with lock:
        codes[code] = codes.get(code, 0) + 1
    slots.release()  # the next at once: no Retry-After honoured

def answered(future):
    error = future.exception()
    count(str((future.result().status or {}).get("code", 200)) if error is None
          else type(error).__name__)

def served(future):
    error = future.exception()
    count("200" if error is None else str(getattr(error, "code", type(error).__name__)))

def made_up_one():
    connection.request(subject, Envelope(verb="list", resource="configmaps",
                                         namespace="default",
                                         auth={"token": os.urandom(12).hex()}),
                       30).add_done_callback(answered)

def real_one():
    client.submit("list", "configmaps", namespace="default", timeout=30).add_done_callback(
        served)

send = made_up_one if made_up else real_one
print("flooding", flush=True)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    slots.acquire()
    send()
time.sleep(2)
print(json.dumps(codes), flush=True)
connection.close()
"""
SAMPLES = 500
SECONDS = 60
NEWCOMERS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"), "--nodes", "0", "--runtime", "sim")
    yield up
    stop_up(up)


def issued(cluster: UpProcess, directory: Path, user: str, *groups: str) -> Path:
    path = directory / user.replace(":", "-")
    cluster.cli("certs", "issue", "--user", user, *(f"--group={g}" for g in groups),
                "--kubeconfig-out", str(path))
    return path


def latencies(call: Callable[[], object], samples: int = SAMPLES) -> list[float]:
    """The seconds each of ``samples`` sequential calls took."""
    took = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return took


def p99(took: list[float]) -> float:
    ordered = sorted(took)
    return ordered[int(len(ordered) * 0.99) - 1]


@dataclass(frozen=True)
class Flooded:
    admin_idle: float
    admin_loaded: float
    node_idle: float
    node_loaded: float
    node_worst: float
    mode: str
    newcomers: list[tuple[str, float]]
    """Each newcomer's first request under the flood: how it ended, and its seconds."""
    codes: dict[str, int]


def first_request(path: Path, name: str) -> tuple[str, float]:
    """A component that starts now (a new connection, a new certificate session): how its
    first request ends ("ok" or the error's name), and the seconds it took."""
    config = kubeconfig.load(path)
    started = time.perf_counter()
    connection = Connection(config.bus(), name).connect()
    try:
        Client(connection, config.credentials()).request("list", "nodes")
        outcome = "ok"
    except Exception as error:  # what a component would meet
        outcome = type(error).__name__
    finally:
        connection.close()
    return outcome, time.perf_counter() - started


FLOODS = {"made-up": ("mallory", (), 7000), "node": ("system:node:rogue", ("system:nodes",), 1000)}
"""Who floods, in which groups, with how many requests in flight: mallory with made-up
tokens (more than ``global-default`` queues: every queue of that level full), or a
compromised node with its own credentials (a flow of the ``system`` level, which is not
paced), as many as test_fairness's flooder."""


@pytest.fixture(scope="module", params=sorted(FLOODS))
def flooded(cluster: UpProcess, tmp_path_factory, request) -> Iterator[Flooded]:
    """The admin lists pods and a node lists nodes, SAMPLES times each one after the
    other, before, under and after the flood (idle: before and after together); under it,
    NEWCOMERS components start."""
    mode = request.param
    flooder_user, groups, in_flight = FLOODS[mode]
    directory = tmp_path_factory.mktemp("identities")
    flooder = issued(cluster, directory, flooder_user, *groups)
    node = issued(cluster, directory, "system:node:probe", "system:nodes")
    connections: list[Connection] = []

    def client_of(path: Path, name: str) -> Client:
        config = kubeconfig.load(path)
        connections.append(Connection(config.bus(), name).connect())
        return Client(connections[-1], config.credentials())

    flood: subprocess.Popen[str] | None = None
    try:
        admin, prober = client_of(cluster.kubeconfig, "admin"), client_of(node, "probe")

        def admin_call() -> object:
            return admin.request("list", "pods", namespace="default")

        def node_call() -> object:
            return prober.request("list", "nodes")

        for call in (admin_call, node_call):
            latencies(call, 50)  # warm: the sessions, the classification
        before = {call: latencies(call) for call in (admin_call, node_call)}
        flood = subprocess.Popen([sys.executable, "-c", FLOODER, str(flooder), str(in_flight),
                                  str(SECONDS), mode], stdout=subprocess.PIPE, text=True)
        assert flood.stdout is not None and flood.stdout.readline().strip() == "flooding"
        time.sleep(1.0)  # under way: its requests in flight
        loaded = {call: latencies(call) for call in (admin_call, node_call)}
        with ThreadPoolExecutor(NEWCOMERS) as pool:
            newcomers = list(pool.map(lambda i: first_request(node, f"newcomer-{i}"),
                                      range(NEWCOMERS)))
        assert flood.poll() is None, "the flood ended before the newcomers did"
        codes = json.loads(flood.communicate(timeout=SECONDS + 60)[0])
        idle = {call: before[call] + latencies(call) for call in (admin_call, node_call)}
    finally:
        for connection in connections:
            connection.close()
        if flood is not None and flood.poll() is None:
            flood.kill()
            flood.communicate()
    result = Flooded(p99(idle[admin_call]), p99(loaded[admin_call]), p99(idle[node_call]),
                     p99(loaded[node_call]), max(loaded[node_call]), mode, newcomers, codes)
    print(f"{mode} flood: admin p99 idle {result.admin_idle * 1000:.1f} ms, loaded "
          f"{result.admin_loaded * 1000:.1f} ms; node p99 idle {result.node_idle * 1000:.1f} "
          f"ms, loaded {result.node_loaded * 1000:.1f} ms (worst "
          f"{result.node_worst * 1000:.0f} ms); newcomers {newcomers}; flooder's answers "
          f"{codes}")
    yield result


def test_the_flood_is_refused(flooded):
    """Made-up tokens: 401 (or 429); the node: 403 (it may not list ConfigMaps), or 429."""
    refusal = "401" if flooded.mode == "made-up" else "403"
    assert set(flooded.codes) <= {refusal, "429"}, flooded.codes
    assert flooded.codes.get(refusal, 0) > 0


def test_the_admins_p99_under_a_made_up_flood_stays_within_three_times_its_idle_p99(flooded):
    assert flooded.admin_loaded <= 3 * flooded.admin_idle, (
        f"p99 under the flood {flooded.admin_loaded * 1000:.1f} ms, idle "
        f"{flooded.admin_idle * 1000:.1f} ms")


def test_a_nodes_requests_under_a_made_up_flood_are_answered_in_time(flooded):
    """Every one answered (none timed out: ``latencies`` would have raised) well within a
    client's 10 s."""
    assert flooded.node_worst < 5.0


def test_a_component_starting_under_a_made_up_flood_is_served(flooded):
    """A newcomer's claim is unverified until its first request is authenticated: its
    handshake and first request wait on the one account of unverified claims, with the
    flood's. They must still be served (a component starting, or renewing its session, under
    the flood would otherwise never get in)."""
    assert [outcome for outcome, _ in flooded.newcomers] == ["ok"] * NEWCOMERS, \
        flooded.newcomers
    assert max(seconds for _, seconds in flooded.newcomers) < 20
