"""Tracing the control plane: ``kubeactor trace``, and what turns bus messages into hops,
lines and sequence diagrams.

``kubeactor trace`` subscribes to ``<prefix>.>``, says it listens on ``<prefix>.tracers``
every few seconds (the apiserver publishes the spans of requests handed over in its process only
while a tracer does: ``actors.apiserver.outcomes.Tracers``) and hands every message here: a
:class:`Hop` says who sent what to whom (a request, its reply, a watch event, a span of an
in-process step), :func:`render` prints it as one line and :func:`mermaid` draws a run of hops
as a Mermaid ``sequenceDiagram``; ``bindings.cli.tracepage`` draws them as an HTML page
(``--html``). Captures (``--record``) are msgpack streams of ``{"t", "subject", "msg"}``
maps; credentials (service account tokens too), the handshake's proofs and the values of
Secrets (``actors.api.secrets.redacted``) are removed before anything is kept or shown;
``trace replay FILE`` prints one again. What a hop shows is written by whoever sent the message
(any identity may send requests and chaos spans): a character that is not printable (escape
sequences, bidirectional overrides, newlines) is shown escaped (``\x1b``), never sent to the
terminal as is.

Neighbours: ``bus.envelope`` (what a message holds), ``bindings.cli.session`` (the tracer's
connection), ``bindings.cli.parsing`` (``KIND/NAME``), ``bindings.cli.main`` (dispatch),
``bindings.cli.tracepage`` (the page).

Which thread: the command runs on the main thread; messages arrive on the bus loop thread
(``on_message``) and reach it through a queue.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import queue
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import msgpack

from actors.api import secrets
from actors.api.resources import ResourceInfo
from actors.apiserver import outcomes
from bindings.cli import otlp, parsing, tracepage
from bindings.cli.session import Session, stop_on_signals
from bus.envelope import Envelope, decode
from bus.errors import BadRequest, UsageError, translated
from bus.subjects import EXEMPT_LANE, Subjects

SECRET_KEYS = ("auth",)
"""Wire keys never recorded nor shown (tokens, keys, signatures)."""
PROOF_KEYS = ("sig", "nonce", "eph", "ticket")
"""Keys of a certificate handshake's body (``actors.api.certs.hello`` and ``welcome``) never
recorded nor shown: signatures, ephemeral keys, the session ticket."""


@dataclass(frozen=True, slots=True)
class Record:
    """One captured message: when it was seen, on which subject, its envelope (no
    credentials, no Secret's values)."""

    time: float
    subject: str
    message: dict[str, Any]

    @classmethod
    def capture(cls, subject: str, data: bytes, when: float | None = None) -> Record | None:
        """The record of a raw bus message; None when it is not a kubeactor envelope."""
        try:
            wire = msgpack.unpackb(data, raw=False, strict_map_key=False)
            decode(data)  # validates
        except (BadRequest, ValueError):
            return None
        clean = {key: value for key, value in wire.items() if key not in SECRET_KEYS}
        if isinstance(clean.get("body"), dict) and "sig" in clean["body"]:  # a handshake
            clean["body"] = {key: value for key, value in clean["body"].items()
                             if key not in PROOF_KEYS}
        if "body" in clean:
            resource = clean.get("resource")
            clean["body"] = secrets.redacted(clean["body"], resource == secrets.RESOURCE,
                                             resource if isinstance(resource, str) else None)
        return cls(time.time() if when is None else when, subject, clean)

    def envelope(self) -> Envelope:
        return decode(msgpack.packb(self.message, use_bin_type=True))


@dataclass(frozen=True, slots=True)
class Hop:
    """One arrow of a sequence diagram."""

    time: float
    sender: str
    _: KW_ONLY
    target: str
    verb: str
    what: str
    code: int | None = None
    latency_ms: float | None = None
    reply: bool = False
    trace_id: str | None = None
    span_id: str | None = None
    parent_id: str | None = None

    @property
    def label(self) -> str:
        """``create pods/web``, and the status code when there is one: ``... 201``."""
        return f"{self.verb} {self.what}" + (f" {self.code}" if self.code is not None else "")


def _what(envelope: Envelope) -> str:
    parts = [envelope.resource or "?"]
    if envelope.name:
        parts.append(envelope.name)
    if envelope.subresource:
        parts.append(envelope.subresource)
    return "/".join(parts)


def hop(record: Record) -> Hop:
    """What one captured message means, read from its subject and envelope."""
    envelope = record.envelope()
    kind = Subjects.family(record.subject)
    code = int(envelope.status["code"]) if envelope.status and "code" in envelope.status else None
    sender, target = shown(envelope.sender or "?"), shown(envelope.target or "?")
    verb, what = shown(envelope.verb or "?"), shown(_what(envelope))
    if kind in ("api", EXEMPT_LANE):  # a request, on the shared lane or the admin's
        target, code = "apiserver", None
    elif kind == "watch":
        verb = str((envelope.body or {}).get("type", "event"))
    elif kind == "trace" and "chaos" in (envelope.options or {}):
        verb = shown(_chaos_verb(envelope))
    elif kind == "trace" and envelope.verb == "commit":
        revision = (envelope.body or {}).get("revision")
        what = shown(f"{what} (rev {revision})") if revision is not None else what
    latency = (envelope.options or {}).get("latencyMs") if kind == "inbox" else None
    return Hop(record.time, sender, target=target, verb=verb, what=what, code=code,
               latency_ms=float(latency) if isinstance(latency, int | float) else None,
               reply=kind == "inbox", trace_id=envelope.trace_id, span_id=envelope.span_id,
               parent_id=envelope.parent_id)


def shown(text: str) -> str:
    """``text`` with each character that is not printable escaped (``\x1b``, ``\u202e``),
    so that a message's sender cannot write to the tracer's terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))


def answered(hops: Iterable[Hop]) -> list[Hop]:
    """``hops`` where each request has its reply's latency (a reply names the request's span
    as its parent)."""
    hops = list(hops)
    latency = {line.parent_id: line.latency_ms for line in hops if line.reply and line.parent_id}
    return [dataclasses.replace(line, latency_ms=latency[line.span_id])
            if not line.reply and line.span_id in latency else line for line in hops]


def _chaos_verb(envelope: Envelope) -> str:
    """A fault plan's span: ``chaos start``, ``chaos end (expired)``, ``chaos drop create``."""
    options = envelope.options or {}
    said = options.get("faulted") or options.get("reason")
    said = f" ({said})" if envelope.verb == "end" else f" {said}" if said else ""
    return f"chaos {envelope.verb}{said}"


def matches(record: Record, info: ResourceInfo | None = None, name: str | None = None,
            trace_id: str | None = None) -> bool:
    """Whether ``record`` concerns object ``info``/``name`` and belongs to ``trace_id``."""
    message = record.message
    if trace_id and message.get("trace") != trace_id:
        return False
    if info is not None and message.get("resource") != info.name:
        return False
    return not name or message.get("name") == name


def render(line: Hop) -> str:
    """``15:04:05.123  cli -> apiserver  create pods/web  201  3.1ms``."""
    millis = int(line.time * 1000) % 1000
    stamp = f"{time.strftime('%H:%M:%S', time.localtime(line.time))}.{millis:03d}"
    arrow = f"{line.sender} -> {line.target}"
    text = f"{stamp}  {arrow:<36} {line.verb} {line.what}"
    if line.code is not None:
        text += f"  {line.code}"
    if line.latency_ms is not None:
        text += f"  {line.latency_ms:.1f}ms"
    return text


def _participant(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(hops: Iterable[Hop]) -> str:
    """A Mermaid sequenceDiagram of ``hops``: participants in order of first appearance,
    requests, events and spans as solid arrows, replies dashed."""
    hops = list(hops)
    participants: dict[str, str] = {}
    for line in hops:
        for name in (line.sender, line.target):
            participants.setdefault(name, _participant(name))
    lines = ["sequenceDiagram"]
    lines += [f"    participant {ident}" + (f" as {name}" if ident != name else "")
              for name, ident in participants.items()]
    for line in hops:
        arrow = "-->>" if line.reply else "->>"
        lines.append(f"    {participants[line.sender]}{arrow}{participants[line.target]}: "
                     f"{line.label.replace(';', ',').replace('#', '')}")
    return "\n".join(lines) + "\n"


def write_record(out: BinaryIO, record: Record) -> None:
    out.write(msgpack.packb({"t": record.time, "subject": record.subject,
                             "msg": record.message}, use_bin_type=True))
    out.flush()


class CaptureError(UsageError):
    """A file that is not a ``trace --record`` capture."""


def read_capture(path: Path) -> Iterator[Record]:
    """The records of a ``--record`` file, in order; CaptureError for anything else."""
    with translated(CaptureError), path.open("rb") as handle:
        try:
            for item in msgpack.Unpacker(handle, raw=False, strict_map_key=False):
                yield Record(float(item["t"]), str(item["subject"]), dict(item["msg"]))
        except (ValueError, KeyError, TypeError, msgpack.UnpackException) as error:
            raise CaptureError(f"{path} is not a kubeactor trace capture ({error})") from None


def _add_trace(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    trace = verbs.add_parser("trace", parents=[common],
                             help="print the control plane's messages live, or replay a capture",
                             usage="kubeactor trace [replay FILE] [--object KIND/NAME] "
                                   "[--trace-id ID] [--mermaid FILE] [--html FILE] "
                                   "[--record FILE] [--otlp-endpoint URL]")
    trace.add_argument("replay", nargs="*", help=argparse.SUPPRESS)
    trace.add_argument("--object", metavar="KIND/NAME", help="only messages about this object")
    trace.add_argument("--trace-id", help="only messages of this trace")
    trace.add_argument("--mermaid", metavar="FILE", type=Path,
                       help="write a Mermaid sequenceDiagram of what was seen")
    trace.add_argument("--html", metavar="FILE", type=Path,
                       help="write a self-contained HTML page drawing what was seen")
    trace.add_argument("--record", metavar="FILE", type=Path,
                       help="keep the capture (credentials removed) for `trace replay`")
    trace.add_argument("--otlp-endpoint", metavar="URL",
                       help="export what is seen as OpenTelemetry spans over OTLP/HTTP "
                            "(http://HOST:4318; needs kubeactor[otel])")
    trace.add_argument("--timeout", type=float, help="stop after this many seconds")


def cmd_trace(args: argparse.Namespace) -> int:
    """``trace``: live from the bus until Ctrl-C (or --timeout, or the connection is lost for
    good), or ``trace replay FILE``."""
    info, name = None, None
    if args.object:
        kind, _, name = args.object.partition("/")
        info = parsing.resource_type(kind)
    if args.replay and (args.replay[0] != "replay" or len(args.replay) != 2):
        raise UsageError("usage: kubeactor trace replay FILE")
    exporter = otlp.Exporter(args.otlp_endpoint) if args.otlp_endpoint else None
    try:
        if args.replay:
            seen = _show(read_capture(Path(args.replay[1])), info, name, args.trace_id,
                         exporter=exporter)
        else:
            seen = _trace_live(args, info, name, exporter)
    finally:
        if exporter is not None:
            exporter.close()
    _write_views(args, seen)
    return 0


def _write_views(args: argparse.Namespace, seen: list[tuple[Record, Hop]]) -> None:
    """The files asked for of what was seen: ``--mermaid``, ``--html``."""
    hops = answered(line for _, line in seen)
    with translated(UsageError):
        if args.mermaid:
            args.mermaid.write_text(mermaid(hops))
        if args.html:
            messages = zip(hops, (record.message for record, _ in seen), strict=True)
            args.html.write_text(tracepage.page(messages), encoding="utf-8")


def _show(records: Iterable[Record], info: ResourceInfo | None, name: str | None,
          trace_id: str | None, record_to: BinaryIO | None = None,
          exporter: otlp.Exporter | None = None) -> list[tuple[Record, Hop]]:
    seen = []
    for record in records:
        if not matches(record, info, name, trace_id):
            continue
        if record_to is not None:
            write_record(record_to, record)
        seen.append((record, hop(record)))
        print(render(seen[-1][1]), flush=True)
        if exporter is not None:
            exporter.add(seen[-1][1], record.message)
    return seen


def _trace_live(args: argparse.Namespace, info: ResourceInfo | None, name: str | None,
                exporter: otlp.Exporter | None) -> list[tuple[Record, Hop]]:
    stop = stop_on_signals()
    seen: queue.Queue[Record] = queue.Queue()

    def on_message(subject: str, data: bytes) -> None:  # bus loop thread
        if subject != announced and (record := Record.capture(subject, data)) is not None:
            seen.put(record)

    def drain() -> Iterator[Record]:
        deadline = time.monotonic() + args.timeout if args.timeout else None
        next_announcement = 0.0
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if time.monotonic() >= next_announcement:  # the apiserver's spans need it
                session.connection.publish(announced, Envelope(verb="listen"))
                next_announcement = time.monotonic() + outcomes.TRACER_REPEAT
            try:
                yield seen.get(timeout=0.1)
            except queue.Empty:
                session.check()  # ConnectionLost: said, and the command ends
        while not seen.empty():
            yield seen.get()

    session = Session(args, name="tracer")
    announced = session.connection.subjects.tracers
    try:
        session.connection.subscribe_raw(session.connection.subjects.all, on_message)
        print(f"tracing {session.connection.subjects.all} on {session.config.server} "
              "(Ctrl-C to stop)", file=sys.stderr, flush=True)
        with contextlib.ExitStack() as files:
            with translated(UsageError):
                out = files.enter_context(args.record.open("wb")) if args.record else None
            return _show(drain(), info, name, args.trace_id, out, exporter)
    finally:
        session.close()


PARSERS: dict[str, parsing.Builder] = {"trace": _add_trace}
"""The verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {"trace": cmd_trace}
"""The verb's command: it opens a session of its own (a connection named ``tracer``)."""
