"""Floods against a real cluster (``kubeactor up`` in a process of its own, a real
nats-server) from another process, as test_fairness's, measured by three probers: the admin
(its exempt lane), a node (the ``system`` level) and a known user (``global-default``, the
level of every claim not authenticated yet), and by nodes starting under the flood.

- ``made-up``: mallory, whose certificate lets her on the bus and nowhere else, keeps a
  thousand requests out, each with a token she makes up, waiting what a 429 says (client-go):
  every such claim is its own flow, all paced on one account and (since session 10) dealt one
  hand of the level's queues. Before, they spread over every queue, whose heads then held the
  known user's requests behind that account's pace (p99 4.1-4.3 s, 13-17 requests answered
  in 30 s) and newcomers waited 3-7 s;
- ``made-up-hot``: seven thousand out, each sent again as soon as answered. Before, a
  newcomer was refused (429, ten times) for as long as the flood lasted;
- ``node``: a compromised node floods with its own credentials; its level is not paced.

The admin's p99 within 3x its idle p99 (test_fairness's criterion) is not met by any of
them (xfail): what they cost the workers before authentication, or a node's level, is paced
by nothing.
"""

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
in_flight, seconds, mode = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
patient = mode != "made-up-hot"
connection = Connection(config.bus(), "flooder").connect()
client = Client(connection, config.credentials())
subject = connection.subjects.api("", "configmaps", "list")
slots, lock, codes = threading.Semaphore(in_flight), threading.Lock(), {}

def count(code, retry_after):
    with lock:
        codes[code] = codes.get(code, 0) + 1
    pause = retry_after if code == "429" and patient else 0  # client-go waits Retry-After
    threading.Timer(pause, slots.release).start() if pause else slots.release()

def answered(future):
    error = future.exception()
    status = (future.result().status or {}) if error is None else {}
    count(str(status.get("code", 200)) if error is None else type(error).__name__,
          (status.get("details") or {}).get("retryAfterSeconds", 1))

def served(future):
    error = future.exception()
    count("200" if error is None else str(getattr(error, "code", type(error).__name__)),
          getattr(error, "details", {}).get("retryAfterSeconds", 1) if error else 0)

def made_up_one():
    connection.request(subject, Envelope(verb="list", resource="configmaps",
                                         namespace="default",
                                         auth={"token": os.urandom(12).hex()}),
                       30).add_done_callback(answered)

def real_one():
    client.submit("list", "configmaps", namespace="default", timeout=30).add_done_callback(
        served)

send = real_one if mode == "node" else made_up_one
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
LOADED_BUDGET = 12.0
"""Seconds each prober samples under the flood, at most (the flood lasts SECONDS)."""
FLOODS = {"made-up": ("mallory", (), 1000), "made-up-hot": ("mallory", (), 7000),
          "node": ("system:node:rogue", ("system:nodes",), 1000)}
"""Who floods, in which groups, with how many requests in flight: mallory with made-up
tokens, as test_fairness's flooder does with a user's real ones (a thousand in flight, a
429's Retry-After waited), or with seven thousand (more than ``global-default`` queues) sent
again at once; or a compromised node with its own credentials (a flow of the ``system``
level, which is not paced), as test_fairness's flooder."""
REFUSAL = {"made-up": "401", "made-up-hot": "401", "node": "403"}
"""What the flood's requests are answered but 429: a made-up token is nobody; the node may
not list ConfigMaps."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"), "--nodes", "0", "--runtime", "sim")
    for args in (("create", "role", "reader", "--verb=get,list", "--resource=configmaps"),
                 ("create", "rolebinding", "editor-reads", "--role=reader", "--user=editor")):
        assert up.kubectl(*args).returncode == 0
    yield up
    stop_up(up)


def issued(cluster: UpProcess, directory: Path, user: str, *groups: str) -> Path:
    path = directory / user.replace(":", "-")
    cluster.cli("certs", "issue", "--user", user, *(f"--group={g}" for g in groups),
                "--kubeconfig-out", str(path))
    return path


def latencies(call: Callable[[], object], samples: int = SAMPLES,
              budget: float = float("inf")) -> tuple[list[float], list[str]]:
    """The seconds each of ``samples`` sequential calls took (fewer once ``budget`` seconds
    have passed), and the errors some ended with."""
    took, failed, deadline = [], [], time.monotonic() + budget
    for _ in range(samples):
        started = time.perf_counter()
        try:
            call()
        except Exception as error:  # what a client would meet: counted, then the next
            failed.append(type(error).__name__)
        took.append(time.perf_counter() - started)
        if time.monotonic() > deadline:
            break
    return took, failed


def p99(took: list[float]) -> float:
    ordered = sorted(took)
    return ordered[int(len(ordered) * 0.99) - 1]


def node_reads(client: Client) -> object:
    """What a kubelet reads (its pods: all a node may list)."""
    return client.request("list", "pods", options={"fieldSelector": "spec.nodeName=probe"})


def first_request(path: Path, name: str) -> tuple[str, float]:
    """A component that starts now (a new connection, a new certificate session): how its
    first request ends ("ok" or the error's name), and the seconds it took."""
    config = kubeconfig.load(path)
    started = time.perf_counter()
    connection = Connection(config.bus(), name).connect()
    try:
        node_reads(Client(connection, config.credentials()))
        outcome = "ok"
    except Exception as error:  # what a component would meet
        outcome = type(error).__name__
    finally:
        connection.close()
    return outcome, time.perf_counter() - started


@dataclass(frozen=True)
class Flooded:
    mode: str
    idle: dict[str, float]
    """Each prober's p99 without the flood, before and after it (s)."""
    loaded: dict[str, float]
    """... and under it."""
    worst: dict[str, float]
    """Each prober's slowest request under the flood (s)."""
    failed: dict[str, list[str]]
    """The errors each prober's requests under the flood ended with."""
    newcomers: list[tuple[str, float]]
    """Each newcomer's first request under the flood: how it ended, and its seconds."""
    newcomers_outlived: bool
    """The flood ended before every newcomer's first request did."""
    codes: dict[str, int]
    """The flooder's answers, by code."""


@pytest.fixture(scope="module", params=sorted(FLOODS))
def flooded(cluster: UpProcess, tmp_path_factory, request) -> Iterator[Flooded]:
    """The admin lists pods (the exempt lane), a node its pods (the ``system`` level) and the
    editor ConfigMaps (``global-default``, as the flood's made-up claims), SAMPLES times each
    one after the other, before, under (LOADED_BUDGET seconds each at most) and after the
    flood (idle: before and after together); then, under it still, NEWCOMERS nodes start."""
    mode = request.param
    flooder_user, groups, in_flight = FLOODS[mode]
    directory = tmp_path_factory.mktemp("identities")
    flooder = issued(cluster, directory, flooder_user, *groups)
    node = issued(cluster, directory, "system:node:probe", "system:nodes")
    editor = issued(cluster, directory, "editor")
    connections: list[Connection] = []

    def client_of(path: Path, name: str) -> Client:
        config = kubeconfig.load(path)
        connections.append(Connection(config.bus(), name).connect())
        return Client(connections[-1], config.credentials())

    flood: subprocess.Popen[str] | None = None
    try:
        admin, prober, reader = (client_of(cluster.kubeconfig, "admin"),
                                 client_of(node, "probe"), client_of(editor, "editor"))
        calls: dict[str, Callable[[], object]] = {
            "admin": lambda: admin.request("list", "pods", namespace="default"),
            "node": lambda: node_reads(prober),
            "user": lambda: reader.request("list", "configmaps", namespace="default")}
        for call in calls.values():
            latencies(call, 50)  # warm: the sessions, the classification
        before = {name: latencies(call)[0] for name, call in calls.items()}
        flood = subprocess.Popen([sys.executable, "-c", FLOODER, str(flooder), str(in_flight),
                                  str(SECONDS), mode], stdout=subprocess.PIPE, text=True)
        assert flood.stdout is not None and flood.stdout.readline().strip() == "flooding"
        time.sleep(1.0)  # under way: its requests in flight
        loaded = {name: latencies(call, SAMPLES, LOADED_BUDGET) for name, call in calls.items()}
        with ThreadPoolExecutor(NEWCOMERS) as pool:
            newcomers = list(pool.map(lambda i: first_request(node, f"newcomer-{i}"),
                                      range(NEWCOMERS)))
        outlived = flood.poll() is not None
        codes = json.loads(flood.communicate(timeout=SECONDS + 60)[0])
        idle = {name: before[name] + latencies(call)[0] for name, call in calls.items()}
    finally:
        for connection in connections:
            connection.close()
        if flood is not None and flood.poll() is None:
            flood.kill()
            flood.communicate()
    result = Flooded(mode, {name: p99(took) for name, took in idle.items()},
                     {name: p99(took) for name, (took, _) in loaded.items()},
                     {name: max(took) for name, (took, _) in loaded.items()},
                     {name: failed for name, (_, failed) in loaded.items()},
                     newcomers, outlived, codes)
    print(f"{mode} flood: p99 idle -> loaded (worst), ms: " + ", ".join(
        f"{name} {result.idle[name] * 1000:.1f} -> {result.loaded[name] * 1000:.1f} "
        f"({result.worst[name] * 1000:.0f}, {len(loaded[name][0])} sent, failed "
        f"{result.failed[name]})" for name in calls) +
        f"; newcomers {newcomers}{' (after the flood)' if outlived else ''}; flooder's "
        f"answers {codes}")
    yield result


def test_the_flood_is_refused(flooded):
    refusal = REFUSAL[flooded.mode]
    assert set(flooded.codes) <= {refusal, "429"}, flooded.codes
    assert flooded.codes.get(refusal, 0) > 0


@pytest.mark.xfail(reason="a refusal made before authenticating is paced by nothing: "
                   "benchmarks/RESULTS.md, s10-attack10", strict=False)
def test_the_admins_p99_under_the_flood_stays_within_three_times_its_idle_p99(flooded):
    """test_fairness's criterion, not met on the 2-core machine of session 10 at load 6-10
    (test_fairness's own flood: 1.1x at that load): each made-up token costs the workers its
    classification, its 401 or 429 and their answers before any pace applies (the admin's p99
    4.4x idle on main; 12x on the branch, whose flood's overflow is refused at once rather
    than after 5 s in a queue, so the flooder cycles 2.5x as fast), and a compromised node's
    level is not paced at all (11-24x)."""
    assert flooded.loaded["admin"] <= 3 * flooded.idle["admin"], (
        f"p99 under the flood {flooded.loaded['admin'] * 1000:.1f} ms, idle "
        f"{flooded.idle['admin'] * 1000:.1f} ms")


def test_everyone_elses_requests_under_the_flood_are_answered_in_time(flooded):
    """Every request of the admin, a node and a known user answered within a client's
    patience, the user's in the level of the flood's claims (``global-default``)."""
    assert flooded.failed == {name: [] for name in flooded.failed}
    assert max(flooded.worst.values()) < 5.0, flooded.worst


def test_a_component_starting_under_the_flood_is_served(flooded):
    """A newcomer's claim is unverified until its first request is authenticated: its
    handshake and first request wait on the one account of unverified claims, with a made-up
    flood's. They are served still (a component starting, or renewing its session, under
    the flood would otherwise never get in). Not always against a flood that sends each
    refused request again at once: its claims and the newcomer's share one hand of queues,
    which the flood refills as soon as a place is free (on the branch: served in 3.6-29 s,
    once refused ten times; on main every newcomer was refused for the whole flood). Telling
    a newcomer from a made-up claim takes a check before classifying (a ticket that opens, a
    hello's certificate that chains to the CA): left to the lead."""
    if flooded.mode == "made-up-hot":
        pytest.xfail("a newcomer's claim and a made-up one are told apart only once "
                     "authenticated (see the docstring)")
    assert [outcome for outcome, _ in flooded.newcomers] == ["ok"] * NEWCOMERS, \
        flooded.newcomers
    assert not flooded.newcomers_outlived, "served only once the flood was over"
    assert max(seconds for _, seconds in flooded.newcomers) < 20
