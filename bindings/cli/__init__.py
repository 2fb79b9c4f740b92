"""The ``kubeactor`` command: ``main`` (dispatch and errors), ``parsing`` (the grammar) and
``session``; the verbs by group (``objects``, ``pods``, ``workloads``, ``auth``, ``daemons``,
``tracing``); the printers, JSONPath and manifests they use."""
