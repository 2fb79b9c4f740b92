"""A plugin can never lose a pod (actors/scheduler/guarding.py): at every extension point, a
plugin that raises, returns None or returns a bare int fails the cycle with an Error naming
the plugin, the extension point and (per node) the node, and the cycle goes on for the next
pod; one that is fixed afterwards places it."""

from __future__ import annotations

from typing import Any

import pytest

from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import SUCCESS, Code, Status
from actors.scheduler.nodeinfo import PodInfo
from tests.conftest import pod
from tests.unit.actors.scheduler.test_scheduling_framework import nodes

MISBEHAVIOURS = {
    "raise": ("raised ZeroDivisionError: integer division or modulo by zero", lambda: 1 // 0),
    "none": ("returned None, not", lambda: None),
    "int": ("returned 7, not", lambda: 7),
}
"""How a broken plugin misbehaves: what the Error then says, and what it does."""


class Broken:
    """One extension point's method misbehaving as ``mode`` says until fixed (``mode``
    None); the others, and it when fixed, succeed."""

    name = "Broken"

    def __init__(self, point: str, mode: str | None) -> None:
        self.point, self.mode = point, mode

    def _answer(self, point: str, good: Any) -> Any:
        return MISBEHAVIOURS[self.mode][1]() if point == self.point and self.mode else good

    def pre_filter(self, state: Any, pod: Any, nodes: Any) -> Status:
        return self._answer("PreFilter", SUCCESS)

    def filter(self, state: Any, pod: Any, node: Any) -> Status:
        return self._answer("Filter", SUCCESS)

    def pre_score(self, state: Any, pod: Any, nodes: Any) -> Status:
        return self._answer("PreScore", SUCCESS)

    def score(self, state: Any, pod: Any, node: Any) -> tuple[int, Status]:
        return self._answer("Score", (50, SUCCESS))

    def normalize_score(self, state: Any, pod: Any, scores: dict[str, int]) -> Status:
        return self._answer("NormalizeScore", SUCCESS)

    def reserve(self, state: Any, pod: Any, node: str) -> Status:
        return self._answer("Reserve", SUCCESS)

    def unreserve(self, state: Any, pod: Any, node: str) -> None:
        return None

    def permit(self, state: Any, pod: Any, node: str) -> tuple[Status, float]:
        return self._answer("Permit", (SUCCESS, 0.0))

    def bind(self, state: Any, pod: Any, node: str) -> Status:
        return self._answer("Bind", SUCCESS)


WEB = PodInfo.of(pod("web"))
PER_NODE = {"Filter", "Score", "Reserve", "Permit", "Bind"}


def cycle(plugin: Broken) -> tuple[str | None, str]:
    """Schedule WEB on nodes a and b as the scheduler does: the node bound, or None and the
    Error."""
    framework, state = Framework(Profile((plugin,))), {}
    result = framework.schedule(state, WEB, nodes("a", "b"))
    if result.node is None:
        return None, result.message
    for step in (framework.run_reserve, lambda *args: framework.run_permit(
            *args, on_done=lambda status: None)[0], framework.run_bind):
        status = step(state, WEB, result.node)
        if not status.ok:
            assert status.code is Code.ERROR
            return None, status.message
    return result.node, ""


@pytest.mark.parametrize("mode", sorted(MISBEHAVIOURS))
@pytest.mark.parametrize("point", ["PreFilter", "Filter", "PreScore", "Score", "NormalizeScore",
                                   "Reserve", "Permit", "Bind"])
def test_a_misbehaving_plugin_fails_the_cycle_naming_plugin_point_and_node(point, mode):
    node, message = cycle(Broken(point, mode))
    where = " on node a" if point in PER_NODE else ""
    assert node is None
    assert message.startswith(f"running {point} plugin Broken{where}: {MISBEHAVIOURS[mode][0]}")


@pytest.mark.parametrize("point", ["Filter", "Score", "Permit"])
def test_the_same_plugin_fixed_places_the_pod(point):
    plugin = Broken(point, "raise")
    assert cycle(plugin)[0] is None
    plugin.mode = None
    assert cycle(plugin) == ("a", "")


def test_an_unreserve_that_raises_does_not_stop_the_others():
    undone = []

    class Raises(Broken):
        def unreserve(self, state: Any, pod: Any, node: str) -> None:
            raise RuntimeError("cannot undo")

    class Records(Broken):
        name = "Records"

        def unreserve(self, state: Any, pod: Any, node: str) -> None:
            undone.append(node)

    framework = Framework(Profile((Records("", None), Raises("", None))))
    framework.run_unreserve({}, WEB, "a")
    assert undone == ["a"]


def test_a_filter_that_returns_no_status_on_one_node_is_named_with_that_node():
    class OnB(Broken):
        def filter(self, state: Any, pod: Any, node: Any) -> Status:
            return SUCCESS if node.name == "a" else "yes"  # type: ignore[return-value]

    framework = Framework(Profile((OnB("", None),)))
    assert framework.schedule({}, WEB, nodes("a", "b")).message == (
        "running Filter plugin Broken on node b: returned 'yes', not a Status")
