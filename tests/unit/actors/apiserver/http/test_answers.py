"""What goes back over HTTP for flow control: Retry-After on a 429, and the flow's headers."""

from __future__ import annotations

from actors.apiserver.http import answers
from bus.errors import NotFound, TooManyRequests


def test_a_429_carries_retry_after_from_its_details_and_other_errors_none():
    assert answers.retry_after(TooManyRequests("busy", details={"retryAfterSeconds": 3})) == {
        "Retry-After": "3"}
    assert answers.retry_after(TooManyRequests("busy")) == {"Retry-After": "1"}
    assert answers.retry_after(NotFound("gone")) == {}


def test_flow_headers_name_the_flow_schema_and_priority_level_as_kube_apiserver():
    assert answers.flow_headers({"latencyMs": 1.0, "flowSchemaUID": "f-1",
                                 "priorityLevelUID": "p-1"}) == {
        "X-Kubernetes-PF-FlowSchema-UID": "f-1", "X-Kubernetes-PF-PriorityLevel-UID": "p-1"}
    assert answers.flow_headers({}) == {}
