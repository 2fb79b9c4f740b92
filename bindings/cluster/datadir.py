"""The data dir of a kubeactor process: made private and locked for it alone, and what it
remembers between starts (the cluster's id; the nats-servers' ports are ``natsservers'``).

Neighbours: ``bindings.cluster.launcher`` (opens it first, closes the lock last),
``bindings.cluster.config`` (``ClusterError``).

Which thread: the launcher's caller's.
"""

from __future__ import annotations

import fcntl
import secrets
from pathlib import Path
from typing import TextIO

from bindings.cluster.config import ClusterError


def open_locked(path: Path) -> tuple[Path, TextIO]:
    """``path`` (resolved), made (0700) and locked for this process, and the open lock file
    (closing it releases the lock). One cluster per data dir: a second start fails instead of
    sharing the store."""
    data = path.expanduser().resolve()
    try:
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = (data / "lock").open("w")
    except FileExistsError:
        raise ClusterError(f"data dir {data} is a file, not a directory") from None
    except OSError as error:
        raise ClusterError(f"data dir {data} cannot be used: {error.strerror}") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise ClusterError(f"another kubeactor is already running on {data}; stop it or "
                           "pick another --data-dir") from None
    return data, lock


def cluster_id(path: Path) -> str:
    """This data dir's cluster id, made on first start; it scopes the cluster's containers."""
    if not path.exists():
        path.write_text(secrets.token_hex(8))
    return path.read_text().strip()
