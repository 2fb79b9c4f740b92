"""The store (etcd's role): the actor that keeps every object, revisioned and watchable
(``store``), over a durable log behind an interface (``backend``, which ``bindings.backends``
implement). Only the apiserver holds a reference to the actor.

The face: import from ``actors.store``.
"""

from actors.store.backend import Backend, Change, Outcome, Record, Undecodable, decode
from actors.store.store import (
    HistoryWindow,
    Store,
    StoreConfig,
    StoreEvent,
    StoreView,
    StoreWriter,
    Write,
    dry_run,
    size_of,
)

__all__ = [
    "Backend",
    "Change",
    "HistoryWindow",
    "Outcome",
    "Record",
    "Store",
    "StoreConfig",
    "StoreEvent",
    "StoreView",
    "StoreWriter",
    "Undecodable",
    "Write",
    "decode",
    "dry_run",
    "size_of",
]
