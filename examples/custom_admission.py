"""Write your own admission actor: deny images outside an allowed list, label the rest.

    .venv/bin/python examples/custom_admission.py [DATA_DIR]

Starts a one-node cluster on the simulated runtime (no Docker needed), starts an
``AdmissionActor`` in one call (``cluster.start_admission``: its own NATS connection, as its
own identity, a certificate of the cluster's CA for user ``image-policy``; it serves
``image-policy.images``, ``<its user>.<its name>``, the only admission names an identity
other than the admin's may serve), registers it with an AdmissionRegistration whose
``spec.subject`` is that (mutating, CREATE of pods, failurePolicy Fail), then creates two pods:
one whose image is not allowed (refused, 400, with the actor's message) and one that is
(stored with the label the actor added, and run).

The same actor in a process of its own, with a kubeconfig of user ``image-policy``:

    kubeactor certs issue --user image-policy --kubeconfig-out policy.kubeconfig
    kubeactor admission --kubeconfig policy.kubeconfig \
        --actor custom_admission:ImagePolicy --name images

(with this directory on PYTHONPATH). ``test_custom_admission.py`` beside it tests the actor
offline, without a cluster.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from actors import ext
from bindings.cluster import Cluster, ClusterConfig
from bus.errors import ApiError

ALLOWED_REGISTRIES = ("busybox:", "registry.example.com/")


class ImagePolicy(ext.AdmissionActor):
    """Every container image must come from an allowed place; admitted pods get a label."""

    def admit(self, review: ext.Review) -> ext.Verdict:
        pod = review.object or {}
        for container in pod.get("spec", {}).get("containers", []):
            image = str(container.get("image", ""))
            if not image.startswith(ALLOWED_REGISTRIES):
                return ext.deny(f"image {image} is not from an allowed registry")
        operations = [] if pod["metadata"].get("labels") else [
            {"op": "add", "path": "/metadata/labels", "value": {}}]
        return ext.patch(*operations, {"op": "add", "path": "/metadata/labels/image-policy",
                                       "value": "checked"})


def pod(name: str, image: str) -> dict[str, object]:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": name, "image": image}]}}


def main(data_dir: Path) -> None:
    cluster = Cluster.start(ClusterConfig(data_dir=data_dir, nodes=1, runtime="sim"))
    try:
        # It subscribes to kubeactor.admission.image-policy.images: its own to serve.
        actor = cluster.start_admission(ImagePolicy, "images", user="image-policy")
        client = cluster.admin_client()
        client.create("admissionregistrations", {
            "metadata": {"name": "image-policy"},
            "spec": {"subject": actor.subject, "operations": ["CREATE"],
                     "resources": ["pods"],
                     "timeoutSeconds": 5, "failurePolicy": "Fail", "mutating": True}}, None)
        try:
            client.create("pods", pod("untrusted", "evil.example.org/miner:1"))
        except ApiError as error:
            print(f"untrusted: refused ({error.code}): {error.message}")
        stored = client.create("pods", pod("trusted", "busybox:1.35"))
        print(f"trusted: created with labels {stored['metadata']['labels']}")
        actor.stop()
    finally:
        cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
