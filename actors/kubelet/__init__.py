"""The kubelet: the node agent (``kubelet``), pod sync, pod workers, pod status, probes,
the status writer, the runtime interface its bindings implement, and timers."""
