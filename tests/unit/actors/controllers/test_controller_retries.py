"""What a failed reconcile means for its key, as kopf's and controller-runtime's errors say:
a TemporaryError comes back after its delay, a PermanentError or an ApiError that retrying
cannot mend is not retried, a retryable ApiError (or a bug) backs off exponentially."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from actors.controllers.controller import Controller, ControllerConfig, Key, retry_after
from bus.errors import Conflict, Forbidden, NotFound, PermanentError, TemporaryError

KEY = Key("replicasets", "default", "web")
CONFIG = ControllerConfig(workers=1, backoff_base_seconds=0.1, backoff_max_seconds=1.0)


class Scripted(Controller):
    """A controller whose reconcile raises the errors it is given, in turn, then succeeds;
    it records what it queues instead of arming timers."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__(SimpleNamespace(subjects=None), SimpleNamespace(), CONFIG)  # type: ignore[arg-type]
        self.errors = list(errors)
        self.queued: list[float] = []

    def reconcile(self, key: Key) -> float | None:
        if self.errors:
            raise self.errors.pop(0)
        return None

    def enqueue(self, key: Key, after: float = 0.0) -> None:
        self.queued.append(after)


@pytest.fixture
def scripted() -> Iterator[Any]:
    made: list[Scripted] = []

    def make(*errors: Exception) -> Scripted:
        made.append(Scripted(*errors))
        return made[-1]

    yield make
    for controller in made:
        controller.pool.shutdown()


def run(controller: Scripted, times: int) -> list[float]:
    for _ in range(times):
        controller._run(KEY)
    return controller.queued


def test_a_temporary_error_is_reconciled_again_after_its_delay(scripted: Any) -> None:
    assert run(scripted(TemporaryError("not yet", delay=7.5)), 1) == [7.5]


def test_a_temporary_error_without_a_delay_backs_off(scripted: Any) -> None:
    assert run(scripted(*[TemporaryError("quota")] * 3), 3) == [0.1, 0.2, 0.4]


def test_a_permanent_error_is_not_retried(scripted: Any) -> None:
    assert run(scripted(PermanentError("the template can never run")), 1) == []


@pytest.mark.parametrize("error", [Forbidden("no"), NotFound("gone")])
def test_an_api_error_that_retrying_cannot_mend_is_terminal(scripted: Any,
                                                            error: Exception) -> None:
    assert run(scripted(error), 1) == []


def test_a_retryable_api_error_backs_off_to_the_ceiling(scripted: Any) -> None:
    assert run(scripted(*[Conflict("stale")] * 5), 5) == [0.1, 0.2, 0.4, 0.8, 1.0]


def test_a_bug_backs_off_and_a_success_starts_the_backoff_afresh(scripted: Any) -> None:
    controller = scripted(RuntimeError("bug"), KeyError("k"))
    assert run(controller, 3) == [0.1, 0.2]  # the third run succeeds: nothing queued
    controller.errors = [Conflict("stale")]
    assert run(controller, 1) == [0.1, 0.2, 0.1]


def test_a_bug_is_logged_with_its_key_and_traceback_once_while_it_lasts(
        scripted: Any, caplog: pytest.LogCaptureFixture) -> None:
    controller = scripted(*[KeyError("spec")] * 3)
    run(controller, 3)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "replicasets/default/web" in errors[0].getMessage()
    assert errors[0].exc_info


def test_retry_after_is_the_meaning_of_each_error() -> None:
    assert retry_after(TemporaryError("x", delay=0.0), 9, CONFIG) == 0.0
    assert retry_after(TemporaryError("x"), 9, CONFIG) == 1.0
    assert retry_after(PermanentError("x"), 1, CONFIG) is None
    assert retry_after(Forbidden("x"), 1, CONFIG) is None
    assert retry_after(Conflict("x"), 2, CONFIG) == 0.2
    assert retry_after(ValueError("x"), 1, CONFIG) == 0.1


class Returns(Scripted):
    """A controller whose reconcile returns what it is given."""

    def __init__(self, again: Any) -> None:
        super().__init__()
        self.again = again

    def reconcile(self, key: Key) -> float | None:
        return self.again  # type: ignore[no-any-return]


@pytest.mark.parametrize("again", ["5", True, [1]])
def test_a_reconcile_that_returns_no_seconds_backs_off_as_a_bug(again: Any,
                                                                caplog: Any) -> None:
    controller = Returns(again)
    try:
        assert run(controller, 2) == [0.1, 0.2]
    finally:
        controller.pool.shutdown()
    assert f"Returns.reconcile({KEY}) returned {again!r}, not seconds" in caplog.text


def test_a_reconcile_that_returns_seconds_is_queued_after_them() -> None:
    controller = Returns(2)
    try:
        assert run(controller, 1) == [2]
    finally:
        controller.pool.shutdown()
