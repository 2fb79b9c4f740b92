"""The Docker SDK's exceptions, and its HTTP layer's, as the kubelet's
:class:`~actors.kubelet.runtime.RuntimeFailure` (with the kubelet's waiting reason): the boundary
the Docker runtime's calls go through.

Neighbours: ``bindings.runtimes.docker.runtime`` and ``bindings.runtimes.docker.streams`` (the
callers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker.errors
import requests

from actors.kubelet.runtime import RuntimeFailure


@contextlib.contextmanager
def translated(reason: str) -> Iterator[None]:
    """Turn the Docker SDK's and its HTTP layer's exceptions into RuntimeFailure(reason)."""
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise RuntimeFailure(reason, str(error)) from error


def explanation(error: docker.errors.DockerException) -> str:
    """The engine's own words for a failure (what Kubernetes shows as the message)."""
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)
