"""The JetStream store backend when a NATS server is lost under it, on a real nats-server: a
write whose acknowledgement is lost is sent again under its ``Nats-Msg-Id`` and stored once, at
the first attempt's revision (never refused by its own compare-and-set); a commit whose records
the feed does not bring (its consumer gone with its server) asks the stream for them, again
while the stream cannot answer yet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import nats.errors
import nats.js.errors
import pytest

from actors.store import Change
from bindings.backends.jetstream import FEED_WAIT_SECONDS, JetStreamBackend
from bus import loop as bus_loop

pytestmark = pytest.mark.integration


@pytest.fixture
def backend(nats_server, connect) -> Iterator[JetStreamBackend]:
    opened = JetStreamBackend(connect(nats_server.url, "store"))
    opened.load()
    yield opened
    opened.close()


def losing_first_acknowledgements(backend: JetStreamBackend, lost: int) -> list[dict[str, Any]]:
    """Make the first ``lost`` writes of ``backend`` stored but their acknowledgements lost
    (as when the server under them dies); the headers of every attempt, in order."""
    publish, attempts = backend._js.publish, []

    async def lossy(subject: str, payload: bytes = b"", **options: Any) -> Any:
        attempts.append(dict(options["headers"]))
        ack = await publish(subject, payload, **options)
        if len(attempts) <= lost:
            raise nats.errors.TimeoutError
        return ack

    backend._js.publish = lossy  # type: ignore[method-assign, assignment]
    return attempts


def last_sequence(backend: JetStreamBackend) -> int:
    return int(bus_loop.wait(backend._js.stream_info(backend._stream), 10).state.last_seq)


def test_a_write_whose_acknowledgement_is_lost_is_stored_once_at_its_first_revision(backend):
    [created] = backend.commit([Change("/pods/default/a", {"metadata": {"name": "a"}}, 0)])
    attempts = losing_first_acknowledgements(backend, lost=1)
    [updated] = backend.commit([Change("/pods/default/a", {"metadata": {"name": "a"},
                                                           "spec": {"v": 2}}, created)])
    assert isinstance(created, int) and updated == created + 1  # not Conflict: its own write
    assert len(attempts) == 2 and attempts[0] == attempts[1]  # the same Nats-Msg-Id
    assert last_sequence(backend) == updated  # stored once
    assert [(r.key, r.revision) for r in backend.records(updated)] == [
        ("/pods/default/a", created), ("/pods/default/a", updated)]


def test_a_create_whose_acknowledgement_is_lost_is_not_refused_as_existing(backend):
    attempts = losing_first_acknowledgements(backend, lost=1)
    [created] = backend.commit([Change("/pods/default/b", {"metadata": {"name": "b"}}, 0)])
    assert isinstance(created, int) and created == last_sequence(backend)
    assert len(attempts) == 2 and attempts[0]["Nats-Msg-Id"] == attempts[1]["Nats-Msg-Id"]


def test_writes_of_their_own_get_ids_of_their_own(backend):
    attempts = losing_first_acknowledgements(backend, lost=0)
    outcomes = backend.commit([Change(f"/pods/default/{name}", {"metadata": {"name": name}}, 0)
                               for name in "xyz"])
    assert all(isinstance(outcome, int) for outcome in outcomes)
    assert len({attempt["Nats-Msg-Id"] for attempt in attempts}) == 3


def test_a_commit_the_feed_does_not_bring_asks_the_stream_for_its_records(backend):
    backend._following.cancel()  # the feed does not follow again: as while its server is lost
    bus_loop.wait(backend._sub.unsubscribe(), 10)
    get_msg, asked = backend._js.get_msg, []

    async def electing(*arguments: Any, **options: Any) -> Any:  # a leader just elected
        asked.append(options["seq"])
        if len(asked) == 1:
            raise nats.js.errors.ServiceUnavailableError(
                code=503, err_code=10008, description="JetStream system temporarily unavailable")
        return await get_msg(*arguments, **options)

    backend._js.get_msg = electing  # type: ignore[method-assign]
    outcomes = backend.commit([Change(f"/pods/default/{name}", {"metadata": {"name": name}}, 0)
                               for name in "pq"])
    started = time.monotonic()
    records = backend.records(max(outcomes))
    assert time.monotonic() - started < FEED_WAIT_SECONDS + 1
    assert [(r.key, r.revision) for r in records] == [
        ("/pods/default/p", outcomes[0]), ("/pods/default/q", outcomes[1])]
    assert asked == [outcomes[0], outcomes[0], outcomes[1]]  # asked again after the 503
    [later] = backend.commit([Change("/pods/default/r", {"metadata": {"name": "r"}}, 0)])
    started = time.monotonic()
    assert [r.revision for r in backend.records(later)] == [later]
    assert time.monotonic() - started < FEED_WAIT_SECONDS  # late: asked for at once
