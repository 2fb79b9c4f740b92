"""The store (etcd's role): the actor that keeps every object, revisioned and watchable
(``store``; its current state as read, ``view``, and its recent past, ``history``, objects
packed in both), over a durable log behind an interface (``backend``, which
``bindings.backends`` implement). Only the apiserver holds a reference to the actor.

The face: import from ``actors.store``.
"""

from actors.store.backend import Backend, Change, Outcome, Record, Undecodable, decode
from actors.store.history import HistoryWindow, StoreEvent
from actors.store.store import Store, StoreConfig, StoreWriter, Write, dry_run, size_of
from actors.store.view import Packed, StoreView

__all__ = [
    "Backend",
    "Change",
    "HistoryWindow",
    "Outcome",
    "Packed",
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
