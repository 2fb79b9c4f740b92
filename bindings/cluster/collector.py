"""The cyclic garbage collector of a cluster's processes (``up``, ``server``, ``scheduler``,
``controller-manager``, ``agent``): :func:`tune`, called once as the process starts.

CPython's thresholds, (700, 10, 10), suit a program whose heap stays small. A control plane's
grows with the cluster (the store's objects and history, every informer's cache) and churns:
every write replaces an object, and an object that outlives two young collections (700 net
allocations apart: a few milliseconds in a busy process) is promoted to the oldest
generation, where it soon dies. Promotions are what set off full collections (one once they
exceed a quarter of the oldest generation), and a full collection walks the whole heap. At
1,000 simulated nodes and 10,000 pods (``benchmarks/sim_scale.py``) every process of the
cluster spent 15-19 % of its CPU in the collector, four fifths of it in 12-27 full
collections of up to 0.86 s each.

:data:`THRESHOLDS` makes the young generation 50,000 net allocations: what a request, an
event or a replaced version allocates is freed by its reference count before a collection
sees it, so little is promoted and full collections become rare; cycles are still collected,
young ones within 50,000 allocations. Measured in ``benchmarks/RESULTS.md`` (sim_scale,
2026-12-07, s10).

Which thread: the process's main thread, before it starts anything.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 10, 10)
"""The collector's thresholds in a cluster process: (young generation, middle, old)."""


def tune() -> None:
    """Set the collector's thresholds of this process to :data:`THRESHOLDS`."""
    gc.set_threshold(*THRESHOLDS)
