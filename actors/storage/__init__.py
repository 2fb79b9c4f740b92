"""The local-path provisioner (``localpath``): volumes made as directories of the nodes."""
