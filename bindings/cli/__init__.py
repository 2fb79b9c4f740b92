"""The ``kubeactor`` command: ``main`` (today the whole command), the printers and
JSONPath, manifests, rollout and trace helpers it uses."""
