"""The admin's exempt lane carries every request of the admin's, its certificate handshake
too (attack, s8-fair)."""

from __future__ import annotations

import concurrent.futures
from types import SimpleNamespace
from typing import Any

import pytest

from actors.api import certs
from actors.apiserver.requests import ApiServerConfig
from actors.apiserver.server import ApiServer
from actors.client.credentials import CertificateCredentials
from bus.config import BusConfig
from bus.envelope import Envelope
from bus.errors import ApiError, BusTimeout
from bus.faults import matches
from bus.subjects import EXEMPT_LANE, Subjects

SUBJECTS = Subjects()


class _Recording:
    """An admin's connection that records the subjects it sends requests on."""

    subjects = SUBJECTS
    config = BusConfig(user="admin")

    def __init__(self) -> None:
        self.sent: list[str] = []

    def request(self, subject: str, envelope: Envelope, timeout: float | None = None,
                mac_key: bytes | None = None) -> concurrent.futures.Future[Envelope]:
        self.sent.append(subject)
        failed: concurrent.futures.Future[Envelope] = concurrent.futures.Future()
        failed.set_exception(BusTimeout("recorded only"))
        return failed


def test_the_admins_certificate_handshake_is_served_by_the_lanes_worker():
    """Hole: the admin's kubeconfig holds a certificate, so every new admin process (each
    kubectl or kubeactor command) first opens a session on ``<prefix>.authn.hello``, which
    only the shared lane's workers serve: behind the flood, and not at all while a flood has
    nats-server close their connection as a slow consumer (tests/integration/test_bus_flood.py).
    The lane's worker alone must be able to answer it."""
    lane: Any = SimpleNamespace(
        config=ApiServerConfig(lanes=(EXEMPT_LANE,), serves_watches=False, bootstrap=False),
        subjects=SUBJECTS, handshaker=object())
    served = [subject for subject, _ in ApiServer.subscriptions(lane)]
    ca_key, ca = certs.new_ca()
    key = certs.new_key()
    cert = certs.issue(ca_key, ca, key.public_key(),
                       certs.Identity("admin", ("system:masters",)))
    connection = _Recording()
    with pytest.raises(ApiError):
        CertificateCredentials(cert, key, ca).prove(connection)  # type: ignore[arg-type]
    assert connection.sent, "no handshake sent"
    assert all(any(matches(pattern, subject) for pattern in served)
               for subject in connection.sent), (connection.sent, served)
