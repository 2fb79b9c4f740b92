"""The ServiceAccount admission plugin: every pod runs as an account that exists.

Mutating, on pod creation (mirror pods aside, as in Kubernetes): a pod naming no account gets
``default``; an account that does not exist is refused with kube-apiserver's 403 (``error
looking up service account NS/NAME: serviceaccount "NAME" not found``). The ``default``
account is made by a controller when its namespace appears, so, as Kubernetes' plugin, it is
looked up again a few times (:data:`LOOKUPS`, :data:`RETRY_SECONDS` apart: a :class:`Delay`,
the worker serves others meanwhile) before the pod is refused. Unless
``automountServiceAccountToken`` is false (the pod's, else the account's), the pod gets the
projected ``kube-api-access-<random>`` volume (token, CA, namespace) mounted in every container
(``actors.api.serviceaccounts.mount_api_access``).

Neighbours: ``chain`` (the chain, :class:`Delay`), ``actors.api.serviceaccounts`` (the rules),
``actors.controllers.serviceaccounts`` (makes the ``default`` accounts).
"""

from __future__ import annotations

import random

from actors.api import serviceaccounts
from actors.api.pods import MIRROR_ANNOTATION
from actors.apiserver.admission.chain import AdmissionRequest, Delay, ObjectAccess, Steps

LOOKUPS = 10
"""How often the ``default`` account is looked up before its pod is refused (Kubernetes'
numAttempts); any other account once."""
RETRY_SECONDS = 0.1


class ServiceAccount:
    """See the module docstring."""

    name = "ServiceAccount"

    def __init__(self, access: ObjectAccess, rand: random.Random | None = None) -> None:
        self._access = access
        self._rand = rand or random.Random()

    def admit(self, request: AdmissionRequest) -> Steps | None:
        pod = request.object or {}
        if (request.info.name != "pods" or request.operation != "CREATE" or request.subresource
                or not isinstance(pod.get("spec"), dict)
                or MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})):
            return None
        name = serviceaccounts.account_of(pod) or serviceaccounts.DEFAULT
        pod["spec"]["serviceAccountName"] = pod["spec"]["serviceAccount"] = name
        return self._mount(request, name)

    def _mount(self, request: AdmissionRequest, name: str) -> Steps:
        namespace = request.namespace or ""
        account = self._access.get(serviceaccounts.RESOURCE, namespace, name)
        for _ in range(LOOKUPS - 1 if name == serviceaccounts.DEFAULT else 0):
            if account is not None:
                break
            yield Delay(RETRY_SECONDS)
            account = self._access.get(serviceaccounts.RESOURCE, namespace, name)
        if account is None:
            raise request.forbidden(f"error looking up service account {namespace}/{name}: "
                                    f'serviceaccount "{name}" not found')
        pod = request.object or {}
        if serviceaccounts.automounts(pod, account):
            serviceaccounts.mount_api_access(pod, self._rand)
