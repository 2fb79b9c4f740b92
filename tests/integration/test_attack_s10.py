"""Session 10's attacks on flow control and the scheduler, over a real nats-server and store.

The attacker holds what an attacker would: an unprivileged user's certificate (a NATS identity
of her own, no RBAC binding), a simulated node's identity, and the bus's URL. Each test is one
attempt; it passes when the defence holds:

- flow control classifies a request before authenticating it, by the claim it makes (its reply
  inbox's owner, its credentials): a made-up credential naming another identity's inbox is a
  newcomer of its own, whatever that inbox's owner looks like (a service account of
  kube-system, whose FlowSchema is an unpaced level);
- what the workers learnt of claims cannot be forgotten on an attacker's say-so: only the
  credential that authenticates a request names its claim;
- nobody but the apiserver publishes a watch event, so a watch decoded with the apiserver's
  trusted decoder hears no forged one;
- the 429 flow control answers before authenticating takes the nonce of the request refused:
  a forged copy of a victim's session request (its ticket, a nonce of the attacker's, no MAC)
  takes nothing of the victim's, whose requests are answered.
"""

from __future__ import annotations

import base64
import csv
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from actors.apiserver import fairness
from actors.client.client import Client
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection, Envelope, encode
from bus import loop as bus_loop
from bus.envelope import MAC_HEADER, mac
from tests.conftest import NOBODY_TOKEN, pod, wait_for
from tests.support import until

pytestmark = pytest.mark.integration

SA_INBOX = "kubeactor.inbox.system:serviceaccount:kube-system:x"
"""An inbox named as kube-system's service accounts' would be: their FlowSchema
(``kube-system-service-accounts``) sends them to ``workload-high``, a level flow control does
not pace."""
MONITORING_INBOX = "kubeactor.inbox.system:serviceaccount:monitoring:agent"
EXEMPT_MONITORING: dict[str, Any] = {"metadata": {"name": "monitoring-exempt"}, "spec": {
    "priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 50,
    "rules": [{"subjects": [{"kind": "ServiceAccount", "serviceAccount": {
        "namespace": "monitoring", "name": "*"}}],
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                           "namespaces": ["*"], "clusterScope": True}]}]}}
"""A cluster's own choice, as some make: its monitoring agents' requests never wait."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    """An apiserver (no scheduler, no controllers) whose token file holds ``nobody``."""
    data = tmp_path_factory.mktemp("attack") / "cluster"
    data.mkdir()
    with (data / "tokens.csv").open("w", newline="") as handle:
        csv.writer(handle).writerow([NOBODY_TOKEN, "nobody", "nobody", ""])
    cluster = Cluster.start(ClusterConfig(data_dir=data, nodes=0, apiserver_only=True,
                                          disabled_admission=("ServiceAccount",)))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def admin(cluster: Cluster) -> Client:
    return cluster.admin_client("attack-admin")


@pytest.fixture(scope="module")
def observer(cluster: Cluster) -> Iterator[Connection]:
    """The bus admin's connection: it may read every subject, the test's eyes on inboxes
    nobody else reads."""
    connection = Connection(cluster.bus(), "observer").connect()
    yield connection
    connection.close()


def uid_of_schema(admin: Client, name: str) -> str:
    return str(admin.get("flowschemas", name, None)["metadata"]["uid"])


def heard_on(observer: Connection, subject: str) -> list[Envelope]:
    """What the apiserver answers into ``subject`` (an inbox: every reply under it)."""
    heard: list[Envelope] = []
    observer.subscribe(f"{subject}.>", lambda incoming: heard.append(incoming.envelope))
    return heard


def publish(connection: Connection, subject: str, envelope: Envelope, reply: str) -> None:
    """A raw request, its reply subject the sender's choice (NATS checks none)."""
    bus_loop.wait(connection.nc.publish(subject, encode(envelope), reply=reply))
    bus_loop.wait(connection.nc.flush())


# -- who a made-up credential is -----------------------------------------------------------


@pytest.mark.parametrize("inbox, schema", [(SA_INBOX, "kube-system-service-accounts"),
                                           (MONITORING_INBOX, "monitoring-exempt")])
def test_a_made_up_credential_naming_a_service_accounts_inbox_is_not_that_accounts_flow(
        cluster, admin, observer, connect, inbox, schema):
    """Mallory names, as her requests' reply inbox, one a service account's would be, with a
    made-up token: before it is authenticated (401), her request must be a newcomer's
    (``global-default``, paced), never the FlowSchema that account's requests meet (unpaced
    ``workload-high``, or a cluster's exempt schema: a flood there would never wait)."""
    if schema == EXEMPT_MONITORING["metadata"]["name"]:
        admin.create("flowschemas", EXEMPT_MONITORING, None)
    newcomer, theirs = uid_of_schema(admin, "global-default"), uid_of_schema(admin, schema)
    heard = heard_on(observer, inbox)
    mallory = connect(cluster, "mallory")
    for index in range(3):
        publish(mallory, "kubeactor.api.core.configmaps.list", Envelope(
            verb="list", resource="configmaps", namespace="kube-system",
            auth={"token": f"made-up-{index}"}), f"{inbox}.{index}")
    until(lambda: len(heard) == 3, 30, failure=f"answers heard: {heard}")
    assert [(reply.status or {}).get("code") for reply in heard] == [401] * 3
    schemas = {(reply.options or {}).get("flowSchemaUID") for reply in heard}
    assert schemas == {newcomer}, f"classified as {schema} ({theirs}), not a newcomer"


# -- what the workers learnt of claims ------------------------------------------------------


def answered(client: Client, auth: dict[str, Any] | None = None) -> Envelope:
    """The reply to one ``list configmaps`` of ``client``'s session, with ``auth`` added to
    its credentials (the MAC right: the request authenticates as the session's user)."""
    info = client.info("configmaps")
    proof = client.credentials.prove(client.connection)
    assert proof.auth is not None
    envelope = client.envelope("list", info, "default", None, None, None, None, None,
                               {**proof.auth, **(auth or {})})
    return client.connection.request(client.subject("list", info, None), envelope, 10,
                                     proof.mac_key).result()


def session_client(cluster: Cluster, connect: Callable[..., Connection], user: str) -> Client:
    credentials = cluster.credentials(user)
    return Client(connect(cluster.bus_of(credentials), user.rpartition(":")[2]), credentials)


def test_a_credential_beside_the_one_that_authenticates_mints_no_claims(
        cluster, admin, connect, monkeypatch):
    """Mallory's session requests carry, beside her ticket (which authenticates them), a token
    she makes up for each: were that token her claim, every request would be a claim learnt
    anew, and past MAX_IDENTITIES of them the workers would forget every claim they knew, the
    scheduler's among them (its next request then a newcomer's, paced with any flood of
    made-up credentials). Her claim is her ticket's: the scheduler stays known."""
    monkeypatch.setattr(fairness, "MAX_IDENTITIES", 16)
    scheduler = session_client(cluster, connect, "system:kube-scheduler")
    schedulers = uid_of_schema(admin, "kube-scheduler")
    answered(scheduler)  # learnt from its first request on
    assert (answered(scheduler).options or {}).get("flowSchemaUID") == schedulers
    mallory = session_client(cluster, connect, "test:mallory-mints")
    codes = {(answered(mallory, {"token": f"made-up-{index}"}).status or {}).get("code")
             for index in range(2 * fairness.MAX_IDENTITIES)}
    assert codes == {403}  # authenticated as herself, who may list nothing
    assert (answered(scheduler).options or {}).get("flowSchemaUID") == schedulers, \
        "the scheduler's claim was forgotten"



# -- flow control's 429 and the nonces it takes ---------------------------------------------


VICTIMS = 40
"""The victim's requests at once: more than its level's seats."""


def tight(name: str) -> dict[str, Any]:
    """A level of one share that queues nothing: what it cannot seat at once gets 429."""
    return {"metadata": {"name": name}, "spec": {"type": "Limited", "limited": {
        "nominalConcurrencyShares": 1, "limitResponse": {"type": "Reject"}}}}


def schema(name: str, level: str, subject: dict[str, Any], resource: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {
        "priorityLevelConfiguration": {"name": level}, "matchingPrecedence": 100,
        "distinguisherMethod": {"type": "ByUser"}, "rules": [{
            "subjects": [subject], "resourceRules": [{
                "verbs": ["*"], "apiGroups": ["*"], "resources": [resource],
                "namespaces": ["*"]}]}]}}


def test_forged_copies_refused_by_flow_control_take_no_nonce_of_the_victims(
        cluster, admin, observer, connect, caplog):
    """Mallory sends hundreds of session requests naming the victim's inbox, with a made-up
    ticket, a timestamp ahead and nonces of her own (no MAC), into a level that refuses what it
    cannot seat: flow control answers them 429 before authenticating them, taking their nonces
    (into the victim's inbox, at reply subjects no request of the victim's waits on). Meanwhile
    the victim's own requests, in a tight flow of theirs too, meet 429s and are sent again: each
    is answered (here 403: the victim may list nothing), none left waiting for an answer its
    nonce taken would have kept."""
    for level in ("a10-victim", "a10-forged"):
        admin.create("prioritylevelconfigurations", tight(level), None)
    admin.create("flowschemas", schema("a10-victim", "a10-victim", {
        "kind": "User", "user": {"name": "test:victim"}}, "configmaps"), None)
    admin.create("flowschemas", schema("a10-forged", "a10-forged", {
        "kind": "Group", "group": {"name": "kubeactor.io:unverified"}}, "secrets"), None)
    caplog.set_level(logging.INFO, "actors.client.client")
    victim = session_client(cluster, connect, "test:victim")
    answered(victim)  # its claim learnt: its flow is the tight one from now on
    forged_inbox = f"{victim.connection.subjects.inbox(victim.connection.owner)}.forged"
    heard = heard_on(observer, forged_inbox)
    mallory = connect(cluster, "mallory-burns")
    stop, sent = threading.Event(), itertools.count()

    async def burst() -> None:
        """Published in one go: the worker queues the lot before serving any."""
        for _ in range(200):
            envelope = Envelope(verb="list", resource="secrets", namespace="default",
                                auth={"ticket": os.urandom(48), "ts": time.time() + 25,
                                      "nonce": os.urandom(16)})
            await mallory.nc.publish("kubeactor.api.core.secrets.list", encode(envelope),
                                     reply=f"{forged_inbox}.{next(sent)}")
        await mallory.nc.flush()

    def forge() -> None:
        while not stop.is_set():
            bus_loop.wait(burst())

    def refused() -> bool:
        return any((reply.status or {}).get("code") == 429 for reply in heard)

    with ThreadPoolExecutor(1 + VICTIMS) as pool:
        forging = pool.submit(forge)
        try:
            until(refused, 30, failure="no forged request met flow control's 429")
            outcomes = [pool.submit(lambda: victim.request(
                "list", "configmaps", namespace="default")) for _ in range(VICTIMS)]
            errors = [type(outcome.exception(60)).__name__ for outcome in outcomes]
        finally:
            stop.set()
        forging.result(30)
    assert errors == ["Forbidden"] * VICTIMS, errors
    assert any("again in" in record.getMessage() for record in caplog.records), \
        "the victim met no 429: its nonces were never at stake"



# -- a flood of made-up credentials ----------------------------------------------------------

FLOOD = 16_000
"""Made-up requests in one burst: more than the ``global-default`` level queues in both
workers (128 queues of 50 each)."""


def test_a_made_up_flood_fills_no_queue_of_a_known_user(cluster, observer, connect):
    """Mallory publishes, in one burst, requests that each carry a token she makes up: each is
    a claim no worker knows, so each its own flow of ``global-default``, dealt its own hand of
    that level's queues, and the level's queues fill (the overflow refused 429). A known
    user's request that comes right behind them (the editor's, authenticated before: a flow
    of that level) must still find room in its hand: it is answered (403: the editor may list
    nothing), not refused as the flood's overflow is."""
    editor = session_client(cluster, connect, "test:editor")
    assert (answered(editor).status or {}).get("code") == 403  # learnt
    probe = f"{editor.connection.subjects.inbox(editor.connection.owner)}.probe"
    editors = heard_on(observer, probe)
    mallory = connect(cluster, "mallory-floods")
    void = f"{mallory.subjects.inbox(mallory.owner)}.void"
    codes: dict[int, int] = {}

    def heard(incoming: Any) -> None:
        code = int((incoming.envelope.status or {}).get("code", 0))
        codes[code] = codes.get(code, 0) + 1

    mallory.subscribe(f"{void}.>", heard)
    info, proof = editor.info("configmaps"), editor.credentials.prove(editor.connection)
    assert proof.auth is not None and proof.mac_key is not None
    subject = editor.subject("list", info, None)
    data = encode(editor.envelope("list", info, "default", None, None, None, None, None,
                                  proof.auth))
    reply = f"{probe}.1"
    signed = {MAC_HEADER: base64.b64encode(mac(proof.mac_key, subject, reply, data)).decode()}

    async def flood() -> None:
        """The editor's request sent by mallory's connection, behind the flood: nats-server
        delivers it after the flood to whichever worker takes it."""
        for index in range(FLOOD):
            envelope = Envelope(verb="list", resource="configmaps", namespace="default",
                                auth={"token": f"made-up-{index}"})
            await mallory.nc.publish(subject, encode(envelope), reply=f"{void}.{index}")
        await mallory.nc.publish(subject, data, reply=reply, headers=signed)
        await mallory.nc.flush()

    bus_loop.wait(flood(), timeout=60)
    until(lambda: editors and sum(codes.values()) == FLOOD, 60,
          failure=f"answers: {codes}, the editor's {editors}")
    assert codes.get(429), f"the flood filled no queue: {codes}"
    assert [(e.status or {}).get("code") for e in editors] == [403], \
        f"the known user's request met the flood's fate: {editors[0].status}"


# -- watch events: the apiserver's alone -----------------------------------------------------


def forged_events(watch_subject: str, seq: int) -> list[bytes]:
    """What a forger would push into a watch: an event of an object never stored, next in
    line; one whose body is no event; bytes that are no envelope."""
    stored = {"metadata": {"name": "forged", "namespace": "watched", "resourceVersion": "1"}}
    return [encode(Envelope(verb="event", sender="apiserver", options={"seq": seq},
                            body={"type": "ADDED", "object": stored})),
            encode(Envelope(verb="event", sender="apiserver", options={"seq": seq},
                            body={"type": "ADDED", "object": ["not", "a", "map"]})),
            b"\xc1 not msgpack"]


def test_nobody_but_the_apiserver_pushes_an_event_into_a_watch(cluster, admin, connect):
    """A user and a node publish forged events on the admin's watch's subject and on a
    watch subject of their own: nats-server refuses every one (only the apiserver publishes
    on ``<prefix>.watch.>``), so the watch, which decodes its events trusting that, hears the
    next real event and nothing forged before it."""
    admin.create("namespaces", {"metadata": {"name": "watched"}}, None)
    heard: list[tuple[str, str]] = []
    watch = admin.watch("configmaps", lambda event: heard.append(
        (event.type, event.object["metadata"]["name"])), namespace="watched")
    try:
        node = cluster.credentials("system:node:n1", "system:nodes")
        forgers = [connect(cluster, "mallory-forges"), connect(cluster.bus_of(node), "n1")]
        for forger in forgers:
            own = forger.subjects.watch(forger.subjects.watch_id(forger.owner, "mine"))
            for subject in (forger.subjects.watch(watch.id), own):
                for data in forged_events(subject, 1):
                    bus_loop.wait(forger.nc.publish(subject, data))
            bus_loop.wait(forger.nc.flush())
        admin.create("configmaps", {"metadata": {"name": "real"}}, "watched")
        until(lambda: heard, 30)
        assert heard == [("ADDED", "real")]
    finally:
        watch.stop()


# -- the scheduler -------------------------------------------------------------------------


def pod_creator(cluster: Cluster, connect: Callable[..., Connection], namespace: str) -> Client:
    """Mallory, who may create, read and delete pods in ``namespace`` and nothing more."""
    admin = cluster.admin_client("granting")
    admin.create("namespaces", {"metadata": {"name": namespace}}, None)
    admin.create("roles", {"metadata": {"name": "pods"}, "rules": [{
        "apiGroups": [""], "resources": ["pods"],
        "verbs": ["create", "get", "list", "watch", "delete"]}]}, namespace)
    admin.create("rolebindings", {"metadata": {"name": "mallory-pods"},
                                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                              "kind": "Role", "name": "pods"},
                                  "subjects": [{"kind": "User", "name": "mallory"}]}, namespace)
    return session_client(cluster, connect, "mallory")


def test_a_users_pods_keep_no_one_elses_from_being_bound(sim_cluster, connect):
    """Mallory creates pods for a scheduler nobody runs, pods no node can take, and pods she
    deletes as soon as they are made (some of their bindings then refused, the pod gone: a
    dozen in a run here), all at once; the admin's pod created meanwhile is bound, and so is
    one after the churn (no binding left in flight for ever)."""
    mallory, namespace = pod_creator(sim_cluster, connect, "mallory"), "mallory"
    admin = sim_cluster.admin_client("victim")

    def unscheduled(index: int) -> None:
        body = pod(f"other-{index}")
        body["spec"]["schedulerName"] = "nobody-runs-this"
        mallory.create("pods", body, namespace)

    def nowhere(index: int) -> None:
        body = pod(f"nowhere-{index}")
        body["spec"]["nodeSelector"] = {"kubeactor.io/none": "x"}
        mallory.create("pods", body, namespace)

    def churned(index: int) -> None:
        mallory.create("pods", pod(f"churn-{index}"), namespace)
        mallory.delete("pods", f"churn-{index}", namespace)

    def bound(name: str) -> None:
        wait_for(admin, "pods", name, lambda obj: bool(obj["spec"].get("nodeName")),
                 timeout=60)

    with ThreadPoolExecutor(12) as pool:
        made = [pool.submit(make, index) for index in range(100)
                for make in (unscheduled, nowhere, churned)]
        admin.create("pods", pod("victim-during"))
        bound("victim-during")
        for each in made:
            each.result(120)
    admin.create("pods", pod("victim-after"))
    bound("victim-after")
