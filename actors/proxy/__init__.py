"""The service proxy: kube-proxy's userspace role, one per kubelet process (see ``proxy``)."""
