"""The scheduler's pod status writes: read, change, write, and again on a 409.

One loop for every status the scheduler writes (as client-go's ``retry.RetryOnConflict`` with
``retry.DefaultRetry``): the PodScheduled=False condition of a failed cycle
(``actors.scheduler.scheduler``), and preemption's writes (``actors.scheduler.preemption``): the
preemptor's ``nominatedNodeName``, a victim's DisruptionTarget condition, the cleared
nomination of a pod of lower priority. Each caller says when to stop through ``change``
(nothing to write any more) and ``read`` (raise NotFound: the pod is gone).

No thread of its own: blocks on the ``read`` and ``write`` it is given. Neighbours:
``actors.scheduler.scheduler``, ``actors.scheduler.preemption``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.api.objects import Object
from bus.errors import Conflict

STATUS_ATTEMPTS = 5
"""Writes of a status that meets 409s before giving up (client-go's ``retry.DefaultRetry``)."""


def update_status(read: Callable[[], Object], change: Callable[[Object], Object | None],
                  write: Callable[[Object], Any], *, seen: Object | None = None,
                  attempts: int = STATUS_ATTEMPTS) -> bool:
    """Write ``change`` of the pod: of ``seen`` (the version at hand: no read first) or of a
    ``read``; on a Conflict ``read`` the pod again and write ``change`` of the new version.
    ``change`` returns None when there is nothing (left) to write: the retry ends, False. True
    when written. The Conflict of the last of ``attempts`` writes, and any error of ``read``
    (NotFound: the pod is gone) or ``write``, is raised."""
    pod = read() if seen is None else seen
    for attempt in range(attempts):
        changed = change(pod)
        if changed is None:
            return False
        try:
            write(changed)
            return True
        except Conflict:
            if attempt == attempts - 1:
                raise
            pod = read()
    return False
