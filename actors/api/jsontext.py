"""Compact JSON of objects, as the store's SQLite rows and the audit log's lines hold them.

:func:`dumps` writes with orjson (a tenth of ``json``'s cost: the store writes each object
committed, the audit log a line per request), UTF-8 as it is, or with every character beyond
ASCII escaped (``ascii``: a line that readers split as text, where U+2028 or U+0085 also end a
line, as Python's ``splitlines`` does); what orjson refuses (an integer beyond 64 bits) is
written by ``json`` instead, so anything ``json`` wrote still is. NaN and infinities, which
JSON has not, become ``null``.

Pure. Neighbours: ``bindings.backends.sqlite`` and ``bindings.cluster.audit`` (the writers).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""The fallback, compact as orjson."""
_ASCII = json.JSONEncoder(separators=(",", ":"))
"""The fallback, and what escapes the rest, for ASCII."""


def dumps(value: Any, ascii: bool = False) -> bytes:
    """``value`` as compact JSON (UTF-8; ``ascii``: all beyond ASCII escaped); TypeError or
    ValueError when it is not JSON."""
    try:
        written = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError is one: what it refuses, json may write
        return (_ASCII if ascii else _JSON).encode(value).encode()
    return _ASCII.encode(value).encode() if ascii and not written.isascii() else written
