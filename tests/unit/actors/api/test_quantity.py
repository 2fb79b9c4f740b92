"""Quantities in resource.Quantity's full grammar, checked against the cases of Kubernetes' own
``apimachinery/pkg/api/resource/quantity_test.go`` (TestQuantityParse and its invalid table)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actors.api.amounts import parse_count
from actors.api.quantity import FORMAT_ERROR, parse_cpu, parse_memory, parse_quantity


@pytest.mark.parametrize(("text", "amount"), [
    ("0", "0"), ("0n", "0"), ("0u", "0"), ("0m", "0"), ("0Ki", "0"), ("0k", "0"),
    ("0Mi", "0"), ("0M", "0"), ("0Gi", "0"), ("0G", "0"), ("0Ti", "0"), ("0T", "0"),
    ("1n", "1e-9"), ("100u", "1e-4"), ("500n", "5e-7"), ("5m", "0.005"),
    ("1e3", "1000"), ("1E-3", "0.001"), ("5e+3", "5000"), ("1e0", "1"),
    (".5", "0.5"), ("1.", "1"), ("+1Gi", str(2**30)), ("-1", "-1"), ("+.5m", "0.0005"),
    ("1.5Gi", str(3 * 2**29)), ("1Ki", "1024"), ("8Ei", str(8 * 2**60)), ("1E", "1e18"),
    ("12M", "12000000"), ("0.001", "0.001"), ("1.25k", "1250"), ("-3.01e-3", "-0.00301"),
    ("20P", "2e16"), (" 1 ", "1"),  # Quantity's JSON decoding trims blanks
])
def test_kubernetes_quantities_parse_to_their_exact_amount(text: str, amount: str):
    assert parse_quantity(text) == Decimal(amount)


@pytest.mark.parametrize("text", [
    "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-",
    ".", "", "e3", "1e", "1 Gi", "1KiB", "1Ki2", "Mi", "1e1000",
])
def test_what_kubernetes_refuses_is_no_quantity(text: str):
    with pytest.raises(ValueError, match="quantities must match the regular expression"):
        parse_quantity(text)


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}, float("nan"), float("inf")])
def test_a_value_of_another_type_is_no_quantity(value: Any):
    with pytest.raises(ValueError) as raised:
        parse_quantity(value)
    assert str(raised.value) == FORMAT_ERROR


@pytest.mark.parametrize(("value", "millis", "size"), [
    (1.5, 1500, 2), (3, 3000, 3), ("1e3", 1000000, 1000), ("100u", 1, 1), ("500n", 1, 1),
])
def test_json_numbers_and_small_suffixes_round_up_to_what_components_count(
        value: Any, millis: int, size: int):
    assert (parse_cpu(value), parse_memory(value)) == (millis, size)


@pytest.mark.parametrize(("value", "count"), [("110", 110), (110, 110), ("1e2", 100),
                                                ("1k", 1000)])
def test_a_count_is_a_whole_quantity(value: Any, count: int):
    assert parse_count(value) == count


@pytest.mark.parametrize("value", ["1.5", "-1", "500m", "lots"])
def test_a_count_refuses_fractions_and_negatives(value: Any):
    with pytest.raises(ValueError):
        parse_count(value)
