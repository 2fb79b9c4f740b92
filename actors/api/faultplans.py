"""FaultPlans (``chaos.kubeactor.io/v1``, cluster-scoped): fault injection on the bus as an
API object, so that RBAC makes it the admin's (no other role is granted it) and the audit log
records who started and stopped one.

``kubeactor chaos`` creates one; an actor in every process that hosts components
(``actors.client.chaos``) installs it into ``bus.faults`` until ``spec.expires``, when every
process removes it by itself and the first to notice deletes the object. The spec::

    subjects: ["kubeactor.api.*.pods.*"]   # NATS wildcard patterns under the cluster prefix
    drop: 0.1          # fractions of the matching messages, 0 to 1
    duplicate: 0.05
    reorder: 0.0
    delaySeconds: 0.0  # every matching message held back this long (0 to 60)
    expires: "2026-12-07T01:00:00Z"
    seed: 42           # optional: the same faults on each run

Pure functions over plain dicts. Neighbours: ``bus.faults`` (the plan it becomes),
``actors.api.validation`` (calls :func:`problems`), ``bindings.cli.chaos`` (the command).
"""

from __future__ import annotations

from typing import Any

from actors.api import meta
from actors.api.objects import Object
from bus import faults

GROUP = faults.GROUP
RESOURCE = faults.RESOURCE
KIND = "FaultPlan"
RATES = ("drop", "duplicate", "reorder")
INJECTOR = "system:kubeactor:fault-injector"
"""The user of the control plane's fault injector (``actors.client.faultinjection``): RBAC
lets it read and delete FaultPlans; the injectors of other processes act as their kubeconfig's
user, and only read them."""
MAX_DELAY_SECONDS = 60.0
"""The longest a plan may hold a message back: longer is a partition, not a delay, and would
outlast every request's deadline."""


def manifest(subjects: list[str], expires: str, *, rates: dict[str, float],
             delay: float = 0.0, seed: int | None = None, name: str | None = None) -> Object:
    """The FaultPlan ``kubeactor chaos`` creates (named ``chaos-<random>`` unless told)."""
    spec: dict[str, Any] = {"subjects": subjects, **rates, "delaySeconds": delay,
                            "expires": expires}
    if seed is not None:
        spec["seed"] = seed
    metadata = {"name": name} if name else {"generateName": "chaos-"}
    return {"apiVersion": f"{GROUP}/v1", "kind": KIND, "metadata": metadata, "spec": spec}


def pattern_problem(pattern: object) -> str | None:
    """Why ``pattern`` is no NATS wildcard pattern (None when it is one)."""
    if not isinstance(pattern, str) or not pattern:
        return "a NATS subject pattern"
    tokens = pattern.split(".")
    if any(not token or " " in token for token in tokens):
        return f"{pattern!r} has an empty token"
    if ">" in tokens[:-1] or any(len(t) > 1 and ("*" in t or ">" in t) for t in tokens):
        return f"{pattern!r}: '>' only as the last token, '*' and '>' only as whole tokens"
    return None


def problems(obj: Object) -> list[str]:
    """What is wrong with a FaultPlan's spec (kube-apiserver's field error wording)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    subjects = spec.get("subjects")
    if not isinstance(subjects, list) or not subjects:
        return ["spec.subjects: Required value: at least one NATS subject pattern"]
    found = [f"spec.subjects[{index}]: Invalid value: {problem}"
             for index, pattern in enumerate(subjects)
             if (problem := pattern_problem(pattern)) is not None]
    for rate in RATES:
        if not _number_within(spec.get(rate, 0), 0.0, 1.0):
            found.append(f"spec.{rate}: Invalid value: a fraction between 0 and 1")
    if not _number_within(spec.get("delaySeconds", 0), 0.0, MAX_DELAY_SECONDS):
        found.append(f"spec.delaySeconds: Invalid value: between 0 and {MAX_DELAY_SECONDS:g}")
    if not isinstance(spec.get("seed", 0), int) or isinstance(spec.get("seed"), bool):
        found.append("spec.seed: Invalid value: an integer")
    try:
        meta.parse_time(str(spec.get("expires")))
    except ValueError:
        found.append("spec.expires: Invalid value: an RFC 3339 time")
    return found


def _number_within(value: object, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        low <= value <= high


def plan(obj: Object) -> faults.FaultPlan:
    """The bus's plan of a stored (so valid) FaultPlan."""
    spec = obj["spec"]
    return faults.FaultPlan(
        obj["metadata"]["name"], tuple(spec["subjects"]),
        until=meta.parse_time(spec["expires"]).timestamp(),
        drop=float(spec.get("drop", 0)), duplicate=float(spec.get("duplicate", 0)),
        delay=float(spec.get("delaySeconds", 0)), reorder=float(spec.get("reorder", 0)),
        seed=spec.get("seed"))
