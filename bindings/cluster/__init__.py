"""A kubeactor cluster in this process: :class:`Cluster` starts what a :class:`ClusterConfig`
asks for (``launcher``) and keeps in its data dir the PKI (``pki``), the bus users
(``bususers``), the tokens and identities (``identities``) and the audit log (``audit``).

From Python::

    from bindings.cluster import Cluster, ClusterConfig

    cluster = Cluster.start(ClusterConfig(data_dir=Path("/tmp/kubeactor")))
    scheduler = cluster.start_scheduler("my-scheduler", plugins=[MyPlugin()])
    actor = cluster.start_admission(MyPolicy, "policy")  # register actor.subject
"""

from bindings.cluster.config import ClusterConfig, ClusterError
from bindings.cluster.launcher import Cluster

__all__ = ["Cluster", "ClusterConfig", "ClusterError"]
