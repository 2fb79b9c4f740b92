"""Fault plans: which subjects they match, what they do to a message, what is exempt."""

from __future__ import annotations

import random
import time

import pytest

from bus import faults
from bus.envelope import Envelope
from bus.faults import FaultPlan, Faults

PODS = "kubeactor.api.*.pods.*"
POD_GET = Envelope(verb="get", group="", resource="pods")


def plan(**rates: float) -> FaultPlan:
    return FaultPlan("p", (PODS,), until=time.time() + 60, seed=7, **rates)


@pytest.mark.parametrize(("pattern", "subject", "expected"), [
    (PODS, "kubeactor.api.core.pods.create", True),
    (PODS, "kubeactor.api.core.pods/binding.create", False),
    (PODS, "kubeactor.api.core.pods.create.apiserver-1", False),
    ("kubeactor.api.>", "kubeactor.api.core.pods.create.apiserver-1", True),
    ("kubeactor.api.>", "kubeactor.api", False),
    ("kubeactor.watch.*.>", "kubeactor.watch.system:node:n1.42", True),
    ("other.api.>", "kubeactor.api.core.pods.get", False),
])
def test_patterns_match_as_nats_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert faults.matches(pattern, subject) is expected


def test_rates_are_kept_over_many_messages() -> None:
    rng = random.Random(1)
    fates = [faults.fate(plan(drop=0.1, duplicate=0.05), rng, "kubeactor.api.core.pods.create")
             for _ in range(10_000)]
    dropped = sum(1 for f in fates if f is not None and f.copies == 0)
    doubled = sum(1 for f in fates if f is not None and f.copies == 2)
    assert 900 < dropped < 1100
    assert 400 < doubled < 500  # 5% of the 90% not dropped


def test_a_subject_outside_the_patterns_is_left_alone() -> None:
    assert faults.fate(plan(drop=1.0), random.Random(1), "kubeactor.api.core.nodes.get") is None


def test_delay_holds_every_message_and_reorder_a_random_part_of_it() -> None:
    rng = random.Random(1)
    subject = "kubeactor.api.core.pods.get"
    assert faults.fate(plan(delay=0.5), rng, subject) == faults.Fate("p", "delay", delay=0.5)
    reordered = [faults.fate(plan(reorder=1.0), rng, subject) for _ in range(50)]
    assert all(f is not None and f.fault == "reorder" for f in reordered)
    assert all(0 <= f.delay <= faults.REORDER_WINDOW for f in reordered if f is not None)


def test_a_seeded_plan_faults_the_same_messages_each_time_it_is_installed() -> None:
    installed = Faults()

    def run() -> list[int]:
        installed.install(plan(drop=0.3))
        return [0 if installed.fate("kubeactor.api.core.pods.get", POD_GET, "apiserver") else 1
                for _ in range(50)]

    assert run() == run()


def test_fault_plans_spans_and_the_handshake_are_exempt() -> None:
    installed = Faults()
    installed.install(FaultPlan("all", ("kubeactor.>",), until=time.time() + 60, drop=1.0))
    subject = "kubeactor.api.chaos_kubeactor_io.faultplans.delete"
    plans = Envelope(group=faults.GROUP, resource=faults.RESOURCE)
    assert installed.fate(subject, plans, "apiserver") is None
    assert installed.fate("kubeactor.trace.chaos", Envelope(), "tracer") is None
    assert installed.fate("kubeactor.authn.hello", Envelope(), "apiserver") is None
    assert installed.fate("kubeactor.api.core.pods.get", POD_GET, "apiserver") is not None


def test_an_expired_plan_faults_nothing_and_each_fault_is_reported() -> None:
    installed = Faults()
    seen: list[tuple[str, str]] = []
    installed.reporter = lambda fate, subject, envelope, receiver: seen.append(
        (fate.fault, subject))
    installed.install(FaultPlan("old", (PODS,), until=time.time() - 1, drop=1.0))
    assert installed.fate("kubeactor.api.core.pods.get", POD_GET, "apiserver") is None
    installed.install(FaultPlan("new", (PODS,), until=time.time() + 60, drop=1.0))
    installed.fate("kubeactor.api.core.pods.get", POD_GET, "apiserver")
    assert seen == [("drop", "kubeactor.api.core.pods.get")]
    installed.remove("new")
    assert [p.name for p in installed.installed()] == ["old"]
