"""The actor <-> NATS bridge on a real nats-server: replies, error statuses, backpressure."""

from __future__ import annotations

import threading

import pytest

from bus import BusActor, Envelope, Incoming, NatsServer, decode
from bus import loop as bus_loop
from bus.errors import (
    BadRequest,
    BusError,
    InternalError,
    NoResponders,
    NotFound,
    TooManyRequests,
)

pytestmark = pytest.mark.integration


class Echo(BusActor):
    """Answers with its body; ``missing`` raises NotFound, ``boom`` a plain exception, and
    ``hold`` blocks until the test releases it. Notes what the bus refused in ``refused``."""

    def __init__(self, connection, release: threading.Event, holding: threading.Event,
                 refused: list[tuple[str, int]]) -> None:
        super().__init__(connection)
        self.release, self.holding, self.refused = release, holding, refused

    def rejected(self, subject: str, error) -> None:
        self.refused.append((subject, error.code))

    def subscriptions(self):
        return [(f"{self.subjects.prefix}.echo", "")]

    def on_local(self, message):
        raise RuntimeError(f"cannot digest {message!r}")

    def handle(self, incoming: Incoming) -> Envelope:
        body = incoming.envelope.body
        if body == "missing":
            raise NotFound('echoes "missing" not found')
        if body == "boom":
            raise ValueError("boom")
        if body == "hold":
            self.holding.set()
            self.release.wait(10)
        return incoming.envelope.reply(body)


@pytest.fixture
def echo(nats_server, connect):
    release, holding = threading.Event(), threading.Event()
    connection = connect(nats_server.url, "echo")
    refused: list[tuple[str, int]] = []
    ref = Echo.start(connection, release, holding, refused)
    yield connect(nats_server.url, "caller"), ref, release, holding, refused
    release.set()
    ref.stop()


def ask(connection, body):
    subject = f"{connection.subjects.prefix}.echo"
    return connection.request(subject, Envelope(body=body), timeout=5)


def test_reply_carries_the_handlers_result(echo):
    caller, *_ = echo
    assert ask(caller, {"x": 1}).result(5).raise_for_status().body == {"x": 1}


def test_api_error_becomes_its_status_and_other_errors_a_500(echo):
    caller, ref, *_ = echo
    with pytest.raises(NotFound, match="missing"):
        ask(caller, "missing").result(5).raise_for_status()
    with pytest.raises(InternalError, match="boom"):
        ask(caller, "boom").result(5).raise_for_status()
    assert ref.is_alive()
    assert ask(caller, "still here").result(5).raise_for_status().body == "still here"


def test_full_mailbox_answers_429_instead_of_growing_and_says_so(echo):
    caller, ref, release, holding, refused = echo
    ref.proxy().mailbox_limit = 1
    first = ask(caller, "hold")
    assert holding.wait(5)
    queued = ask(caller, "queued")  # waits in the mailbox: the one allowed
    rejected = ask(caller, "rejected")
    with pytest.raises(TooManyRequests):
        rejected.result(5).raise_for_status()
    assert refused == [("kubeactor.echo", 429)]
    release.set()
    assert first.result(5).raise_for_status().body == "hold"
    assert queued.result(5).raise_for_status().body == "queued"


def test_a_message_that_does_not_decode_is_answered_400_and_said(echo):
    caller, *_, refused = echo
    answer = bus_loop.wait(caller.nc.request("kubeactor.echo", b"\xc1 not msgpack", timeout=5))
    with pytest.raises(BadRequest):
        decode(answer.data).raise_for_status()
    assert refused == [("kubeactor.echo", 400)]
    assert ask(caller, "after").result(5).raise_for_status().body == "after"


def test_request_to_nobody_fails_fast_with_no_responders(nats_server, connect):
    caller = connect(nats_server.url, "lonely")
    with pytest.raises(NoResponders):
        caller.request("kubeactor.nobody.home", Envelope()).result(5)


def test_an_actor_survives_a_local_message_that_fails(echo):
    caller, ref, *_ = echo
    ref.tell("indigestible")  # a told event whose handler raises
    assert ask(caller, "after").result(5).raise_for_status().body == "after"
    assert ref.is_alive()


def test_a_second_server_on_a_taken_port_fails_clearly(nats_server, tmp_path):
    with pytest.raises(BusError, match="already in use"):
        NatsServer(tmp_path / "second", port=nats_server.port).start()


class Alarm(BusActor):
    """Notes each local message it is told."""

    def __init__(self, connection, heard: list, rang: threading.Event) -> None:
        super().__init__(connection)
        self.heard, self.rang = heard, rang

    def on_local(self, message):
        self.heard.append(message)
        if message == "ring":
            self.rang.set()


def test_tell_later_delivers_after_the_delay_and_a_cancelled_one_never(nats_server, connect):
    heard: list[str] = []
    rang = threading.Event()
    ref = Alarm.start(connect(nats_server.url, "alarm"), heard, rang)
    try:
        actor = ref.proxy()
        called_off = actor.tell_later(2.0, "never").get(timeout=5)
        actor.tell_later(3.0, "ring").get(timeout=5)
        assert called_off.cancel()
        assert heard == []  # nothing before its time
        assert rang.wait(10)
        assert heard == ["ring"]  # the called-off one was due first and never came
    finally:
        ref.stop()


def test_an_embedded_server_may_sync_every_jetstream_write(tmp_path):
    with NatsServer(tmp_path / "nats", sync_always=True) as server:
        config = server.data_dir / "nats-server.conf"
        assert "sync_interval: always" in config.read_text()
        assert f"Using configuration file: {config}" in (server.data_dir / "nats.log").read_text()


def test_messages_handed_over_soon_or_published_from_threads_keep_their_order(
        nats_server, connect):
    heard: list = []
    rang = threading.Event()
    alarms: list[Alarm] = []

    class KeptAlarm(Alarm):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            alarms.append(self)  # so that this thread may hand it messages, as the store does

    ref = KeptAlarm.start(connect(nats_server.url, "alarm"), heard, rang)
    try:
        for i in range(500):
            alarms[0].tell_soon(i)
        alarms[0].tell_soon("ring")
        assert rang.wait(10)
        assert heard == [*range(500), "ring"]
    finally:
        ref.stop()
    sender, receiver = connect(nats_server.url, "sender"), connect(nats_server.url, "receiver")
    got: list = []
    done = threading.Event()

    def on_message(incoming: Incoming) -> None:
        got.append(incoming.envelope.body)
        if len(got) == 4 * 250:
            done.set()

    receiver.subscribe("kubeactor.order", on_message)
    threads = [threading.Thread(target=lambda t=t: [
        sender.publish("kubeactor.order", Envelope(body=[t, i])) for i in range(250)])
        for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done.wait(10)
    for t in range(4):  # each thread's messages arrive all, in the order it sent them
        assert [i for sent_by, i in got if sent_by == t] == list(range(250))
