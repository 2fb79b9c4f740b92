"""The NATS JetStream KV store backend: the durable log in a KV bucket on the cluster's NATS.

Every object is one key of the bucket ``<prefix>-store`` (file storage, one version per key):
a write is a put, a deletion a KV delete marker, each with compare-and-set on the key's last
revision (``Nats-Expected-Last-Subject-Sequence``, KV's "update with last revision"), and a
write is acknowledged only once JetStream has acknowledged it. The bucket's stream sequence is
the global revision: every put and every delete marker of every key takes the next one, so one
bucket holding all resources gives etcd's single revision counter, and an object's
``resourceVersion`` is the sequence of its last put (kept out of the stored value and stamped
back on read, as etcd's ``mod_revision``).

A write whose acknowledgement is lost (its NATS server or the stream's leader died under it) or
refused for now (the stream has no leader while its replicas elect one) is sent again, the same
bytes under the same ``Nats-Msg-Id``, every :data:`RETRY_SECONDS` until it is acknowledged or
the commit's timeout passes, each attempt waiting :data:`ATTEMPT_SECONDS`. A stream of several
replicas checks the id against its duplicate window (two minutes) before anything else: a
second attempt of a write already stored is answered with the first one's sequence
(``duplicate``), never stored twice nor refused by its own compare-and-set; one of a write still
being stored is told so, and tried again. A stream of one replica (one nats-server) checks the
compare-and-set first: a later attempt it refuses reads the key's last record back, and when
that record carries the write's own id, the write was stored there.

A delete marker stays in the bucket ``keep_deleted`` seconds (five minutes, as kube-apiserver
compacts etcd), then each store purges the markers it knows of (only records up to the marker:
a later create of the key survives), so deleted keys do not grow the bucket forever. A create
that still names a marker another store has purged is retried as a create of a key with no
record at all.

Several stores (one per apiserver process) may share the bucket. Each follows the stream with
an ordered consumer from the last value of every key on, and its store applies every record,
its own and the others', in sequence order; its own writes are durable when acknowledged and
visible once the feed has passed them. The consumer lives on one NATS server: when that
server is lost (a NATS cluster of three, a bucket of three replicas), the feed follows again
from the record after the last it brought, within ``FEED_CHECK_SECONDS`` and once the cluster's
metadata leader can create a consumer (an election, when that server held it). A commit does
not wait for that: when the feed has not brought its records within :data:`FEED_WAIT_SECONDS`,
the store asks the stream for them, one after the other from the last the feed brought.

A consistent read (``latest``) asks the stream for its last sequence: a store whose view has
applied up to it holds every write any store had acknowledged before.

A record that cannot be decoded (its key or its value: written by hand, or damaged) is set
aside where it is met, at load or in the feed: logged once with its key and sequence, listed by
``undecodable``, never raised; the rest is served.

Store keys (``/pods/ns/name``, names may hold ``:`` or ``.``) become KV keys by
:func:`kv_key`: every byte outside ``[A-Za-z0-9_/-]`` is written ``=XX``, so a key is one
subject token and the mapping reverses exactly (:func:`store_key`).

nats-py runs on the bus loop (``bus.loop``): the store's thread waits on it, the feed's
callback runs there and only appends. nats errors are translated into ``bus.errors`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from actors.api.objects import Object
from actors.store.backend import Change, Outcome, Record, Undecodable, decode
from bus import loop as bus_loop
from bus.connection import Connection
from bus.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    InternalError,
    ServerTimeout,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

_SAFE = re.compile(rb"[A-Za-z0-9_/-]")
_KV_OP = "KV-Operation"
OPEN_SECONDS = 30.0
"""How long opening the bucket is tried again while JetStream is not ready: the servers of a
NATS cluster just started elect a metadata leader (some 5 s), then place the replicas."""
FEED_CHECK_SECONDS = 1.0
"""How often the feed's consumer is looked for (one request to the NATS each time): within
this the store follows again after losing the server that held it."""
FEED_WAIT_SECONDS = 1.0
"""How long a commit waits for the feed to bring its records before it asks the stream for
them (the feed's consumer may be gone with its server)."""
ATTEMPT_SECONDS = 1.0
"""How long one attempt of a write, or one request to JetStream of the running store, waits
for its answer: the acknowledgement of a write replicated to three servers comes within
milliseconds, one lost with its server never does."""
RETRY_SECONDS = 0.1
"""The pause before a write is sent again (the stream may have no leader for a few seconds)."""
_WRONG_LAST_SEQUENCE = (10071, 10164)
"""JetStream's error codes for a failed compare-and-set."""
_IN_PROCESS = 10158
"""JetStream's error code for a write whose ``Nats-Msg-Id`` is still being stored."""
_MSG_ID = "Nats-Msg-Id"
_NO_LAST = "the JetStream store did not tell its last revision in time"


@dataclass(frozen=True, slots=True)
class _Arrival:
    """One record of the stream, as the feed brought it or as the store asked for it."""

    sequence: int
    subject: str
    headers: dict[str, str] | None
    data: bytes
    at: float
    """When it was written (epoch seconds)."""
    last: bool
    """It was the stream's last when it came: the feed has caught up."""
    fed: bool = True
    """Brought by the feed (not asked for)."""


def kv_key(key: str) -> str:
    """The KV key of a store key: bytes outside ``[A-Za-z0-9_/-]`` as ``=XX`` (hex)."""
    return "".join(chr(byte) if _SAFE.match(bytes([byte])) else f"={byte:02X}"
                   for byte in key.encode())


def store_key(kv: str) -> str:
    """Inverse of :func:`kv_key`."""
    raw, index = bytearray(), 0
    while index < len(kv):
        if kv[index] == "=":
            raw.append(int(kv[index + 1:index + 3], 16))
            index += 3
        else:
            raw.append(ord(kv[index]))
            index += 1
    return raw.decode()


def bucket_name(prefix: str) -> str:
    """The KV bucket of a cluster prefix (bucket names allow ``[A-Za-z0-9_-]``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", prefix) + "-store"


def _encode(obj: Object) -> bytes:
    """The stored value: the object without its resourceVersion (the revision says it)."""
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    try:
        return json.dumps({**obj, "metadata": metadata}, separators=(",", ":")).encode()
    except (TypeError, ValueError) as error:
        raise InternalError(f"store commit failed: object is not JSON: {error}") from error


class JetStreamBackend:
    """A :class:`actors.store.backend.Backend` in a JetStream KV bucket, over ``connection`` (opened
    by the caller, on the bus loop). Opening creates the bucket when missing and starts the
    feed."""

    def __init__(self, connection: Connection, bucket: str | None = None,
                 timeout: float = 10.0, replicas: int = 1, keep_deleted: float = 300.0) -> None:
        """``timeout``: seconds a commit waits for JetStream's acknowledgements (and for the
        feed to bring them back). ``replicas``: of a bucket created here (1 on one server,
        3 in a NATS cluster); an existing bucket keeps its own. ``keep_deleted``: seconds a
        delete marker stays before it is purged (checked every tenth of that)."""
        self._connection = connection
        self._bucket = bucket or bucket_name(connection.config.prefix)
        self._stream = f"KV_{self._bucket}"
        self._subjects = f"$KV.{self._bucket}."
        self._timeout = timeout
        self._changed = threading.Condition()
        self._arrived: list[tuple[int, str, bytes | None]] = []
        """Raw records from the feed not yet read, in sequence order (None: a deletion)."""
        self._seen = 0
        """The highest sequence the feed has brought."""
        self._caught_up = False
        """The feed has brought every record that existed when it started."""
        self._late = False
        """The feed was late with a commit's records, and has brought none since: the next
        commit asks for its records without waiting for it."""
        self._deleted: dict[str, tuple[int, float]] = {}
        """Keys whose last record is a delete marker: its sequence (what a create of the key
        must name as the last revision) and when it was written (epoch seconds)."""
        self._keep_deleted = keep_deleted
        self._own: dict[int, Object] = {}
        """Objects this backend committed, by revision, so the feed's copy need not be decoded."""
        self._notify: Callable[[], None] | None = None
        self._committing = False
        self.undecodable: list[Undecodable] = []
        self._sub: Any = None
        self._writer = secrets.token_hex(8)
        """Names this backend's writes (``Nats-Msg-Id``: the writer and a counter)."""
        self._writes = itertools.count()
        self._js: JetStreamContext = connection.nc.jetstream(timeout=ATTEMPT_SECONDS)
        self._start_revision = bus_loop.wait(self._open(replicas), OPEN_SECONDS + 2 * timeout)
        self._purging = bus_loop.submit(self._purge_every(max(keep_deleted / 10, 0.1)))
        self._following = bus_loop.submit(self._keep_following(FEED_CHECK_SECONDS))

    async def _open(self, replicas: int) -> int:
        """Open the bucket (made when missing), trying again for :data:`OPEN_SECONDS` while
        JetStream is not ready."""
        deadline = time.monotonic() + OPEN_SECONDS
        while True:
            try:
                return await self._open_once(replicas)
            except (nats.errors.Error, OSError) as error:
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(
                        f"cannot open the JetStream store {self._bucket} (is JetStream enabled "
                        f"on that NATS? nats-server -js): {error or type(error).__name__}"
                    ) from None
                await asyncio.sleep(0.25)

    async def _open_once(self, replicas: int) -> int:
        js = self._js
        try:
            info = await js.stream_info(self._stream)
        except nats.js.errors.NotFoundError:
            await js.create_key_value(api.KeyValueConfig(
                bucket=self._bucket, history=1, storage=api.StorageType.FILE,
                replicas=replicas))
            info = await js.stream_info(self._stream)
        if not info.state.messages:
            self._caught_up = True
        await self._subscribe(None)
        return int(info.state.last_seq)

    async def _subscribe(self, start: int | None) -> None:
        """Follow the stream with an ordered consumer: from the last value of every key on
        (None), or from sequence ``start`` on."""
        where: dict[str, Any] = {"deliver_policy": api.DeliverPolicy.LAST_PER_SUBJECT} if (
            start is None) else {"config": api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)}
        self._sub = await self._js.subscribe(f"{self._subjects}>", stream=self._stream,
                                             cb=self._on_record, ordered_consumer=True, **where)

    async def _keep_following(self, period: float) -> None:
        """Every ``period`` seconds, make sure the feed's consumer still exists; when it does
        not (the NATS server that held it was lost: a consumer of one replica goes with its
        server, and nats-py's ordered consumer does not come back by itself), follow again
        from the record after the last one the feed brought."""
        while True:
            await asyncio.sleep(period)
            try:
                await self._sub.consumer_info()
                continue
            except (nats.errors.Error, OSError) as error:
                log.info("JetStream store %s: the feed's consumer is gone (%s); following "
                         "again from revision %d", self._bucket, error or type(error).__name__,
                         self._seen + 1)
            with contextlib.suppress(nats.errors.Error, OSError):  # gone with its server
                await self._sub.unsubscribe()
            try:
                await self._subscribe(self._seen + 1)
            except (nats.errors.Error, OSError) as error:
                log.warning("JetStream store %s: following the stream again: %s",
                            self._bucket, error or type(error).__name__)

    async def _on_record(self, msg: Msg) -> None:
        """Feed callback (bus loop thread)."""
        self._arrive(_Arrival(msg.metadata.sequence.stream, msg.subject, msg.headers, msg.data,
                              msg.metadata.timestamp.timestamp(),
                              msg.metadata.num_pending == 0))

    def _arrive(self, arrival: _Arrival) -> None:
        """Keep a record the feed brought or the store asked for (bus loop thread), wake whoever
        waits for it; one already seen is dropped (brought again by a consumer that follows
        again from an earlier record, or asked for before the feed brought it)."""
        sequence = arrival.sequence
        if sequence <= self._seen:
            return
        kv = arrival.subject[len(self._subjects):]
        try:
            key: str | None = store_key(kv)
        except ValueError as error:  # UnicodeDecodeError too
            key = None
            self._set_aside(kv, sequence, f"key: {error}")
        with self._changed:
            tell = not self._arrived and not self._committing and self._notify is not None
            if key is not None:
                self._keep(key, arrival)
            self._seen = sequence
            self._late = self._late and not arrival.fed
            self._caught_up = self._caught_up or arrival.last
            self._changed.notify_all()
        if tell:
            assert self._notify is not None
            self._notify()

    def _keep(self, key: str, arrival: _Arrival) -> None:
        """Hold ``arrival`` for :meth:`records` and note whether ``key`` is now deleted (under
        the lock)."""
        headers = arrival.headers
        deleted = bool(headers and headers.get(_KV_OP) in ("DEL", "PURGE"))
        self._arrived.append((arrival.sequence, key, None if deleted else arrival.data))
        if deleted:
            self._deleted[key] = (arrival.sequence, arrival.at)
        else:
            self._deleted.pop(key, None)

    async def _ask_for(self, until: int) -> None:
        """Bring the records up to ``until`` that the feed has not, asking the stream for each
        (the next one of the bucket after the last seen), again while it cannot answer yet (a
        new leader just elected: 503), until the timeout; stop at any other failure (logged:
        a later commit asks again)."""
        deadline = time.monotonic() + self._timeout
        while self._seen < until:
            try:
                msg = await self._js.get_msg(self._stream, seq=self._seen + 1,
                                             subject=f"{self._subjects}>", next=True)
            except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
                if time.monotonic() + RETRY_SECONDS >= deadline:
                    return
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except (nats.errors.Error, OSError) as error:
                log.warning("JetStream store %s: asking for revision %d: %s", self._bucket,
                            self._seen + 1, error or type(error).__name__)
                return
            self._arrive(_Arrival(msg.seq or 0, msg.subject or "", msg.headers, msg.data or b"",
                                  msg.time.timestamp() if msg.time else time.time(),
                                  last=False, fed=False))

    # -- Backend ---------------------------------------------------------------------------

    def load(self) -> tuple[int, dict[str, Object]]:
        with self._changed:
            if not self._changed.wait_for(lambda: self._caught_up, self._timeout):
                raise ServiceUnavailable(f"the JetStream store {self._bucket} did not load "
                                         f"within {self._timeout:g}s")
        records = self.records(0)
        objects = {r.key: r.object for r in records if r.object is not None}
        return max([self._start_revision] + [r.revision for r in records]), objects

    def commit(self, changes: list[Change]) -> list[Outcome]:
        """Publish every change at once (keys are distinct) and wait for all the acks."""
        with self._changed:
            self._committing = True
            expected = [c.expected or self._deleted.get(c.key, (0, 0.0))[0] for c in changes]
        try:
            outcomes = bus_loop.wait(self._publish_all(changes, expected), self._timeout + 1)
        except TimeoutError:
            outcomes = [ServerTimeout("the JetStream store did not acknowledge in time")
                        for _ in changes]
        for change, outcome in zip(changes, outcomes, strict=True):
            if isinstance(outcome, int) and change.object is not None:
                self._own[outcome] = change.object
        return outcomes

    async def _publish_all(self, changes: list[Change], expected: list[int]) -> list[Outcome]:
        return list(await asyncio.gather(*(
            self._publish(change, last) for change, last in zip(changes, expected, strict=True))))

    async def _publish(self, change: Change, last: int) -> Outcome:
        """Write ``change`` if its key's last revision is still ``last``: the revision it was
        stored at, or why not."""
        headers: dict[str, Any] = {api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: str(last),
                                   _MSG_ID: f"{self._writer}-{next(self._writes)}"}
        try:
            if change.object is None:
                headers[_KV_OP] = "DEL"
                payload = b""
            else:
                payload = _encode(change.object)
            stored = await self._acknowledged(self._subjects + kv_key(change.key), payload,
                                              headers)
        except ApiError as error:
            return error
        except nats.js.errors.APIError as error:
            if error.err_code not in _WRONG_LAST_SEQUENCE:
                return InternalError(f"store commit failed: {error.description}")
            if change.expected == 0 and last != 0:  # the marker may have been purged since
                return await self._publish(change, 0)
            if change.expected == 0:
                return AlreadyExists(f"key {change.key} already exists")
            return Conflict("the object has been modified; please apply your changes to the "
                            f"latest version and try again (key {change.key})")
        except (nats.errors.Error, OSError) as error:
            return ServiceUnavailable(f"the JetStream store is unreachable: {error}")
        return stored

    async def _acknowledged(self, subject: str, payload: bytes, headers: dict[str, Any]
                            ) -> int:
        """The sequence JetStream stored one write at, sent again (same ``Nats-Msg-Id``) while
        its answer is lost or JetStream cannot take it yet (see the module's docstring), until
        the timeout: then ServerTimeout (no answer) or ServiceUnavailable (no leader). Its
        refusal (a failed compare-and-set of a write not stored before) is raised."""
        deadline, first = time.monotonic() + self._timeout, True
        while True:
            try:
                ack = await self._js.publish(subject, payload, headers=headers, timeout=max(
                    min(ATTEMPT_SECONDS, deadline - time.monotonic()), 0.01))
                return int(ack.seq)
            except nats.js.errors.APIError as error:
                if error.err_code in _WRONG_LAST_SEQUENCE and not first:
                    stored = await self._stored_at(subject, headers[_MSG_ID])
                    if stored is not None:
                        return stored
                if error.err_code != _IN_PROCESS and not isinstance(
                        error, nats.js.errors.ServiceUnavailableError):
                    raise
                failure: ApiError = ServiceUnavailable(
                    f"the JetStream store cannot take writes now: {error.description}")
            except nats.js.errors.NoStreamResponseError:
                failure = ServiceUnavailable("the JetStream store's stream has no leader")
            except (nats.errors.TimeoutError, nats.errors.ConnectionReconnectingError,
                    nats.errors.StaleConnectionError):
                failure = ServerTimeout("the JetStream store did not acknowledge in time")
            if time.monotonic() + RETRY_SECONDS >= deadline:
                raise failure
            first = False
            await asyncio.sleep(RETRY_SECONDS)

    async def _stored_at(self, subject: str, msg_id: str) -> int | None:
        """The sequence of ``subject``'s last record when it is the write ``msg_id``."""
        try:
            last = await self._js.get_msg(self._stream, subject=subject)
        except nats.js.errors.NotFoundError:
            return None
        return last.seq if (last.headers or {}).get(_MSG_ID) == msg_id else None

    def records(self, until: int) -> list[Record]:
        """The feed's records not read yet, once it has brought ``until``; those it has not
        brought within :data:`FEED_WAIT_SECONDS` (at once while it is late) are asked for (when
        that fails too, they come with a later call, by ``follow``'s notice)."""
        with self._changed:
            wait = 0.0 if self._late else FEED_WAIT_SECONDS
            late = not self._changed.wait_for(lambda: self._seen >= until, wait)
            self._late = self._late or late
        if late:
            with contextlib.suppress(TimeoutError):
                bus_loop.wait(self._ask_for(until), self._timeout + 1)
        with self._changed:
            if self._seen < until:
                log.warning("JetStream store %s: revision %d has not come: the feed is late and "
                            "the stream did not give it", self._bucket, until)
            arrived, self._arrived = self._arrived, []
            self._committing = False
        records = [record for raw in arrived if (record := self._decode(*raw)) is not None]
        for revision in [r for r in self._own if r <= until]:  # superseded before read
            del self._own[revision]
        return records

    def _decode(self, sequence: int, key: str, data: bytes | None) -> Record | None:
        """The record, or None when its value cannot be decoded (then set aside)."""
        if data is None:
            return Record(key, None, sequence)
        obj = self._own.pop(sequence, None)
        if obj is None:
            try:
                obj = decode(data)
            except ValueError as error:  # UnicodeDecodeError and JSONDecodeError too
                self._set_aside(key, sequence, str(error))
                return None
        obj.setdefault("metadata", {})["resourceVersion"] = str(sequence)
        return Record(key, obj, sequence)

    def _set_aside(self, key: str, sequence: int, error: str) -> None:
        log.warning("JetStream store %s: record %s at sequence %d set aside, it cannot be "
                    "decoded: %s", self._bucket, key, sequence, error)
        self.undecodable.append(Undecodable(key, sequence, error))

    async def _purge_every(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await self._purge(time.time() - self._keep_deleted)
            except (nats.errors.Error, OSError) as error:
                log.warning("JetStream store %s: purging delete markers: %s", self._bucket,
                            error or type(error).__name__)

    async def _purge(self, cutoff: float) -> int:
        """Purge the delete markers written before ``cutoff`` (epoch seconds); how many."""
        with self._changed:
            old = [(key, seq) for key, (seq, at) in self._deleted.items() if at <= cutoff]
        for key, seq in old:
            await self._js.purge_stream(self._stream, seq=seq + 1,
                                        subject=self._subjects + kv_key(key))
            with self._changed:
                if self._deleted.get(key, (0, 0.0))[0] == seq:
                    del self._deleted[key]
        return len(old)

    def purge_deleted(self, older_than: float = 0.0) -> int:
        """Purge now the delete markers older than ``older_than`` seconds; how many."""
        return bus_loop.wait(self._purge(time.time() - older_than), self._timeout + 1)

    def latest(self) -> int:
        """The stream's last sequence, asked of JetStream (any thread but the bus loop's),
        less the records at its end this store set aside (never applied, so never reached)."""
        try:
            last = bus_loop.wait(self._last_sequence(), ATTEMPT_SECONDS + 1)
        except TimeoutError:
            raise ServerTimeout(_NO_LAST) from None
        aside = {record.revision for record in self.undecodable}
        while last in aside:
            last -= 1
        return last

    async def _last_sequence(self) -> int:
        try:
            info = await self._js.stream_info(self._stream)
        except nats.errors.TimeoutError:
            raise ServerTimeout(_NO_LAST) from None
        except (nats.errors.Error, OSError) as error:
            raise ServiceUnavailable(f"the JetStream store is unreachable: {error}") from None
        return int(info.state.last_seq)

    def follow(self, notify: Callable[[], None]) -> None:
        with self._changed:
            self._notify = notify
            waiting = bool(self._arrived)
        if waiting:
            notify()

    def close(self) -> None:
        self._purging.cancel()
        self._following.cancel()
        if self._sub is not None:
            sub, self._sub = self._sub, None
            try:
                bus_loop.wait(sub.unsubscribe(), timeout=5)
            except (nats.errors.Error, OSError, TimeoutError) as error:
                log.debug("JetStream store %s: close: %s", self._bucket, error)
