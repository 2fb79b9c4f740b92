"""The runtime protocol's pure part (actors/kubelet/runtime.py): which attempt of a container
a log is read from, the latest or, for ``logs --previous``, the one before it."""

from __future__ import annotations

import pytest

from actors.kubelet.runtime import ContainerInfo, RuntimeFailure, attempt


def info(name: str, number: int) -> ContainerInfo:
    return ContainerInfo(f"{name}-{number}", "uid", name=name, attempt=number,
                         image="busybox:1.35", state="exited")


def test_the_latest_attempt_and_the_one_before_it():
    infos = [info("app", 1), info("app", 2), info("side", 0)]
    assert attempt(infos, "app").id == "app-2"
    assert attempt(infos, "app", previous=True).id == "app-1"


def test_no_previous_attempt_is_the_kubelets_not_found():
    with pytest.raises(RuntimeFailure, match='previous terminated container "side" not found'):
        attempt([info("side", 0)], "side", previous=True)
    with pytest.raises(RuntimeFailure, match='container "app" has not been created yet'):
        attempt([info("side", 0)], "app")
