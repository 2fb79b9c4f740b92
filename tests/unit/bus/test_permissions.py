"""The bus permission table (bus/permissions.py): what each identity may publish and subscribe
to, and the nats-server configuration rendered from it."""

from __future__ import annotations

import json

import pytest

from bus.permissions import (
    ADMIN,
    APISERVER,
    NODE_SIM,
    NONCE_USER,
    STORE,
    Permissions,
    Role,
    authorization,
    permissions,
    role_of,
)
from bus.subjects import ANONYMOUS, Subjects

SUBJECTS = Subjects("kubeactor")


@pytest.mark.parametrize(("user", "role"), [
    ("admin", Role.ADMIN), ("apiserver", Role.APISERVER), ("system:node:n1", Role.NODE),
    ("system:node-sim", Role.NODE_SIM), ("system:kube-scheduler", Role.CLIENT),
    ("anonymous", Role.CLIENT), ("system:nodes", Role.CLIENT), ("alice", Role.CLIENT)])
def test_each_user_has_the_role_its_name_says(user: str, role: Role):
    assert role_of(user) is role


def test_the_admin_may_publish_and_subscribe_anywhere():
    assert permissions(ADMIN, SUBJECTS) == Permissions(publish=(">",), subscribe=(">",))


def test_only_the_apiserver_subscribes_to_the_requests_and_it_sends_none():
    door = permissions(APISERVER, SUBJECTS)
    assert door == Permissions(
        publish=("kubeactor.inbox.>", "kubeactor.watch.>", "kubeactor.trace.>",
                 "kubeactor.node.>", "kubeactor.admission.>", "$SYS._INBOX.>"),
        deny_publish=("$JS.>", "$KV.>"),
        subscribe=("kubeactor.api.>", "kubeactor.exempt.>", "kubeactor.authn.hello",
                   "$SYS.REQ.USER.AUTH", "kubeactor.tracers", "kubeactor.inbox.apiserver.>"),
        responses=False)
    for user in ("system:node:n1", NODE_SIM, "system:kube-scheduler", ANONYMOUS):
        assert not {"kubeactor.api.>", "kubeactor.authn.hello", "$SYS.REQ.USER.AUTH", ">"} & set(
            permissions(user, SUBJECTS).subscribe)


def test_only_the_admin_publishes_on_the_exempt_lane():
    """The lane's requests skip the flood's queues: nobody else may send there."""
    for user in (APISERVER, STORE, "system:node:n1", NODE_SIM, "system:kube-scheduler", "alice"):
        allowed = permissions(user, SUBJECTS).publish
        assert not {"kubeactor.exempt.>", ">"} & set(allowed), user
    assert ">" in permissions(ADMIN, SUBJECTS).publish


def test_only_the_store_and_the_admin_publish_on_jetstreams_subjects():
    """A response may go to any subject, a denied one included (NATS ``allow_responses``): the
    apiserver and the store answer nobody that way, and only the store reaches JetStream."""
    assert permissions(STORE, SUBJECTS) == Permissions(
        publish=("$JS.>", "$KV.>"), subscribe=("kubeactor.inbox.system:store.>",))
    for user in (APISERVER, "system:node:n1", NODE_SIM, "alice"):
        allowed = permissions(user, SUBJECTS)
        assert not {"$JS.>", "$KV.>", ">"} & set(allowed.publish)
        assert not allowed.responses or user != APISERVER
    assert role_of(STORE) is Role.STORE


def test_a_client_sends_requests_and_fault_spans_and_reads_only_its_own_inbox_and_watches():
    assert permissions("system:kube-scheduler", SUBJECTS) == Permissions(
        publish=("kubeactor.api.>", "kubeactor.authn.hello", "kubeactor.trace.chaos"),
        subscribe=("kubeactor.inbox.system:kube-scheduler.>",
                   "kubeactor.watch.system:kube-scheduler.>",
                   "kubeactor.admission.system:kube-scheduler.*"),
        responses=True)


def test_a_node_also_serves_its_own_calls_and_sends_spans_followed_logs_and_execs():
    assert permissions("system:node:n1", SUBJECTS) == Permissions(
        publish=("kubeactor.api.>", "kubeactor.authn.hello", "kubeactor.trace.kubelet",
                 "kubeactor.inbox.*.logs.*", "kubeactor.inbox.*.exec.*",
                 "kubeactor.trace.chaos"),
        subscribe=("kubeactor.inbox.system:node:n1.>", "kubeactor.watch.system:node:n1.>",
                   "kubeactor.admission.system:node:n1.*", "kubeactor.node.n1.>"),
        responses=True)


def test_the_simulated_nodes_connection_serves_every_nodes_calls():
    assert "kubeactor.node.>" in permissions(NODE_SIM, SUBJECTS).subscribe


def test_nobody_but_the_apiserver_and_the_admin_publishes_watch_events():
    for user in ("system:node:n1", NODE_SIM, "system:kube-controller-manager", ANONYMOUS):
        assert not any(subject.startswith("kubeactor.watch") or subject == ">"
                       for subject in permissions(user, SUBJECTS).publish)


def test_the_rendered_configuration_has_every_user_and_hands_the_others_to_the_callout():
    text = authorization({ADMIN: "pw-a", "system:node:n1": "pw-1"}, SUBJECTS, "AISSUER")
    rendered = json.loads(text.removeprefix("authorization: "))
    users = rendered["users"]
    assert [user.get("user") for user in users] == [ADMIN, "system:node:n1", None]
    assert users[1]["permissions"] == {
        "publish": {"allow": list(permissions("system:node:n1", SUBJECTS).publish)},
        "subscribe": {"allow": list(permissions("system:node:n1", SUBJECTS).subscribe)},
        "allow_responses": {"max": 1, "expires": "1h"}}
    assert "allow_responses" not in users[0]["permissions"]
    assert users[2] == {"nkey": NONCE_USER, "permissions": {
        "publish": {"deny": [">"]}, "subscribe": {"deny": [">"]}}}
    assert rendered["auth_callout"] == {"issuer": "AISSUER",
                                        "auth_users": [ADMIN, "system:node:n1"]}
    assert "no_auth_user" not in text


def test_without_an_issuer_only_the_password_users_may_connect():
    rendered = json.loads(authorization({ADMIN: "pw"}, SUBJECTS).removeprefix(
        "authorization: "))
    assert list(rendered) == ["users"] and [u["user"] for u in rendered["users"]] == [ADMIN]


def test_a_user_outside_the_subject_alphabet_reads_the_subjects_of_its_escaped_name():
    assert permissions("bob.smith", SUBJECTS).subscribe == (
        "kubeactor.inbox.bob_2esmith.>", "kubeactor.watch.bob_2esmith.>",
        "kubeactor.admission.bob_2esmith.*")
