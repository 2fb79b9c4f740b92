"""The scheduler: the actor that picks a node for each pending pod (``scheduler``) and
its framework, small: extension points and the checks that refuse misuse (``interface``),
statuses, profiles and the cycle (``framework``), the default plugins (``plugins``),
preemption, the queue of pending pods (``queue``) and the cache of nodes and assumed pods
(``cache``, ``nodeinfo``).

This face is the plugin API; ``actors.ext`` re-exports it with the admission actor's and the
offline benches, the one import a plugin or an admission actor needs
(``examples/custom_scheduler.py``).
"""

from actors.scheduler.framework import Framework, Profile, WaitingPod, normalize
from actors.scheduler.interface import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    SKIP,
    SUCCESS,
    BindPlugin,
    BindsSoon,
    ClusterEvent,
    Code,
    CycleState,
    FilterPlugin,
    HoldsBindings,
    NormalizeScorePlugin,
    PermitPlugin,
    Plugin,
    PostFilterPlugin,
    PreBindPreFlight,
    PreFilterPlugin,
    PreScorePlugin,
    ReservePlugin,
    ScorePlugin,
    Status,
    UsesFramework,
    error,
    unschedulable,
)
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from actors.scheduler.plugins import (
    DEFAULT_WEIGHTS,
    ProfileConfig,
    default_plugins,
    default_profile,
    placement_plugins,
)
from actors.scheduler.scheduler import Scheduler, SchedulerConfig

__all__ = [
    "DEFAULT_WEIGHTS",
    "MAX_NODE_SCORE",
    "MIN_NODE_SCORE",
    "SKIP",
    "SUCCESS",
    "BindPlugin",
    "BindsSoon",
    "ClusterEvent",
    "Code",
    "CycleState",
    "FilterPlugin",
    "Framework",
    "HoldsBindings",
    "NodeInfo",
    "NormalizeScorePlugin",
    "PermitPlugin",
    "Plugin",
    "PodInfo",
    "PostFilterPlugin",
    "PreBindPreFlight",
    "PreFilterPlugin",
    "PreScorePlugin",
    "Profile",
    "ProfileConfig",
    "ReservePlugin",
    "Scheduler",
    "SchedulerConfig",
    "ScorePlugin",
    "Status",
    "UsesFramework",
    "WaitingPod",
    "default_plugins",
    "default_profile",
    "error",
    "normalize",
    "placement_plugins",
    "unschedulable",
]
