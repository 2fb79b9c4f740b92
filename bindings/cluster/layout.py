"""Which of a cluster's components ``kubeactor up`` runs in processes of their own
(``--processes``): a decision from the number of processes, the runtime and the nodes, made
before anything starts. Each process has its own GIL, hence its own core; the bus carries the
same messages whichever process a component is in.

``--processes N`` counts the processes of the cluster besides the embedded nats-server. With 1,
everything runs in ``up``'s process. From 2 on, ``up``'s process keeps the store, the
apiserver, the HTTPS listener and the CSR signer (and the kubelets of Docker nodes, which share
its host), and the others go, in this order, to processes of their own: the simulated
kubelets (one ``agent --runtime sim`` process), the scheduler, the controller manager, then
more agent processes, the simulated nodes spread evenly over them. On a JetStream store,
``--apiservers N`` adds N - 1 apiserver processes (``server --apiserver-only``) besides.
``auto`` is 1 for Docker nodes or fewer than :data:`AUTO_NODES` simulated ones, else
:data:`AUTO_PROCESSES` (the measurements behind it: ``docs/DESIGN.md``, "More than one
core").

Neighbours: ``bindings.cluster.supervising`` (runs the processes), ``bindings.cli.daemons``
(``up --processes``; the command line of each process). Which thread: any; pure.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTO_NODES = 100
"""From this many simulated nodes, ``auto`` spreads the cluster over processes."""
AUTO_PROCESSES = 4
"""How many processes ``auto`` uses then: the apiserver's, one agent of every simulated node,
the scheduler's, the controller manager's."""


@dataclass(frozen=True, slots=True)
class Layout:
    """What runs outside ``up``'s process."""

    agents: tuple[tuple[int, int], ...] = ()
    """(first node number, node count) of each ``agent --runtime sim`` process: nodes
    ``node-<first>`` ... ``node-<first+count-1>``."""
    scheduler: bool = False
    """The scheduler runs in a ``kubeactor scheduler`` process."""
    controller_manager: bool = False
    """The controller manager runs in a ``kubeactor controller-manager`` process."""
    apiservers: int = 0
    """Apiserver processes besides ``up``'s (``server --apiserver-only`` on its JetStream
    store)."""

    @property
    def processes(self) -> int:
        """The processes of this layout, ``up``'s included."""
        return (1 + len(self.agents) + self.scheduler + self.controller_manager
                + self.apiservers)


def processes(value: str) -> int | None:
    """``--processes``' value: a number from 1, or None for ``auto``; ValueError otherwise."""
    if value == "auto":
        return None
    number = int(value)
    if number < 1:
        raise ValueError(f"{value} is below 1")
    return number


def layout(processes: int | None, nodes: int, runtime: str, apiservers: int = 1) -> Layout:
    """Where the components go for ``processes`` processes (None: ``auto``) of a cluster of
    ``nodes`` nodes of ``runtime`` with ``apiservers`` apiserver processes (``up``'s and
    others, not counted in ``processes``); never more processes than have something to
    run."""
    simulated = nodes if runtime == "sim" else 0
    if processes is None:
        processes = AUTO_PROCESSES if simulated >= AUTO_NODES else 1
    spare = processes - 1
    agents = min(simulated, 1 if spare < 4 else spare - 2) if simulated and spare else 0
    spare -= agents
    scheduler, controller_manager = spare >= 1, spare >= 2
    return Layout(_slices(simulated, agents), scheduler, controller_manager, apiservers - 1)


def _slices(nodes: int, parts: int) -> tuple[tuple[int, int], ...]:
    """``nodes`` nodes numbered from 1 cut into ``parts`` consecutive slices, as even as may be
    ((first, count) each)."""
    slices, first = [], 1
    for part in range(parts):
        count = nodes // parts + (part < nodes % parts)
        slices.append((first, count))
        first += count
    return tuple(slices)
