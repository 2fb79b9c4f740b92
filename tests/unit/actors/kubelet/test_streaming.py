"""The kubelet's side of an exec stream (actors/kubelet/streaming.py) against a scripted opener:
output goes out one message at a time, each MACed with the stream's key, then the exit code;
input is pulled and handed to the command (stdin only when asked for); a hangup or an opener
gone ends the stream and lets go of the command."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest

from actors.kubelet.runtime import ExecResult
from actors.kubelet.streaming import ExecStreamer
from bindings.runtimes.sim import SimExec
from bus.envelope import Envelope
from bus.errors import NoResponders

KEY = b"k" * 32
SUBJECT = "kubeactor.inbox.admin.exec.s1"


class Opener:
    """A connection whose requests reach a scripted opener: each call for input takes the next
    of ``inputs`` (none left: it is never answered), every other message is answered at once
    (or fails with ``failure``)."""

    name = "kubelet-n1"

    def __init__(self, inputs: list[dict[str, Any]], failure: Exception | None = None) -> None:
        self.inputs, self.failure = list(inputs), failure
        self.sent: list[dict[str, Any]] = []
        self.keys: set[bytes | None] = set()
        self.pending: list[concurrent.futures.Future[Envelope]] = []
        self.lock = threading.Lock()

    def request(self, subject: str, envelope: Envelope, timeout: float,
                key: bytes | None) -> concurrent.futures.Future[Envelope]:
        assert subject == SUBJECT
        future: concurrent.futures.Future[Envelope] = concurrent.futures.Future()
        with self.lock:
            self.sent.append(envelope.body)
            self.keys.add(key)
            if self.failure is not None:
                future.set_exception(self.failure)
            elif not envelope.body.get("input"):
                future.set_result(envelope.reply({}))
            elif self.inputs:
                future.set_result(envelope.reply(self.inputs.pop(0)))
            else:
                self.pending.append(future)
        return future

    def output(self) -> list[tuple[int, bytes]]:
        return [(m["channel"], m["data"]) for m in self.sent if "data" in m]

    def ends(self) -> list[int]:
        return [m["exitCode"] for m in self.sent if m.get("end")]


def streamed(session: SimExec, opener: Opener, stdin: bool = True) -> None:
    """Run the stream to its end; the session and opener keep what happened."""
    ExecStreamer(session, SUBJECT, KEY, opener, stdin).run()  # type: ignore[arg-type]


def test_input_is_echoed_in_order_then_the_exit_code_and_every_message_is_maced():
    opener = Opener([{"stdin": b"one\n"}, {"resize": {"width": 80, "height": 24}}, {},
                     {"stdin": b"two\n"}, {"close": True}])
    streamed(SimExec(ExecResult(0, "", ""), echoes=True), opener)
    assert opener.output() == [(1, b"one\n"), (1, b"two\n")]
    assert opener.ends() == [0]
    assert opener.keys == {KEY}
    seqs = [m["seq"] for m in opener.sent]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize("size", [{"width": "wide", "height": 1}, {"width": 10 ** 30},
                                  {"width": -1, "height": 24}, "80x24"])
def test_a_terminal_size_that_is_not_one_is_ignored_and_the_input_goes_on(size: object):
    opener = Opener([{"resize": size}, {"stdin": b"still here\n"}, {"close": True}])
    running = threading.Thread(target=streamed, daemon=True, args=(
        SimExec(ExecResult(0, "", ""), echoes=True), opener))
    running.start()
    running.join(10)
    assert not running.is_alive(), "the stream holds its worker: its input stopped"
    assert opener.output() == [(1, b"still here\n")]
    assert opener.ends() == [0]


def test_a_command_without_stdin_never_gets_the_input_and_says_its_code():
    opener = Opener([{"stdin": b"ignored\n"}])
    streamed(SimExec(ExecResult(3, "out\n", "err\n"), echoes=False), opener, stdin=False)
    assert opener.output() == [(1, b"out\n"), (2, b"err\n")]
    assert opener.ends() == [3]


def test_a_hangup_ends_the_stream_without_an_end_and_lets_go_of_the_command():
    session = SimExec(ExecResult(0, "", ""), echoes=True)
    opener = Opener([{"stdin": b"a\n"}, {"hangup": True}])
    streamed(session, opener)  # returns: the worker is free
    assert opener.ends() == []
    assert list(session) == []  # closed: nothing more comes out


def test_an_opener_gone_ends_the_stream():
    opener = Opener([], failure=NoResponders("no responders"))
    streamed(SimExec(ExecResult(0, "x\n", ""), echoes=True), opener)
    assert opener.ends() == []


def test_the_call_for_input_still_waiting_is_cancelled_once_the_command_ended():
    opener = Opener([])
    streamed(SimExec(ExecResult(0, "done\n", ""), echoes=False), opener)
    assert opener.ends() == [0]
    assert all(future.cancelled() for future in opener.pending)
