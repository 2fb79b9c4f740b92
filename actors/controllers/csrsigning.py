"""The CSR signer: approved CertificateSigningRequests get their certificate.

Kubernetes' csrsigning controller for the ``kubernetes.io/kube-apiserver-client`` signer. It
runs beside the apiserver, in the process that holds the cluster CA's key, follows the CSRs
with an informer, and for each one that :func:`actors.api.certificates.awaits_signature` signs the
request's public key for the identity its subject names and writes the certificate through
``certificatesigningrequests/status`` (a precondition on the version it read: two signers of
two apiserver processes never both write; the loser finds it issued). A request it cannot
sign gets a ``Failed`` condition. Only the signing request ever reaches it; the key stays
with the requester.

Identity: ``system:controller:certificate-controller`` (``bootstrappolicy.CSR_SIGNER``),
allowed to read CSRs, update their status and ``sign`` for this signer, nothing else.

Neighbours: ``actors.controllers.controller`` (base), ``actors.api.certificates`` (the decisions),
``bindings.cluster.launcher`` (starts it with the CA of ``DATA_DIR/pki``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography import x509

from actors.api import certificates, certs
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignerConfig:
    ca_key: certs.PrivateKey
    """The cluster CA's key (``DATA_DIR/pki/ca.key``)."""
    ca: x509.Certificate
    max_seconds: int = certificates.MAX_SECONDS
    """Longest validity issued, whatever ``spec.expirationSeconds`` asks (one year, as
    kube-controller-manager's ``--cluster-signing-duration``)."""


class CSRSigningController(Controller):
    """See the module docstring."""

    component = "csrsigning-controller"
    resources = (certificates.RESOURCE,)

    def __init__(self, connection: Connection, client: Client, signer: SignerConfig,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.signer = signer

    def reconcile(self, key: Key) -> float | None:
        csr = self.cached(key)
        if csr is None or not certificates.awaits_signature(csr):
            return None
        signed = certificates.sign(csr, self.signer.ca_key, self.signer.ca,
                                   self.signer.max_seconds)
        stored = self.remember(self.client.update(certificates.RESOURCE, signed,
                                                  subresource="status"))
        log.info("certificatesigningrequest %s: %s", key.name,
                 certificates.condition_word(stored))
        return None
