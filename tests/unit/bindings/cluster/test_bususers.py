"""The NATS users of a cluster (bindings/cluster/bususers.py): the control plane's passwords and the
auth callout's issuer key, made once and kept in private files."""

from __future__ import annotations

from bindings.cluster import bususers
from bus.nkeys import ACCOUNT


def test_passwords_are_made_once_and_kept_private(tmp_path):
    path = tmp_path / bususers.FILE
    first = bususers.ensure_users(path, ["admin", "apiserver"])
    assert set(first) == {"admin", "apiserver"}
    assert len(set(first.values())) == 2
    assert path.stat().st_mode & 0o777 == 0o600
    assert bususers.ensure_users(path, ["admin"]) == first
    assert bususers.ensure_users(path, ["system:node:n9"]) == {
        **first, "system:node:n9": bususers.ensure_users(path, [])["system:node:n9"]}


def test_the_callout_issuer_is_an_account_key_made_once_and_kept_private(tmp_path):
    issuer = bususers.ensure_issuer(tmp_path)
    assert issuer.prefix == ACCOUNT and issuer.public.startswith("A")
    assert bususers.ensure_issuer(tmp_path).seed == issuer.seed
    assert (tmp_path / bususers.ISSUER_FILE).stat().st_mode & 0o777 == 0o600
