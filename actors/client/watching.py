"""A watch as its client holds it: the subject its events come to, its registration with the
apiserver, the renewals of its lease.

Events are pushed to a subject of the client's own (``<prefix>.watch.<owner>.<id>``, the owner
its NATS user). The client renews the watch's lease at a third of its length and, if the
apiserver lost it (a restart), resumes it from the last revision seen. With several apiserver
processes, renewals go to the one holding the watch (the ``server`` its registration named) and
to any of them once that one is gone.

Neighbours: ``client`` (:meth:`Client.watch` starts one; its requests), ``informer`` (the user
that relists on an ERROR), ``actors.apiserver.watching`` (the other end).

Which thread: :meth:`Watch.start` and :meth:`Watch.stop` block the calling thread (never the
bus loop's); events and the renewals run on the bus loop thread, and ``on_event`` must not
block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.watches import DEFAULT_LEASE_SECONDS
from bus import loop as bus_loop
from bus.connection import Incoming
from bus.errors import ApiError, BusError, Conflict, Gone, NoResponders

if TYPE_CHECKING:
    from actors.client.client import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change pushed by the apiserver: ``ADDED``, ``MODIFIED``, ``DELETED``, ``BOOKMARK``
    (``object`` holds only ``metadata.resourceVersion``: the watch may resume from there) or
    ``ERROR`` (``object`` is a Status; code 410 means: relist)."""

    type: str
    object: Object
    watch_id: str = ""


class Watch:
    """A live watch: subscribe to its subject, register it, renew its lease; :meth:`stop`
    ends it. ``revision`` is the last resourceVersion seen."""

    def __init__(self, client: Client, info: ResourceInfo, namespace: str | None,
                 options: dict[str, Any], on_event: Callable[[WatchEvent], None]) -> None:
        self.client, self.info, self.namespace = client, info, namespace
        self.options, self.on_event = options, on_event
        self.id: str = options["watchId"]
        self.revision = ""
        self.server: str | None = None
        """The apiserver process holding the watch (None: the only one)."""
        self._sub: Any = None
        self._renewal: concurrent.futures.Future[None] | None = None

    def start(self, resource_version: str | None) -> Watch:
        """Subscribe, then register with the apiserver (events may arrive before it answers);
        blocks this thread until registered. Raises ApiError and leaves nothing behind."""
        connection = self.client.connection
        self._sub = connection.subscribe(connection.subjects.watch(self.id), self._deliver)
        try:
            reply = self.client.request("watch", self.info, namespace=self.namespace,
                                        options=dict(self.options,
                                                     resourceVersion=resource_version or ""))
        except ApiError:
            connection.unsubscribe(self._sub)
            raise
        self.revision = str(max(int(self.revision or 0), int(reply.get("resourceVersion") or 0)))
        self.server = reply.get("server")
        self._renewal = bus_loop.submit(self._renew_forever())
        return self

    def _deliver(self, incoming: Incoming) -> None:  # bus loop thread
        envelope = incoming.envelope
        if not isinstance(envelope.body, dict):
            log.warning("watch %s: ignored a malformed event from %r", self.id, envelope.sender)
            return
        obj = envelope.body.get("object") or {}
        self.revision = obj.get("metadata", {}).get("resourceVersion", self.revision)
        self.on_event(WatchEvent(str(envelope.body.get("type")), obj, self.id))

    def stop(self) -> None:
        """Unsubscribe and tell the apiserver to forget this watch; never raises."""
        if self._renewal is not None:
            self._renewal.cancel()
        if self._sub is not None:
            self.client.connection.unsubscribe(self._sub)
            self._sub = None
            with contextlib.suppress(ApiError, BusError):
                self.client.request("watch", self.info, namespace=self.namespace,
                                    options=dict(self.options, stop=True), timeout=2,
                                    server=self.server)  # authorized as the watch itself

    async def _renew_forever(self) -> None:
        """Renew every third of the lease. A renewal the apiserver refuses for good (the
        revision left its history, or the id is taken) ends the watch with an ERROR event."""
        period = float(self.options.get("leaseSeconds", DEFAULT_LEASE_SECONDS)) / 3
        delay = period
        while True:
            await asyncio.sleep(delay)
            delay = period
            options = dict(self.options, resourceVersion=self.revision)
            try:
                proof = await self.client.credentials.aprove(self.client.connection)
                envelope = self.client.envelope("watch", self.info, self.namespace, None, None,
                                                options, None, None, proof.auth)
                reply = await self.client.connection.arequest(
                    self.client.subject("watch", self.info, None, self.server), envelope,
                    mac_key=proof.mac_key)
                self.server = reply.raise_for_status().body.get("server", self.server)
            except NoResponders as error:
                if self.server is None:
                    log.warning("watch %s: renewal failed: %s", self.id, error)
                    continue
                self.server, delay = None, 0  # its apiserver is gone: another resumes it now
                log.info("watch %s: its apiserver is gone; resuming on another", self.id)
            except (Gone, Conflict) as error:
                self.on_event(WatchEvent("ERROR", error.to_status(), self.id))
                return
            except ApiError as error:
                if not error.retryable:  # 403, 404...: asking again will not help
                    self.on_event(WatchEvent("ERROR", error.to_status(), self.id))
                    return
                log.warning("watch %s: renewal failed: %s", self.id, error)
            except BusError as error:
                if self.client.connection.closed:
                    return  # closed under a watch nobody stopped: nothing left to renew
                log.warning("watch %s: renewal failed: %s", self.id, error)
