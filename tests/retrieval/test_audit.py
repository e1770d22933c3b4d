"""The audit log: append-only JSONL, safe across threads, readable since a time."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import AccessError
from core.roles import ACTIONS, Actor, allows, require
from retrieval.audit import AuditLog

ADMIN = Actor(name="root", role="admin", groups=["public"])
READER = Actor(name="mallory", role="reader", groups=["public"])


def test_roles_are_ordered_and_unknown_actions_are_errors():
    assert allows("admin", "memory.approve") and allows("curator", "memory.approve")
    assert not allows("reader", "memory.approve") and not allows("curator", "filing.delete")
    assert not allows("superuser", "ask")  # an unknown role may do nothing
    assert all(allows("admin", action) for action in ACTIONS)
    with pytest.raises(KeyError):
        allows("admin", "filing.delet")
    with pytest.raises(AccessError, match="deleting a filing needs the admin role; mallory is"):
        require(READER, "filing.delete", "deleting a filing")


def test_attempts_are_recorded_with_their_outcome(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    with log.attempt(ADMIN, "filing.delete", "doc-1") as attempt:
        attempt.reason = "3 pages"
    with pytest.raises(AccessError), log.attempt(READER, "filing.delete", "doc-1"):
        require(READER, "filing.delete", "deleting a filing")
    with pytest.raises(OSError), log.attempt(ADMIN, "ingest", "/data/x.pdf"):
        raise OSError("disk full")
    log.close()

    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [(r["user"], r["role"], r["action"], r["object"], r["outcome"]) for r in rows] == [
        ("root", "admin", "filing.delete", "doc-1", "ok"),
        ("mallory", "reader", "filing.delete", "doc-1", "refused"),
        ("root", "admin", "ingest", "/data/x.pdf", "failed"),
    ]
    assert rows[0]["reason"] == "3 pages" and "admin role" in rows[1]["reason"]
    assert rows[0]["at"].endswith("Z") or "+00:00" in rows[0]["at"]


def test_appends_from_threads_and_a_second_writer_never_interleave(tmp_path):
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)  # e.g. the app and a CLI command

    def write(log: AuditLog, n: int) -> None:
        for i in range(200):
            log.record(ADMIN, "memory.add", f"{n}-{i}-" + "x" * 500)

    threads = [
        threading.Thread(target=write, args=(log, n)) for n, log in enumerate([first, second] * 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = first.events()
    assert len(events) == 800 and len({e.object for e in events}) == 800
    first.close()
    second.close()
    with pytest.raises(ValueError, match="closed"):
        first.record(ADMIN, "ingest", "x")


def test_read_since_and_skip_a_torn_line(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(ADMIN, "ingest", "a.pdf")
    with path.open("a") as handle:
        handle.write('{"at": "2026-01-01T00:00:00Z", "user": "tor\n')  # a crash mid-line
    log.record(ADMIN, "ingest", "b.pdf")
    assert [e.object for e in log.events()] == ["a.pdf", "b.pdf"]
    assert log.events(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    naive = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    assert len(log.events(since=naive)) == 2
    log.close()
