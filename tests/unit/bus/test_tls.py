"""Which NATS URLs are TLS (bus.connection.tls_options): ``tls://`` ones, from the first byte,
checked against the given CA; a mix with plaintext servers is refused."""

from __future__ import annotations

import ssl

import pytest

from actors.api import certs
from bus.config import tls_options
from bus.errors import BusError


def test_a_nats_url_is_plaintext_and_a_tls_url_is_tls_first_against_the_ca():
    assert tls_options("nats://h:1,nats://h:2", certs.cert_pem(certs.new_ca()[1])) == {}
    options = tls_options("tls://h:1, tls://h:2", certs.cert_pem(certs.new_ca()[1]))
    context = options["tls"]
    assert options["tls_handshake_first"] is True
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [ca["subject"] for ca in context.get_ca_certs()] == [
        ((("commonName", "kubeactor-ca"),),)]


def test_tls_and_plaintext_servers_are_never_mixed():
    with pytest.raises(BusError, match="mix tls:// and plaintext"):
        tls_options("tls://h:1,nats://h:2", None)
