"""Documents served as they are, whatever the request (discovery in its aggregated form, the
OpenAPI documents): built once, kept encoded with their ETag, which the front sends and checks
(``If-None-Match``: 304), so that a client that asks again costs a dictionary look-up.

A document that says nothing of custom resources is kept for the life of the process; one that
does, for as long as the :class:`~actors.api.discovery.Served` it was built from is the one the
apiserver serves (a CRD commit replaces it, and its documents go with it: the cache is weak on
it).

Which thread: the HTTPS listener's loop thread only (the caches are not locked).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from actors.api.discovery import Served
from actors.api.objects import Object


@dataclass(frozen=True, slots=True)
class Document:
    """A document as it is sent: its JSON, its Content-Type and its ETag (quoted, as the
    header carries it)."""

    body: bytes
    etag: str
    content_type: str = "application/json"

    @property
    def hash(self) -> str:
        return self.etag.strip('"')

    @classmethod
    def of(cls, raw: bytes, content_type: str) -> Document:
        """``raw``, its ETag the hash of its bytes."""
        return cls(raw, f'"{hashlib.sha256(raw).hexdigest().upper()}"', content_type)


def encoded(body: Object, content_type: str = "application/json") -> Document:
    """``body`` as JSON."""
    return Document.of(json.dumps(body, separators=(",", ":")).encode(), content_type)


_SHARED: dict[str, Document] = {}
_PER_SERVED: weakref.WeakKeyDictionary[Served, dict[str, Document]] = (
    weakref.WeakKeyDictionary())


def cached(served: Served | None, key: str, build: Callable[[], Document]) -> Document:
    """The document ``key``, built by ``build`` the first time: once for the process when
    ``served`` is None (it does not depend on the custom resources), else once per
    ``served``."""
    cache = _SHARED if served is None else _PER_SERVED.setdefault(served, {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = build()
    return found
