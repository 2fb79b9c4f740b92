"""CertificateSigningRequests (``certificates.k8s.io/v1``): the object's rules and the signer's
decisions, as pure functions over dicts.

A user who wants a certificate makes a key pair where it will be used and sends only a signing
request (:func:`actors.api.certs.make_csr`) in a CSR object: ``spec.request`` (the PEM, base64 as in
Kubernetes' JSON), ``spec.signerName`` (here only ``kubernetes.io/kube-apiserver-client``:
client certificates the apiserver trusts), ``spec.usages`` and ``spec.expirationSeconds``. As
in Kubernetes:

- the apiserver sets ``spec.username``, ``spec.uid`` and ``spec.groups`` from whoever creates
  it (:func:`requested_by`), never from the body, and the spec never changes afterwards;
- an approver adds an ``Approved`` or ``Denied`` condition through the ``approval``
  subresource (:func:`prepare_update`); neither can be removed, and they exclude each other;
- the signer (``actors.controllers.csrsigning``) writes ``status.certificate`` through ``status``
  once the request is approved (:func:`awaits_signature`), for the identity the request's subject
  names (CN the user, each O a group): the approver, not the signer, is the guard, but neither the
  signer nor admission lets anyone have ``system:masters`` or be the HTTPS front
  (:func:`refused_identity`). A certificate once written never
  changes.

Neighbours: ``actors.api.validation`` (calls :func:`problems`), ``actors.api.resources``,
``actors.apiserver.registry`` (calls :func:`prepare_update`),
``actors.apiserver.admission.certificates`` (who may approve and sign),
``actors.controllers.csrsigning`` (the signer), ``actors.api.certs`` (the cryptography).
"""

from __future__ import annotations

import base64
import binascii
import copy
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from actors.api import certs
from actors.api.objects import Object
from bus.errors import BadRequest, Invalid

RESOURCE = "certificatesigningrequests"
GROUP = "certificates.k8s.io"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
"""The one signer here: client certificates of the cluster CA, which the apiserver trusts."""
CLIENT_USAGES = ("client auth", "digital signature", "key encipherment")
"""The usages the client signer allows (``client auth`` required), as Kubernetes'."""
MIN_EXPIRATION_SECONDS = 600
"""Shortest ``spec.expirationSeconds`` (Kubernetes' 10 minutes)."""
MAX_SECONDS = 365 * 86400
"""Longest certificate the signer issues (kube-controller-manager's
``--cluster-signing-duration`` default, one year); a longer request gets this."""
MASTERS = "system:masters"
"""The group no certificate of this signer may name: cluster-admin that no RBAC change revokes
(refused at create by CertificateSubjectRestriction, and by the signer)."""
FRONT = "system:kube-apiserver-https"
"""The HTTPS listener's user on the bus, which may forward any client's certificate
(``actors.apiserver.authn.Forwarding``), the admin's too: as good as ``system:masters``, so no
certificate of this signer may name it either (kube-apiserver keeps its front proxy's
certificates under a CA of their own)."""
APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
DECISIONS = (APPROVED, DENIED)
"""Conditions only the ``approval`` subresource sets, and nothing removes."""


def encode(pem: bytes) -> str:
    """PEM bytes as they travel in a JSON body (base64, as Kubernetes' ``[]byte`` fields)."""
    return base64.b64encode(pem).decode()


def decode(data: Any) -> bytes:
    """Inverse of :func:`encode`; ValueError when ``data`` is not base64 text."""
    if not isinstance(data, str):
        raise ValueError("must be base64-encoded PEM")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ValueError("must be base64-encoded PEM") from None


def signing_request(name: str, pem: bytes) -> Object:
    """A CSR object asking the client signer to sign ``pem`` for client authentication
    (``generateName`` when ``name`` ends with ``-``)."""
    metadata = {"generateName": name} if name.endswith("-") else {"name": name}
    return {"apiVersion": f"{GROUP}/v1", "kind": "CertificateSigningRequest",
            "metadata": metadata, "spec": {"request": encode(pem), "signerName": CLIENT_SIGNER,
                                           "usages": ["digital signature", "client auth"]}}


def requested_by(csr: Object, username: str, uid: str, groups: tuple[str, ...]) -> None:
    """Kubernetes' PrepareForCreate (in place): the requester is who sent the create, whatever
    the body says, and the status starts empty."""
    spec = csr.get("spec")
    if isinstance(spec, dict):
        spec.pop("extra", None)
        spec.update(username=username, uid=uid, groups=list(groups))
    csr["status"] = {}


def refused_identity(identity: certs.Identity) -> tuple[str, str] | None:
    """What of ``identity`` no certificate of the client signer may name, as ``("group",
    "system:masters")`` or ``("user", "system:kube-apiserver-https")``; None when nothing."""
    if MASTERS in identity.groups:
        return "group", MASTERS
    return ("user", FRONT) if identity.user == FRONT else None


def requested_identity(csr: Object) -> certs.Identity | None:
    """Who the request asks to be (its subject), or None when it cannot be read."""
    try:
        return certs.read_csr(decode((csr.get("spec") or {}).get("request")))[1]
    except (BadRequest, ValueError):
        return None


# -- conditions ---------------------------------------------------------------------------------


def conditions(csr: Object) -> list[Object]:
    found = (csr.get("status") or {}).get("conditions") or []
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def has_condition(csr: Object, kind: str) -> bool:
    return any(c.get("type") == kind for c in conditions(csr))


def decided(csr: Object, kind: str, reason: str, message: str) -> Object:
    """``csr`` (a copy) with the decision ``kind`` (Approved or Denied) added, as ``kubectl
    certificate approve|deny`` sends it to ``approval``."""
    changed = copy.deepcopy(csr)
    changed.setdefault("status", {}).setdefault("conditions", []).append(
        {"type": kind, "status": "True", "reason": reason, "message": message})
    return changed


def condition_word(csr: Object) -> str:
    """kubectl's CONDITION column: ``Pending``, ``Approved``, ``Denied``, then ``,Failed``
    and ``,Issued``."""
    word = ("Denied" if has_condition(csr, DENIED) else
            "Approved" if has_condition(csr, APPROVED) else "Pending")
    if has_condition(csr, FAILED):
        word += ",Failed"
    if (csr.get("status") or {}).get("certificate"):
        word += ",Issued"
    return word


# -- validation ---------------------------------------------------------------------------------


def problems(csr: Object) -> list[str]:
    """Every problem of a CSR, in kube-apiserver's words (shape, request, signer, usages,
    conditions, certificate)."""
    spec = csr.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    found = _request_problems(spec.get("request"))
    signer = spec.get("signerName")
    if not signer:
        found.append("spec.signerName: Required value")
    elif signer != CLIENT_SIGNER:
        found.append(f'spec.signerName: Unsupported value: "{signer}": supported values: '
                     f'"{CLIENT_SIGNER}"')
    found += _usage_problems(spec.get("usages"))
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)
                                or seconds < MIN_EXPIRATION_SECONDS):
        found.append(f"spec.expirationSeconds: Invalid value: {seconds!r}: may not specify a "
                     f"duration less than {MIN_EXPIRATION_SECONDS} seconds (10 minutes)")
    return found + _status_problems(csr)


def _request_problems(request: Any) -> list[str]:
    if not request:
        return ["spec.request: Required value"]
    try:
        certs.read_csr(decode(request))
    except ValueError as error:
        return [f"spec.request: Invalid value: {error}"]
    except BadRequest as error:
        return [f'spec.request: Invalid value: "<request data>": {error.message}']
    return []


def _usage_problems(usages: Any) -> list[str]:
    if not isinstance(usages, list) or not usages:
        return ["spec.usages: Required value: a list of key usages"]
    supported = ", ".join(f'"{u}"' for u in CLIENT_USAGES)
    found = [f"spec.usages[{i}]: Unsupported value: {usage!r}: supported values: {supported}"
             for i, usage in enumerate(usages) if usage not in CLIENT_USAGES]
    if "client auth" not in usages:
        found.append(f'spec.usages: Invalid value: {usages}: the signer "{CLIENT_SIGNER}" '
                     'requires "client auth"')
    return found


def _status_problems(csr: Object) -> list[str]:
    status = csr.get("status") or {}
    if not isinstance(status, dict):
        return ["status: Invalid value: must be a map"]
    raw = status.get("conditions") or []
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        return ["status.conditions: Invalid value: must be a list of conditions"]
    found, seen = [], set()
    for i, cond in enumerate(raw):
        kind, value = cond.get("type"), cond.get("status")
        if not isinstance(kind, str) or not kind:
            found.append(f"status.conditions[{i}].type: Required value")
        elif kind in (*DECISIONS, FAILED) and value != "True":
            found.append(f'status.conditions[{i}].status: Unsupported value: "{value}": '
                         'supported values: "True"')
        elif value not in ("True", "False", "Unknown"):
            found.append(f'status.conditions[{i}].status: Unsupported value: "{value}": '
                         'supported values: "False", "True", "Unknown"')
        if kind in (*DECISIONS, FAILED) and kind in seen:
            found.append(f'status.conditions[{i}].type: Duplicate value: "{kind}"')
        seen.add(kind)
    if {APPROVED, DENIED} <= seen:
        found.append("status.conditions: Invalid value: Approved and Denied conditions are "
                     "mutually exclusive")
    if status.get("certificate"):
        found += _certificate_problems(status["certificate"], seen)
    return found


def _certificate_problems(certificate: Any, kinds: set[Any]) -> list[str]:
    try:
        certs.load_cert(decode(certificate))
    except ValueError as error:
        return [f'status.certificate: Invalid value: "<certificate data>": {error}']
    if APPROVED not in kinds:
        return ['status.certificate: Invalid value: "<certificate data>": certificate '
                "issuance requires an Approved condition"]
    return [f'status.certificate: Invalid value: "<certificate data>": certificate issuance '
            f"not allowed with a {kind} condition" for kind in (DENIED, FAILED) if kind in kinds]


# -- updates ------------------------------------------------------------------------------------


def prepare_update(subresource: str | None, body: Object, new: Object, old: Object) -> None:
    """Kubernetes' update strategies of CSRs, applied (in place) to ``new``, the generic
    update of ``old`` by ``body``: the spec never changes; only ``approval`` sets the
    decisions (from ``body``) and only ``status`` the rest of the status; no decision is ever
    removed and a certificate never changes (Invalid)."""
    new["spec"] = copy.deepcopy(old.get("spec"))
    before = old.get("status") or {}
    if subresource == "approval":
        sent = (body.get("status") or {}).get("conditions") if isinstance(
            body.get("status"), dict) else None
        new["status"] = {**copy.deepcopy(before), "conditions": copy.deepcopy(sent or [])}
    elif subresource == "status" and isinstance(new.get("status"), dict):
        new["status"]["conditions"] = [
            *(c for c in conditions(old) if c.get("type") in DECISIONS),
            *(c for c in conditions(new) if c.get("type") not in DECISIONS)]
    else:
        new["status"] = copy.deepcopy(before)
    _stamp(new, old)
    name = old["metadata"]["name"]
    errors = [f'status.conditions: Forbidden: updates may not remove a condition of type "{k}"'
              for k in DECISIONS if has_condition(old, k) and not has_condition(new, k)]
    if before.get("certificate") and new["status"].get("certificate") != before["certificate"]:
        errors.append("status.certificate: Forbidden: updates may not modify existing "
                      "certificate content")
    if errors:
        raise Invalid(f'CertificateSigningRequest "{name}" is invalid: '
                      + ", ".join(errors), details={"name": name, "kind": RESOURCE,
                                                    "causes": errors})


def _stamp(new: Object, old: Object) -> None:
    """Kubernetes' populateConditionTimestamps: a condition gets ``lastUpdateTime`` now unless
    it is unchanged, and ``lastTransitionTime`` now when its status changed."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = {c.get("type"): c for c in conditions(old)}
    for cond in conditions(new):
        previous = before.get(cond.get("type"))
        if previous == cond:
            continue
        cond.setdefault("lastUpdateTime", now)
        if previous is not None and previous.get("status") == cond.get("status"):
            cond.setdefault("lastTransitionTime", previous.get("lastTransitionTime", now))
        else:
            cond.setdefault("lastTransitionTime", now)


# -- the signer ---------------------------------------------------------------------------------


def awaits_signature(csr: Object) -> bool:
    """Whether the client signer owes ``csr`` a certificate: approved, neither denied nor
    failed, not issued yet."""
    return ((csr.get("spec") or {}).get("signerName") == CLIENT_SIGNER
            and has_condition(csr, APPROVED) and not has_condition(csr, DENIED)
            and not has_condition(csr, FAILED)
            and not (csr.get("status") or {}).get("certificate"))


def sign(csr: Object, ca_key: certs.PrivateKey, ca: x509.Certificate,
         max_seconds: int = MAX_SECONDS) -> Object:
    """``csr`` (a copy) with its certificate in the status, valid for ``expirationSeconds``
    (at most ``max_seconds``); or, when the request cannot be signed, with a ``Failed``
    condition saying why (reason ``SignerValidationFailure``, as Kubernetes' signer)."""
    signed = copy.deepcopy(csr)
    spec, status = signed["spec"], signed.setdefault("status", {})
    seconds = min(int(spec.get("expirationSeconds") or max_seconds), max_seconds)
    try:
        pem = decode(spec.get("request"))
        if refused := refused_identity(certs.read_csr(pem)[1]):
            raise ValueError(f"the signer {CLIENT_SIGNER} does not sign for the "
                             f"{' '.join(refused)}")
        status["certificate"] = encode(certs.sign_csr(ca_key, ca, pem, days=seconds / 86400))
    except (BadRequest, ValueError) as error:
        status.setdefault("conditions", []).append({
            "type": FAILED, "status": "True", "reason": "SignerValidationFailure",
            "message": str(getattr(error, "message", error))})
    return signed
