"""The kubelet's ConfigMaps and Secrets, watched: Kubernetes' watch-based managers (the
kubelet's ``configMapAndSecretChangeDetectionStrategy: Watch``, its default).

Each object its pods read (a volume's, an env's) is followed by a watch of its own: a list and
a watch of ``metadata.name=<name>`` in its namespace, which the Node authorizer allows a node
for the objects its pods refer to. The first read starts it (and waits for its list); later
reads, by any pod, are served from what it has seen, without a request; it stops once every
pod that read it is forgotten (:meth:`ObjectCache.release`, which looks only at what that pod
read), or its node stops being hosted (``NodeAgent.stop`` releases the node's pods). A pod's
start thus costs no request for an object another pod already follows, such as its namespace's
``kube-root-ca.crt``, which every service account token volume holds.

A kubelet of many simulated nodes shares one cache: one watch per object for all of them,
opened as the node whose pod read it first (the apiserver authorizes a watch when it starts);
when that node's pods that read it are all gone, another reader's node opens it again, so
that a relist is never asked as a node the Node authorizer no longer relates to it.

Neighbours: ``actors.kubelet.podsync`` (reads through it, releases a forgotten pod),
``actors.kubelet.nodeagent`` (releases the pods of a node it stops hosting),
``actors.kubelet.podvalues`` (``Sources``: the values it reads), ``actors.client.informer``.

Which thread: pod workers' (one lock around the entries; a list runs outside it, on the
worker that asked first, while the others that ask wait for it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from actors.api.objects import Object
from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer
from bus.errors import ApiError, BusError, NotFound, ServiceUnavailable

Key = tuple[str, str, str]
"""(resource, namespace, name)."""
START_SECONDS = 30.0
"""How long a read waits for another worker's start of the object's watch."""


@dataclass(slots=True)
class Entry:
    """One watched object: who read it (pod uid -> the client of its node), and the watch."""

    opener: Client
    users: dict[str, Client] = field(default_factory=dict)
    informer: Informer | None = None
    started: threading.Event = field(default_factory=threading.Event)
    failure: ApiError | BusError | None = None


class ObjectCache:
    """See the module docstring. Thread-safe."""

    def __init__(self, informer: Callable[[Client, Key], Informer] | None = None) -> None:
        """``informer``: makes the (not yet started) informer of one object for a client."""
        self._informer = informer or watched
        self._entries: dict[Key, Entry] = {}
        self._read: dict[str, set[Key]] = {}
        """What each pod read (pod uid -> keys), so that its release looks at those alone; a
        key may outlive its entry (dropped after a failed open): release skips it."""
        self._listeners: list[Callable[[list[str]], None]] = []
        self._lock = threading.Lock()

    def listen(self, listener: Callable[[list[str]], None]) -> None:
        """Tell ``listener`` (on a watch's thread; it must not block) the pods that read an
        object once its watch sees it changed: their volumes' files are written again, as
        the kubelet's sync remounts them."""
        with self._lock:
            self._listeners.append(listener)

    def get(self, uid: str, client: Client, resource: str, name: str,
            namespace: str) -> Object:
        """Object ``name`` as its watch has it, read for pod ``uid`` by its node's
        ``client``; NotFound when it does not exist, the API's error when it could not be
        watched."""
        key = (resource, namespace, name)
        with self._lock:
            entry = self._entries.get(key)
            opening = entry is None
            if entry is None:
                entry = self._entries[key] = Entry(client)
            entry.users.setdefault(uid, client)
            self._read.setdefault(uid, set()).add(key)
        if opening:
            self._open(key, entry)
        elif not entry.started.wait(START_SECONDS):
            raise ServiceUnavailable(f"the watch of {resource} {namespace}/{name} did not "
                                     f"start within {START_SECONDS:.0f}s")
        if entry.failure is not None:
            raise entry.failure
        assert entry.informer is not None
        found = entry.informer.get(name, namespace)
        if found is None:
            raise NotFound(f'{resource} "{name}" not found')
        return found

    def release(self, uid: str) -> None:
        """Pod ``uid`` is forgotten: the watches only it read stop; one its node opened for
        others is opened again as another reader's node."""
        stopped, reopened = [], []
        with self._lock:
            for key in self._read.pop(uid, ()):
                entry = self._entries.get(key)
                if entry is None or entry.users.pop(uid, None) is None or \
                        not entry.started.is_set():
                    continue  # (one still opening is left to its opener)
                if not entry.users:
                    stopped.append(self._entries.pop(key))
                elif entry.opener not in entry.users.values():
                    self._entries[key] = Entry(next(iter(entry.users.values())),
                                               dict(entry.users))
                    stopped.append(entry)
                    reopened.append((key, self._entries[key]))
        for entry in stopped:
            if entry.informer is not None:
                entry.informer.stop()
        for key, entry in reopened:
            self._open(key, entry)

    def watches(self) -> int:
        """Objects watched now (for tests and metrics)."""
        with self._lock:
            return len(self._entries)

    def stop(self) -> None:
        with self._lock:
            entries, self._entries, self._read = list(self._entries.values()), {}, {}
        for entry in entries:
            if entry.informer is not None:
                entry.informer.stop()

    def _open(self, key: Key, entry: Entry) -> None:
        """Start the entry's watch (its list on this thread); on failure the entry is
        dropped and its readers told the API's error (the next read tries again). A watch
        whose entry was dropped meanwhile (its readers all released, or the cache stopped)
        is stopped at once."""
        try:
            informer = self._informer(entry.opener, key)
            informer.on_event = lambda event: self._changed(entry, event)
            informer.start()
            entry.informer = informer
        except (ApiError, BusError) as error:
            entry.failure = error
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
        finally:
            entry.started.set()
        with self._lock:
            unread = self._entries.get(key) is not entry or not entry.users
            if unread and self._entries.get(key) is entry:
                del self._entries[key]
        if unread and entry.informer is not None:
            entry.informer.stop()


    def _changed(self, entry: Entry, event: WatchEvent) -> None:
        if event.type != "MODIFIED":  # (its list's ADDED; a deletion changes no file)
            return
        with self._lock:
            readers, listeners = list(entry.users), list(self._listeners)
        for listener in listeners:
            listener(readers)


def watched(client: Client, key: Key) -> Informer:
    """The informer of one object: ``metadata.name=<name>`` in its namespace."""
    resource, namespace, name = key
    return Informer(client, resource, _ignored, namespace=namespace,
                    field_selector=f"metadata.name={name}")


def _ignored(event: WatchEvent) -> None:
    """(:meth:`ObjectCache._open` sets the informer's handler.)"""
