"""Every identity its own NATS user, proven by the cluster's own credentials through
nats-server's auth callout (bus/callout.py, actors/apiserver/busauth.py) on a real cluster: a
certificate user reads only its own inbox and watches and uses the API; a certificate of
another CA, an expired one and a signature over another nonce are refused at connect; a token
user is its own NATS user; a connection without credentials is refused."""

from __future__ import annotations

import base64
import queue
from dataclasses import replace

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NATS

from actors.api import certs
from actors.client.client import Client
from actors.client.credentials import CertificateCredentials, TokenCredentials
from bus import BusConfig, Connection
from bus.callout import NONCE_CONTEXT
from bus.config import tls_options
from bus.errors import BadRequest, BusError, Forbidden, PermissionViolation
from bus.subjects import Subjects, owner_token
from tests.conftest import NOBODY_TOKEN

pytestmark = pytest.mark.integration

S = Subjects()
RBAC = "rbac.authorization.k8s.io"


def grant_edit(admin: Client, user: str) -> None:
    admin.create("rolebindings", {
        "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
        "metadata": {"name": f"{owner_token(user)}-edit", "namespace": "default"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": user}]}, "default")


def test_a_certificate_user_has_its_own_nats_identity_and_nobody_elses(control_plane, connect):
    alice_creds, bob_creds = (control_plane.credentials(user) for user in ("alice", "bob"))
    alice = connect(control_plane.bus_of(alice_creds), "alice")
    bob = connect(control_plane.bus_of(bob_creds), "bob")
    assert (alice.owner, bob.owner) == ("alice", "bob")
    for forbidden in (f"{S.inbox('bob')}.>", S.watches("bob"), S.watch(S.watch_id("bob", "w1")),
                      S.api_all, S.auth_callout, S.all):
        with pytest.raises(PermissionViolation, match="may not subscribe"):
            alice.subscribe(forbidden, lambda incoming: None)
    alice.subscribe(S.watch(S.watch_id("alice", "w1")), lambda incoming: None)
    grant_edit(control_plane.admin_client(), "alice")
    client = Client(alice, alice_creds)
    events: queue.Queue = queue.Queue()
    watch = client.watch("configmaps", events.put, namespace="default")
    try:
        client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "mine"}}, "default")
        assert client.get("configmaps", "mine", "default")["metadata"]["name"] == "mine"
        seen = events.get(timeout=30)
        while seen.object["metadata"]["name"] != "mine":
            seen = events.get(timeout=30)
    finally:
        watch.stop()


def test_a_user_name_outside_the_subject_alphabet_gets_its_own_escaped_identity(
        control_plane, connect):
    creds = control_plane.credentials("carol@example.com")
    carol = connect(control_plane.bus_of(creds), "carol")
    assert carol.owner == "carol_40example_2ecom"
    carol.subscribe(S.watches(carol.owner), lambda incoming: None)
    with pytest.raises(Forbidden, match=r"carol@example\.com"):  # its reply reached it
        Client(carol, creds).list("configmaps", "default")


def other_ca_credentials(user: str) -> CertificateCredentials:
    ca_key, ca = certs.new_ca("someone-else")
    key = certs.new_key()
    return CertificateCredentials(certs.issue(ca_key, ca, key.public_key(),
                                              certs.Identity(user)), key, ca)


def expired_credentials(cluster, user: str) -> CertificateCredentials:
    key, pki = certs.new_key(), cluster._pki
    cert = certs.issue(pki.ca_key, pki.ca, key.public_key(), certs.Identity(user), days=-0.001)
    return CertificateCredentials(cert, key, pki.ca)


def refused(bus: BusConfig) -> str:
    with pytest.raises(BusError) as caught:
        Connection(bus, "refused").connect()
    return str(caught.value)


def test_certificates_of_another_ca_or_expired_are_refused_at_connect(control_plane):
    for creds in (other_ca_credentials("mallory"), expired_credentials(control_plane, "old")):
        message = refused(control_plane.bus_of(creds))
        assert "Authorization Violation" in message and "certificate" in message
    assert "without credentials" in refused(BusConfig(url=control_plane.url,
                                                         ca=control_plane.bus_ca))


async def test_a_signature_over_another_nonce_is_refused(control_plane):
    creds = control_plane.credentials("alice")
    der = creds.bus(BusConfig()).certificate
    assert der is not None
    for forged in (lambda nonce: creds.key.sign(NONCE_CONTEXT + b"a nonce seen before"),
                   lambda nonce: creds.key.sign(nonce.encode()),  # no context
                   lambda nonce: other_ca_credentials("alice").key.sign(
                       NONCE_CONTEXT + nonce.encode())):
        refused = NATS()
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await refused.connect(control_plane.url, token=base64.b64encode(der).decode(),
                                  signature_cb=lambda nonce, f=forged: base64.b64encode(
                                      f(nonce)), allow_reconnect=False, connect_timeout=5,
                                  **tls_options(control_plane.url, control_plane.bus_ca))
        await refused.close()
    good = await nats.connect(
        control_plane.url, token=base64.b64encode(der).decode(),
        signature_cb=lambda nonce: base64.b64encode(creds.key.sign(
            NONCE_CONTEXT + nonce.encode())), allow_reconnect=False,
        **tls_options(control_plane.url, control_plane.bus_ca))
    await good.close()


def test_a_token_user_connects_as_itself_and_a_wrong_name_is_refused(control_plane, connect):
    nobody = BusConfig(url=control_plane.url, ca=control_plane.bus_ca, user="nobody",
                       token=NOBODY_TOKEN)
    connection = connect(nobody, "nobody")
    assert connection.owner == "nobody"
    connection.subscribe(S.watches("nobody"), lambda incoming: None)
    with pytest.raises(PermissionViolation):
        connection.subscribe(S.watches("alice"), lambda incoming: None)
    with pytest.raises(Forbidden, match="nobody"):  # its reply reached it
        Client(connection, TokenCredentials(NOBODY_TOKEN)).list("configmaps", "default")
    assert "token" in refused(replace(nobody, user="alice"))
    assert "token" in refused(replace(nobody, token="not-a-token"))


def test_a_node_certificate_is_a_node_and_a_node_name_outside_system_nodes_is_refused(
        control_plane, connect):
    node = connect(control_plane.bus_of(control_plane.credentials(
        "system:node:n7", "system:nodes")), "kubelet-n7")
    node.subscribe(S.node_calls("n7"), lambda incoming: None)
    with pytest.raises(PermissionViolation):
        node.subscribe(S.node_calls("n8"), lambda incoming: None)
    assert "certificate" in refused(control_plane.bus_of(control_plane.credentials(
        "system:node:n8")))
    assert "certificate" in refused(control_plane.bus_of(control_plane.credentials("admin")))


def test_nobody_has_watch_events_logs_or_execs_sent_to_another_identitys_subjects(
        control_plane, connect):
    admin = control_plane.admin_client()
    grant_edit(admin, "alice")
    admin.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                          "spec": {"nodeName": "n1", "containers": [
                              {"name": "c", "image": "busybox:1.35"}]}}, "default")
    creds = control_plane.credentials("alice")
    alice = Client(connect(control_plane.bus_of(creds), "alice"), creds)
    with pytest.raises(Forbidden, match=r'watch events sent to .* "bob"'):
        alice.request("watch", "configmaps", namespace="default",
                      options={"watchId": S.watch_id("bob", "w1")})
    with pytest.raises(Forbidden, match=r'followed log sent to .* "bob"'):
        alice.request("get", "pods", namespace="default", name="web", subresource="log",
                      options={"followTo": S.stream("bob", "s1")})
    with pytest.raises(Forbidden, match=r'exec stream sent to .* "bob"'):
        alice.request("create", "pods", namespace="default", name="web", subresource="exec",
                      body={"command": ["cat"], "stdin": True},
                      options={"followTo": S.stream("bob", "s1", "exec")})
    with pytest.raises(BadRequest, match=r"followTo of an exec stream must be .*\.exec\."):
        alice.request("create", "pods", namespace="default", name="web", subresource="exec",
                      body={"command": ["cat"]}, options={"followTo": S.stream("alice", "s1")})
    with pytest.raises(BadRequest, match="with stdin or a terminal, must be streamed"):
        alice.request("create", "pods", namespace="default", name="web", subresource="exec",
                      body={"command": ["sh"], "tty": True})


def test_an_admission_actor_serves_under_its_own_name_and_nobody_elses(control_plane, connect):
    bot = connect(control_plane.bus_of(control_plane.credentials("bot")), "bot")
    bot.subscribe(S.admission("bot.images"), lambda incoming: None, queue="bot.images")
    for forbidden in (S.admission("images"), S.admission("other.images")):
        with pytest.raises(PermissionViolation):
            bot.subscribe(forbidden, lambda incoming: None)
