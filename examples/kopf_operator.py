"""A kopf operator against kubeactor, run as any kopf operator is run:

    kubectl --kubeconfig DATA_DIR/kubeconfig apply -f examples/manifests/greeting-crd.yaml
    KUBECONFIG=DATA_DIR/kubeconfig kopf run --standalone examples/kopf_operator.py

kopf (https://kopf.readthedocs.io) logs in with the kubeconfig ``kubeactor up`` wrote (its
``kubernetes`` client login handler: the cluster CA and the admin's client certificate) and
talks to kubeactor's HTTPS API alone: it lists and watches Greetings, patches their finalizers,
annotations and status (merge patches), and posts core/v1 Events about them. Each Greeting
(``spec.name``, ``spec.greeting`` defaulted by the CRD's schema to ``Hello``) becomes a
ConfigMap of the same name holding ``message: "<greeting>, <name>!"``, owned by the Greeting (so
the garbage collector deletes it with it); the handler's outcome lands in the Greeting's status
(``status.phase``, and kopf's own ``status.reconcile``) and in an Event. kopf holds each
Greeting with its finalizer, so that :func:`farewell` runs before it goes.
"""

from __future__ import annotations

from typing import Any

import kopf
import kubernetes

GROUP, VERSION, PLURAL = "demo.kubeactor.io", "v1", "greetings"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """No peering (``--standalone``), and the kubernetes client loaded from KUBECONFIG."""
    settings.peering.standalone = True
    kubernetes.config.load_kube_config()


def config_map(body: kopf.Body) -> dict[str, Any]:
    """The ConfigMap a Greeting asks for, owned by it."""
    spec = body["spec"]
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": body["metadata"]["name"]},
           "data": {"message": f"{spec['greeting']}, {spec['name']}!"}}
    kopf.adopt(obj, owner=body)
    return obj


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
def reconcile(body: kopf.Body, namespace: str, patch: kopf.Patch, **_: Any) -> dict[str, str]:
    """Create or replace the Greeting's ConfigMap; say so in its status."""
    core = kubernetes.client.CoreV1Api()
    wanted = config_map(body)
    name = wanted["metadata"]["name"]
    try:
        core.replace_namespaced_config_map(name, namespace, wanted)
    except kubernetes.client.ApiException as error:
        if error.status != 404:
            raise
        core.create_namespaced_config_map(namespace, wanted)
    patch.status["phase"] = "Ready"
    kopf.info(body, reason="Reconciled", message=f"ConfigMap {name} says "
              f"{wanted['data']['message']!r}")
    return {"configMap": name}


@kopf.on.delete(GROUP, VERSION, PLURAL)
def farewell(body: kopf.Body, **_: Any) -> None:
    """Say goodbye before the Greeting goes (kopf holds it with its finalizer until this
    handler has run; its ConfigMap then goes with it)."""
    kopf.info(body, reason="Deleted", message=f"goodbye, {body['spec']['name']}")
