"""The NATS users' passwords (bindings/bususers.py): made once, kept in a private file, and a
node added later gets its user without changing anyone else's."""

from __future__ import annotations

from bindings import bususers
from bus.subjects import ANONYMOUS, Subjects


def test_passwords_are_made_once_and_kept_private(tmp_path):
    path = tmp_path / bususers.FILE
    first = bususers.ensure_users(path, ["admin", "apiserver"])
    assert set(first) == {"admin", "apiserver", ANONYMOUS}
    assert len(set(first.values())) == 3
    assert path.stat().st_mode & 0o777 == 0o600
    assert bususers.ensure_users(path, ["admin"]) == first


def test_a_node_added_later_gets_a_user_and_the_server_configuration_names_it(tmp_path):
    first = bususers.ensure_users(tmp_path / bususers.FILE, ["admin"])
    password = bususers.add_user(tmp_path, tmp_path / "nats", "system:node:n9", Subjects())
    now = bususers.ensure_users(tmp_path / bususers.FILE, [])
    assert now == {**first, "system:node:n9": password}
    written = (tmp_path / "nats" / "auth.conf")
    assert '"user": "system:node:n9"' in written.read_text()
    assert written.stat().st_mode & 0o777 == 0o600
