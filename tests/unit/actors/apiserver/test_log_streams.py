"""The subjects of node calls and followed logs (bus/subjects.py) and the check of a followed
log's destination (actors/apiserver/options.py): a stream may only go to a log stream inbox."""

from __future__ import annotations

import pytest

from actors.apiserver.options import parse_options
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
