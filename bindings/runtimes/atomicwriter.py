"""The kubelet's atomic writer: the files of a volume on the host, swapped in at once.

A volume's directory holds a timestamped directory with the files (``..2026_01_02_15_04_05.N``),
a symlink ``..data`` to it, and for each top-level name a symlink ``name -> ..data/name``. A new
payload is written to a new timestamped directory, then ``..data`` is replaced by a rename (one
atomic step), then the top-level links are brought in line and the old directory removed: a
reader (a container with the directory bind-mounted) sees the old files or the new ones, never
a mix. Links are relative, so they resolve inside the container too. Writing what is already
there changes nothing.

Neighbours: ``bindings.runtimes.docker`` (the caller), ``actors.kubelet.volumes`` (what the files
are).

Which thread: the caller's (a pod worker's); blocks on the file system.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from actors.kubelet.runtime import VolumeFile

DATA = "..data"


def write(target: Path, files: dict[str, VolumeFile]) -> bool:
    """Make ``target`` hold exactly ``files`` (paths relative, checked); False when it already
    did."""
    for path in files:
        _check(path)
    target.mkdir(parents=True, exist_ok=True)
    if current(target) == files:
        return False
    old = os.readlink(target / DATA) if (target / DATA).is_symlink() else None
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    fresh = Path(tempfile.mkdtemp(prefix=stamp, dir=target))
    for path, file in files.items():
        written = fresh / path
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_bytes(file.content)
        written.chmod(file.mode & 0o777)
    fresh.chmod(0o755)
    (target / "..data_tmp").unlink(missing_ok=True)
    (target / "..data_tmp").symlink_to(fresh.name)
    (target / "..data_tmp").rename(target / DATA)  # the atomic step
    _relink(target, {path.split("/", 1)[0] for path in files})
    if old is not None and old != fresh.name:
        shutil.rmtree(target / old, ignore_errors=True)
    return True


def current(target: Path) -> dict[str, VolumeFile] | None:
    """What ``target`` holds now; None when nothing was written there yet."""
    data = target / DATA
    if not data.is_symlink():
        return None
    root = data.resolve()
    return {str(path.relative_to(root)): VolumeFile(path.read_bytes(),
                                                    path.stat().st_mode & 0o777)
            for path in sorted(root.rglob("*")) if path.is_file()}


def _relink(target: Path, names: set[str]) -> None:
    """One ``name -> ..data/name`` link per top-level name; links of names gone removed."""
    for entry in target.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in names:
            entry.unlink()
    for name in names:
        link = target / name
        if not link.is_symlink():
            link.symlink_to(f"{DATA}/{name}")


def _check(path: str) -> None:
    """Kubernetes' validatePath: relative, no ``..`` element, not starting with ``..``."""
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or path.startswith(".."):
        raise ValueError(f"invalid volume file path {path!r}: must be relative, without '..'")
