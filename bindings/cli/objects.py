"""``kubeactor get``, ``describe``, ``create``, ``apply``, ``delete`` and ``api-resources``:
the verbs that read and write objects of any type.

``get`` lists or reads objects and prints them in kubectl's formats (``-w``: then each change
as the watch brings it); ``describe`` adds what an object owns and its events; ``create`` and
``apply`` send the objects of manifests (``create token``: ``tokens``; ``create job``:
``jobs``); ``delete`` removes
objects by name, selector or manifest and waits for them to be gone.

Neighbours: ``bindings.cli.printers`` (tables and formats), ``bindings.cli.manifests``
(reading ``-f``), ``bindings.cli.parsing`` (the words naming types and objects),
``bindings.cli.session``, ``actors.client.client`` (requests and watches),
``bindings.cli.main`` (dispatch).

Which thread: the main thread; watch events arrive on the bus loop thread and are handed over
through a queue or an event.
"""

from __future__ import annotations

import argparse
import functools
import queue
import sys
import threading
from collections.abc import Callable

from actors.api import replication
from actors.api.meta import controller_ref
from actors.api.objects import Object
from actors.api.resources import RESOURCES, ResourceInfo
from actors.client.client import CHUNK_SIZE, Client, WatchEvent
from bindings.cli import jobs, manifests, parsing, printers, tokens
from bindings.cli.session import POLL, Session, print_error, stop_on_signals
from bus.errors import ApiError, NotFound, Unreachable, UsageError


def _add_get(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    get = verbs.add_parser("get", parents=[common], help="show resources")
    get.add_argument("resource", nargs="?")
    get.add_argument("--raw", metavar="PATH",
                     help="GET this path of the HTTPS API and print what it answers "
                          "(/readyz?verbose, /metrics)")
    get.add_argument("names", nargs="*")
    get.add_argument("-o", "--output", metavar="FORMAT",
                     help=f"one of {printers.FORMATS} (jsonpath=TEMPLATE, custom-columns=SPEC)")
    get.add_argument("-l", "--selector")
    get.add_argument("--field-selector")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("--show-labels", action="store_true")
    get.add_argument("--show-managed-fields", action="store_true",
                     help="keep metadata.managedFields in -o json and -o yaml")
    get.add_argument("-w", "--watch", action="store_true",
                     help="after listing, print each change until Ctrl-C")
    get.add_argument("--chunk-size", type=parsing.count, default=CHUNK_SIZE, metavar="N",
                     help=f"list in pages of N objects (default {CHUNK_SIZE}, as kubectl; "
                     "0: in one request)")


def _add_manifests(verbs: parsing.Verbs, common: parsing.Parser, verb: str,
                   text: str) -> None:
    """``create`` or ``apply`` (``verb``, whose help is ``text``): objects from ``-f``."""
    command = verbs.add_parser(verb, parents=[common], help=text)
    command.add_argument("-f", "--filename", action="append", required=True,
                         metavar="FILE", help="a file, a directory, or - for stdin")


def _add_describe(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    describe = verbs.add_parser(
        "describe", parents=[common],
        help="show details of pods, nodes, workloads or secrets, with their events")
    describe.add_argument("resource")
    describe.add_argument("names", nargs="*")


def _add_api_resources(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    verbs.add_parser("api-resources", parents=[common], help="list the resource types")


def _add_delete(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    delete = verbs.add_parser("delete", parents=[common],
                              help="delete resources by name, label selector or manifest")
    delete.add_argument("resource", nargs="?")
    delete.add_argument("names", nargs="*")
    delete.add_argument("-l", "--selector", help="delete what matches these labels")
    delete.add_argument("-f", "--filename", action="append", metavar="FILE",
                        help="delete the objects of these manifests")
    delete.add_argument("--grace-period", type=int, default=None)
    delete.add_argument("--wait", type=parsing.boolean, default=True, metavar="true|false")
    delete.add_argument("--timeout", type=float, default=120.0, help="seconds --wait may take")
    delete.add_argument("--cascade", default="background", type=parsing.cascade,
                        metavar="background|foreground|orphan",
                        help="what happens to the objects it owns (default background)")


def cmd_get(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    printers.check_format(args.output)
    if args.resource is None:
        raise UsageError("get needs a resource type (or --raw PATH)")
    targets = parsing.targets([args.resource, *args.names], session.client.info)
    if args.watch:
        if len(targets) > 1:
            raise UsageError("you may only specify a single resource type")
        return _get_and_watch(args, session, *targets[0])
    shown, failed = [], 0
    for info, names in targets:
        namespace = None if args.all_namespaces or not info.namespaced else session.namespace
        if names:
            objects, missing = _get_each(session, info, namespace, names)
            failed |= missing
        else:
            objects = _listed(args, session, info, namespace)["items"]
        shown.append((info, objects))
    single = len(targets) == 1 and len(targets[0][1]) == 1
    _print_objects(args, session, shown, single, asked_names=any(names for _, names in targets))
    return failed


def _print_objects(args: argparse.Namespace, session: Session,
                   shown: list[tuple[ResourceInfo, list[Object]]], single: bool,
                   asked_names: bool) -> None:
    """A table (or names) per type, written ``pod/NAME`` when there are several types; the
    other formats get everything in one List, as kubectl prints them."""
    items = [obj for _, objects in shown for obj in objects]
    kind = (args.output or "").partition("=")[0]
    if not items:
        if kind in ("", "wide") and not asked_names:
            namespaced = not args.all_namespaces and any(info.namespaced for info, _ in shown)
            where = f" in {session.namespace} namespace" if namespaced else ""
            print(f"No resources found{where}.", file=sys.stderr)
        return
    if kind not in ("", "wide", "name"):
        result = items[0] if single else {"apiVersion": "v1", "kind": "List", "items": items,
                                          "metadata": {"resourceVersion": ""}}
        print(printers.render(shown[0][0], result, args.output, single=single,
                              show_managed_fields=args.show_managed_fields),
              end="" if kind == "jsonpath" else "\n", flush=True)  # kubectl adds no newline
        return
    several = len(shown) > 1
    print(("\n" if kind == "name" else "\n\n").join(
        printers.render(info, {"items": objects}, args.output, single=False,
                        all_namespaces=args.all_namespaces and info.namespaced,
                        show_labels=args.show_labels, with_kind=several)
        for info, objects in shown if objects), flush=True)


def _get_and_watch(args: argparse.Namespace, session: Session, info: ResourceInfo,
                   names: list[str]) -> int:
    """``get -w``: the listing, then each change in the listing's format."""
    namespace = None if args.all_namespaces or not info.namespaced else session.namespace
    if len(names) > 1:
        raise UsageError("watch is only supported on individual resources and resource "
                         "collections, but 2 or more resources were found")
    if names:
        args.field_selector = f"metadata.name={names[0]}"
    listing = _listed(args, session, info, namespace)
    _print_objects(args, session, [(info, listing["items"])], single=False, asked_names=False)
    _watch_rows(session, info, namespace, listing["metadata"]["resourceVersion"], args)
    return 0


def _listed(args: argparse.Namespace, session: Session, info: ResourceInfo,
            namespace: str | None) -> Object:
    """The List ``get`` shows of ``info`` in ``namespace`` (None: all), in ``--chunk-size``
    pages."""
    return session.client.list(info.name, namespace, label_selector=args.selector,
                               field_selector=args.field_selector, chunk_size=args.chunk_size)


def _get_each(session: Session, info: ResourceInfo, namespace: str | None,
              names: list[str]) -> tuple[list[Object], int]:
    """The objects that exist, in order, and 1 when any was missing (each missing one is
    reported on stderr, as kubectl does, while the others are still shown)."""
    found, failed = [], 0
    for name in names:
        try:
            found.append(session.client.get(info.name, name, namespace))
        except NotFound as error:
            print_error(error)
            failed = 1
    return found, failed


def _watch_rows(session: Session, info: ResourceInfo, namespace: str | None, since: str,
                args: argparse.Namespace) -> None:
    """``get -w``: print each change after the listing, in the listing's format, until
    Ctrl-C or SIGTERM, or until the connection is lost for good (ConnectionLost)."""
    changes: queue.Queue[WatchEvent] = queue.Queue()
    stop = stop_on_signals()
    watch = session.client.watch(info.name, changes.put, namespace=namespace,
                                 label_selector=args.selector,
                                 field_selector=args.field_selector, resource_version=since)
    try:
        while not stop.is_set():
            try:
                event = changes.get(timeout=POLL)
            except queue.Empty:
                session.check()
                continue
            if event.type == "ERROR":
                raise UsageError(f"the watch ended: {event.object.get('message')}")
            if event.type == "BOOKMARK":
                continue
            print(printers.render(info, event.object, args.output, single=True,
                                  all_namespaces=args.all_namespaces and info.namespaced,
                                  show_labels=args.show_labels, header=False,
                                  show_managed_fields=args.show_managed_fields), flush=True)
    finally:
        watch.stop()


def _add_create(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    """``create -f FILE`` (objects from manifests) or ``create token NAME``."""
    create = verbs.add_parser("create", parents=[common],
                              help="create objects from manifests, or a token (create token NAME)")
    create.add_argument("-f", "--filename", action="append", metavar="FILE",
                        help="a file, a directory, or - for stdin")
    create.add_argument("what", nargs="?", choices=["token", "job"], help="token: a service "
                        "account's token; job: a Job (--from=cronjob/NAME or --image)")
    create.add_argument("name", nargs="?", help="the service account (create token), the Job "
                        "(create job)")
    tokens.add_options(create)
    jobs.add_options(create)


def cmd_create(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``create -f``: create every object of the manifests; ``create token NAME``."""
    if args.what == "token":
        return tokens.cmd_create_token(args, session)
    if args.what == "job":
        return jobs.cmd_create_job(args, session)
    if not args.filename:
        raise UsageError("create needs -f FILE, or: create token NAME")
    return _each_manifest(args, session, _reporting(session, manifests.create))


def cmd_apply(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``apply -f``: create or update every object of the manifests."""
    return _each_manifest(args, session, _reporting(session, manifests.apply))


Action = Callable[[ResourceInfo, str | None, Object], None]
"""What a verb does to one object of ``-f``: its resource, its namespace, the object."""


def _reporting(session: Session,
               action: Callable[[Client, ResourceInfo, str | None, Object], str]) -> Action:
    """``action``, then ``kind/name OUTCOME`` printed as the object is acknowledged."""
    def act(info: ResourceInfo, namespace: str | None, obj: Object) -> None:
        outcome = action(session.client, info, namespace, obj)
        print(f"{manifests.describe(info, obj)} {outcome}", flush=True)
    return act


def _each_manifest(args: argparse.Namespace, session: Session, action: Action) -> int:
    """Run ``action`` on every object of ``-f`` and go on after a failure: an ApiError, or an
    object that names no resource (each said on stderr; exit 1 at the end, as kubectl does).
    A server that cannot be reached (Unreachable) stops it there: every next object would
    fail alike."""
    failed, seen = 0, 0
    explicit = getattr(args, "namespace", None) is not None
    for where, obj in manifests.read(args.filename):
        seen += 1
        try:
            info, namespace = manifests.target(obj, session.namespace, explicit,
                                                session.client.info)
            action(info, namespace, obj)
        except Unreachable:
            raise
        except ApiError as error:
            print_error(error)
            failed = 1
        except manifests.ManifestError as error:
            print(f'error: {error} (in "{where}")', file=sys.stderr)
            failed = 1
    if not seen:
        raise UsageError(f"no objects passed to {args.verb}")
    return failed


DESCRIBED = ("pods", "nodes", "replicasets", replication.RESOURCE, "deployments", "daemonsets",
             "statefulsets", "secrets", "jobs", "cronjobs")
"""The types ``describe`` knows."""


def cmd_describe(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    info, names = parsing.resource_and_names([args.resource, *args.names],
                                              session.client.info)
    if info.name not in DESCRIBED:
        raise UsageError(f"describe knows {', '.join(DESCRIBED)} in this release, not "
                         f"{info.name}")
    namespace = session.namespace if info.namespaced else None
    if names:
        objects, failed = _get_each(session, info, namespace, names)
    else:
        objects, failed = session.client.list(info.name, namespace)["items"], 0
    texts = []
    for obj in objects:
        uid = obj["metadata"]["uid"]
        events = [e for e in session.client.list("events", namespace or "default")["items"]
                  if (e.get("involvedObject") or {}).get("uid") == uid]
        texts.append(_describe(session, info, obj, events))
    if texts:
        print("\n\n".join(texts))
    return failed


def _describe(session: Session, info: ResourceInfo, obj: Object, events: list[Object]) -> str:
    if info.name == "secrets":
        return printers.describe_secret(obj)
    if info.name == "pods":
        return printers.describe_pod(obj, events)
    if info.name == "cronjobs":
        return printers.describe_cronjob(obj, events)
    if info.name == "jobs":
        return printers.describe_job(obj, events)
    if info.name == "nodes":
        pods = session.client.list(
            "pods", None, field_selector=f"spec.nodeName={obj['metadata']['name']}")
        return printers.describe_node(obj, pods["items"], events)
    uid, namespace = obj["metadata"]["uid"], obj["metadata"]["namespace"]
    owned = [o for o in session.client.list(
        "replicasets" if info.name == "deployments" else "pods", namespace)["items"]
        if (controller_ref(o) or {}).get("uid") == uid]
    if info.name != "deployments":
        return printers.describe_pod_owner(replication.as_replicaset(obj), owned, events)
    from actors.controllers.deployment import without_hash  # loads the controllers

    template = without_hash(obj["spec"]["template"])
    new = next((rs for rs in owned if without_hash(rs["spec"]["template"]) == template), None)
    olds = [rs for rs in owned if rs is not new and rs.get("spec", {}).get("replicas")]
    return printers.describe_deployment(obj, new, olds, events)


def cmd_api_resources(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    rows = [[info.name, ",".join(info.short_names), info.api_version, str(info.namespaced).lower(),
             info.kind] for info in sorted(RESOURCES, key=lambda i: (i.group, i.name))]
    print(printers.columns(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows))
    return 0


def cmd_delete(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    # kubectl: a negative grace period means "the object's default".
    grace = None if args.grace_period is None or args.grace_period < 0 else args.grace_period
    if args.cascade in ("true", "false"):
        better = "orphan" if args.cascade == "false" else "background"
        print(f"warning: --cascade={args.cascade} is deprecated (boolean value) and can be "
              f"replaced with --cascade={better}.", file=sys.stderr)

    def delete(info: ResourceInfo, namespace: str | None, name: str) -> None:
        _delete(session, info, namespace, name, grace,
                args.timeout if args.wait else None, parsing.CASCADES[args.cascade])

    if args.filename:  # what names no resource is said, the rest deleted
        return _each_manifest(args, session, lambda info, namespace, obj: delete(
            info, namespace, str(obj["metadata"]["name"])))
    failed = 0
    for info, namespace, name in _deletion_targets(args, session):
        try:
            delete(info, namespace, name)
        except Unreachable:
            raise
        except ApiError as error:
            print_error(error)
            failed = 1
    return failed


def _deletion_targets(args: argparse.Namespace, session: Session
                      ) -> list[tuple[ResourceInfo, str | None, str]]:
    """(resource, namespace, name) to delete: by a selector, or by names."""
    if not args.resource:
        raise UsageError("you must provide one or more resources by argument or filename")
    info, names = parsing.resource_and_names([args.resource, *args.names],
                                              session.client.info)
    namespace = session.namespace if info.namespaced else None
    if args.selector:
        if names:
            raise UsageError("name cannot be provided when a selector is specified")
        found = session.client.list(info.name, namespace, label_selector=args.selector)
        if not found["items"]:
            print(f"No resources found{f' in {namespace} namespace' if namespace else ''}.",
                  file=sys.stderr)
        return [(info, namespace, obj["metadata"]["name"]) for obj in found["items"]]
    if not names:
        raise UsageError("resource(s) were provided, but no name was specified")
    return [(info, namespace, name) for name in names]


def _delete(session: Session, info: ResourceInfo, namespace: str | None, name: str,
            grace: int | None, wait: float | None, policy: str) -> None:
    """Delete, say so, then (as ``kubectl delete --wait``) wait until the object is gone
    (with ``Foreground``, after what it owns), or the connection is lost for good."""
    client, gone = session.client, threading.Event()

    def on_event(event: WatchEvent) -> None:  # bus loop thread
        if event.type == "DELETED":
            gone.set()

    watch = client.watch(info.name, on_event, namespace=namespace,
                         field_selector=f"metadata.name={name}") if wait else None
    try:
        client.delete(info.name, name, namespace, grace_period=grace, propagation_policy=policy)
        print(f'{info.qualified_singular} "{name}" deleted', flush=True)
        if watch is None or wait is None:
            return
        try:
            client.get(info.name, name, namespace)
        except NotFound:
            return
        if not session.wait(gone, wait):
            raise UsageError(f'timed out waiting for the deletion of {info.singular} "{name}"')
    finally:
        if watch is not None:
            watch.stop()


PARSERS: dict[str, parsing.Builder] = {
    "get": _add_get,
    "create": _add_create,
    "apply": functools.partial(_add_manifests, verb="apply",
                               text="create or update objects from manifests"),
    "describe": _add_describe, "api-resources": _add_api_resources, "delete": _add_delete}
"""Each verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {"get": cmd_get, "create": cmd_create, "apply": cmd_apply, "describe": cmd_describe,
            "api-resources": cmd_api_resources, "delete": cmd_delete}
"""Each verb's command, run with a session."""
