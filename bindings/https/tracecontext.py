"""W3C Trace Context on the HTTPS port: a request's ``traceparent`` header names the trace
(and the caller's span) its bus requests join, so ``kubeactor trace`` and the OTLP export show
a kubectl or client-go call made with a ``traceparent`` (kube-apiserver's APIServerTracing
reads the same header) inside the caller's own trace.

``traceparent: 00-<trace id: 32 hex>-<parent span id: 16 hex>-<flags: 2 hex>``. A header that
does not parse (a wrong length, upper case, all-zero ids, version ``ff``, version 00 with more
fields) is ignored, as the W3C recommendation says: the request then starts a trace of its own.
A later version is read for its first four fields, as the recommendation asks.

Pure functions. Neighbours: ``bindings.https.front`` (sets what :func:`parent` reads on the
envelopes of a request's client), ``bus.envelope`` (``trace_id``, ``parent_id``).

Which thread: the caller's.
"""

from __future__ import annotations

import re

HEADER = "traceparent"
_FIELDS = re.compile(r"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-"
                     r"(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?")


def parent(header: str | None) -> tuple[str, str] | None:
    """The trace id and the caller's span id of a ``traceparent`` header, or None when there
    is none or it is not valid."""
    found = _FIELDS.fullmatch((header or "").strip())
    if found is None or found["version"] == "ff":
        return None
    if found["version"] == "00" and found["rest"] is not None:
        return None
    if not int(found["trace"], 16) or not int(found["span"], 16):
        return None
    return found["trace"], found["span"]
