"""Admission of CertificateSigningRequests: who may approve, who may sign, what may be asked.

Kubernetes' three plugins, validating, after RBAC let the request through:

- :class:`CertificateApproval`: an update of ``certificatesigningrequests/approval`` also needs
  the verb ``approve`` on the ``signers`` resource (group ``certificates.k8s.io``) named by the
  request's ``spec.signerName`` (or ``<domain>/*``). Updating the ``approval`` subresource is
  not enough: a user who may create requests does not approve their own.
- :class:`CertificateSigning`: a ``status`` update that writes or changes
  ``status.certificate`` needs ``sign`` on that signer.
- :class:`CertificateSubjectRestriction`: a request to the client signer may not ask for the
  group ``system:masters`` (cluster-admin through a certificate no RBAC binding revokes), nor
  for the HTTPS front's user (which may forward anyone's certificate).

Neighbours: ``actors.api.certificates`` (the object's rules), ``rbac`` (the :class:`Authorizer`),
``admission`` (the chain).
"""

from __future__ import annotations

from actors.api import certificates
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.rbac import Attributes, Authorizer


def may_use_signer(authorizer: Authorizer, user: UserInfo, verb: str, signer: str) -> bool:
    """Kubernetes' isAuthorizedForSignerName: ``verb`` on ``signers`` named ``signer``, or
    named ``<its domain>/*``."""
    names = (signer, f"{signer.partition('/')[0]}/*")
    return any(authorizer.allowed(Attributes(user, verb, group=certificates.GROUP,
                                             resource="signers", name=name)) for name in names)


def _signer(request: AdmissionRequest) -> str:
    csr = request.old_object or request.object or {}
    return str((csr.get("spec") or {}).get("signerName", ""))


class CertificateApproval:
    """``approve`` on the signer for every update of ``approval``."""

    name = "CertificateApproval"

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    def validate(self, request: AdmissionRequest) -> None:
        if request.info.name != certificates.RESOURCE or request.subresource != "approval":
            return
        signer = _signer(request)
        if not may_use_signer(self._authorizer, request.user, "approve", signer):
            raise request.forbidden(f'user not permitted to approve requests with signerName '
                                    f'"{signer}"')


class CertificateSigning:
    """``sign`` on the signer for a ``status`` update that changes the certificate."""

    name = "CertificateSigning"

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    def validate(self, request: AdmissionRequest) -> None:
        if request.info.name != certificates.RESOURCE or request.subresource != "status":
            return
        issued = ((request.object or {}).get("status") or {}).get("certificate")
        if issued == ((request.old_object or {}).get("status") or {}).get("certificate"):
            return
        signer = _signer(request)
        if not may_use_signer(self._authorizer, request.user, "sign", signer):
            raise request.forbidden(f'user not permitted to sign requests with signerName '
                                    f'"{signer}"')


class CertificateSubjectRestriction:
    """No ``system:masters``, nor the HTTPS front's user, in a request to the client
    signer."""

    name = "CertificateSubjectRestriction"

    def validate(self, request: AdmissionRequest) -> None:
        csr = request.object
        if (request.info.name != certificates.RESOURCE or request.operation != "CREATE"
                or csr is None or _signer(request) != certificates.CLIENT_SIGNER):
            return
        identity = certificates.requested_identity(csr)  # None: validation reports it (422)
        refused = certificates.refused_identity(identity) if identity is not None else None
        if refused is not None:  # in Kubernetes' words: "with system:masters group"
            kind, name = refused
            raise request.forbidden(f"use of {certificates.CLIENT_SIGNER} signer with "
                                    f"{name} {kind} is not allowed")
