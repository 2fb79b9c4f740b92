"""The kubelet's node calls (actors/kubelet/nodeagent.py NodeAgent.answer): a followed log of a
container that writes nothing more ends when the agent stops, instead of holding its call-pool
thread, and the process's exit, until the container writes or stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NodeAgent, Writers
from actors.kubelet.podworkers import PodWorkers
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from bindings.runtimes.sim import SimRuntime
from bus.connection import Incoming
from bus.envelope import Envelope


class QuietLog:
    """A followed log that yields one chunk, then waits for more until it is closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        yield "first line\n"
        self.closed.wait()

    def close(self) -> None:
        self.closed.set()


class QuietRuntime(SimRuntime):
    def __init__(self, log: QuietLog, timers: Timers) -> None:
        super().__init__("node-1", timers)
        self.log = log

    def follow_logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
                    **options: Any) -> Any:
        self.asked = options
        return self.log

    def logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
             **options: Any) -> str:
        self.asked = options
        return "2026-12-06T22:00:00.123456789Z first line\n"


class Reader:
    """The bus as the kubelet sees it: the reply published, each chunk acknowledged."""

    name = "kubelet-node-1"

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.first = threading.Event()
        self.replies: list[Envelope] = []

    def publish(self, subject: str, envelope: Envelope) -> None:
        self.replies.append(envelope)

    def request(self, subject: str, envelope: Envelope, timeout: float, key: bytes) -> Any:
        self.chunks.append(envelope.body)
        self.first.set()
        done: Future[None] = Future()
        done.set_result(None)
        return done


@pytest.fixture
def quiet() -> Iterator[tuple[NodeAgent, QuietLog]]:
    """An agent whose followed logs never end (until it stops), each user allowed two."""
    timers, log = Timers(), QuietLog()
    writers, workers = Writers(StatusWriter(1), StatusWriter(1)), PodWorkers(1)
    agent = NodeAgent(None, QuietRuntime(log, timers),  # type: ignore[arg-type]
                      config=KubeletConfig("node-1", record_events=False, streams_per_user=2),
                      workers=workers, timers=timers, writers=writers,
                      publish=lambda subject, envelope: None, subjects=None)
    yield agent, log
    log.close()
    writers.pods.stop()
    writers.leases.stop()
    workers.stop()
    timers.stop()


def follow(agent: NodeAgent, reader: Reader, user: str = "alice", **asked: Any
           ) -> threading.Thread:
    """A followed log asked of ``agent`` for ``user``, answered on a thread (started)."""
    call = Envelope(sender="apiserver", verb="logs", auth={"streamKey": b"k" * 32},
                    body={"uid": "u1", "container": "c", "stream": "_INBOX.logs.1",
                          "user": user, **asked})
    answering = threading.Thread(target=agent.answer, args=(
        Incoming("kubeactor.node.node-1", call, "_INBOX.reply"), reader), daemon=True)
    answering.start()
    return answering


def test_a_followed_log_of_a_quiet_container_ends_when_the_agent_stops(quiet):
    agent, _ = quiet
    reader = Reader()
    answering = follow(agent, reader)
    assert reader.first.wait(5)
    agent.stop()
    answering.join(5)
    assert not answering.is_alive()
    assert reader.chunks[-1] == {"seq": 2, "end": True}


def test_a_user_with_all_their_streams_open_is_refused_one_more_and_others_are_not(quiet):
    agent, _ = quiet
    held = [Reader(), Reader()]
    for reader in held:
        follow(agent, reader)
        assert reader.first.wait(5)
    refused, other = Reader(), Reader()
    follow(agent, refused).join(5)
    assert [reply.status["code"] for reply in refused.replies] == [429]
    follow(agent, other, user="bob")
    assert other.first.wait(5)
    agent.stop()


def test_a_followed_log_ends_at_its_byte_limit_and_stops_following(quiet):
    agent, log = quiet
    reader = Reader()
    follow(agent, reader, limitBytes=5).join(5)
    assert reader.chunks == [{"seq": 1, "data": "first"}, {"seq": 2, "end": True}]
    assert log.closed.is_set()


def test_a_log_asks_the_runtime_for_timestamps_and_its_start_and_is_cut_at_its_limit(quiet):
    agent, _ = quiet
    reader = Reader()
    call = Envelope(sender="apiserver", verb="logs", body={
        "uid": "u1", "container": "c", "timestamps": True, "sinceSeconds": 10,
        "limitBytes": 30})
    before = time.time()
    agent.answer(Incoming("kubeactor.node.node-1", call, "_INBOX.reply"), reader)
    assert reader.replies[0].body == "2026-12-06T22:00:00.123456789Z"
    asked = agent.runtime.asked  # type: ignore[attr-defined]
    assert (asked["timestamps"], asked["previous"]) == (True, False)
    assert before - 10 <= asked["since"] <= time.time() - 10
