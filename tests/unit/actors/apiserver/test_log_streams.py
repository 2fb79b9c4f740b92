"""The subjects of node calls and followed logs (bus/subjects.py), the check of a followed
log's destination (actors/apiserver/options.py): a stream may only go to a log stream inbox,
and the checks of a node call (actors/apiserver/relay.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from actors.apiserver.options import parse_options
from actors.apiserver.relay import node_call
from bus.errors import BadRequest
from bus.subjects import Subjects

SUBJECTS = Subjects("kubeactor")


def test_node_subjects_name_their_node_and_log_streams_live_under_the_inbox():
    assert SUBJECTS.parse_node(SUBJECTS.node("node-7", "logs")) == "node-7"
    assert SUBJECTS.parse_node("kubeactor.api.core.pods.get") is None
    assert SUBJECTS.stream("alice", "abc") == "kubeactor.inbox.alice.logs.abc"


@pytest.mark.parametrize("follow_to", ["kubeactor.api.core.pods.create",
                                       "kubeactor.inbox.logs.a.b", "kubeactor.inbox.x",
                                       "kubeactor.inbox.logs.abc", "kubeactor.inbox.a.b.c",
                                       "kubeactor.inbox.a.logs.b.c", "kubeactor.inbox.*.logs.b"])
def test_a_followed_log_goes_only_to_a_log_stream_subject(follow_to: str):
    with pytest.raises(BadRequest, match="followTo"):
        parse_options({"followTo": follow_to}, SUBJECTS)


def test_a_log_stream_subject_is_accepted():
    assert parse_options({"followTo": SUBJECTS.stream("bob", "ok")}, SUBJECTS).follow_to == (
        "kubeactor.inbox.bob.logs.ok")


def _exec_request(body: dict, dry_run: bool) -> Any:
    """What ``node_call`` reads of an exec request (its verb, subresource, options, body)."""
    options = parse_options({"dryRun": ["All"]} if dry_run else {}, SUBJECTS)
    return SimpleNamespace(verb="create", subresource="exec", options=options,
                           envelope=SimpleNamespace(body=body))


POD = {"metadata": {"name": "demo"}, "spec": {"nodeName": "n1", "containers": [{"name": "app"}]},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize(("body", "pod", "said"), [
    ({"container": "nope", "command": ["true"]}, POD, "container nope is not valid for pod demo"),
    ({"command": ["true"]}, {**POD, "status": {"phase": "Succeeded"}},
     "cannot exec into a container in a completed pod; current phase is Succeeded"),
    ({"command": []}, POD, "exec needs body.command"),
])
def test_an_exec_asked_as_a_dry_run_is_refused_for_what_is_wrong_with_it_first(body, pod, said):
    # the HTTPS front asks for the exec as a dry run to answer kubectl's SPDY fallback what
    # kube-apiserver would: the dry run's own refusal comes only after every other check
    with pytest.raises(BadRequest) as wrong:
        node_call(_exec_request(body, dry_run=False), pod)
    assert str(wrong.value.message).startswith(said)
    with pytest.raises(BadRequest) as dry:
        node_call(_exec_request(body, dry_run=True), pod)
    assert dry.value.message == wrong.value.message


def test_an_exec_asked_as_a_dry_run_that_is_right_is_refused_as_one():
    with pytest.raises(BadRequest, match=r"^dryRun is not served for pods/exec"):
        node_call(_exec_request({"command": ["true"]}, dry_run=True), POD)
