"""The kubelet of simulated nodes starts many pods at once while each waits on the API
(``bindings.cluster.nodes.SIM_POD_WORKERS``)."""

import threading

from actors.kubelet.podworkers import PodWorkers
from bindings.cluster.nodes import SIM_POD_WORKERS


def test_forty_pods_each_waiting_on_the_api_start_side_by_side():
    workers = PodWorkers(SIM_POD_WORKERS, "sim-pods")
    all_waiting = threading.Barrier(40, timeout=10)  # broken unless 40 wait at once
    started: list[int] = []
    done = threading.Semaphore(0)

    def start(index: int) -> None:
        all_waiting.wait()  # as a pod's start waits on its token request
        started.append(index)
        done.release()

    try:
        for index in range(40):
            workers.submit(f"uid-{index}", lambda index=index: start(index))
        assert all(done.acquire(timeout=15) for _ in range(40))
    finally:
        workers.stop()
    assert sorted(started) == list(range(40))
