"""Audit records (actors/apiserver/auditing.py) and the audit log writer
(bindings/cluster/audit.py)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from actors.api.users import UserInfo
from actors.apiserver.auditing import record
from bindings.cluster.audit import AuditLog


def entry(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        user=UserInfo("alice", "u1", ("dev", "system:authenticated")), impersonator=None,
        verb="create", group="", resource="pods", subresource=None, namespace="default",
        name="web", authorized=True, code=201, latency_ms=1.23456, trace_id="t1")
    fields.update(changes)
    return record(**fields)  # type: ignore[arg-type]


def test_a_record_has_every_field_and_plain_values():
    written = entry()
    assert {k: v for k, v in written.items() if k != "time"} == {
        "user": "alice", "groups": ["dev", "system:authenticated"], "verb": "create",
        "group": "", "resource": "pods", "subresource": "", "namespace": "default",
        "name": "web", "decision": "allow", "code": 201, "latency_ms": 1.235, "trace_id": "t1"}
    assert str(written["time"]).endswith("Z")


def test_an_unauthenticated_or_impersonated_request_says_so():
    assert entry(user=None, authorized=False, code=401)["user"] == ""
    assert entry(user=None, authorized=False, code=401)["decision"] == "deny"
    acting = entry(impersonator=UserInfo("admin"))
    assert (acting["user"], acting["impersonatedBy"]) == ("alice", "admin")


def test_the_log_appends_json_lines_in_order_and_is_private(tmp_path: Path):
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for i in range(250):
        log(entry(name=f"p{i}"))
    log.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["name"] for line in lines] == [f"p{i}" for i in range(250)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    log.close()  # twice is fine


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log", max_queued=1)
    for i in range(2000):
        log(entry(name=f"p{i}"))  # never blocks, whatever the disk does
    log(entry(name="last"))
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    written = sum("name" in line for line in lines)
    dropped = sum(line.get("dropped", 0) for line in lines)
    assert written + dropped == 2001
