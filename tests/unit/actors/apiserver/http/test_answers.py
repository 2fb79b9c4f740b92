"""What goes back over HTTP for flow control: Retry-After on a 429, and the flow's headers."""

from __future__ import annotations

from actors.apiserver.http import answers
from bus.errors import NotFound, TooManyRequests


def test_a_429_carries_retry_after_from_its_details_and_other_errors_none():
    assert answers.retry_after(TooManyRequests("busy", details={"retryAfterSeconds": 3})) == {
        "Retry-After": "3"}
    assert answers.retry_after(NotFound("gone")) == {}


def test_a_429_that_says_no_time_has_no_retry_after():
    """As kube-apiserver: an eviction a budget refuses says no time, so client-go does not
    send it again by itself (kubectl drain says why, waits 5 s and tries again)."""
    assert answers.retry_after(TooManyRequests("Cannot evict pod as it would violate the "
                                               "pod's disruption budget.")) == {}
    assert answers.retry_after(TooManyRequests("x", details={"retryAfterSeconds": 0})) == {}


def test_flow_headers_name_the_flow_schema_and_priority_level_as_kube_apiserver():
    assert answers.flow_headers({"latencyMs": 1.0, "flowSchemaUID": "f-1",
                                 "priorityLevelUID": "p-1"}) == {
        "X-Kubernetes-PF-FlowSchema-UID": "f-1", "X-Kubernetes-PF-PriorityLevel-UID": "p-1"}
    assert answers.flow_headers({}) == {}
