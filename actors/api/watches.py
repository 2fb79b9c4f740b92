"""Watches as the protocol has them: how long one lives without renewal (``leaseSeconds``).

Both ends read these numbers: the client renews its watches at a third of the lease, the
apiserver drops a watch not renewed within it and refuses a lease outside the bounds
(docs/PROTOCOL.md, the ``watch`` options).

Neighbours: ``actors.client.client`` and ``actors.client.informer`` (renew),
``actors.apiserver.options`` (checks a request's lease), ``actors.apiserver.watching`` (drops
what expired).
"""

from __future__ import annotations

DEFAULT_LEASE_SECONDS = 60.0
"""A watcher that does not renew within this many seconds is dropped (the client renews at a
third of it, so two lost renewals are tolerated)."""
MIN_LEASE_SECONDS = 1.0
MAX_LEASE_SECONDS = 600.0
"""A watch lease may last from one second to ten minutes."""
