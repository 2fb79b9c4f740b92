"""The audit log writer (bindings/cluster/audit.py): batches, rotation, the policy file."""

from __future__ import annotations

import json
import logging
import re
import stat
from pathlib import Path

import pytest

from actors.apiserver.auditing import DEFAULT_POLICY
from bindings.cluster.audit import AuditLog, audit_policy, backups
from bus.errors import UsageError


def event(name: str) -> dict[str, object]:
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": name, "padding":
            "x" * 100}


def test_the_log_appends_json_lines_in_order_and_is_private(tmp_path: Path):
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for i in range(250):
        log(event(f"p{i}"))
    log.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["auditID"] for line in lines] == [f"p{i}" for i in range(250)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    log.close()  # twice is fine


def test_a_full_queue_drops_and_logs_the_count_instead_of_blocking(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    log = AuditLog(tmp_path / "audit.log", max_queued=1)
    with caplog.at_level(logging.ERROR):
        for i in range(2000):
            log(event(f"p{i}"))  # never blocks, whatever the disk does
        log(event("last"))
        log.close()
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert all(line["kind"] == "Event" for line in lines)  # every line stays an Event
    dropped = sum(int(found[1]) for r in caplog.records
                  if (found := re.search(r"(\d+) events dropped", r.getMessage())))
    assert len(lines) + dropped == 2001


def test_the_log_rotates_past_its_size_and_keeps_its_newest_backups(tmp_path: Path):
    path = tmp_path / "audit.log"
    log = AuditLog(path, flush_seconds=0, max_bytes=1000, max_backups=2)
    for i in range(40):  # ~150 bytes each: a rotation every six
        log(event(f"p{i}"))
    log.close()
    kept = backups(path)
    assert 1 <= len(kept) <= 2
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in [*kept, path])
    assert all(p.stat().st_size <= 1000 for p in [*kept, path])
    last = [json.loads(line)["auditID"] for line in path.read_text().splitlines()]
    assert last[-1] == "p39"


def test_the_policy_file_is_read_as_yaml_and_its_faults_are_named(tmp_path: Path):
    assert audit_policy(None) is DEFAULT_POLICY
    good = tmp_path / "policy.yaml"
    good.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
                    "  resources:\n  - group: ''\n    resources: [secrets]\n")
    assert audit_policy(good).rules[0].level == "Metadata"
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Policy\nrules:\n- level: Loud\n")
    with pytest.raises(UsageError, match=r"bad\.yaml.*level"):
        audit_policy(bad)
    with pytest.raises(UsageError, match=r"missing\.yaml"):
        audit_policy(tmp_path / "missing.yaml")
