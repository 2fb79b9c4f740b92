"""The kubelet relay: ``pods/log``, ``pods/exec`` and ``pods/attach``, served by the kubelet of
the pod's node.

The apiserver checks such a call (the pod is on a node, the container is the pod's, an exec has
a command, an exec or attach a pod not completed, a followed log's stream is the caller's own),
admits an exec or attach as a ``CONNECT`` (as Kubernetes does), forwards it on
``<prefix>.node.<node>.logs|exec`` without waiting, and relays the kubelet's reply (or the
failure to get one) to the caller when it comes, so a slow container never holds up the
apiserver. The checks and the envelopes are pure functions (:func:`node_call`,
:func:`stream_key`, :func:`forward`, :func:`relayed`); :class:`Relay` (mixed into the actor)
puts them in order.

Neighbours: ``server`` (the actor, whose pipeline runs :meth:`Relay._call_node` as a verb and
audits the relayed reply), ``busauth`` (who owns a followed log's stream),
``actors.kubelet.kubelet`` (the other end).

Which thread: :meth:`Relay._call_node` runs on an apiserver worker's actor thread; the reply is
relayed from the bus loop thread (``_relay``), which never blocks.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.api.objects import Object
from actors.apiserver.busauth import check_owner
from bus.envelope import Envelope, new_id
from bus.errors import BadRequest, BusError, InternalError, ServiceUnavailable

if TYPE_CHECKING:
    from actors.apiserver.admission.chain import Steps
    from actors.apiserver.options import Options
    from actors.apiserver.requests import ApiServerConfig, Pending, Request, Result, Step
    from bus.connection import Connection, Incoming
    from bus.subjects import Subjects

NODE_CALLS = {("get", "log"): "logs", ("create", "exec"): "exec", ("create", "attach"): "exec"}
"""Subresources served by the pod's kubelet: (verb, subresource) -> op of ``P.node.<n>.<op>``
(an attach rides the exec op and its stream, ``attach`` set instead of a command)."""
CONNECT_KINDS = {"exec": "PodExecOptions", "attach": "PodAttachOptions"}
"""The subresources admitted as a ``CONNECT``, and the kind of their options."""
STREAMED = {"logs": "a followed log", "exec": "an exec stream"}
"""The node calls streamed to their caller's subject (``options.followTo``), as errors name
them."""
MIN_STREAM_KEY, MAX_STREAM_KEY = 16, 64
"""Bytes of a stream's key (``auth.streamKey``)."""
RELAYED = object()
"""What a verb returns whose answer another component sends (the kubelet's, relayed)."""


@dataclass(frozen=True, slots=True)
class NodeCall:
    """What goes to the kubelet: which node, which op, for which container."""

    node: str
    op: str
    """``logs`` or ``exec`` (:data:`NODE_CALLS`)."""
    container: str
    command: Any
    """An exec's command (checked: a non-empty list of strings); what the body held else."""
    stdin: bool = False
    """A streamed exec reads its caller's input."""
    tty: bool = False
    """A streamed exec runs in a terminal (its output on stdout alone; resizes)."""
    attach: bool = False
    """``pods/attach``: the container's own stdio, not a command started in it."""


class Relay:
    """The relay's steps in order, mixed into :class:`~actors.apiserver.server.ApiServer`.
    What it uses of the actor is declared here."""

    config: ApiServerConfig
    connection: Connection
    subjects: Subjects

    if TYPE_CHECKING:
        def _get(self, request: Request) -> Object: ...

        def _admit(self, request: Request, operation: str, obj: Object | None,
                   old: Object | None) -> Steps: ...

        def _finish(self, pending: Pending, reply: Envelope) -> Envelope: ...

        def _reply(self, message: Incoming, reply: Envelope) -> None: ...

    def _call_node(self, pending: Pending) -> Generator[Step, Result, object]:
        """Forward ``pods/log``, ``pods/exec`` or ``pods/attach`` (the last two admitted first as a
        ``CONNECT``, as in Kubernetes) to the kubelet of the pod's node without waiting: its
        reply (or the failure to get one) is relayed to the caller from the bus thread, so a
        slow container never holds up the apiserver. Returns RELAYED: the reply is not this
        verb's."""
        request = pending.request
        assert request is not None
        pod = self._get(request)
        call = node_call(request, pod)
        key = self._stream_key(request, call)
        if call.op == "exec":
            yield from self._admit(request, "CONNECT", connect_options(request, call), None)
        envelope, sender = request.envelope, self.config.name
        answer = self.connection.request(
            self.subjects.node(call.node, call.op), forward(request, pod, call, key, sender),
            timeout=self.config.node_call_seconds)
        answer.add_done_callback(  # bus loop thread
            lambda done: self._relay(pending, relayed(envelope, done, call.node, sender)))
        return RELAYED

    def _stream_key(self, request: Request, call: NodeCall) -> bytes | None:
        """The key of the stream the call asks for (None: not streamed); BadRequest when the
        subject is another op's or the key is missing, Forbidden when the subject is not the
        caller's own."""
        stream = request.options.follow_to
        if stream is None and (call.stdin or call.tty or call.attach):
            raise BadRequest("an attach, or an exec with stdin or a terminal, must be "
                             "streamed (options.followTo)")
        if stream is None:
            return None
        if self.subjects.stream_op(stream) != call.op:
            raise BadRequest(f"options.followTo of {STREAMED[call.op]} must be a subject "
                             f"{self.subjects.inbox_prefix}.<owner>.{call.op}.<id>")
        check_owner(request.sender, self.subjects.stream_owner(stream) or "",
                    STREAMED[call.op])
        return stream_key(request.envelope, STREAMED[call.op])

    def _relay(self, pending: Pending, reply: Envelope) -> None:
        """Audit the relayed reply and send it to the caller (bus loop thread)."""
        self._finish(pending, reply)
        if pending.incoming.reply_to:  # checked before the call (_decode)
            self._reply(pending.incoming, reply)


def node_call(request: Request, pod: Object) -> NodeCall:
    """The call ``request`` asks of ``pod``'s kubelet; BadRequest if the pod has no node, an
    exec or attach's pod has completed, the container is not the pod's (an init, app or
    ephemeral container: kube's ``podHasContainerWithName``) or not said, among several, an
    exec has no command, or (checked last) an exec or attach is a dry run."""
    name = pod["metadata"]["name"]
    node = pod.get("spec", {}).get("nodeName")
    if not node:
        raise BadRequest(f"pod {name} does not have a host assigned")
    op = NODE_CALLS[(request.verb, request.subresource or "")]
    attach = request.subresource == "attach"
    phase = pod.get("status", {}).get("phase")
    if op == "exec" and phase in ("Succeeded", "Failed"):
        raise BadRequest(f"cannot {'attach to' if attach else 'exec into'} a container in a "
                         f"completed pod; current phase is {phase}")
    body = request.envelope.body if isinstance(request.envelope.body, dict) else {}
    spec = pod["spec"]
    names = [c["name"] for c in spec["containers"]]
    every = [c["name"] for kind in ("initContainers", "containers", "ephemeralContainers")
             for c in spec.get(kind) or []]  # kube's podutil.VisitContainers order
    container = request.options.container or body.get("container")
    if container is None and len(names) == 1:
        container = names[0]
    if container not in every:
        raise BadRequest(f"a container name must be specified for pod {name}, choose one "
                         f"of: [{' '.join(every)}]" if container is None else
                         f"container {container} is not valid for pod {name}")
    if op == "exec" and not attach and (
            not isinstance(body.get("command"), list) or not body["command"]
            or not all(isinstance(w, str) for w in body["command"])):
        raise BadRequest("exec needs body.command, a non-empty list of strings")
    if op == "exec" and request.options.dry_run:  # kube-apiserver's CONNECT is never one;
        # refused last: the HTTPS front's dry run hears every other refusal (front._refusal_first)
        raise BadRequest(f"dryRun is not served for pods/{request.subresource}: a stream "
                         "cannot run dry (nothing was done)")
    return NodeCall(node, op, str(container),  # one of names
                    None if attach else body.get("command"),
                    stdin=body.get("stdin") is True, tty=body.get("tty") is True, attach=attach)


def connect_options(request: Request, call: NodeCall) -> Object:
    """What admission sees of an exec or attach (``CONNECT``): its ``Pod*Options``."""
    options: Object = {"apiVersion": "v1", "kind": CONNECT_KINDS[request.subresource or ""],
                       "container": call.container, "stdin": call.stdin, "tty": call.tty}
    return options if call.attach else {**options, "command": call.command}


def stream_key(envelope: Envelope, what: str = STREAMED["logs"]) -> bytes:
    """A stream's key (``auth.streamKey``), which its kubelet MACs every message with."""
    key = (envelope.auth or {}).get("streamKey")
    if not isinstance(key, bytes) or not MIN_STREAM_KEY <= len(key) <= MAX_STREAM_KEY:
        raise BadRequest(f"{what} needs auth.streamKey: {MIN_STREAM_KEY} to "
                         f"{MAX_STREAM_KEY} random bytes")
    return key


def forward(request: Request, pod: Object, call: NodeCall, key: bytes | None,
            sender: str) -> Envelope:
    """The envelope to the kubelet: a child span of the request's; a stream's key goes to
    this kubelet alone, with the user it is for (the kubelet bounds each user's streams)."""
    envelope = request.envelope
    return Envelope(
        trace_id=envelope.trace_id, parent_id=envelope.span_id, span_id=new_id(),
        sender=sender, target=f"kubelet-{call.node}", verb=call.op, resource="pods",
        subresource=request.subresource, namespace=request.namespace,
        name=pod["metadata"]["name"],
        body={"uid": pod["metadata"]["uid"], "container": call.container,
              "tailLines": request.options.tail_lines,
              "previous": request.options.previous or None, **_log_options(request.options),
              "command": call.command,
              "stream": request.options.follow_to, "stdin": call.stdin or None,
              "tty": call.tty or None, "attach": call.attach or None,
              "user": request.user.name if request.options.follow_to else None},
        auth=None if key is None else {"streamKey": key},
    )


def _log_options(options: Options) -> Object:
    """A ``pods/log``'s timestamps, start (``sinceSeconds`` back from the kubelet's now, or
    ``sinceTime``) and ``limitBytes`` for the kubelet (none it was not asked for)."""
    found = {"timestamps": options.timestamps or None, "limitBytes": options.limit_bytes,
             "sinceSeconds": options.since_seconds, "sinceTime": options.since_time}
    return {key: value for key, value in found.items() if value is not None}


def relayed(envelope: Envelope, done: concurrent.futures.Future[Envelope], node: str,
            sender: str) -> Envelope:
    """The reply to ``envelope`` (the caller's request) from the kubelet's answer, whatever
    came back (or did not)."""
    try:
        answer = done.result()
        reply = envelope.reply(answer.body, sender=sender)
        reply.status = answer.status or reply.status
    except BusError as error:
        reply = envelope.error_reply(ServiceUnavailable(
            f"the kubelet of node {node} did not answer: {error}"), sender=sender)
    except Exception as error:  # a malformed answer, a cancelled call
        reply = envelope.error_reply(InternalError(
            f"bad answer from the kubelet of node {node}: {error}"), sender=sender)
    return reply
