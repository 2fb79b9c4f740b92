"""The NATS users of a cluster: their passwords, kept beside the cluster CA
(``DATA_DIR/pki/nats-users.json``, mode 0600), and the locked-down bus they make.

The embedded nats-server is started with these users and the permissions ``bus.permissions``
gives each; the components connect as theirs, and a kubeconfig carries its user's password
(``bindings.kubeconfig``). :func:`add_user` gives a new node its NATS user and reloads a running
nats-server (``kubeactor node-kubeconfig``).

Neighbours: ``bindings.cluster`` (starts the bus with them), ``bindings.pki`` (the CA beside).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path

from bindings.pki import private_file
from bus.permissions import authorization
from bus.server import reload_authorization
from bus.subjects import ANONYMOUS, Subjects

FILE = "nats-users.json"
"""The passwords' file, in the cluster's pki dir."""


def ensure_users(path: Path, users: Iterable[str]) -> dict[str, str]:
    """Every user of the file (name -> password), with those of ``users`` (and ``anonymous``)
    added when missing. The file is rewritten only when one was."""
    passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = {user for user in (*users, ANONYMOUS) if user not in passwords}
    if missing:
        passwords.update({user: secrets.token_hex(16) for user in sorted(missing)})
        partial = path.with_suffix(".partial")
        with private_file(partial) as handle:
            json.dump(passwords, handle, indent=1, sort_keys=True)
        partial.replace(path)
    return passwords


def add_user(pki: Path, nats_dir: Path, user: str, subjects: Subjects) -> str:
    """Give ``user`` a NATS user of the cluster whose CA is in ``pki`` and whose embedded
    nats-server keeps its files in ``nats_dir`` (reloaded when it runs); its password."""
    passwords = ensure_users(pki / FILE, [user])
    reload_authorization(nats_dir, authorization(passwords, subjects))
    return passwords[user]
