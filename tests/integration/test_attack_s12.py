"""Session 12's attacks on the HTTPS API, with raw HTTP to the cluster's front on 127.0.0.1
(see ``test_attack_s11`` for the earlier ones). The attacker holds an unprivileged user's
certificate (``mallory``: no RBAC binding). Each test is one attempt; it passes when the
defence holds:

- what a write makes a worker do stays in proportion to its size: the managers a body's
  ``managedFields`` sends, and the conflicts of an apply, are looked up, not searched;
- a client leaving while its watch registers leaves no watch behind and breaks nothing of
  the front's (its bus connection);
- one client sends at most 16 request bodies at once: more are 429 before any byte of them
  is read;
- a user whose flow control refuses her (429) and who opens HTTPS watches meanwhile holds no
  thread of the front: her watches are answered 429 with ``Retry-After`` (as kube-apiserver
  answers a watch its priority level cannot take), and everyone else's watches and health
  checks go on.
"""

from __future__ import annotations

import concurrent.futures
import json
import ssl
import threading
from collections.abc import Iterator

import pytest

from actors.client.client import Client
from bindings.cluster import Cluster
from bindings.https.front import UPLOADS_PER_CLIENT
from bus.connection import Connection
from tests.integration.test_attack_s11 import Http, Pems, _pems, _start
from tests.integration.test_https_security import _raw, _status_line
from tests.support import until

pytestmark = pytest.mark.integration

MALLORYS = 96
"""Mallory's HTTPS watches: sixteen times the front's executor threads."""
WATCH = "/api/v1/namespaces/default/configmaps?watch=1"


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Cluster]:
    """An apiserver (no scheduler, no controllers) with its HTTPS front."""
    cluster = _start(tmp_path_factory.mktemp("attack12") / "cluster", nodes=0,
                     apiserver_only=True, disabled_admission=("ServiceAccount",))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def users(api: Cluster, tmp_path_factory) -> dict[str, Pems]:
    """``mallory`` and ``sender`` (no binding), ``maker`` (may create ConfigMaps in ``m``)
    and the admin,
    as certificate files, all known to flow control (no newcomer's wait from then on)."""
    where = tmp_path_factory.mktemp("pems")
    admin = api.admin_client("attack12-admin")
    admin.create("namespaces", {"metadata": {"name": "m"}}, None)
    admin.create("roles", {"metadata": {"name": "maker"}, "rules": [{
        "apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]}, "m")
    admin.create("rolebindings", {"metadata": {"name": "maker"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "maker"},
        "subjects": [{"kind": "User", "name": "maker"}]}, "m")
    users = {"mallory": _pems(api, where, "mallory"), "sender": _pems(api, where, "sender"),
             "maker": _pems(api, where, "maker"),
             "admin": _pems(api, where, "admin", "system:masters")}
    call = Http(api)
    for pems in users.values():
        assert call("GET", "/api/v1/namespaces/default/configmaps/none", client=pems)[0] in (
            403, 404)
    return users


class _Flood:
    """Mallory's watch registrations on the bus (the watch worker's, where her HTTPS
    watches queue too; each refused 403 once its turn comes), IN_FLIGHT at a time, each 429
    sent again after its ``Retry-After`` (as client-go does): her flow's queues stay full, so
    each of her requests is refused (429) or waits its queue's 5 s."""

    IN_FLIGHT = 1000

    def __init__(self, api: Cluster) -> None:
        credentials = api.credentials("mallory")
        self.connection = Connection(api.bus_of(credentials), "mallory-flood").connect()
        self.client = Client(self.connection, credentials)
        self.slots = threading.Semaphore(self.IN_FLIGHT)
        self.refused = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._flood, daemon=True)

    def __enter__(self) -> _Flood:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join(10)
        self.connection.close()

    def _flood(self) -> None:
        while not self.stopped.is_set():
            if self.slots.acquire(timeout=0.1):
                self.client.submit("watch", "configmaps", namespace="default", options={
                    "watchId": self.client.new_watch_id(), "leaseSeconds": 60},
                    timeout=30).add_done_callback(self._done)

    def _done(self, answer: concurrent.futures.Future[object]) -> None:
        if getattr(answer.exception(), "code", 0) == 429:
            self.refused += 1
            threading.Timer(1.0, self.slots.release).start()
        else:
            self.slots.release()


def _head(sock: ssl.SSLSocket) -> bytes:
    """The status line and headers of an answer."""
    answer = b""
    while b"\r\n\r\n" not in answer and (chunk := sock.recv(1024)):
        answer += chunk
    return answer.partition(b"\r\n\r\n")[0]


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: kubeactor\r\n\r\n".encode()


def test_watches_of_a_user_flow_control_refuses_hold_up_no_ones_watch(api, users):
    """Mallory keeps her flow's queues full, so flow control answers her 429 (Retry-After:
    1), and opens 96 HTTPS watches. The front registered each watch on one of its loop's six
    executor threads, where its client slept through every 429's pause and sent again, ten
    times: her watches held all six for tens of seconds, and the admin's ``kubectl get -w``
    and the front's health checks (the same threads) waited as long. The front now registers
    a watch without a thread, once: her watches are answered 429 with ``Retry-After`` (as
    kube-apiserver answers a watch its priority level cannot take; client-go waits and
    watches again), and the admin's watch and ``/livez`` are answered at once (before: 26 s).
    Those of her watches that found room in her queues waited their turn there, then were
    refused 403."""
    sockets: list[ssl.SSLSocket] = []
    with _Flood(api) as flood:
        try:
            until(lambda: flood.refused >= 100, 30, failure="mallory's flood was never refused")
            sockets += [_raw(api, users["mallory"], _get(WATCH)) for _ in range(MALLORYS)]
            admins = _raw(api, users["admin"], _get(WATCH))
            livez = _raw(api, None, _get("/livez"))
            sockets += [admins, livez]
            admins.settimeout(15)
            livez.settimeout(15)
            assert _status_line(admins) == b"HTTP/1.1 200 OK"
            assert _status_line(livez) == b"HTTP/1.1 200 OK"
            refused = [_head(sock) for sock in sockets[:MALLORYS]]
        finally:
            for sock in sockets:
                sock.close()
    throttled = [head for head in refused if head.startswith(b"HTTP/1.1 429 ")]
    print(f"mallory's watches: {len(throttled)} of {len(refused)} answered 429")
    assert throttled and all(b"Retry-After: 1" in head.split(b"\r\n") for head in throttled)
    assert all(head.startswith(b"HTTP/1.1 403 Forbidden") for head in refused
               if head not in throttled), refused  # her turn came: she may not watch


def test_a_create_sending_many_managers_is_recorded_in_time_linear_in_its_size(api, users):
    """The maker, who may only create ConfigMaps in ``m``, sends one of 6,000 keys and as
    many ``managedFields`` entries, each a manager of one key (870 KB). Recording the
    create's managers looked each manager's fields up among all the fields the create set:
    quadratic, 3,000 held a worker 6 s, 8,000 about 40 s, the body's 3 MiB minutes; 6,000
    went past the front's patience (a 504 at 10 s, the worker still at it). Now it is
    stored, its creator the only manager (it set every field)."""
    keys = 6_000
    managers = [{"manager": f"m{n}", "operation": "Update", "apiVersion": "v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {f"f:k{n}": {}}}}
                for n in range(keys)]
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "managed", "managedFields": managers},
        "data": {f"k{n}": "v" for n in range(keys)}}).encode()
    code, answer = Http(api)("POST", "/api/v1/namespaces/m/configmaps", body,
                             client=users["maker"])
    assert code == 201, answer
    assert [entry["manager"] for entry in answer["metadata"]["managedFields"]] == ["https"]


def test_a_client_sending_many_bodies_at_once_is_429_past_sixteen(api, users):
    """A user who may do nothing (``sender``) opens POSTs of 3 MB bodies and sends all but
    the last byte: the front read each into memory and held it up to the body's 60 s before the
    apiserver refused them (100 such held 370 MB, 1,000 would hold 3.6 GB: the process's
    end). Past 16 bodies of theirs being read at once, a request with a body is 429 with
    ``Retry-After`` at once, its body not read; once theirs are over they send again."""
    head = (b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: kubeactor\r\n"
            b"Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n{")
    call = Http(api)
    held = [_raw(api, users["sender"], head) for _ in range(UPLOADS_PER_CLIENT)]
    try:
        assert call("GET", "/api/v1/namespaces/default/configmaps/none",
                    client=users["sender"])[0] == 403  # the front has read those heads
        more = [_raw(api, users["sender"], head) for _ in range(4)]
        held += more
        for sock in more:
            sock.settimeout(10)
        heads = [_head(sock) for sock in more]
        assert all(answer.startswith(b"HTTP/1.1 429 ") and
                   b"Retry-After: 1" in answer.split(b"\r\n") for answer in heads), heads
        assert call("POST", "/api/v1/namespaces/default/configmaps", b"{}",
                    client=users["admin"])[0] in (400, 422)  # another client's is read
    finally:
        for sock in held:
            sock.close()
    until(lambda: call("POST", "/api/v1/namespaces/default/configmaps", b"{}",
                       client=users["sender"])[0] == 403, 10, failure="their bodies stayed counted")


def test_watches_their_clients_leave_while_they_register_break_nothing(api, users):
    """A watch registering holds no thread (above), but a client that left cancelled its
    registration on the bus loop, within the subscription's flush: nats-py then answered
    the PONG of a cancelled ping (``InvalidStateError``), and the front's bus connection was
    lost, every request of every client in flight with it. The registration now goes on
    and the watch is stopped once registered: 200 watches opened and left at once leave the
    front's connection up."""
    assert api.https is not None
    front = api.https.front
    lost: list[str] = []
    forget = front.connection.when_reconnected(lambda: lost.append("reconnected"))
    try:
        for index in range(200):
            sock = _raw(api, users["admin"], _get(WATCH))
            if index % 2:
                _status_line(sock)
            sock.close()
        last = _raw(api, users["admin"], _get(WATCH))  # its answer comes after their PONGs
        assert _status_line(last) == b"HTTP/1.1 200 OK"
        last.close()
        assert not lost and front.connection.down is None
    finally:
        forget()
