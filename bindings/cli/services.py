"""``kubeactor expose``: a Service for a Deployment, ReplicaSet, pod or Service, as kubectl's.

:func:`exposed` is kubectl's service generator, pure: the selector is the object's
(a workload's ``spec.selector.matchLabels``, a pod's labels, a Service's selector), the ports
``--port`` (to ``--target-port``, or the same number) or, without it, the container ports of
the object's pods (named ``port-1``, ``port-2``... when several), the labels the object's own.
It raises :class:`~bus.errors.UsageError` with kubectl's words when the object says neither.

Neighbours: ``bindings.cli.parsing``, ``bindings.cli.session``, ``bindings.cli.main``
(dispatch), ``actors.api.services`` (what the apiserver then does with the Service).

Which thread: the main thread.
"""

from __future__ import annotations

import argparse
from typing import Any

from actors.api.objects import Object
from bindings.cli import parsing
from bindings.cli.session import Session
from bus.errors import UsageError

EXPOSABLE = ("pods", "services", "deployments", "replicasets")
TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


def _add_expose(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    expose = verbs.add_parser("expose", parents=[common],
                              help="make a Service for a deployment, replicaset, pod or service")
    expose.add_argument("resource")
    expose.add_argument("names", nargs="*")
    expose.add_argument("--port", type=parsing.bounded(1, 65535),
                        help="the Service's port (default: the pods' container ports)")
    expose.add_argument("--target-port", help="the pods' port, a number or a name "
                        "(default: --port)")
    expose.add_argument("--protocol", choices=["TCP", "UDP", "SCTP"], default="TCP")
    expose.add_argument("--name", help="the Service's name (default: the object's)")
    expose.add_argument("--type", choices=TYPES, default="ClusterIP")
    expose.add_argument("--selector", help="LABEL=VALUE,... instead of the object's selector")
    expose.add_argument("--cluster-ip", help="the ClusterIP to ask for ('None': headless)")
    expose.add_argument("--session-affinity", choices=["None", "ClientIP"])


def cmd_expose(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``expose TYPE NAME``: create the Service; prints ``service/NAME exposed``."""
    info, names = parsing.resource_and_names([args.resource, *args.names])
    if info.name not in EXPOSABLE:
        raise UsageError(f"cannot expose a {info.kind}")
    if len(names) != 1:
        raise UsageError("expose needs one resource name")
    obj = session.client.get(info.name, names[0], session.namespace)
    service = exposed(obj, info.name, vars(args))
    made = session.client.create("services", service, session.namespace)
    print(f"service/{made['metadata']['name']} exposed", flush=True)
    return 0


def exposed(obj: Object, resource: str, flags: dict[str, Any]) -> Object:
    """The Service kubectl's generator makes for ``obj`` (of ``resource``) and the flags."""
    selector = _selector(flags.get("selector")) or _selector_of(obj, resource)
    if not selector:
        raise UsageError("couldn't retrieve selectors via --selector flag or introspection")
    spec: Object = {"selector": selector, "ports": _ports(obj, resource, flags)}
    if flags.get("type", "ClusterIP") != "ClusterIP":
        spec["type"] = flags["type"]
    if flags.get("cluster_ip"):
        spec["clusterIP"] = flags["cluster_ip"]
    if flags.get("session_affinity"):
        spec["sessionAffinity"] = flags["session_affinity"]
    metadata: Object = {"name": flags.get("name") or obj["metadata"]["name"]}
    if labels := obj["metadata"].get("labels"):
        metadata["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def _selector(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    pairs = [item.partition("=") for item in text.split(",")]
    if any(not key or not sep for key, sep, _ in pairs):
        raise UsageError(f"invalid selector {text!r}: want LABEL=VALUE,...")
    return {key: value for key, _, value in pairs}


def _selector_of(obj: Object, resource: str) -> dict[str, str]:
    if resource == "pods":
        return dict(obj["metadata"].get("labels") or {})
    if resource == "services":
        return dict(obj.get("spec", {}).get("selector") or {})
    selector = obj.get("spec", {}).get("selector") or {}
    if selector.get("matchExpressions"):
        raise UsageError("couldn't convert expressions - \"matchExpressions\" to map-based "
                         "selector format")
    return dict(selector.get("matchLabels") or {})


def _ports(obj: Object, resource: str, flags: dict[str, Any]) -> list[Object]:
    found = [(flags["port"], flags.get("protocol") or "TCP")] if flags.get("port") else \
        _declared_ports(obj, resource)
    if not found:
        raise UsageError("couldn't find port via --port flag or introspection")
    named = len(found) > 1
    return [{**({"name": f"port-{i}"} if named else {}), "port": port, "protocol": protocol,
             "targetPort": _target(flags.get("target_port") or port)}
            for i, (port, protocol) in enumerate(found, 1)]


def _target(value: int | str) -> int | str:
    """A targetPort: a number, or a port's name."""
    return int(value) if str(value).isdigit() else str(value)


def _declared_ports(obj: Object, resource: str) -> list[tuple[int, str]]:
    """(port, protocol) the object declares: a Service's ports, its pods' container ports."""
    if resource == "services":
        return [(p["port"], p.get("protocol", "TCP"))
                for p in obj.get("spec", {}).get("ports") or []]
    spec = obj.get("spec", {}) if resource == "pods" else \
        obj.get("spec", {}).get("template", {}).get("spec", {})
    return [(p["containerPort"], p.get("protocol", "TCP"))
            for c in spec.get("containers") or [] for p in c.get("ports") or []]


PARSERS: dict[str, parsing.Builder] = {"expose": _add_expose}
COMMANDS = {"expose": cmd_expose}
