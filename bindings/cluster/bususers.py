"""The NATS users of a cluster: the control plane's passwords, kept beside the cluster CA
(``DATA_DIR/pki/nats-users.json``, mode 0600), the auth callout's issuer key
(``DATA_DIR/pki/nats-issuer.nk``, mode 0600), and the locked-down bus they make.

The embedded nats-server is started with these users and the permissions ``bus.permissions``
gives each, and hands every other connection to the auth callout, which the apiservers answer
(``actors.apiserver.busauth``) with a user JWT signed by the issuer key: apiserver processes of
one cluster share it as they share the CA. The components connect as theirs, and the admin's
kubeconfig carries its user's password (``bindings.kubeconfig``); everyone else connects with
the certificate or the token of their kubeconfig.

Neighbours: ``bindings.cluster.launcher`` (starts the bus with them), ``bindings.cluster.pki`` (the
CA beside).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path

from bindings.cluster.pki import private_file
from bus.nkeys import ACCOUNT, KeyPair

FILE = "nats-users.json"
"""The passwords' file, in the cluster's pki dir."""
ISSUER_FILE = "nats-issuer.nk"
"""The auth callout's issuer seed (an account nkey), in the cluster's pki dir."""


def ensure_issuer(pki: Path) -> KeyPair:
    """The auth callout's issuer key of the cluster whose CA is in ``pki``, made the first
    time."""
    path = pki / ISSUER_FILE
    if not path.exists():
        partial = path.with_suffix(".partial")
        with private_file(partial) as handle:
            handle.write(KeyPair.generate(ACCOUNT).seed)
        partial.replace(path)
    return KeyPair.from_seed(path.read_text())


def ensure_users(path: Path, users: Iterable[str]) -> dict[str, str]:
    """Every user of the file (name -> password), with those of ``users`` added when
    missing. The file is rewritten only when one was."""
    passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = {user for user in users if user not in passwords}
    if missing:
        passwords.update({user: secrets.token_hex(16) for user in sorted(missing)})
        partial = path.with_suffix(".partial")
        with private_file(partial) as handle:
            json.dump(passwords, handle, indent=1, sort_keys=True)
        partial.replace(path)
    return passwords
