"""Write your own admission actor: deny images outside an allowed list, label the rest.

    .venv/bin/python examples/custom_admission.py [DATA_DIR]

Starts a one-node cluster on the simulated runtime (no Docker needed), starts an
``AdmissionActor`` on its own NATS connection, as its own identity (a certificate of the
cluster's CA for user ``image-policy``: the actor serves ``image-policy.images``, under its
own name on the locked-down bus, needing no admin credentials), registers it with an
AdmissionRegistration (mutating, CREATE of pods, failurePolicy Fail), then creates two pods:
one whose image is not allowed (refused with the actor's message) and one that is (stored with
the label the actor added, and run).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from actors.admission_actor import AdmissionActor, Review, Verdict, deny, patch
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection
from bus.errors import ApiError

ALLOWED_REGISTRIES = ("busybox:", "registry.example.com/")


class ImagePolicy(AdmissionActor):
    """Every container image must come from an allowed place; admitted pods get a label."""

    def admit(self, review: Review) -> Verdict:
        pod = review.object or {}
        for container in pod.get("spec", {}).get("containers", []):
            image = str(container.get("image", ""))
            if not image.startswith(ALLOWED_REGISTRIES):
                return deny(f"image {image} is not from an allowed registry")
        operations = [] if pod["metadata"].get("labels") else [
            {"op": "add", "path": "/metadata/labels", "value": {}}]
        return patch(*operations, {"op": "add", "path": "/metadata/labels/image-policy",
                                   "value": "checked"})


def pod(name: str, image: str) -> dict[str, object]:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": name, "image": image}]}}


def main(data_dir: Path) -> None:
    cluster = Cluster.start(ClusterConfig(data_dir=data_dir, nodes=1, runtime="sim"))
    # It subscribes to kubeactor.admission.image-policy.images: its own to serve.
    connection = Connection(cluster.bus_of(cluster.credentials("image-policy")),
                            "image-policy").connect()
    actor = ImagePolicy.start(connection, "image-policy.images")
    try:
        client = cluster.admin_client()
        client.create("admissionregistrations", {
            "metadata": {"name": "image-policy"},
            "spec": {"subject": "image-policy.images", "operations": ["CREATE"],
                     "resources": ["pods"],
                     "timeoutSeconds": 5, "failurePolicy": "Fail", "mutating": True}}, None)
        try:
            client.create("pods", pod("untrusted", "evil.example.org/miner:1"))
        except ApiError as error:
            print(f"untrusted: refused ({error.code}): {error.message}")
        stored = client.create("pods", pod("trusted", "busybox:1.35"))
        print(f"trusted: created with labels {stored['metadata']['labels']}")
    finally:
        actor.stop()
        connection.close()
        cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
