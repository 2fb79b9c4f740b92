"""Fuzz: thousands of seeded mutations of a valid pod through the apiserver's checks (prepare,
schema, semantic validation); every one is refused with a 4xx, or accepted and then handled by
the scheduler's whole default profile (as the pod to place, and as a pod already running)
without an exception."""

from __future__ import annotations

import copy
import random
from typing import Any

from actors.api.amounts import pod_amounts
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.api.validation import decode, validate
from actors.apiserver.registry import prepare_create
from bus.errors import ApiError
from tests.conftest import node
from tests.unit.actors.api.test_schema import _doc_pod
from tests.unit.actors.scheduler.test_scheduling import bound, pick_node

PODS = lookup("", "pods")
MUTATIONS = 5000
SEED = 15
JUNK: tuple[Any, ...] = (None, 0, -1, 2**70, 1.5, True, "", "x", "-1", "1e3", "Exists", [],
                         [None], ["a"], [1], {}, {"a": 1}, {"key": "a"}, {"": ""})


def _places(value: Any, keys: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The key path of every value inside ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    found = []
    for key, item in items:
        found.append((*keys, key))
        found += _places(item, (*keys, key))
    return found


def mutated(rng: random.Random, valid: Object | None = None,
            junk: tuple[Any, ...] = JUNK) -> Object:
    """``valid`` (a copy; the docs' pod by default) with one to three of its values replaced
    by ``junk``, removed or given a sibling."""
    pod = copy.deepcopy(valid) if valid is not None else _doc_pod()
    for _ in range(rng.randint(1, 3)):
        places = _places(pod)
        keys = rng.choice(places)
        holder = pod
        for key in keys[:-1]:
            holder = holder[key]
        roll = rng.random()
        if roll < 0.7:
            holder[keys[-1]] = copy.deepcopy(rng.choice(junk))
        elif roll < 0.85 and isinstance(holder, dict):
            del holder[keys[-1]]
        elif isinstance(holder, list):
            holder.append(copy.deepcopy(rng.choice([*junk, holder[keys[-1]]])))
        else:
            holder[rng.choice(["bogus", "imagPullPolicy", "key", "operator"])] = \
                copy.deepcopy(rng.choice(junk))
    return pod


def admitted(body: Object) -> Object | None:
    """The pod as stored, or None when the apiserver refuses it (never another error)."""
    try:
        obj = prepare_create(PODS, body, "default", None)
        decode(PODS, obj, "Warn")
        validate(PODS, obj)
    except ApiError as error:
        assert 400 <= error.code < 500, error
        return None
    return obj


def test_every_mutated_pod_is_refused_or_scheduled_without_an_exception():
    rng = random.Random(SEED)
    nodes = [node("n1"), dict(node("n2"), spec={"taints": [{"key": "gpu",
                                                            "effect": "NoSchedule"}]})]
    nodes[0]["metadata"]["labels"] = {"disktype": "ssd",
                                      "topology.kubernetes.io/zone": "antarctica-east1"}
    accepted = 0
    for _ in range(MUTATIONS):
        pod = admitted(mutated(rng))
        if pod is None:
            continue
        accepted += 1
        pod_amounts(pod, "requests")
        other = copy.deepcopy(pod)
        other["metadata"]["name"] = "other"
        pick_node(pod, nodes, [bound(other, "n1")])
    assert 0 < accepted < MUTATIONS  # both roads were taken
