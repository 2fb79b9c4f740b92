"""Subject names (bus/subjects.py): apiserver request subjects built and parsed back, and
tokens that would break NATS subject matching refused."""

from __future__ import annotations

import pytest

from bus.subjects import EXEMPT_LANE, ApiSubject, Subjects

SUBJECTS = Subjects()


@pytest.mark.parametrize(
    ("group", "resource", "verb", "subject"),
    [
        ("", "pods", "get", "kubeactor.api.core.pods.get"),
        ("", "pods/binding", "create", "kubeactor.api.core.pods/binding.create"),
        ("rbac.authorization.k8s.io", "roles", "list",
         "kubeactor.api.rbac_authorization_k8s_io.roles.list"),
        ("coordination.k8s.io", "leases", "update",
         "kubeactor.api.coordination_k8s_io.leases.update"),
    ],
)
def test_api_subject_is_built_and_parsed_back(group: str, resource: str, verb: str, subject: str):
    assert SUBJECTS.api(group, resource, verb) == subject
    assert SUBJECTS.parse_api(subject) == ApiSubject(group, resource, verb)


def test_api_subject_lives_under_a_dotted_prefix():
    subjects = Subjects("team.dev")
    subject = subjects.api("", "nodes", "watch")
    assert subject == "team.dev.api.core.nodes.watch"
    assert subjects.parse_api(subject) == ApiSubject("", "nodes", "watch")


@pytest.mark.parametrize(
    ("group", "resource", "verb"),
    [
        ("", "my pods", "get"),
        ("", "pods.v1", "get"),
        ("", "*", "get"),
        ("", ">", "get"),
        ("", "pods", "*"),
        ("", "pods", ""),
        ("apps*", "deployments", "get"),
    ],
)
def test_api_refuses_tokens_that_are_not_plain_subject_tokens(group: str, resource: str,
                                                              verb: str):
    with pytest.raises(ValueError):
        SUBJECTS.api(group, resource, verb)


@pytest.mark.parametrize("prefix", ["", "kube actor", "kube..actor", "kube.*"])
def test_invalid_prefix_is_refused_at_construction(prefix: str):
    with pytest.raises(ValueError):
        Subjects(prefix)


@pytest.mark.parametrize(
    "subject",
    [
        "kubeactor.watch.abc123",
        "kubeactor.inbox.xyz",
        "other.api.core.pods.get",
        "kubeactor.api.core.pods",
        "kubeactor.api.core.pods.get.server.extra",
    ],
)
def test_non_api_subjects_parse_to_none(subject: str):
    assert SUBJECTS.parse_api(subject) is None


def test_admission_subject_names_the_actor_and_refuses_wildcards():
    assert SUBJECTS.admission("image-policy") == "kubeactor.admission.image-policy"
    assert SUBJECTS.admission("bot.images") == "kubeactor.admission.bot.images"
    assert SUBJECTS.admissions_of("bot") == "kubeactor.admission.bot.*"
    for bad in ("a.b.c", "a.*", "*.b", "*", ">", "", "a."):
        with pytest.raises(ValueError, match="admission actor"):
            SUBJECTS.admission(bad)


def test_a_request_may_be_addressed_to_one_apiserver_process():
    subject = SUBJECTS.api("", "pods", "watch", server="a1b2")
    assert subject == "kubeactor.api.core.pods.watch.a1b2"
    assert SUBJECTS.parse_api(subject) == ApiSubject("", "pods", "watch", "a1b2")
    assert SUBJECTS.api_server("a1b2") == "kubeactor.api.*.*.*.a1b2"


def nats_match(pattern: str, subject: str) -> bool:
    """NATS's rule: ``*`` is one token, a final ``>`` one or more."""
    want, have = pattern.split("."), subject.split(".")
    if want[-1] == ">":
        want, have = want[:-1], have[:len(want) - 1] if len(have) >= len(want) else []
    return len(have) == len(want) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def test_unaddressed_api_subjects_are_every_shape_but_an_addressed_request():
    for tokens in range(1, 8):
        subject = "kubeactor.api." + ".".join(["t"] * tokens)
        matched = [p for p in SUBJECTS.api_unaddressed() if nats_match(p, subject)]
        assert len(matched) == (0 if tokens == 4 else 1), (subject, matched)
        assert nats_match(SUBJECTS.api_all, subject)
        assert nats_match(SUBJECTS.api_server("t"), subject) == (tokens == 4)


def test_watch_and_inbox_subjects_name_their_owner():
    watch_id = SUBJECTS.watch_id("system:node:n1", "kubelet-1a2b")
    assert watch_id == "system:node:n1.kubelet-1a2b"
    assert SUBJECTS.watch(watch_id) == "kubeactor.watch.system:node:n1.kubelet-1a2b"
    assert SUBJECTS.watches("system:node:n1") == "kubeactor.watch.system:node:n1.>"
    assert SUBJECTS.inbox("scheduler") == "kubeactor.inbox.scheduler"
    assert SUBJECTS.node_calls("n1") == "kubeactor.node.n1.>"
    assert SUBJECTS.node_calls() == "kubeactor.node.>"


@pytest.mark.parametrize("watch_id", ["w1", "a.*", "a.b.c", ".x", "x.", "*.x", ">"])
def test_a_watch_id_without_one_owner_and_one_id_token_is_refused(watch_id: str):
    with pytest.raises(ValueError):
        SUBJECTS.watch(watch_id)


@pytest.mark.parametrize(("subject", "owner"), [
    ("kubeactor.inbox.alice.r1.7", "alice"), ("kubeactor.inbox.system:node:n1.x", "system:node:n1"),
    ("kubeactor.inbox.alice", None), ("kubeactor.inbox.alice.", None),
    ("kubeactor.inbox.alice.*", None), ("kubeactor.inbox.alice.a.>", None),
    ("kubeactor.inbox..x", None), ("kubeactor.inbox.*.x", None), ("kubeactor.inboxes.a.b", None),
    ("kubeactor.watch.alice.w", None), ("other.inbox.alice.x", None), ("", None)])
def test_a_reply_subject_is_in_an_inbox_only_with_one_owner_and_no_wildcard(
        subject: str, owner: str | None):
    assert SUBJECTS.inbox_owner(subject) == owner
    assert SUBJECTS.is_inbox_of(subject, None) == (owner is not None)
    assert not SUBJECTS.is_inbox_of(subject, ("bob",))


@pytest.mark.parametrize(("subject", "answers"), [
    ("$SYS._INBOX.0olsvDYa.SNEkY7p9", True), ("$SYS._INBOX.a", False),
    ("$SYS._INBOX.a.b.c", False), ("$SYS._INBOX.a.*", False), ("$SYS.REQ.USER.AUTH", False),
    ("kubeactor.inbox.apiserver.a.b", False), ("$KV.kubeactor-store.x.y", False)])
def test_the_auth_callout_is_answered_only_where_nats_server_waits(subject: str, answers: bool):
    assert Subjects.is_callout_reply(subject) is answers


@pytest.mark.parametrize(("subject", "op"), [
    ("kubeactor.inbox.alice.logs.s1", "logs"), ("kubeactor.inbox.alice.exec.s1", "exec"),
    ("kubeactor.inbox.alice.logs.s1.more", None),
    ("kubeactor.inbox.alice.watch.s1", None), ("kubeactor.inbox.alice.logs.*", None),
    ("kubeactor.watch.alice.logs.s1", None), ("other.inbox.alice.logs.s1", None)])
def test_a_streams_subject_is_one_stream_of_a_node_call_under_one_inbox(subject: str,
                                                                        op: str | None):
    assert SUBJECTS.stream_op(subject) == op


def test_a_captured_subject_says_what_it_carries():
    assert [Subjects.family(s) for s in (
        "kubeactor.api.core.pods.get", "kubeactor.watch.bob.w1", "kubeactor.trace.store",
        "kubeactor")] == ["api", "watch", "trace", ""]


def test_a_request_on_the_exempt_lane_parses_as_the_same_request():
    subject = SUBJECTS.api("", "pods", "list", lane=EXEMPT_LANE)
    assert subject == "kubeactor.exempt.core.pods.list"
    assert SUBJECTS.parse_api(subject) == ApiSubject("", "pods", "list")
    assert subject.startswith(SUBJECTS.exempt_all[:-1])
    assert SUBJECTS.api_verb("get", EXEMPT_LANE) == "kubeactor.exempt.*.*.get"
