"""Checks of a pod spec, wherever it sits: a Pod's ``spec`` or a workload's template: its
containers (names, images, commands, pull policies, sidecar restart policy, env), resources and
the restart policy; and of maps of quantities (requests, limits, capacities, quotas).

Pure functions over plain dicts, each returning problems in kube-apiserver's words.

Neighbours: ``actors.api.validation`` (the dispatcher), ``actors.api.workloadchecks`` (templates),
``actors.api.policychecks`` (quantities of limits and quotas), ``actors.api.quantity``.
"""

from __future__ import annotations

from typing import Any

from actors.api import schema
from actors.api.names import DNS_LABEL
from actors.api.objects import Object
from actors.api.pods import gate_problems
from actors.api.quantity import parse_quantity

RESTART_POLICIES = ("Always", "OnFailure", "Never")


PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def pod_problems(pod: Object) -> list[str]:
    return pod_spec_problems(pod.get("spec"), "spec") + gate_problems(pod)


def pod_spec_problems(spec: Any, at: str) -> list[str]:
    """Problems with a pod spec found at path ``at`` (a pod's, or a workload's template)."""
    if not isinstance(spec, dict):
        return [f"{at}: Required value"]
    problems = []
    containers, inits = spec.get("containers"), spec.get("initContainers")
    if not isinstance(containers, list) or not containers:
        problems.append(f"{at}.containers: Required value")
        containers = []
    if inits is not None and not isinstance(inits, list):
        problems.append(f"{at}.initContainers: Invalid value: must be a list")
    seen: set[str] = set()  # one name space for init and app containers
    for field, listed in (("initContainers", inits), ("containers", containers)):
        for i, container in enumerate(listed if isinstance(listed, list) else []):
            problems += _container_problems(container, f"{at}.{field}[{i}]", seen,
                                            init=field == "initContainers")
    if spec.get("restartPolicy", "Always") not in RESTART_POLICIES:
        problems.append(
            f"{at}.restartPolicy: Unsupported value: {spec['restartPolicy']!r}: supported "
            'values: "Always", "OnFailure", "Never"'
        )
    return problems


def _container_problems(container: Any, path: str, seen: set[str], init: bool) -> list[str]:
    """Problems with one (``init``) container at ``path``; ``seen`` holds the names taken
    before it."""
    if not isinstance(container, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    name = container.get("name")
    if not isinstance(name, str) or len(name) > 63 or not DNS_LABEL.match(name):
        problems.append(f'{path}.name: Invalid value: "{name}": must be a DNS-1123 label')
    elif name in seen:
        problems.append(f"{path}.name: Duplicate value: {name!r}")
    seen.add(str(name))
    if not isinstance(container.get("image"), str) or not container["image"].strip():
        problems.append(f"{path}.image: Required value")
    for field in ("command", "args"):
        value = container.get(field)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            problems.append(f"{path}.{field}: Invalid value: must be a list of strings")
    if container.get("imagePullPolicy", "IfNotPresent") not in PULL_POLICIES:
        problems.append(
            f"{path}.imagePullPolicy: Unsupported value: {container['imagePullPolicy']!r}"
        )
    if "restartPolicy" in container:  # only sidecars (init containers) may say, and Always
        if not init:
            problems.append(f"{path}.restartPolicy: Forbidden: may not be set for non-init "
                            "containers")
        elif container["restartPolicy"] != "Always":
            problems.append(f"{path}.restartPolicy: Unsupported value: "
                            f'{container["restartPolicy"]!r}: supported values: "Always"')
    problems += _resource_problems(f"{path}.resources", container.get("resources"))
    for j, env in enumerate(container.get("env") or []):
        if not isinstance(env, dict) or not isinstance(env.get("name"), str):
            problems.append(f"{path}.env[{j}].name: Required value")
    return problems


def _resource_problems(path: str, resources: Any) -> list[str]:
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    for section in ("requests", "limits"):
        problems += quantity_problems(f"{path}.{section}", resources.get(section))
    return problems


def quantity_problems(path: str, amounts: Any) -> list[str]:
    """Problems with a map of resource name -> quantity: each a quantity in Kubernetes'
    grammar, not negative, and whole for ``pods``."""
    if amounts is None:
        return []
    if not isinstance(amounts, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    for name, amount in amounts.items():
        shown = f"{path}[{name}]: Invalid value: {schema.shown(amount)}"
        try:
            value = parse_quantity(amount)
        except ValueError as error:
            problems.append(f"{shown}: {error}")
            continue
        if value < 0:
            problems.append(f"{shown}: must be greater than or equal to 0")
        elif name == "pods" and value != value.to_integral_value():
            problems.append(f"{shown}: must be an integer")
    return problems
