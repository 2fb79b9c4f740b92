"""The local-path provisioner's directories on this machine (``actors.storage.localpath.Disk``).

Which thread: the provisioner actor's.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class LocalDisk:
    """Directories under a node's data dir (k3s makes them 0777: any container user may
    write)."""

    def make(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
