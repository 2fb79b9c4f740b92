"""Where and as whom a component connects, and over what: :class:`BusConfig`, and the TLS
options of its URLs (:func:`tls_options`).

A ``tls://`` URL means TLS from the first byte (nats-server's ``handshake_first``): the
server's certificate is checked against ``BusConfig.ca`` (else the system's CAs) and its
address before any credential is sent, and no server can talk the client down to plaintext.

Neighbours: ``bus.connection`` (connects with them), ``bindings.kubeconfig`` (where a client's
come from).

Which thread: any.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from bus.errors import BusError

RECONNECT_WAIT = 0.5
"""Seconds nats-py waits between two attempts to reconnect to the same server."""
PING_INTERVAL = 1
"""Seconds between two pings of a connection to its server; with :data:`MAX_OUTSTANDING_PINGS`
it says how soon a server that went silent (its machine lost, no TCP reset) is given up for
another: within three seconds (nats-py's default, two minutes, took four)."""
MAX_OUTSTANDING_PINGS = 2
"""Pings a connection may have unanswered; at the next, the server is taken for lost."""
CLIENT_RECONNECT_WINDOW = 2.0
"""The reconnect window of a client a person waits on (the CLI, ``BusConfig.reconnect_window``):
four attempts at :data:`RECONNECT_WAIT` ride out a nats-server restarted in place or the
failover to another server of a NATS cluster, both well under a second; a bus that is gone fails
the command within kubectl's feel of ``Unable to connect`` (issue 19: within 5 s)."""


class _TlsEofNoise(logging.Filter):
    """Drops asyncio's warning that ``eof_received()`` returned true on a TLS connection: nats-py
    upgrades its stream to TLS under asyncio's plaintext protocol, so every TLS connection the
    server closes says it; noise, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received()" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_TlsEofNoise())


@dataclass(frozen=True, slots=True)
class BusConfig:
    """Where and as whom a component connects."""

    url: str = "nats://127.0.0.1:4222"
    """NATS server URL (several may be given comma-separated, as for a NATS cluster);
    ``tls://`` for TLS (:func:`tls_options`)."""
    ca: bytes | None = None
    """PEM of the CA that signs the NATS servers' certificates (the cluster CA for the
    embedded one); None: the system's CAs. Only ``tls://`` URLs use it."""
    prefix: str = "kubeactor"
    """Cluster subject prefix; every subject and inbox lives under it."""
    user: str | None = None
    """NATS user of this identity on a locked-down bus (``bus.permissions``): a control plane
    user's name (with ``password``), the certificate's user (with ``certificate``) or the
    token's (with ``token``); its inbox and watch subjects are named by it. None: none (an
    open bus; a locked-down one refuses the connection)."""
    password: str | None = field(default=None, repr=False)
    """The NATS user's password. Never logged, never in a trace."""
    certificate: bytes | None = None
    """DER client certificate of the cluster CA, shown to the auth callout (``bus.callout``)
    with a signature of ``key`` over the server's nonce to this connection."""
    key: ed25519.Ed25519PrivateKey | None = field(default=None, repr=False)
    """The certificate's key; it signs, and never travels."""
    token: str | None = field(default=None, repr=False)
    """A static bearer token of user ``user``, shown to the auth callout as the NATS password.
    Never logged."""
    request_timeout: float = 10.0
    """Seconds a request waits for its reply. Generous: the store commits durably first."""
    pending_limit: int = 65536
    """Messages a subscription may hold before NATS reports slow-consumer; bounds memory."""
    reconnect_window: float | None = None
    """Seconds a connection that lost its server keeps trying to get one back before it gives
    up for good (then it closes, and every request fails at once with ``ConnectionLost``).
    None, the default: for ever, as the control plane must (an apiserver, kubelet, scheduler or
    controller outlives any restart of the bus and carries on). Clients a person waits on (the
    CLI) fail fast instead, with :data:`CLIENT_RECONNECT_WINDOW`."""


def tls_options(url: str, ca: bytes | None) -> dict[str, Any]:
    """nats-py's connect options for the servers of ``url`` (comma-separated): for ``tls://``
    ones, TLS from the first byte, verifying the server's certificate against ``ca`` (PEM;
    None: the system's CAs) and its address; none for ``nats://`` ones (plaintext). A mix is
    refused: one plaintext server would expose every credential."""
    schemes = {server.strip().partition("://")[0] for server in url.split(",")}
    if "tls" not in schemes:
        return {}
    if schemes != {"tls"}:
        raise BusError(f"NATS URLs {url!r} mix tls:// and plaintext servers: make them all "
                       "tls://")
    context = ssl.create_default_context(cadata=ca.decode() if ca else None)
    return {"tls": context, "tls_handshake_first": True}
