"""What an API object is to the code: a plain dict in Kubernetes' shape.

Objects travel as they are written in manifests (``apiVersion``, ``kind``, ``metadata``,
``spec``, ``status``), so every component, the store and the CLI handle them as dicts; this
module names that type once, for all of them.

Neighbours: ``actors.api.resources`` (which objects exist), ``actors.api.meta`` (what every
object carries).
"""

from __future__ import annotations

import sys
from typing import Any

Object = dict[str, Any]
"""An API object (or any part of one: a spec, a status, a container) as decoded from the wire."""

INTERNED_CHARS = 64
"""Strings up to this long are interned where objects are kept (names, values of enums, images,
timestamps, field names); longer ones (certificates, ConfigMap data) are seldom repeated."""


def interned(text: str) -> str:
    """``text``, one copy for all equal ones when it is short (:data:`INTERNED_CHARS`): what
    thousands of kept objects repeat (keys, names, ``Running``) is held once. A str subclass
    is left as it is (it cannot be interned)."""
    return sys.intern(text) if type(text) is str and len(text) <= INTERNED_CHARS else text
