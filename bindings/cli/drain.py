"""``kubeactor cordon``, ``uncordon`` and ``drain``: a node's pods moved away on purpose, as
kubectl's verbs do it, through the eviction subresource (so PodDisruptionBudgets hold).

``drain NODE`` cordons the node (``spec.unschedulable``), sorts its pods (:func:`sort_pods`,
kubectl's filters in their order: a pod being deleted is skipped, a DaemonSet's is an error
unless ``--ignore-daemonsets`` (then a warning), a mirror pod is skipped, one with an
``emptyDir`` is an error unless ``--delete-emptydir-data``, one without a controller an error
unless ``--force``), refuses to go on while there is an error, then evicts the rest: each pod
refused with 429 (its budget allows no disruption now) is tried again every 5 s, as kubectl
retries, until ``--timeout`` (0: for ever); each evicted pod is waited for until it is gone.
Lines as kubectl's: ``node/N cordoned``, ``evicting pod NS/NAME``, ``error when evicting
pods/"NAME" -n "NS" (will retry after 5s): ...``, ``pod/NAME evicted``, ``node/N drained``.

Neighbours: ``bindings.cli.main`` (dispatches), ``actors.apiserver.evictions`` (what the
eviction subresource decides), ``bindings.cli.session``.

Which thread: the main thread (a command; it sleeps between retries as kubectl does).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

from actors.api.meta import controller_ref
from actors.api.objects import Object
from bindings.cli import parsing
from bindings.cli.session import Session, print_error
from bus.errors import ApiError, NotFound, TooManyRequests

RETRY_SECONDS = 5.0
"""How long kubectl waits before evicting a pod its budget protected again."""
DELETE_POLL_SECONDS = 1.0
"""How often kubectl looks whether an evicted pod is gone."""
MERGE_PATCH = "application/merge-patch+json"
MIRROR = "kubernetes.io/config.mirror"


@dataclass
class Sorted:
    """A node's pods as drain sees them (:func:`sort_pods`)."""

    evict: list[Object] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _named(pod: Object) -> str:
    return f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"


def sort_pods(pods: list[Object], ignore_daemonsets: bool, delete_emptydir: bool,
              force: bool) -> Sorted:
    """kubectl drain's filters over the node's pods, in its order; warnings and errors by
    their kubectl wording, each with the pods it names."""
    found = Sorted()
    for pod in pods:
        verdict = _verdict(pod, ignore_daemonsets, delete_emptydir, force)
        if verdict is None:
            continue
        kind, words = verdict
        if kind == "error":
            found.errors.setdefault(words, []).append(_named(pod))
            continue
        if words:
            found.warnings.setdefault(words, []).append(_named(pod))
        if kind == "evict":
            found.evict.append(pod)
    return found


def _verdict(pod: Object, ignore_daemonsets: bool, delete_emptydir: bool,
             force: bool) -> tuple[str, str] | None:
    """("evict" | "skip" | "error", words), or None to leave the pod out silently."""
    metadata, spec = pod["metadata"], pod.get("spec") or {}
    if metadata.get("deletionTimestamp"):
        return None
    finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    owner = controller_ref(pod)
    if owner is not None and owner.get("kind") == "DaemonSet":
        if ignore_daemonsets:
            return "skip", "ignoring DaemonSet-managed Pods"
        return "error", "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
    if MIRROR in (metadata.get("annotations") or {}):
        return None
    local = any("emptyDir" in volume for volume in spec.get("volumes") or [])
    if local and not finished and not delete_emptydir:
        return "error", ("cannot delete Pods with local storage (use --delete-emptydir-data "
                         "to override)")
    if owner is None and not finished:
        if not force:
            return "error", ("cannot delete Pods that declare no controller (use --force to "
                             "override)")
        return "evict", "deleting Pods that declare no controller"
    return "evict", ""


def listed(messages: dict[str, list[str]]) -> str:
    """kubectl's ``WORDS: ns/a, ns/b; WORDS2: ...``."""
    return "; ".join(f"{words}: {', '.join(names)}" for words, names in messages.items())


def eviction(pod: Object, grace_period: int) -> Object:
    """The policy/v1 Eviction of ``pod`` (a grace period below 0: the pod's own)."""
    body: Object = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": pod["metadata"]["name"],
                                 "namespace": pod["metadata"].get("namespace")}}
    if grace_period >= 0:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period}
    return body


# -- the commands -------------------------------------------------------------------------------

def _add_node_verb(verbs: parsing.Verbs, common: parsing.Parser, verb: str,
                   help_text: str) -> argparse.ArgumentParser:
    parser = verbs.add_parser(verb, parents=[common], help=help_text)
    parser.add_argument("node")
    return parser


def _add_cordon(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    _add_node_verb(verbs, common, "cordon", "mark a node unschedulable")


def _add_uncordon(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    _add_node_verb(verbs, common, "uncordon", "mark a node schedulable again")


def _add_drain(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    drain = _add_node_verb(verbs, common, "drain",
                           "cordon a node and evict its pods (through the eviction "
                           "subresource, under PodDisruptionBudgets)")
    drain.add_argument("--ignore-daemonsets", action="store_true",
                       help="leave DaemonSet-managed pods")
    drain.add_argument("--delete-emptydir-data", action="store_true",
                       help="evict pods with emptyDir volumes (their data is lost)")
    drain.add_argument("--force", action="store_true",
                       help="evict pods that no controller manages")
    drain.add_argument("--grace-period", type=int, default=-1,
                       help="seconds each pod gets to stop (below 0: the pod's own)")
    drain.add_argument("--timeout", type=parsing.duration, default=0.0,
                       help="give up after this long (30s, 5m; 0: wait for ever)")


def _set_unschedulable(session: Session, node: str, unschedulable: bool) -> int:
    stored = session.client.request("get", "nodes", name=node)
    word = "cordoned" if unschedulable else "uncordoned"
    if bool((stored.get("spec") or {}).get("unschedulable")) == unschedulable:
        print(f"node/{node} already {word}", flush=True)
        return 0
    session.client.patch("nodes", node, {"spec": {"unschedulable": unschedulable or None}},
                         MERGE_PATCH, namespace=None)
    print(f"node/{node} {word}", flush=True)
    return 0


def cmd_cordon(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``cordon NODE``: ``spec.unschedulable: true``."""
    return _set_unschedulable(session, args.node, True)


def cmd_uncordon(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``uncordon NODE``: ``spec.unschedulable`` removed."""
    return _set_unschedulable(session, args.node, False)


def cmd_drain(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``drain NODE``: see the module docstring."""
    _set_unschedulable(session, args.node, True)
    pods = session.client.list("pods", None,
                               field_selector=f"spec.nodeName={args.node}")["items"]
    found = sort_pods(pods, args.ignore_daemonsets, args.delete_emptydir_data, args.force)
    if found.errors:
        print(f'error: unable to drain node "{args.node}" due to error: '
              f"{listed(found.errors)}, continuing command...\n"
              f"There are pending nodes to be drained:\n {args.node}\n{listed(found.errors)}",
              file=sys.stderr)
        return 1
    if found.warnings:
        print(f"Warning: {listed(found.warnings)}", file=sys.stderr)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    if not _evict_all(session, found.evict, args.grace_period, deadline, args):
        return 1
    print(f"node/{args.node} drained", flush=True)
    return 0


def _evict_all(session: Session, pods: list[Object], grace_period: int,
               deadline: float | None, args: argparse.Namespace) -> bool:
    """Evict every pod, each refused one again every 5 s, then wait for them to be gone;
    False (the error printed) at the deadline or on another error."""
    pending, evicted = list(pods), []
    for pod in pending:
        print(f"evicting pod {_named(pod)}", flush=True)
    while pending:
        refused = []
        for pod in pending:
            try:
                _evict(session, pod, grace_period)
                evicted.append(pod)
            except TooManyRequests as error:
                print(f'error when evicting pods/"{pod["metadata"]["name"]}" -n '
                      f'"{pod["metadata"].get("namespace")}" (will retry after 5s): '
                      f"{error.message}", file=sys.stderr, flush=True)
                refused.append(pod)
            except ApiError as error:
                print_error(error)
                return False
        pending = refused
        if pending and not _pause(RETRY_SECONDS, deadline, args):
            return False
    return _wait_gone(session, evicted, deadline, args)


def _evict(session: Session, pod: Object, grace_period: int) -> None:
    try:
        session.client.request("create", "pods", namespace=pod["metadata"].get("namespace"),
                               name=pod["metadata"]["name"], subresource="eviction",
                               body=eviction(pod, grace_period))
    except NotFound:
        return  # gone already: nothing to evict


def _wait_gone(session: Session, pods: list[Object], deadline: float | None,
               args: argparse.Namespace) -> bool:
    waiting = list(pods)
    while waiting:
        waiting = [pod for pod in waiting if not _gone(session, pod)]
        if waiting and not _pause(DELETE_POLL_SECONDS, deadline, args):
            return False
    for pod in pods:
        print(f"pod/{pod['metadata']['name']} evicted", flush=True)
    return True


def _gone(session: Session, pod: Object) -> bool:
    metadata = pod["metadata"]
    try:
        now = session.client.request("get", "pods", namespace=metadata.get("namespace"),
                                     name=metadata["name"])
    except NotFound:
        return True
    return bool(now["metadata"].get("uid") != metadata.get("uid"))


def _pause(seconds: float, deadline: float | None, args: argparse.Namespace) -> bool:
    """Sleep ``seconds`` (kubectl's retry), no later than the deadline; False, the timeout
    said, once it is past."""
    left = seconds if deadline is None else deadline - time.monotonic()
    if left <= 0:
        print(f'error: unable to drain node "{args.node}" due to error: global timeout '
              f"reached: {args.timeout:g}s, continuing command...\nThere are pending nodes "
              f"to be drained:\n {args.node}", file=sys.stderr)
        return False
    time.sleep(min(seconds, left))
    return True


PARSERS: dict[str, parsing.Builder] = {"cordon": _add_cordon, "uncordon": _add_uncordon,
                                       "drain": _add_drain}
"""Each verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {"cordon": cmd_cordon, "uncordon": cmd_uncordon, "drain": cmd_drain}
"""Each verb's command, run with a session."""
