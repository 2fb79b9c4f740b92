"""A ``pods/log``'s PodLogOptions beyond which container and how many lines, as Kubernetes
reads them: ``sinceSeconds`` or ``sinceTime`` (when the log starts), ``limitBytes`` (how much
of it), ``timestamps`` (each line prefixed with its RFC3339Nano time, which the runtime
keeps: Docker's own, as the kubelet's CRI log has it).

Neighbours: ``actors.apiserver.options`` (checks them, :func:`problems`),
``actors.apiserver.relay`` (the kubelet's call carries :func:`since`),
``actors.kubelet.kubelet`` (cuts the log at ``limitBytes``: :func:`limited`).

Which thread: any; pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime


def problems(since_seconds: int | None, since_time: str | None,
             limit_bytes: int | None) -> list[str]:
    """What kube-apiserver's PodLogOptions validation says of these (none: valid)."""
    found = []
    if limit_bytes is not None and limit_bytes < 1:
        found.append(f"limitBytes: Invalid value: {limit_bytes}: must be greater than 0")
    if since_seconds is not None and since_time is not None:
        found.append("Forbidden: at most one of `sinceTime` or `sinceSeconds` may be "
                     "specified")
    elif since_seconds is not None and since_seconds < 1:
        found.append(f"sinceSeconds: Invalid value: {since_seconds}: must be greater than 0")
    if since_time is not None and parse_time(since_time) is None:
        found.append(f"sinceTime: Invalid value: {since_time!r}: must be an RFC3339 time")
    return found


def parse_time(text: str) -> float | None:
    """An RFC3339 time (``2026-12-06T22:35:01Z``, fractions and offsets too) as Unix
    seconds; None when it is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def since(since_seconds: int | None, since_time: str | None, now: float) -> float | None:
    """When the log starts (Unix seconds): ``since_seconds`` before ``now``, or
    ``since_time``; None: from its beginning (also for a start at or before the epoch, which
    the runtime would refuse)."""
    if since_seconds is not None:
        start: float | None = now - since_seconds
    else:
        start = None if since_time is None else parse_time(since_time)
    return start if start is not None and start > 0 else None


def limited(chunks: Iterable[str], limit_bytes: int | None) -> Iterator[str]:
    """``chunks`` up to ``limit_bytes`` bytes of UTF-8 in all (a character cut in two is
    left out), then nothing more: the iteration ends there, as the kubelet's limit writer."""
    left = limit_bytes
    for chunk in chunks:
        if left is None:
            yield chunk
            continue
        data = chunk.encode()
        if len(data) >= left:
            yield data[:left].decode(errors="ignore")
            return
        left -= len(data)
        yield chunk
