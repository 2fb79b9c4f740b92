"""The trace as a picture: ``kubeactor trace --html FILE`` writes one self-contained page that
draws the hops as an SVG sequence diagram.

Participants are lanes (in order of first appearance, as in the Mermaid diagram), each message
an arrow labelled as ``trace`` prints it, with its latency (a request shows its reply's);
hovering an arrow shows the message's envelope as it was captured (``tracing.Record``: no
credentials, no proofs, no Secret's values); two lists filter the arrows by object or by trace
id. Everything is inlined (the page template ``tracepage.html``, its script and the messages
as JSON), so the page needs no network when it is viewed.

Neighbours: ``bindings.cli.tracing`` (the hops and records it is given, and the command that
calls it); ``tracepage.html`` (the template: style, script, the drawing itself).

Which thread: the trace command's (main thread); pure apart from reading the template.
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bindings.cli.tracing import Hop

TEMPLATE = "tracepage.html"
"""The page, beside this module; ``__TRACE_DATA__`` in it becomes the messages."""


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: bytes as ``<N bytes>``, a non-finite number as text,
    map keys as strings."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _object(message: dict[str, Any]) -> str | None:
    """``pods default/web``: what a message is about, for the object filter."""
    resource, name = message.get("resource"), message.get("name")
    if not isinstance(resource, str) or not isinstance(name, str):
        return None
    namespace = message.get("ns")
    return f"{resource} {namespace}/{name}" if isinstance(namespace, str) else f"{resource} {name}"


def message(line: Hop, envelope: dict[str, Any]) -> dict[str, Any]:
    """One arrow of the page: what the script draws and shows on hover."""
    return {"t": line.time, "from": line.sender, "to": line.target, "label": line.label,
            "latencyMs": line.latency_ms, "reply": line.reply, "trace": line.trace_id,
            "object": _object(envelope), "envelope": plain(envelope)}


def page(messages: Iterable[tuple[Hop, dict[str, Any]]], title: str = "kubeactor trace") -> str:
    """The whole page for ``messages`` (each hop with its captured envelope)."""
    data = {"title": title, "messages": [message(line, envelope) for line, envelope in messages]}
    # In a <script> element only "</" could end it early: escaping every "<" rules that out.
    inline = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    template = resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")
    return template.replace("__TRACE_TITLE__", html.escape(title)).replace("__TRACE_DATA__", inline)

