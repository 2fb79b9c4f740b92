"""The cluster's credentials on disk (bindings/cluster/pki.py): secret files of mode 0600 in a
directory of mode 0700, and a CA made once."""

from __future__ import annotations

import stat
from pathlib import Path

from actors.api import certs
from bindings.cluster.pki import ensure_pki


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_key_is_private_and_the_ca_is_made_once(tmp_path: Path):
    pki = tmp_path / "pki"
    first = ensure_pki(pki)
    first.kept(pki / "admin", "admin", "system:masters")
    assert mode(pki) == 0o700
    keys = sorted(p.name for p in pki.iterdir() if p.suffix != ".crt")
    assert keys == ["admin.key", "ca.key", "sa.key", "ticket.key"]
    assert {name: mode(pki / name) for name in keys} == dict.fromkeys(keys, 0o600)
    again = ensure_pki(pki)
    assert certs.cert_pem(again.ca) == certs.cert_pem(first.ca)
    assert certs.key_pem(again.ca_key) == certs.key_pem(first.ca_key)
    assert again.ticket_key == first.ticket_key
    assert again.service_account_key.private_numbers() == \
        first.service_account_key.private_numbers()
    _, cert = again.kept(pki / "admin", "admin", "system:masters")
    assert certs.verify(cert, first.ca, cert.not_valid_before_utc) == certs.Identity(
        "admin", ("system:masters",))


def test_a_pki_directory_made_open_by_someone_else_is_closed(tmp_path: Path):
    pki = tmp_path / "pki"
    pki.mkdir(mode=0o755)
    pki.chmod(0o755)
    ensure_pki(pki)
    assert mode(pki) == 0o700
    assert mode(pki / "ca.key") == mode(pki / "ticket.key") == 0o600
