"""Container probes: liveness, readiness and startup, as the kubelet runs them.

Decisions are pure: :func:`record` folds one probe result into a :class:`ProbeState` with the
probe's successThreshold and failureThreshold; :func:`first_due` and :func:`period` say when
probes run. :func:`run_probe` performs one probe: ``exec`` through a function the pod sync hands
in (the runtime's exec), ``httpGet`` and ``tcpSocket`` on 127.0.0.1 (pods here use the host
network or none), each bounded by ``timeoutSeconds``. Which thread: a pod worker
(``actors.kubelet.podsync``); timing comes from ``actors.kubelet.timers``, never a thread per probe.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from actors.api.objects import Object

KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
"""Probe fields of a container spec, in the order the kubelet considers them."""

HOST = "127.0.0.1"
"""Where httpGet and tcpSocket probes connect (no pod network here)."""

Exec = Callable[[list[str], float], tuple[int, str]]
"""Run a command in the container with a timeout: (exit code, output)."""


@dataclass(frozen=True, slots=True)
class ProbeState:
    """A probe's verdict and the consecutive results behind it."""

    result: bool
    """Kubernetes starts liveness at success, readiness and startup at failure."""
    successes: int = 0
    failures: int = 0


def initial(kind: str) -> ProbeState:
    return ProbeState(result=kind == "livenessProbe")


def record(state: ProbeState, ok: bool, spec: Object) -> ProbeState:
    """The state after one more result: the verdict flips to success after
    ``successThreshold`` successes in a row, to failure after ``failureThreshold`` failures."""
    if ok:
        successes = state.successes + 1
        flips = successes >= int(spec.get("successThreshold") or 1)
        return replace(state, successes=successes, failures=0, result=state.result or flips)
    failures = state.failures + 1
    flips = failures >= int(spec.get("failureThreshold") or 3)
    return replace(state, successes=0, failures=failures, result=state.result and not flips)


def failed_for_good(kind: str, state: ProbeState, spec: Object) -> bool:
    """Whether the container must be restarted: liveness failed, or startup failed
    ``failureThreshold`` times in a row (it starts at failure, so the verdict alone is not
    enough)."""
    if kind == "livenessProbe":
        return not state.result
    if kind == "startupProbe":
        return not state.result and state.failures >= int(spec.get("failureThreshold") or 3)
    return False


def first_due(spec: Object, started: float) -> float:
    """When the first probe runs: ``initialDelaySeconds`` after the container started."""
    return started + float(spec.get("initialDelaySeconds") or 0)


def period(spec: Object) -> float:
    return float(spec.get("periodSeconds") or 10)


def timeout(spec: Object) -> float:
    return float(spec.get("timeoutSeconds") or 1)


def port_of(value: Any, container: Object) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(value, int):
        return value
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port["containerPort"])
    raise ValueError(f"port {value!r} is not a number nor a named port of the container")


def run_probe(spec: Object, container: Object, run: Exec) -> tuple[bool, str]:
    """Perform one probe; (success, what went wrong)."""
    seconds = timeout(spec)
    try:
        if "exec" in spec:
            code, output = run(list(spec["exec"].get("command") or []), seconds)
            return code == 0, output.strip() or f"command exited with {code}"
        if "httpGet" in spec:
            return _http(spec["httpGet"], container, seconds)
        if "tcpSocket" in spec:
            port = port_of(spec["tcpSocket"].get("port"), container)
            with socket.create_connection((HOST, port), timeout=seconds):
                return True, ""
    except (OSError, ValueError) as error:
        return False, str(error)
    return False, "the probe has no handler (exec, httpGet or tcpSocket)"


def _http(get: Object, container: Object, seconds: float) -> tuple[bool, str]:
    port = port_of(get.get("port"), container)
    path = str(get.get("path") or "/")
    url = f"http://{HOST}:{port}{path if path.startswith('/') else '/' + path}"
    request = urllib.request.Request(url, headers={
        h["name"]: h["value"] for h in get.get("httpHeaders") or []})
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            code = response.status
    except urllib.error.HTTPError as error:
        code = error.code
    if 200 <= code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {code}"
