"""The unit test of examples/custom_admission.py's actor, offline: an AdmissionBench asks it
about review objects as the apiserver would, with no NATS and no cluster.

    .venv/bin/pytest examples/test_custom_admission.py
"""

from __future__ import annotations

from custom_admission import ImagePolicy, pod

from actors import ext


def test_an_image_from_elsewhere_is_denied_with_400() -> None:
    denied = ext.AdmissionBench(ImagePolicy).admit(
        {"kind": "Pod", **pod("untrusted", "evil.example.org/miner:1")})
    assert (denied.allowed, denied.code, denied.message) == (
        False, 400, "image evil.example.org/miner:1 is not from an allowed registry")


def test_an_allowed_image_is_admitted_and_labelled() -> None:
    admitted = ext.AdmissionBench(ImagePolicy).admit({"kind": "Pod", **pod("ok", "busybox:1")})
    assert admitted.allowed
    assert admitted.object is not None
    assert admitted.object["metadata"]["labels"] == {"image-policy": "checked"}
