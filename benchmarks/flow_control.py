"""What flow control adds to each request, its pure parts timed alone (no servers):

    .venv/bin/python benchmarks/flow_control.py [--requests N]

Classification of a request by Kubernetes' default FlowSchemas (remembered, as for a flood's
requests, and found afresh, as for a new kind of request), the claim's identity looked up, and
a ticket through a level's queues (offer, dispatch, the time it held the worker told to its
flow's pacing, release). Prints one JSON line of
microseconds per request. The whole pipeline's CPU per request with and without flow control
is ``api_throughput.py``'s ``*_server_cpu_us``, run on both trees side by side.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from actors.api import flowcontrol
from actors.api.users import UserInfo
from actors.apiserver.classifying import classify, policy
from actors.apiserver.fairness import Identities, asked
from actors.apiserver.queueing import Dispatcher
from actors.apiserver.requests import ApiServerConfig
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.subjects import Subjects


def per_call(call: Callable[[], object], n: int) -> float:
    """Microseconds per call of ``call``, the best of three runs of ``n``."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, (time.perf_counter() - started) / n)
    return round(best * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    n = parser.parse_args().requests
    subjects = Subjects()
    rules = policy(flowcontrol.defaults())
    incoming = Incoming(subjects.api("", "configmaps", "list"),
                        Envelope(namespace="default"), f"{subjects.inbox('mallory')}.x.1")
    identities = Identities(subjects)
    identities.learn(incoming, UserInfo("mallory", groups=("system:authenticated",)))
    question = asked(incoming, subjects, identities.user(incoming))
    flow = rules.classify(question)
    dispatcher = Dispatcher(600, 5.0, ApiServerConfig().pacing)  # global-default is paced

    def queued() -> None:
        dispatcher.offer(flow, incoming, 0.0, rules.total_shares)
        ticket = dispatcher.next(0.0)
        assert ticket is not None
        dispatcher.served(ticket, 0.0, 0.0)
        dispatcher.release(ticket)

    print(json.dumps({
        "claim_us": per_call(lambda: asked(incoming, subjects, identities.user(incoming)), n),
        "classify_remembered_us": per_call(lambda: rules.classify(question), n),
        "classify_afresh_us": per_call(lambda: classify(rules, question), n),
        "queue_us": per_call(queued, n),
        "flow": flow.schema,
    }))


if __name__ == "__main__":
    main()
