"""The kubelet's atomic writer (bindings/runtimes/atomicwriter.py): the layout a container sees
(``..data`` and one link per top-level name), an update swapped in at once, stale names and
the old generation removed, unsafe paths refused."""

from __future__ import annotations

import os

import pytest

from actors.kubelet.runtime import VolumeFile
from bindings.runtimes import atomicwriter


def test_files_appear_behind_the_data_link_with_their_modes(tmp_path):
    target = tmp_path / "vol"
    assert atomicwriter.write(target, {"password": VolumeFile(b"hunter2", 0o400),
                                       "nested/user": VolumeFile(b"admin", 0o644)})
    generation = os.readlink(target / "..data")
    assert generation.startswith("..") and "/" not in generation  # relative: works in the mount
    assert os.readlink(target / "password") == "..data/password"
    assert os.readlink(target / "nested") == "..data/nested"
    assert (target / "password").read_bytes() == b"hunter2"
    assert (target / "nested" / "user").read_text() == "admin"
    assert (target / "password").stat().st_mode & 0o777 == 0o400
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["..data", generation, "password", "nested"])


def test_an_update_swaps_generations_and_drops_what_is_gone(tmp_path):
    target = tmp_path / "vol"
    atomicwriter.write(target, {"a": VolumeFile(b"1", 0o644), "b": VolumeFile(b"2", 0o644)})
    first = os.readlink(target / "..data")
    assert not atomicwriter.write(target, {"a": VolumeFile(b"1", 0o644),
                                           "b": VolumeFile(b"2", 0o644)})  # same: untouched
    assert os.readlink(target / "..data") == first
    assert atomicwriter.write(target, {"a": VolumeFile(b"changed", 0o644)})
    assert os.readlink(target / "..data") != first
    assert (target / "a").read_text() == "changed"
    assert not (target / "b").exists() and not (target / "b").is_symlink()
    assert not (target / first).exists()
    assert atomicwriter.current(target) == {"a": VolumeFile(b"changed", 0o644)}


@pytest.mark.parametrize("path", ["../escape", "/abs", "..hidden", "a/../../b", ""])
def test_paths_that_could_leave_the_volume_are_refused(tmp_path, path):
    with pytest.raises(ValueError, match="invalid volume file path"):
        atomicwriter.write(tmp_path / "vol", {path: VolumeFile(b"x", 0o644)})
    assert not (tmp_path / "vol").exists()
