"""Adapters to the outside world: the Docker runtime, the SQLite store backend, the cluster
launcher, kubeconfig files and the ``kubeactor`` CLI. Imports actors and bus, never the
reverse."""
