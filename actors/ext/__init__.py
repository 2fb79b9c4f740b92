"""Everything a scheduler plugin or an admission actor needs, from one import::

    from actors import ext

    class FewestPods(ext.ScorePlugin):
        name = "FewestPods"          # the key of its weight

        def score(self, state, pod, node):
            return max(ext.MAX_NODE_SCORE - len(node.pods), 0), ext.SUCCESS

    class TeamLabel(ext.AdmissionActor):
        def admit(self, review):
            labels = (review.object or {}).get("metadata", {}).get("labels") or {}
            return ext.allow() if "team" in labels else ext.deny("pods need a team label")

Wire them with ``cluster.start_scheduler("my-scheduler", plugins=[FewestPods()])`` and
``cluster.start_admission(TeamLabel, "team-label")`` (``bindings.cluster``), or the
``kubeactor scheduler --plugin`` and ``kubeactor admission --actor`` processes; test them
offline with :class:`SchedulingBench` and :class:`AdmissionBench`.

What a plugin reads: a :class:`PodInfo` (``pod``: the object, ``key``: ``namespace/name``,
``spec``, ``cpu`` in millicores and ``memory`` in bytes requested, ``priority``) and a
:class:`NodeInfo` (``name``, ``node``: the object, ``labels``, ``ready``, ``unschedulable``,
``hard_taints``, ``soft_taints``, ``allocatable_cpu`` / ``_memory`` / ``_pods``,
``requested_cpu`` / ``_memory`` by the pods on it, assumed ones included, and ``pods``: key ->
PodInfo). What it returns: a :class:`Status` (:data:`SUCCESS`, :func:`unschedulable`,
:func:`error`, :data:`SKIP`); ``score`` an integer in MIN_NODE_SCORE..MAX_NODE_SCORE with it.
A plugin that raises or returns anything else fails the pod's cycle with an Error naming the
plugin, the extension point and the node; the pod gets a FailedScheduling Event and
``PodScheduled=False`` with that message and is retried after a back-off.

Neighbours: ``actors.scheduler`` (the framework), ``actors.admission_actor`` (the actor base),
``actors.ext.scheduling`` and ``actors.ext.admitting`` (the offline benches).
"""

from actors import scheduler as _scheduler
from actors.admission_actor import AdmissionActor, Review, Verdict, allow, deny, patch
from actors.ext.admitting import AdmissionBench, Admitted, review
from actors.ext.scheduling import Placement, SchedulingBench, node, pod
from actors.scheduler import *  # noqa: F403 (the whole plugin API, as its face exports it)

__all__ = ["AdmissionActor", "AdmissionBench", "Admitted", "Placement", "Review",
           "SchedulingBench", "Verdict", "allow", "deny", "node", "patch", "pod", "review"]
__all__ += _scheduler.__all__
