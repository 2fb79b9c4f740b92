"""``kubeactor run``, ``logs`` and ``exec``: the verbs about one pod and its containers.

``run`` creates a pod of one container; ``logs`` reads (or, with ``-f``, follows) a
container's log and ``exec`` runs a command in it (with ``-i``, streaming our stdin to it and
its output back, as ``kubectl exec -i``), both through the pod's subresources, which the
apiserver relays to the pod's kubelet.

Neighbours: ``actors.client.client`` (requests, ``LogStream``), ``bindings.cli.consoles``
(``exec -i``'s terminal), ``bindings.cli.session``, ``bindings.cli.parsing`` (``TYPE/NAME``
words), ``bindings.cli.main`` (dispatch).

Which thread: the main thread; a followed log's chunks arrive on the bus loop thread and are
taken here.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from actors.api.objects import Object
from actors.client.client import LogStream
from bindings.cli import parsing
from bindings.cli.session import POLL, Session, stop_on_signals
from bus.errors import UsageError


def _add_run(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    run = verbs.add_parser("run", parents=[common], help="create a pod running one container")
    run.add_argument("name")
    run.add_argument("--image", required=True)
    run.add_argument("--restart", choices=["Always", "OnFailure", "Never"], default="Always")
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("-l", "--labels", default="", help="comma-separated KEY=VALUE labels")
    run.add_argument("--command", action="store_true",
                     help="the words after -- are the command, not the arguments")
    run.add_argument("--image-pull-policy", choices=["Always", "IfNotPresent", "Never"])


def _add_logs(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    logs = verbs.add_parser("logs", parents=[common], help="print a container's logs")
    logs.add_argument("pod")
    logs.add_argument("-c", "--container")
    logs.add_argument("--tail", type=int, default=-1, help="lines from the end (-1: all)")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="print new lines as the container writes them, until it stops")
    logs.add_argument("-p", "--previous", action="store_true",
                      help="the logs of the container's previous (terminated) instance")
    logs.add_argument("--timestamps", action="store_true",
                      help="prefix each line with its RFC3339Nano time")
    logs.add_argument("--since", type=parsing.duration,
                      help="only lines newer than this (5s, 2m, 3h); not with --since-time")
    logs.add_argument("--since-time", help="only lines since this RFC3339 time")
    logs.add_argument("--limit-bytes", type=int, help="at most this many bytes of the log")


def _add_exec(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    exec_ = verbs.add_parser("exec", parents=[common],
                             help="run a command in a container: exec POD [-c C] -- CMD ARGS...")
    exec_.add_argument("pod")
    exec_.add_argument("-c", "--container")
    exec_.add_argument("-i", "--stdin", action="store_true",
                       help="pass stdin to the command as it comes (its output streams back)")


def cmd_run(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    container: Object = {"name": args.name, "image": args.image}
    if words:
        container["command" if args.command else "args"] = words
    if args.env:
        container["env"] = [{"name": key, "value": value}
                            for key, value in _pairs(args.env, "--env")]
    if args.image_pull_policy:
        container["imagePullPolicy"] = args.image_pull_policy
    labels = dict(_pairs([item for item in args.labels.split(",") if item], "--labels"))
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": args.name, "labels": labels or {"run": args.name}},
           "spec": {"containers": [container], "restartPolicy": args.restart}}
    session.client.create("pods", pod, session.namespace)
    print(f"pod/{args.name} created")
    return 0


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` words as pairs; UsageError naming the flag for a word without ``=``."""
    pairs = []
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"invalid {flag} {item!r}: expected KEY=VALUE")
        pairs.append((key, value))
    return pairs


def _pod_name(word: str) -> str:
    kind, slash, name = word.partition("/")
    if slash and parsing.resource_type(kind).name != "pods":
        raise UsageError(f"{word}: only pods have logs and exec")
    return name if slash else word


def cmd_logs(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    options: dict[str, Any] = {"container": args.container} if args.container else {}
    if args.tail >= 0:
        options["tailLines"] = args.tail
    if args.previous:
        options["previous"] = True
    options.update(_log_window(args))
    if args.follow:
        return _follow_logs(session, _pod_name(args.pod), options)
    text = session.client.request("get", "pods", namespace=session.namespace,
                                  name=_pod_name(args.pod), subresource="log",
                                  options=options or None, timeout=300)
    sys.stdout.write(str(text))
    return 0


def _log_window(args: argparse.Namespace) -> dict[str, Any]:
    """``--timestamps``, ``--since`` (whole seconds, rounded up as kubectl does),
    ``--since-time`` and ``--limit-bytes`` as PodLogOptions (the apiserver checks them)."""
    found: dict[str, Any] = {"timestamps": True} if args.timestamps else {}
    if args.since is not None:
        found["sinceSeconds"] = math.ceil(args.since)
    if args.since_time:
        found["sinceTime"] = args.since_time
    if args.limit_bytes is not None:
        found["limitBytes"] = args.limit_bytes
    return found


def _follow_logs(session: Session, pod: str, options: dict[str, Any]) -> int:
    """``logs -f``: print each chunk the pod's kubelet streams to us, acknowledging it once
    printed (flow control), until the container stops, Ctrl-C or SIGTERM, or the connection
    is lost for good (ConnectionLost) (docs/PROTOCOL.md, followed logs)."""
    stream = LogStream(session.client, pod, session.namespace, options)
    stop = stop_on_signals()
    try:
        while not stop.is_set():
            chunk = stream.take(timeout=POLL)
            if chunk is None:
                session.check()
                continue
            sys.stdout.write(chunk.data)
            sys.stdout.flush()
            stream.acknowledge(chunk)
            if chunk.end:
                break
    finally:
        stream.close()
    return 0


def cmd_exec(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``exec POD -- CMD``: print what the command printed; exit with its exit code."""
    if not words:
        raise UsageError("you must specify at least one command for the container")
    body: Object = {"command": words}
    if args.container:
        body["container"] = args.container
    if args.stdin:
        from bindings.cli import consoles  # the HTTPS relay and aiohttp: exec -i alone pays

        return _exited(consoles.exec_streamed(session, _pod_name(args.pod),
                                              {**body, "stdin": True}))
    result = session.client.request("create", "pods", namespace=session.namespace,
                                    name=_pod_name(args.pod), subresource="exec", body=body,
                                    timeout=300)
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
    return _exited(int(result.get("exitCode", 1)))


def _exited(code: int) -> int:
    """The exit code of a command, said as kubectl says it when it is not 0."""
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
    return code


PARSERS: dict[str, parsing.Builder] = {"run": _add_run, "logs": _add_logs, "exec": _add_exec}
"""Each verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {"run": cmd_run, "logs": cmd_logs, "exec": cmd_exec}
"""Each verb's command, run with a session."""
