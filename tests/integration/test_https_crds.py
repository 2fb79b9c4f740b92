"""Custom resources through the HTTPS API with real kubectl: a CRD applied with ``kubectl
apply`` is discovered (its plural, short name and category), its objects applied, listed with
the CRD's printer columns and deleted, all by kubectl's own words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_crds import WIDGETS, widget
from tests.processes import UpProcess

pytestmark = pytest.mark.integration


def _kubectl(cluster: UpProcess, cache: Path, *args: str) -> str:
    """kubectl's output (its discovery cached in ``cache``); fails the test when it fails."""
    done = cluster.kubectl("--cache-dir", str(cache), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _manifest(tmp_path: Path, name: str, obj: dict) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(obj))
    return str(path)


def test_kubectl_applies_a_crd_then_gets_and_deletes_its_objects_by_every_name(
        cluster: UpProcess, tmp_path: Path):
    cache = tmp_path / "cache"
    assert "No resources found" in cluster.kubectl("--cache-dir", str(cache), "get",
                                                   "pods").stderr  # discovery cached now
    assert _kubectl(cluster, cache, "apply", "-f", _manifest(tmp_path, "crd", WIDGETS)) == (
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n")
    big = _manifest(tmp_path, "big", widget("big", size=7, color="blue"))
    assert _kubectl(cluster, cache, "apply", "-f", big) == "widget.example.com/big created\n"
    _kubectl(cluster, cache, "apply", "-f", _manifest(tmp_path, "small", widget("small")))
    listed = _kubectl(cluster, cache, "get", "widgets").splitlines()
    assert listed[0].split() == ["NAME", "SIZE", "COLOR"]  # no AGE: the CRD names its columns
    assert [line.split() for line in listed[1:]] == [["big", "7", "blue"], ["small", "1", "red"]]
    wide = _kubectl(cluster, cache, "get", "wd", "big", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "SIZE", "COLOR", "READY"]
    assert _kubectl(cluster, cache, "get", "all", "-o", "name").splitlines()[-2:] == [
        "widget.example.com/big", "widget.example.com/small"]
    beta = json.loads(_kubectl(cluster, cache, "get", "widgets.v1beta1.example.com", "small",
                               "-o", "json"))
    assert beta["metadata"]["name"] == "small"
    assert _kubectl(cluster, cache, "delete", "widgets", "big") == (
        'widget.example.com "big" deleted from default namespace\n')
    assert [line.split()[0] for line in _kubectl(
        cluster, cache, "get", "widgets").splitlines()] == ["NAME", "small"]
