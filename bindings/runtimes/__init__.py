"""The kubelet's runtimes: Docker (``docker``) and the in-memory simulation (``sim``)."""
