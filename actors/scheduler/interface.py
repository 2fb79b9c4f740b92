"""The extension points: what a scheduler plugin implements, and the checks that refuse one
that gets it wrong (kube-scheduler's ``framework/interface.go``).

One Protocol per extension point, each with ``name`` and one method (Reserve two) returning a
:class:`Status`::

    PreFilter -> Filter (per node) -> PostFilter (only when no node fits)
    -> PreScore -> Score (per node) -> NormalizeScore -> pick the best node
    -> Reserve (Unreserve on any later failure) -> Permit (may Wait) -> Bind

A plugin is filed under every extension point whose methods it has (duck typing, checked with
``isinstance`` against these ``runtime_checkable`` Protocols); :func:`check_plugin` and
:func:`check_profile` refuse misuse when a ``Profile`` is made, as kube-scheduler's
``updatePluginList`` does ("plugin %q does not extend %s plugin").

Also what a plugin speaks: ``Status`` and its ``Code``, ``CycleState``, the score bounds, the
cluster events a plugin waits for, and the ``Handle`` a plugin that uses the framework gets.

Neighbours: ``framework`` (``Profile``, which runs the checks, and ``Framework``, which calls
the plugins), ``nodeinfo`` (what plugins read), ``plugins`` (the
defaults).

Which thread: none of its own; the checks run wherever a ``Profile`` is made, the Protocols
are called on the threads ``framework`` names.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from actors.scheduler.cache import Cache
from actors.scheduler.nodeinfo import NodeInfo, PodInfo

CycleState = dict[str, Any]
"""What plugins keep between extension points of one cycle, under their own name."""

MAX_NODE_SCORE = 100
"""Scores are integers in MIN_NODE_SCORE..MAX_NODE_SCORE (after NormalizeScore) before weights
apply (a bool passes as 0 or 1; see ``Framework._scores``)."""
MIN_NODE_SCORE = 0

class Code(enum.Enum):
    SUCCESS = "Success"
    ERROR = "Error"
    """Something broke (not the pod's fault); the pod is retried after a back-off."""
    UNSCHEDULABLE = "Unschedulable"
    """Not here, but preemption or a cluster change may help."""
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    """Not here, whatever is preempted (a label, a taint)."""
    WAIT = "Wait"
    """Permit only: hold the pod until a plugin allows or rejects it, or the timeout."""
    SKIP = "Skip"
    """PreFilter/PreScore: this plugin's Filter/Score has nothing to do for this pod; Bind:
    leave the pod to the next binder."""


@dataclass(frozen=True, slots=True)
class Status:
    """The outcome of one plugin call: a code, reasons in kube-scheduler's words, and the
    plugin that said it."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code is Code.SUCCESS

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)


SUCCESS = Status()
"""The one Success every plugin returns (the hot loops test it by identity first)."""
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str, resolvable: bool = True) -> Status:
    code = Code.UNSCHEDULABLE if resolvable else Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    return Status(code, reasons)


def error(message: str) -> Status:
    return Status(Code.ERROR, (message,))


class ClusterEvent(enum.Enum):
    """Cluster changes that may let an unschedulable pod fit (the scheduling queue moves it
    back when a plugin that rejected it cares about the event)."""

    NODE_ADD = "NodeAdd"
    NODE_UPDATE = "NodeUpdate"
    ASSIGNED_POD_ADD = "AssignedPodAdd"
    """This scheduler bound a pod: pods with affinity to it may fit now."""
    ASSIGNED_POD_DELETE = "AssignedPodDelete"
    """A pod bound to a node went away or finished: its resources are free."""
    STORAGE_CHANGE = "StorageChange"
    """A PersistentVolume, PersistentVolumeClaim or StorageClass was added or changed."""


ALL_EVENTS = frozenset(ClusterEvent)


def events_of(plugin: Any) -> frozenset[ClusterEvent]:
    """The events ``plugin`` declares in its ``events`` attribute (all when it says
    nothing), as kube-scheduler's EnqueueExtensions."""
    events: frozenset[ClusterEvent] = getattr(plugin, "events", ALL_EVENTS)
    return events


class Handle(Protocol):
    """What the framework lends a plugin that uses it (kube-scheduler's framework.Handle):
    the cache, and the cycle's Filters run on one node."""

    @property
    def cache(self) -> Cache: ...

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo,
                    without: str = "") -> Status: ...


@runtime_checkable
class Plugin(Protocol):
    """What every extension point's Protocol has: a name.

    A plugin may just have the methods (the framework finds them), or declare the extension
    points it means as base classes (``class FewestPods(ScorePlugin)``): then the class is
    checked when it is defined, as a Profile checks a plugin, and refused (TypeError) when it
    has no ``name``, lacks a declared point's method, or has a method that looks like a
    misspelt one (``scores``: "did you mean score()?")."""

    @property
    def name(self) -> str:
        """Unique within a profile; names the plugin in statuses, events and its Score
        weight's key (a class attribute does; the class's own name plays no part)."""

    if not TYPE_CHECKING:  # mypy would take it for a member every plugin must match

        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            if not vars(cls).get("_is_protocol", False):  # a plugin, not an extension point
                check_class(cls)


@runtime_checkable
class PreFilterPlugin(Plugin, Protocol):
    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        """Once per cycle, before any Filter: compute what Filter needs, reject the pod
        outright, or return Skip to turn this plugin's Filter off (nothing to reject: the pod
        asks nothing of this kind, or no node has what this plugin rejects)."""


@runtime_checkable
class FilterPlugin(Plugin, Protocol):
    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """May ``pod`` go to ``node``? Must be cheap: it runs for many nodes per pod. A Filter
        plugin may also have ``filter_nodes(state, pod, nodes) -> list[Status]``, the
        statuses of many nodes at once (kubeactor's): when every Filter left for a pod has
        it, the framework asks it chunk by chunk (``actors.scheduler.feasible``); it must
        give what ``filter`` would, node by node."""


@runtime_checkable
class PostFilterPlugin(Plugin, Protocol):
    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: Mapping[str, Status]) -> Status:
        """No node fits (``statuses``: why, per node): make room (preemption) and return
        Success, or return Unschedulable."""


@runtime_checkable
class PreScorePlugin(Plugin, Protocol):
    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        """Once per cycle, before any Score; Skip turns this plugin's Score off."""


@runtime_checkable
class ScorePlugin(Plugin, Protocol):
    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        """How much ``node`` suits ``pod`` (higher is better; 0..MAX_NODE_SCORE unless this
        plugin normalizes), with :data:`SUCCESS`, or 0 and why it failed (the cycle fails
        with Error). A Score plugin may also have ``score_nodes(state, pod, nodes) ->
        list[int]``, the scores of all ``nodes`` at once, which the framework then calls
        instead (kubeactor's: one call a cycle rather than one a node); it must give what
        ``score`` would, node by node, and raise where ``score`` would fail (the framework
        then asks ``score`` node by node, to say where)."""


@runtime_checkable
class NormalizeScorePlugin(Plugin, Protocol):
    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: dict[str, int]) -> Status:
        """Bring this plugin's ``scores`` (node -> score, changed in place) to integers in
        0..MAX_NODE_SCORE."""


@runtime_checkable
class ReservePlugin(Plugin, Protocol):
    def reserve(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """The pod is assumed on ``node``: claim what it needs. Must be undone by
        :meth:`unreserve`, which runs if any later step fails."""

    def unreserve(self, state: CycleState, pod: PodInfo, node: str) -> None:
        """Undo :meth:`reserve`; must be idempotent and never fail."""


@runtime_checkable
class PermitPlugin(Plugin, Protocol):
    def permit(self, state: CycleState, pod: PodInfo, node: str) -> tuple[Status, float]:
        """Success, a rejection, or Wait with a timeout in seconds (the pod waits for
        :meth:`WaitingPod.allow` from this plugin; at the timeout it is rejected)."""


@runtime_checkable
class PreBindPlugin(Plugin, Protocol):
    def pre_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """Before any Bind (a binding thread: may block): make ready what the pod needs on
        ``node`` (VolumeBinding writes its claims' node); a failure fails the binding."""


@runtime_checkable
class BindPlugin(Plugin, Protocol):
    def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """Bind ``pod`` to ``node`` (a binding thread: may block), or Skip to let the next
        bind plugin do it."""


@runtime_checkable
class PreBindPreFlight(Plugin, Protocol):
    def pre_bind_pre_flight(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """Skip when this PreBind plugin's PreBind has nothing to do for ``pod`` (the
        scheduling thread: must not block; kube-scheduler's PreBindPreFlight): a binding
        whose every PreBind says so need not wait on a binding thread."""


@runtime_checkable
class BindsSoon(Plugin, Protocol):
    def bind_soon(self, state: CycleState, pod: PodInfo, node: str,
                  done: Callable[[Status], None]) -> None:
        """:meth:`BindPlugin.bind` without blocking (the scheduling thread): send the binding
        and return; ``done`` is called once with its Status, on whatever thread the answer
        comes (it does not block)."""


@runtime_checkable
class HoldsBindings(Plugin, Protocol):
    def send_bindings(self) -> None:
        """The scheduler's turn is over (the scheduling thread: must not block): send what
        :meth:`BindsSoon.bind_soon` held back to send together."""


@runtime_checkable
class UsesFramework(Protocol):
    def use_framework(self, framework: Handle) -> None:
        """Called once, as the framework is built: keep it to run other plugins or read the
        cache (kube-scheduler's framework Handle)."""


EXTENSION_POINTS: tuple[type, ...] = (
    PreFilterPlugin, FilterPlugin, PostFilterPlugin, PreScorePlugin, ScorePlugin,
    NormalizeScorePlugin, ReservePlugin, PermitPlugin, PreBindPlugin, BindPlugin)


def _methods(point: type) -> tuple[str, ...]:
    return tuple(name for name, value in vars(point).items()
                 if callable(value) and not name.startswith("_"))


POINT_METHODS: dict[type, tuple[str, ...]] = {point: _methods(point)
                                             for point in EXTENSION_POINTS}
"""Each extension point's methods (``reserve`` and ``unreserve`` for Reserve)."""
_MISSPELT_CUTOFF = 0.85
"""How alike (difflib's ratio, lowercase, no underscores) a public method must be to a
missing extension point's to be taken for a misspelling of it: ``scores``, ``filters``,
``prefilter``, ``Score`` are; ``permitted``, ``binding`` are not."""


def _point_name(point: type) -> str:
    return point.__name__.removesuffix("Plugin")


def check_plugin(plugin: object) -> None:
    """TypeError, naming the plugin and the fix, unless ``plugin`` has a name, extends at
    least one extension point, extends each it has a method of fully, and has no public
    method that looks like a misspelt extension point."""
    name = getattr(plugin, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{plugin!r} has no name: give its class a name (a str), unique in "
                        "its profile")
    _check_methods(name, plugin, _has(type(plugin)))


def check_class(cls: type) -> None:
    """TypeError, naming the class and the fix, unless the plugin class ``cls`` (one that
    declares extension points as its bases) has a name, every method of the points it
    declares, and passes :func:`check_plugin`'s checks of its methods."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f'plugin class {cls.__qualname__} has no name: give it a class '
                        'attribute name = "..." (unique in its profile; its weight\'s key)')
    _check_methods(name, cls, _has(cls))


def _has(cls: type) -> set[str]:
    """The extension point methods ``cls`` implements (the Protocols' own are stubs)."""
    return {method for methods in POINT_METHODS.values() for method in methods
            if _implements(cls, method)}


def _implements(cls: type, method: str) -> bool:
    for klass in cls.__mro__:
        if method in vars(klass):
            return (not vars(klass).get("_is_protocol", False)
                    and callable(vars(klass)[method]))
    return False


def _check_methods(name: str, plugin: object, has: set[str]) -> None:
    """TypeError unless ``plugin`` (an instance or a class) extends each extension point it
    has a method of fully, has no public method that looks like a misspelt one, has every
    method of the points its class declares as bases, and extends at least one."""
    cls = plugin if isinstance(plugin, type) else type(plugin)
    for point, methods in POINT_METHODS.items():
        if has & set(methods) and not has >= set(methods):
            raise TypeError(f'plugin "{name}" does not extend {_point_name(point)} plugin: '
                            f"it has {', '.join(sorted(has & set(methods)))}() but not "
                            f"{', '.join(sorted(set(methods) - has))}()")
    for method, meant in _misspelt(plugin, has):
        point = next(p for p, methods in POINT_METHODS.items() if meant in methods)
        raise TypeError(f'plugin "{name}" has a method {method}() that no extension point '
                        f"calls: did you mean {meant}() ({_point_name(point)})?")
    for point in EXTENSION_POINTS:
        lacking = sorted(set(POINT_METHODS[point]) - has) if point in cls.__mro__ else []
        if lacking:
            raise TypeError(f'plugin "{name}" declares {point.__name__} but has no '
                            f"{', '.join(lacking)}()")
    if not has:
        wanted = ", ".join(f"{_point_name(p)}: {'/'.join(m)}()" for p, m in POINT_METHODS.items())
        raise TypeError(f'plugin "{name}" does not extend any extension point ({wanted})')


def _misspelt(plugin: object, has: set[str]) -> list[tuple[str, str]]:
    """(method, the extension point method it looks like) for each public method of
    ``plugin``'s class that looks like one the plugin lacks."""
    missing = {method.replace("_", ""): method for methods in POINT_METHODS.values()
               for method in methods if method not in has}
    found = []
    cls = plugin if isinstance(plugin, type) else type(plugin)
    for attribute in dir(cls):
        if attribute.startswith("_") or attribute in has or attribute in missing.values() or \
                not callable(getattr(cls, attribute)):
            continue
        close = difflib.get_close_matches(attribute.replace("_", "").lower(), missing, 1,
                                          _MISSPELT_CUTOFF)
        found += [(attribute, missing[close[0]])] if close else []
    return found


def check_profile(plugins: Sequence[Plugin], weights: Mapping[str, int]) -> None:
    """TypeError or ValueError naming the plugin unless each plugin passes
    :func:`check_plugin`, no two share a name, and each weight is a scoring plugin's."""
    for plugin in plugins:
        check_plugin(plugin)
    names = [plugin.name for plugin in plugins]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f'plugin "{twice[0]}" is in the profile twice: plugin names must be '
                         "unique in a profile")
    scoring = {name for name, plugin in zip(names, plugins, strict=True)
               if isinstance(plugin, ScorePlugin)}
    for name in weights:
        if name not in names:
            raise ValueError(f'a weight for plugin "{name}", which is not in the profile '
                             f"(its plugins: {', '.join(names)}; a weight's key is the "
                             "plugin's name, not its class's)")
        if name not in scoring:
            raise ValueError(f'plugin "{name}" does not extend Score plugin: its weight '
                             "would never apply")
