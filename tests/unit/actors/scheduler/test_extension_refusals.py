"""The extension APIs fail loudly when they are misused, as kube-scheduler's plugin list and
Pykka's Actor.start do: each refusal names the plugin (or class) and the fix."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import SUCCESS, FilterPlugin, ReservePlugin, ScorePlugin, Status
from bus.actor import BusActor


class Scorer:
    name: ClassVar[str] = "Scorer"

    def score(self, state: Any, pod: Any, node: Any) -> tuple[int, Status]:
        return 1, SUCCESS


class Filter:
    name: ClassVar[str] = "Filter"

    def filter(self, state: Any, pod: Any, node: Any) -> Status:
        return SUCCESS


class Misspelt:
    """Meant to score; ``scores`` would never run."""

    name: ClassVar[str] = "Spread"

    def scores(self, state: Any, pod: Any, node: Any) -> tuple[int, Status]:
        return 1, SUCCESS


class FilterWithTypo(Filter):
    name: ClassVar[str] = "Typo"

    def prefilter(self, state: Any, pod: Any, nodes: Any) -> Status:
        return SUCCESS


class Nothing:
    name: ClassVar[str] = "Nothing"

    def helpful(self) -> None:
        """A helper that looks like no extension point."""


class HalfReserve:
    name: ClassVar[str] = "Half"

    def reserve(self, state: Any, pod: Any, node: str) -> Status:
        return SUCCESS


class Nameless:
    def filter(self, state: Any, pod: Any, node: Any) -> Status:
        return SUCCESS


class FilterWithHelpers(Filter):
    """Public helpers unlike any extension point it lacks are fine."""

    name: ClassVar[str] = "Helpers"

    def permitted(self) -> bool:
        return True

    def binding(self) -> str:
        return ""


def refusal(error: type[Exception], *plugins: Any, **weights: int) -> str:
    with pytest.raises(error) as refused:
        Profile(plugins, weights)
    return str(refused.value)


def test_a_misspelt_extension_method_is_refused_with_the_name_it_meant() -> None:
    assert refusal(TypeError, Misspelt()) == (
        'plugin "Spread" has a method scores() that no extension point calls: did you mean '
        "score() (Score)?")
    assert "did you mean pre_filter() (PreFilter)?" in refusal(TypeError, FilterWithTypo())


def test_a_plugin_that_extends_no_extension_point_is_refused() -> None:
    assert refusal(TypeError, Nothing()).startswith(
        'plugin "Nothing" does not extend any extension point (PreFilter: pre_filter(), ')


def test_a_plugin_that_extends_part_of_a_point_is_refused_as_kube_scheduler_says() -> None:
    assert refusal(TypeError, HalfReserve()) == (
        'plugin "Half" does not extend Reserve plugin: it has reserve() but not unreserve()')


def test_a_plugin_without_a_name_is_refused() -> None:
    assert "has no name" in refusal(TypeError, Nameless())


def test_two_plugins_of_one_name_are_refused() -> None:
    assert refusal(ValueError, Filter(), Scorer(), Filter()) == (
        'plugin "Filter" is in the profile twice: plugin names must be unique in a profile')


def test_a_weight_for_an_unknown_plugin_is_refused() -> None:
    assert refusal(ValueError, Scorer(), Scorr=3) == (
        'a weight for plugin "Scorr", which is not in the profile (its plugins: Scorer; a '
        "weight's key is the plugin's name, not its class's)")


def test_a_weight_for_a_plugin_that_does_not_score_is_refused() -> None:
    assert refusal(ValueError, Scorer(), Filter(), Filter=2) == (
        'plugin "Filter" does not extend Score plugin: its weight would never apply')


def test_helpers_unlike_a_missing_point_and_proper_plugins_are_accepted() -> None:
    framework = Framework(Profile((FilterWithHelpers(), Scorer()), {"Scorer": 2}))
    assert [p.name for p in framework.filters] == ["Helpers"]
    assert framework.weights == {"Scorer": 2}


# -- declared extension points: refused when the class is defined ------------------------------


def defining(source: str) -> str:
    """The TypeError of defining the plugin class of ``source``."""
    with pytest.raises(TypeError) as refused:
        exec(source, {"ScorePlugin": ScorePlugin, "FilterPlugin": FilterPlugin,
                      "ReservePlugin": ReservePlugin, "SUCCESS": SUCCESS})
    return str(refused.value)


def test_a_declared_score_plugin_with_a_misspelt_score_is_refused_when_defined() -> None:
    assert defining("""
class Spread(ScorePlugin):
    name = "Spread"
    def scores(self, state, pod, node):
        return 1, SUCCESS
""") == ('plugin "Spread" has a method scores() that no extension point calls: did you '
         "mean score() (Score)?")


def test_a_declared_point_without_its_method_is_refused_when_defined() -> None:
    assert defining("""
class Lazy(ScorePlugin, FilterPlugin):
    name = "Lazy"
    def filter(self, state, pod, node):
        return SUCCESS
""") == 'plugin "Lazy" declares ScorePlugin but has no score()'
    assert defining("""
class Half(ReservePlugin):
    name = "Half"
    def reserve(self, state, pod, node):
        return SUCCESS
""") == 'plugin "Half" does not extend Reserve plugin: it has reserve() but not unreserve()'


def test_a_declared_plugin_without_a_name_is_refused_when_defined() -> None:
    assert defining("""
class Nameless(FilterPlugin):
    def filter(self, state, pod, node):
        return SUCCESS
""") == ('plugin class Nameless has no name: give it a class attribute name = "..." (unique '
         "in its profile; its weight's key)")


def test_a_declared_plugin_that_is_right_is_filed_under_its_points() -> None:
    class FewestPods(ScorePlugin, FilterPlugin):
        name = "FewestPods"

        def score(self, state: Any, pod: Any, node: Any) -> tuple[int, Status]:
            return 100 - min(len(node.pods), 100), SUCCESS

        def filter(self, state: Any, pod: Any, node: Any) -> Status:
            return SUCCESS

    framework = Framework(Profile((FewestPods(),), {"FewestPods": 3}))
    assert (framework.scores, framework.filters) == ([framework.profile.plugins[0]],) * 2
    assert framework.weights == {"FewestPods": 3}


def test_a_bus_actor_overriding_on_receive_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="Sneaky overrides on_receive, where BusActor hands bus "
                                        r"messages to handle\(\).*on_local\(\) instead"):
        class Sneaky(BusActor):
            def on_receive(self, message: Any) -> Any:
                return None


def test_a_bus_actor_overriding_on_local_is_fine() -> None:
    class Local(BusActor):
        def on_local(self, message: Any) -> Any:
            return message

    assert Local.on_local is not BusActor.on_local
