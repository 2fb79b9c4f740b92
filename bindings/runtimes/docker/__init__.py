"""The Docker runtime (:class:`DockerRuntime`): the kubelet's Runtime on a real Docker engine.

Modules: ``runtime`` (the runtime itself), ``containers`` (what a container is asked and read
as), ``events`` (the engine's event stream, the OOM wait), ``streams`` (logs, exec, attach),
``failures`` (Docker's exceptions as RuntimeFailure).
"""

from bindings.runtimes.docker.runtime import DockerRuntime

__all__ = ["DockerRuntime"]
