"""What one user's watch may hold: the bytes its initial list sends."""

from __future__ import annotations

import pytest

from actors.apiserver.verbs import check_initial_list
from bus.errors import RequestEntityTooLarge


def _configmap(name: str, size: int) -> dict:
    return {"kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "x" * size}}


def test_an_initial_list_over_the_limit_is_refused_saying_how_to_narrow_it():
    items = [_configmap(f"c{i}", 1000) for i in range(10)]
    check_initial_list(items, 20_000)
    with pytest.raises(RequestEntityTooLarge, match="over the limit of 5000: narrow it"):
        check_initial_list(items, 5000)
