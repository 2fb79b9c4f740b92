"""Credentials on disk: the cluster CA, the key sealing session tickets and the key signing
service account tokens (``DATA_DIR/pki/sa.key``, ECDSA P-256 as kubeadm's ``sa.key``), in
files of mode 0600 where they are secret.

Neighbours: ``actors.api.certs`` (the cryptography), ``bindings.cluster.launcher`` (which starts the
apiserver with a :class:`Pki`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography import x509

from actors.api import certs, tokens
from actors.apiserver import Handshaker
from bus.server import NatsTls


def private_file(path: Path, binary: bool = False) -> IO[Any]:
    """Open ``path`` for writing, created with mode 0600 (it holds credentials)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", newline="")


@dataclass(frozen=True)
class Pki:
    """The cluster CA, the key sealing session tickets and the service account key, kept in
    ``DATA_DIR/pki``."""

    ca_key: certs.PrivateKey
    ca: x509.Certificate
    ticket_key: bytes
    service_account_key: tokens.SigningKey

    def issue(self, user: str, groups: str) -> tuple[certs.PrivateKey, x509.Certificate]:
        """A new key and its client certificate for ``user`` in the comma-separated
        ``groups``."""
        key = certs.new_key()
        identity = certs.Identity(user, tuple(group for group in groups.split(",") if group))
        return key, certs.issue(self.ca_key, self.ca, key.public_key(), identity)

    def kept(self, path: Path, user: str, groups: str
             ) -> tuple[certs.PrivateKey, x509.Certificate]:
        """The key and certificate stored at ``path``.key/.crt, issued and stored the first
        time (the admin's, so that its kubeconfig stays the same across restarts)."""
        key_file, cert_file = path.with_suffix(".key"), path.with_suffix(".crt")
        if not key_file.exists():
            key, cert = self.issue(user, groups)
            cert_file.write_bytes(certs.cert_pem(cert))
            _write_private(key_file, certs.key_pem(key))
        return certs.load_key(key_file.read_bytes()), certs.load_cert(cert_file.read_bytes())

    def serving(self, path: Path, hosts: tuple[str, ...], user: str = "kube-apiserver",
                peer: bool = False) -> tuple[Path, Path]:
        """A new key and serving certificate of ``user`` naming ``hosts`` (the listen address,
        ``localhost``, ``127.0.0.1``, as kube-apiserver's), for both ends of a connection with
        ``peer``, written to ``path``.crt/.key (which TLS loads from files); returns those two
        paths."""
        key = certs.new_key()
        cert = certs.issue(self.ca_key, self.ca, key.public_key(), certs.Identity(user),
                           server=True, hosts=hosts, peer=peer)
        cert_file, key_file = path.with_suffix(".crt"), path.with_suffix(".key")
        cert_file.write_bytes(certs.cert_pem(cert))
        _write_private(key_file, certs.key_pem(key))
        return cert_file, key_file

    def bus_tls(self, directory: Path, hosts: tuple[str, ...]) -> NatsTls:
        """The TLS files of a nats-server of this cluster reached at ``hosts``, written to
        ``directory`` (``tls.crt``, ``tls.key`` and the CA's ``ca.crt``): a certificate of
        this CA good for both ends of a route, made now."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = self.serving(directory / "tls", hosts, user="nats-server",
                                           peer=True)
        ca_file = directory / "ca.crt"
        ca_file.write_bytes(certs.cert_pem(self.ca))
        return NatsTls(cert_file, key_file, ca_file)

    def handshaker(self) -> Handshaker:
        """The apiserver's side of the handshake, with a server certificate made now."""
        key = certs.new_key()
        cert = certs.issue(self.ca_key, self.ca, key.public_key(),
                           certs.Identity("kube-apiserver"), server=True)
        return Handshaker(self.ca, cert, key, self.ticket_key)


def ensure_pki(path: Path) -> Pki:
    """The cluster CA (made on first start; the keys in files of mode 0600, in a directory
    of mode 0700 however it was made)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    ca_key, ca_cert, tickets = path / "ca.key", path / "ca.crt", path / "ticket.key"
    if not ca_key.exists():
        key, cert = certs.new_ca()
        _write_private(tickets, os.urandom(32))
        ca_cert.write_bytes(certs.cert_pem(cert))
        _write_private(ca_key, certs.key_pem(key))  # last: its presence means all are there
    sa_key = path / "sa.key"
    if not sa_key.exists():  # also in a data dir made before service accounts
        _write_private(sa_key, tokens.key_pem(tokens.new_key()))
    return Pki(certs.load_key(ca_key.read_bytes()), certs.load_cert(ca_cert.read_bytes()),
               tickets.read_bytes(), tokens.load_key(sa_key.read_bytes()))


def _write_private(path: Path, data: bytes) -> None:
    with private_file(path, binary=True) as handle:
        handle.write(data)
