"""Watchers: who asked to be told about which changes, and what each change means to them.

Pure data and functions, used by the apiserver actor on its thread: a :class:`Watcher` holds a
filter, the subject to push to and a lease; :func:`event_type_for` decides whether a store
commit is ADDED, MODIFIED, DELETED or nothing for one watcher (an object that stops matching a
selector is DELETED for it; one that starts matching is ADDED, as in Kubernetes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from actors.api.resources import ResourceInfo
from actors.api.selectors import Matcher
from actors.api.watches import DEFAULT_LEASE_SECONDS
from actors.store import StoreEvent


@dataclass(slots=True)
class Watcher:
    id: str
    subject: str
    owner: str
    """The component that asked (envelope ``sender``), shown in traces as the receiver."""
    user: str
    info: ResourceInfo
    namespace: str | None
    match: Matcher
    revision: int
    """Last revision delivered; older events are never sent again."""
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    expires: float = field(default=0.0)

    def renew(self, now: float | None = None) -> None:
        self.expires = (now if now is not None else time.monotonic()) + self.lease_seconds

    def expired(self, now: float) -> bool:
        return now > self.expires

    def wants(self, info: ResourceInfo, namespace: str | None) -> bool:
        return (info is self.info or (info.name == self.info.name
                                      and info.group == self.info.group)) and (
            self.namespace is None or self.namespace == namespace)


def event_type_for(watcher: Watcher, event: StoreEvent) -> str | None:
    """What ``event`` is to ``watcher``: an event type, or None when it must not see it."""
    if event.revision <= watcher.revision:
        return None
    now_matches = event.type != "DELETED" and watcher.match(event.object)
    was_matching = event.old is not None and watcher.match(event.old)
    if event.type == "DELETED":
        return "DELETED" if was_matching else None
    if now_matches and was_matching:
        return "MODIFIED"
    if now_matches:
        return "ADDED"
    return "DELETED" if was_matching else None
