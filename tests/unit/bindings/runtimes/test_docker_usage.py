"""A container's usage from one answer of Docker's stats (two samples in it)."""

from __future__ import annotations

from actors.kubelet.runtime import Usage
from bindings.runtimes.docker.containers import usage


def stats(used_ns: int, seconds: str, memory: int, inactive: dict) -> dict:
    return {"read": f"2026-12-06T22:00:0{seconds}Z", "preread": "2026-12-06T22:00:00.5Z",
            "cpu_stats": {"cpu_usage": {"total_usage": 10**9 + used_ns}},
            "precpu_stats": {"cpu_usage": {"total_usage": 10**9}},
            "memory_stats": {"usage": memory, "stats": inactive}}


def test_cpu_is_the_cpu_time_between_the_samples_over_the_time_between_them():
    # 0.25 s of CPU in 0.5 s: half a core; cgroup v1's inactive page cache is not counted
    assert usage(stats(250_000_000, "1.000000000", 100, {"total_inactive_file": 40})) == \
        Usage(500_000_000, 60)


def test_cgroup_v2_inactive_file_and_a_first_sample_without_a_previous_one():
    first = {**stats(5, "1", 100, {"inactive_file": 30}), "preread": "0001-01-01T00:00:00Z",
             "precpu_stats": {}}
    assert usage(first).memory == 70
    assert usage({}) == Usage(0, 0)
