"""Nothing acknowledged is lost: ``kill -9`` the control plane in the middle of 500 concurrent
creates, start it again on the same data, and find every acknowledged object, whole. On each
store backend: SQLite in the data dir (with the embedded nats-server, killed with it), and
JetStream KV on a nats-server of the test's own, which outlives the killed process."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import msgpack
import nats
import pytest

from bindings import kubeconfig
from bus import Envelope, Subjects, encode
from bus.config import tls_options
from bus.subjects import ANONYMOUS
from tests.conftest import STORES
from tests.processes import start_up, stop_up

pytestmark = pytest.mark.integration

TOTAL, CLIENTS, KILL_AFTER = 500, 64, 150


async def create_until_killed(config: kubeconfig.KubeConfig, up) -> set[str]:
    """Create TOTAL configmaps from CLIENTS concurrent clients; kill -9 the server once
    KILL_AFTER were acknowledged; return the names that were acknowledged."""
    subjects = Subjects(config.prefix)
    nc = await nats.connect(config.server, user=config.nats_user, password=config.nats_password,
                            inbox_prefix=subjects.inbox(config.nats_user or ANONYMOUS).encode(),
                            max_reconnect_attempts=0,
                            **tls_options(config.server, config.nats_ca or config.ca))
    acknowledged: set[str] = set()
    names = iter(f"cm-{i:03d}" for i in range(TOTAL))

    async def client() -> None:
        for name in names:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                    "data": {"payload": name * 20}}
            envelope = Envelope(verb="create", resource="configmaps", namespace="default",
                                name=name, body=body, auth={"token": config.token})
            try:
                reply = await nc.request(subjects.api("", "configmaps", "create"),
                                         encode(envelope), timeout=5)
            except nats.errors.Error:
                return  # the server is gone
            if msgpack.unpackb(reply.data)["status"]["code"] == 201:
                acknowledged.add(name)
                if len(acknowledged) == KILL_AFTER:
                    up.process.send_signal(signal.SIGKILL)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    # the server died under the flush; nats-py's close of a TLS transport already gone fails
    # on its missing protocol (AttributeError), as bus.connection._close_quietly knows
    with contextlib.suppress(ConnectionError, AttributeError):
        await nc.close()
    return acknowledged


@pytest.mark.parametrize("store", STORES)
def test_every_acknowledged_create_survives_kill_9(tmp_path, admin_for, store, request):
    data = tmp_path / "server"
    flags = ["--store", store]
    if store == "jetstream":
        flags += ["--nats", request.getfixturevalue("nats_server").url]
    up = start_up(data, *flags, verb="server")
    try:
        acknowledged = asyncio.run(create_until_killed(kubeconfig.load(up.kubeconfig), up))
    finally:  # never leave the first server running for the next test to find
        up.process.kill()
    assert up.process.wait(timeout=30) == -signal.SIGKILL
    assert KILL_AFTER <= len(acknowledged) < TOTAL  # it died part way

    again = start_up(data, *flags, verb="server")
    try:
        admin = admin_for(again)
        stored = [c for c in admin.list("configmaps", "default")["items"]
                  if c["metadata"]["name"] != "kube-root-ca.crt"]  # the controller's own
        by_name = {c["metadata"]["name"]: c for c in stored}
        assert acknowledged <= set(by_name)  # nothing acknowledged is lost
        for name, obj in by_name.items():  # nothing is half-written
            assert obj["data"] == {"payload": name * 20} and obj["metadata"]["uid"]
        revisions = sorted(int(c["metadata"]["resourceVersion"]) for c in stored)
        assert len(set(revisions)) == len(revisions)  # one revision per write
        after = admin.create("configmaps", {"metadata": {"name": "after-restart"}})
        assert int(after["metadata"]["resourceVersion"]) > revisions[-1]
    finally:
        assert stop_up(again) == 0
