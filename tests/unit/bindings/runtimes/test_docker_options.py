"""What the Docker runtime asks of the engine for a container (bindings/runtimes/docker.py)."""

from __future__ import annotations

from bindings.runtimes.docker import run_options


def pod(**spec) -> dict:
    return {"metadata": {"name": "work-2-abcde", "namespace": "default", "uid": "u" * 36},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_a_pods_hostname_is_its_spec_hostname_or_its_name():
    container = {"name": "c", "image": "busybox"}
    assert run_options(pod(hostname="work-2"), container, 0)["hostname"] == "work-2"
    assert run_options(pod(), container, 0)["hostname"] == "work-2-abcde"
    assert "hostname" not in run_options(pod(hostNetwork=True), container, 0)
