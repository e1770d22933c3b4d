"""The audit log: an append-only record of who changed what in one corpus.

Contract: :class:`AuditLog` appends one :class:`AuditEvent` per line to ``data_dir/audit.jsonl``
(time in UTC, user, role, action, object, outcome ``ok`` / ``refused`` / ``failed`` and the
reason) and reads them back (:meth:`AuditLog.events`, optionally since a time). It has no update
or delete: the only write is :meth:`AuditLog.record`. The :class:`~retrieval.corpus.Corpus` owns
the one log of its data dir (opened and closed with it), so the app's pages and the CLI record
through the same object and the same file.

Why a JSONL file and not SQLite: the log is write-mostly, read rarely and in order, and must
stay readable with ``tail``/``jq`` when the app is down. Each event is one ``os.write`` of a whole
line to a descriptor opened with ``O_APPEND`` (the kernel moves to the end and writes in one
step), under a thread lock and an ``flock`` on the file, so the app's threads and a CLI process
writing at the same moment never interleave or overwrite each other's lines. A line that fails
to parse (a torn write after a crash) is skipped when reading, never fatal.

Actions recorded: ``ingest``, ``filing.delete``, ``filing.reingest``, ``filing.acl``,
``memory.add``/``edit``/``approve``/``retire``/``remove``/``import``/``export``,
``model.promote``, ``eval.run``, ``finetune.start`` (and the gate's ``finetune.evaluate``).

Example:
    >>> log = AuditLog(tmp / "audit.jsonl")  # doctest: +SKIP
    >>> log.record(Actor(name="alice", role="curator"), "memory.approve", "3fa9c2d1e0b4")
    ...     # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from core.errors import AccessError
from core.records import Record
from core.roles import Actor

log = logging.getLogger(__name__)

__all__ = ["Attempt", "AuditEvent", "AuditLog", "Outcome"]

Outcome = Literal["ok", "refused", "failed"]


class AuditEvent(Record):
    """One recorded attempt: who tried what on which object, and how it ended."""

    at: datetime
    user: str
    role: str
    action: str
    object: str
    outcome: Outcome = "ok"
    reason: str = ""


class AuditLog:
    """Append-only JSONL audit log of one corpus (thread- and process-safe appends).

    Args:
        path: the log file (created, with its folder, when missing; mode 0600).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def record(
        self,
        actor: Actor,
        action: str,
        obj: str,
        outcome: Outcome = "ok",
        reason: str = "",
    ) -> AuditEvent:
        """Append one event (now, UTC) and return it.

        Args:
            actor: who acted (name and role are recorded).
            action: what they tried, e.g. ``memory.approve`` (see the module docstring).
            obj: what it was done to: a doc id, file, entry id, model folder or set folder.
            outcome: ``ok``, ``refused`` (a role or group check said no) or ``failed``.
            reason: why it was refused or failed, on one line.
        """
        event = AuditEvent(
            at=datetime.now(UTC),
            user=actor.name,
            role=actor.role,
            action=action,
            object=obj,
            outcome=outcome,
            reason=" ".join(reason.split()),
        )
        line = (event.model_dump_json() + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise ValueError(f"the audit log {self.path} is closed")
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                os.write(self._fd, line)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return event

    @contextmanager
    def attempt(self, actor: Actor, action: str, obj: str) -> Iterator[Attempt]:
        """Record the body's outcome: ``ok``, ``refused`` on :class:`AccessError`, else ``failed``.

        The exception still propagates. The body may set ``.object`` (e.g. the new entry's id)
        and ``.reason`` (a note for an ``ok`` event) on what it is given.

        Example:
            >>> with corpus.audit.attempt(user, "filing.delete", doc_id):  # doctest: +SKIP
            ...     require(user, "filing.delete", "deleting a filing")
        """
        pending = Attempt(obj)
        try:
            yield pending
        except AccessError as exc:
            self.record(actor, action, pending.object, "refused", str(exc))
            raise
        except Exception as exc:
            self.record(actor, action, pending.object, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self.record(actor, action, pending.object, "ok", pending.reason)

    def events(self, since: datetime | None = None) -> list[AuditEvent]:
        """Every event in the order written (from ``since`` on, when given; naive = UTC)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        out: list[AuditEvent] = []
        if not self.path.exists():
            return out
        with self.path.open(encoding="utf-8") as handle:
            for n, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    event = AuditEvent.model_validate(json.loads(text))
                except ValueError:
                    log.warning("%s line %d is not an audit event; skipped", self.path, n)
                    continue
                if since is None or event.at >= since:
                    out.append(event)
        return out

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class Attempt:
    """What :meth:`AuditLog.attempt` will record; the body may name the object once known."""

    def __init__(self, obj: str) -> None:
        self.object = obj
        self.reason = ""
