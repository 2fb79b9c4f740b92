"""The scheduler: the actor that picks a node for each pending pod (``scheduler``) and
its framework, small: extension points and statuses (``framework``), the default plugins
(``plugins``), preemption, the queue of pending pods (``queue``) and the cache of nodes and
assumed pods (``cache``, ``nodeinfo``).
"""

from actors.scheduler.framework import (
    Code,
    CycleState,
    Framework,
    Profile,
    Status,
)
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from actors.scheduler.plugins import DEFAULT_WEIGHTS, default_plugins, default_profile

__all__ = [
    "DEFAULT_WEIGHTS",
    "Code",
    "CycleState",
    "Framework",
    "NodeInfo",
    "PodInfo",
    "Profile",
    "Status",
    "default_plugins",
    "default_profile",
]
