"""Where ``up --processes`` puts the components (bindings/cluster/layout.py)."""

from __future__ import annotations

import pytest

from bindings.cluster.layout import AUTO_NODES, Layout, layout, processes


def test_one_process_runs_everything_in_up():
    assert layout(1, 1000, "sim") == Layout()


@pytest.mark.parametrize(("count", "agents", "scheduler", "controller_manager"), [
    (2, ((1, 1000),), False, False),
    (3, ((1, 1000),), True, False),
    (4, ((1, 1000),), True, True),
    (6, ((1, 334), (335, 333), (668, 333)), True, True),
])
def test_simulated_kubelets_go_first_then_the_scheduler_then_the_controller_manager(
        count, agents, scheduler, controller_manager):
    plan = layout(count, 1000, "sim")
    assert plan == Layout(agents, scheduler, controller_manager)
    assert plan.processes == count


def test_docker_kubelets_stay_in_up_and_no_process_is_left_without_work():
    assert layout(5, 3, "docker") == Layout((), True, True)
    assert layout(8, 2, "sim").agents == ((1, 1), (2, 1))
    assert layout(3, 0, "sim") == Layout((), True, True)


def test_auto_spreads_only_many_simulated_nodes():
    assert layout(None, AUTO_NODES - 1, "sim") == Layout()
    assert layout(None, 50, "docker") == Layout()
    assert layout(None, AUTO_NODES, "sim").processes > 1


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_count_below_one_or_not_a_number_is_refused(value):
    with pytest.raises(ValueError):
        processes(value)
    assert processes("auto") is None and processes("3") == 3


def test_more_apiservers_are_processes_of_their_own_beside_the_others():
    plan = layout(4, 1000, "sim", apiservers=3)
    assert plan == Layout(((1, 1000),), True, True, apiservers=2)
    assert plan.processes == 6
    assert layout(1, 3, "docker", apiservers=2) == Layout(apiservers=1)
