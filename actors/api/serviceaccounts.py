"""ServiceAccounts: who a pod is to the API, as Kubernetes' rules have it.

- An account is the user ``system:serviceaccount:<ns>:<name>`` in the groups
  ``system:serviceaccounts`` and ``system:serviceaccounts:<ns>`` (:func:`user`);
- a TokenRequest (``serviceaccounts/token``) asks for a token with audiences, a life and an
  object it is bound to (:func:`token_request`: its spec, defaulted and checked, in
  kube-apiserver's words), answered with the token (:func:`token_answer`);
- a pod gets the account ``default`` unless it names one, and, unless
  ``automountServiceAccountToken`` is false (the pod's, else the account's), the projected
  volume ``kube-api-access-<random>`` mounted at :data:`MOUNT_PATH` in every container: the
  token, the cluster CA from the ``kube-root-ca.crt`` ConfigMap and the namespace
  (:func:`mount_api_access`, the ServiceAccount admission plugin's mutation);
- every namespace holds the ``default`` account and the ``kube-root-ca.crt`` ConfigMap
  (:func:`default_account`, :func:`root_ca_configmap`, made by their controllers).

Pure functions over plain dicts. Neighbours: ``actors.api.tokens`` (the JWTs),
``actors.apiserver.admission.serviceaccount`` (the plugin), ``actors.controllers.serviceaccounts``
(the controllers), ``actors.kubelet.volumes`` (writes the volume).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from actors.api import tokens
from actors.api.objects import Object
from actors.api.users import UserInfo
from bus.errors import BadRequest, Invalid

RESOURCE = "serviceaccounts"
DEFAULT = "default"
"""The account of a pod that names none; made in every namespace."""
GROUP = "system:serviceaccounts"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
VOLUME_PREFIX = "kube-api-access-"
DEFAULT_SECONDS = 3600
"""A TokenRequest's ``expirationSeconds`` when it gives none."""
MIN_SECONDS = 600
MAX_SECONDS = 2 ** 32
MOUNTED_SECONDS = 3607
"""The life of the token in the default volume (Kubernetes' 1 h plus 7 s, which marks it)."""
TOKEN_REQUEST = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest"}


def user(claims: tokens.Claims) -> UserInfo:
    """The user a token of ``claims`` authenticates as (``system:authenticated`` is the
    authenticator's to add)."""
    return UserInfo(tokens.username(claims.namespace, claims.name), claims.uid,
                    (GROUP, f"{GROUP}:{claims.namespace}"))


def token_request(body: Any, namespace: str) -> tuple[Object, tuple[str, ...], int]:
    """The spec of a TokenRequest, defaulted (audiences: the API's; 3600 s), its audiences
    and seconds; Invalid or BadRequest in kube-apiserver's words."""
    if not isinstance(body, dict) or not isinstance(body.get("spec", {}), dict):
        raise BadRequest("a TokenRequest body must be an object with a spec")
    spec = copy.deepcopy(body.get("spec") or {})
    audiences = spec.get("audiences") or list(tokens.API_AUDIENCES)
    seconds = spec.get("expirationSeconds", DEFAULT_SECONDS)
    problems = []
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        problems.append("spec.audiences: Invalid value: a list of non-empty strings")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        problems.append(f"spec.expirationSeconds: Invalid value: {seconds!r}: must be an integer")
    elif seconds < MIN_SECONDS:
        problems.append(f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a "
                        "duration less than 10 minutes")
    elif seconds > MAX_SECONDS:
        problems.append(f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a "
                        "duration larger than 2^32 seconds")
    if problems:
        raise Invalid("TokenRequest.authentication.k8s.io is invalid: " + ", ".join(problems),
                      details={"kind": "TokenRequest", "causes": problems})
    spec["audiences"], spec["expirationSeconds"] = audiences, seconds
    return spec, tuple(audiences), seconds


def bound_reference(spec: Object) -> tuple[str, str, str] | None:
    """The (kind, name, uid) a TokenRequest binds its token to, or None; BadRequest for a kind
    a token cannot be bound to."""
    ref = spec.get("boundObjectRef")
    if not ref:
        return None
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref["name"]:
        raise BadRequest("spec.boundObjectRef needs a kind and a name")
    kind, version = ref.get("kind"), ref.get("apiVersion", "v1")
    if kind not in ("Pod", "Secret") or version != "v1":
        raise BadRequest(f"cannot bind token to object of type {version}, Kind={kind}")
    return kind, ref["name"], str(ref.get("uid") or "")


def token_answer(name: str, namespace: str, spec: Object, token: str, expires: str) -> Object:
    """The TokenRequest answered: its spec and the token (``status.token``)."""
    return {**TOKEN_REQUEST, "metadata": {"name": name, "namespace": namespace},
            "spec": spec, "status": {"token": token, "expirationTimestamp": expires}}


def account_of(pod: Object) -> str:
    """The account a pod names (``serviceAccountName``, else the deprecated
    ``serviceAccount``), or ""."""
    spec = pod.get("spec") or {}
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "")


def automounts(pod: Object, account: Object) -> bool:
    """Whether ``pod`` gets the API access volume: its own ``automountServiceAccountToken``,
    else the account's, else yes."""
    own = (pod.get("spec") or {}).get("automountServiceAccountToken")
    return own if isinstance(own, bool) else account.get("automountServiceAccountToken") \
        is not False


def api_access_volume(name: str) -> Object:
    """The projected volume Kubernetes' admission plugin adds (token, CA, namespace)."""
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": MOUNTED_SECONDS, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP,
                       "items": [{"key": ROOT_CA_KEY, "path": ROOT_CA_KEY}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def mount_api_access(pod: Object, rand: random.Random | None = None) -> None:
    """Add the API access volume to ``pod`` and mount it read-only at :data:`MOUNT_PATH` in
    every container that mounts nothing there yet (none when every one does)."""
    spec = pod["spec"]
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    wanting = [c for c in containers if isinstance(c, dict) and not any(
        isinstance(m, dict) and m.get("mountPath") == MOUNT_PATH
        for m in c.get("volumeMounts") or [])]
    if not wanting:
        return
    taken = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    name = _volume_name(taken, rand or random.Random())
    spec["volumes"] = [*(spec.get("volumes") or []), api_access_volume(name)]
    for container in wanting:
        container["volumeMounts"] = [*(container.get("volumeMounts") or []), {
            "name": name, "readOnly": True, "mountPath": MOUNT_PATH}]


def _volume_name(taken: set[Any], rand: random.Random) -> str:
    """``kube-api-access-`` and five characters of Kubernetes' safe alphabet, not taken."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    while True:
        name = VOLUME_PREFIX + "".join(rand.choice(alphabet) for _ in range(5))
        if name not in taken:
            return name


def default_account(namespace: str) -> Object:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": DEFAULT, "namespace": namespace}}


def root_ca_configmap(namespace: str, ca_pem: str) -> Object:
    """The ConfigMap every namespace holds with the cluster CA (root-ca-cert-publisher's)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": namespace},
            "data": {ROOT_CA_KEY: ca_pem}}

