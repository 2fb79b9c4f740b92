"""The allocation bitmaps: taking named and any offsets, giving back, the stored form."""

from __future__ import annotations

import random

import pytest

from actors.api import ranges


def test_named_offsets_are_taken_and_a_taken_one_is_refused():
    bits, chosen = ranges.take(0, 10, [3, 5])
    assert chosen == [3, 5] and bits == 0b101000
    with pytest.raises(ranges.Taken) as refused:
        ranges.take(bits, 10, [5])
    assert refused.value.offset == 5


def test_any_offset_is_a_free_one_until_the_range_is_full():
    bits, taken = 0, []
    for _ in range(8):
        bits, chosen = ranges.take(bits, 8, [None], random.Random(1))
        taken += chosen
    assert sorted(taken) == list(range(8))
    with pytest.raises(ranges.Full):
        ranges.take(bits, 8, [None])


def test_given_back_offsets_are_free_again():
    bits, _ = ranges.take(0, 10, [1, 2, 3])
    assert ranges.give_back(bits, [2]) == 0b1010


def test_the_stored_form_keeps_the_bits_and_drops_the_version():
    stored = {**ranges.allocation("serviceips", "127.16.0.0/16"),
              "metadata": {"name": "serviceips", "resourceVersion": "7"}}
    assert ranges.bits_of(stored) == 0
    written = ranges.with_bits(stored, 1 << 65533 | 1)
    assert ranges.bits_of(written) == 1 << 65533 | 1
    assert "resourceVersion" not in written["metadata"]
    assert ranges.bits_of(ranges.with_bits(stored, 0)) == 0


def test_a_repair_marks_what_objects_hold_and_the_bitmap_lost():
    found = ranges.repair(0b0001, [0, 2], {})
    assert found.bits == 0b0101 and found.marked == [2] and not found.freed


def test_an_offset_nobody_holds_is_freed_only_by_the_third_repair_in_a_row():
    leaks: dict[int, int] = {}
    for _ in range(ranges.LEAK_REPAIRS - 1):
        found = ranges.repair(0b1001, [0], leaks)
        assert found.bits == 0b1001 and not found.freed  # a create may not be written yet
        leaks = found.leaks
    found = ranges.repair(0b1001, [0], leaks)
    assert found.bits == 0b0001 and found.freed == [3] and found.leaks == {}


def test_a_leak_that_an_object_takes_again_starts_over():
    found = ranges.repair(0b10, [], {})
    assert found.leaks == {1: ranges.LEAK_REPAIRS - 1}
    assert ranges.repair(0b10, [1], found.leaks).leaks == {}
    assert ranges.repair(0b10, [], {}).leaks == {1: ranges.LEAK_REPAIRS - 1}


def test_an_offset_two_objects_hold_is_reported():
    found = ranges.repair(0b1, [0, 0, 5], {})
    assert found.doubled == [0] and found.bits == 0b100001 and found.marked == [5]
