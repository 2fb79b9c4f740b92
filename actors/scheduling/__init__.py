"""The scheduling framework, small: extension points and statuses (``framework``), the
default plugins (``plugins``), the queue of pending pods (``queue``) and the cache of nodes and
assumed pods (``cache``, ``nodeinfo``). The actor that drives them is ``actors.scheduler``."""

from actors.scheduling.framework import (
    Code,
    CycleState,
    Framework,
    Profile,
    Status,
)
from actors.scheduling.nodeinfo import NodeInfo, PodInfo
from actors.scheduling.plugins import DEFAULT_WEIGHTS, default_plugins, default_profile

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
