"""The controllers' delayed keys: one heap, the earliest time asked for each key wins."""

from __future__ import annotations

from actors.controllers.controller import Delays, Key


def key(name: str) -> Key:
    return Key("nodes", "", name)


def test_delays_give_keys_back_when_due_the_earliest_time_winning() -> None:
    delays = Delays()
    assert delays.add(key("a"), 5.0) and delays.add(key("b"), 3.0)
    assert not delays.add(key("a"), 7.0)  # already back sooner
    assert delays.add(key("a"), 1.0)  # brought forward
    assert (delays.first(), len(delays)) == (1.0, 2)
    assert delays.due(0.5) == []
    assert delays.due(4.0) == [key("a"), key("b")]
    assert (delays.first(), len(delays), delays.due(10.0)) == (None, 0, [])  # 5.0 was stale
