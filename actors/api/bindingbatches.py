"""A batch of bindings: several ``create pods/binding`` in one bus message, and its answer.

Kubernetes has no such thing: kube-scheduler sends one Binding per pod, each its own HTTP
request. Here a bus message costs its sender, the bus and the apiserver's decode and
authentication on its own, so a scheduler may send the bindings it has ready at once as one
``create pods/binding`` whose envelope names no pod (no namespace, no name) and whose body is a
``BindingList``: ``items``, each a Binding as a single binding's body (``metadata.name`` and
``metadata.namespace`` its pod's), at most :data:`MAX_ITEMS`, each pod once; ``traceIds``,
when given, the trace of each (a pod's binding stays in the pod's trace). The apiserver
runs each item as the request it stands for (authorization in its namespace, admission, the
write, an audit record each) and answers a ``List`` of one Status per item, in order: the
binding's own answer (Success, code 201) or its refusal. A batch that is not one (not a
``BindingList``, no items, too many, an item not a Binding or naming a pod twice) is refused
whole (400) and runs nothing. Over HTTP a binding always names its pod in the path, so
kubectl and the HTTP API keep the per-pod Binding.

Pure functions. Neighbours: ``actors.apiserver.batching`` (the apiserver's side),
``actors.scheduler.batching`` (the scheduler's), ``actors.apiserver.fairness`` (a batch costs
its flow :func:`width` requests; its flow is that of its items' :func:`namespaces`).
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object
from bus.envelope import Envelope
from bus.errors import ApiError, BadRequest

KIND = "BindingList"
MAX_ITEMS = 64
"""Bindings one batch may hold: a batch's reply and its audit stay small, and a batch costs
its flow as many requests (one past a level's queue would take a whole queue's room)."""


def is_batch(envelope: Envelope) -> bool:
    """Whether ``envelope`` (a ``create pods/binding``) asks for a batch: it names no pod."""
    return envelope.subresource == "binding" and not envelope.name and not envelope.namespace


def width(envelope: Envelope) -> int:
    """How many requests ``envelope`` counts as for flow control: a batch's items (at least
    one, at most one past :data:`MAX_ITEMS`: more is refused anyway), else one. Read before
    authenticating: a sender claiming a small batch is refused when it is found larger."""
    if not is_batch(envelope) or not isinstance(envelope.body, dict):
        return 1
    items = envelope.body.get("items")
    return min(max(len(items), 1), MAX_ITEMS + 1) if isinstance(items, list) else 1


def namespaces(envelope: Envelope) -> list[str]:
    """The namespaces a batch's items name, each once, in order (what flow control classifies
    it by: each binding would be classified in its namespace); read before authenticating, of
    one past :data:`MAX_ITEMS` items at most (more is refused anyway); none for a request that
    is no batch, or names none."""
    body = envelope.body
    found = body.get("items") if is_batch(envelope) and isinstance(body, dict) else None
    named: dict[str, None] = {}
    for item in found[:MAX_ITEMS + 1] if isinstance(found, list) else ():
        metadata = item.get("metadata") if isinstance(item, dict) else None
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if isinstance(namespace, str) and namespace:
            named[namespace] = None
    return list(named)


def items(body: Any) -> list[tuple[Object, str | None]]:
    """The bindings of a batch's body, each with its trace id; BadRequest when it is not a
    batch as the module docstring says."""
    if not isinstance(body, dict) or body.get("kind") != KIND:
        raise BadRequest(f"a batch of bindings is a {KIND} (a binding names its pod)")
    found, traces = body.get("items"), body.get("traceIds")
    if not isinstance(found, list) or not found:
        raise BadRequest(f"a {KIND} needs items")
    if len(found) > MAX_ITEMS:
        raise BadRequest(f"a {KIND} holds at most {MAX_ITEMS} items, not {len(found)}")
    if traces is not None and (not isinstance(traces, list) or len(traces) != len(found)
                               or not all(isinstance(t, str | None) for t in traces)):
        raise BadRequest(f"a {KIND}'s traceIds are one string (or null) per item")
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(found):
        pod = _pod_of(item, index)
        if pod in seen:
            raise BadRequest(f"{KIND} items[{index}]: pod {pod[0]}/{pod[1]} is bound twice")
        seen.add(pod)
    return list(zip(found, traces or [None] * len(found), strict=True))


def _pod_of(item: Any, index: int) -> tuple[str, str]:
    """The namespace and name of the pod ``item`` binds; BadRequest if it is no Binding."""
    if not isinstance(item, dict) or item.get("kind") != "Binding":
        raise BadRequest(f"{KIND} items[{index}] is not a Binding")
    metadata = item.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(namespace, str) or not namespace or not isinstance(name, str) or not name:
        raise BadRequest(f"{KIND} items[{index}] needs metadata.namespace and metadata.name")
    return namespace, name


def batch_body(bindings: list[Object], trace_ids: list[str | None]) -> Object:
    """The body of a batch of ``bindings`` (each a single binding's body)."""
    return {"apiVersion": "v1", "kind": KIND, "items": bindings, "traceIds": trace_ids}


def answer(results: list[Object]) -> Object:
    """A batch's reply body: each item's Status, in order."""
    return {"apiVersion": "v1", "kind": "List", "items": results}


def outcomes(body: Any, count: int) -> list[ApiError | Object]:
    """Each item's outcome in a batch's reply ``body``: its Status of success, or the ApiError
    of its refusal. BadRequest when the reply is not one for ``count`` items."""
    found = body.get("items") if isinstance(body, dict) else None
    if not isinstance(found, list) or len(found) != count or not all(
            isinstance(item, dict) for item in found):
        raise BadRequest(f"the answer to a batch of {count} bindings is not {count} Statuses")
    return [ApiError.from_status(item) if int(item.get("code", 500)) >= 300 else item
            for item in found]
