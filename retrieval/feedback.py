"""Analysts' feedback on answers, kept durably as reranker training data.

Contract: :class:`FeedbackStore` is one SQLite file (``settings.feedback_path``). A record is a
:class:`~core.records.Feedback`, one per (user, conversation turn): voting again replaces the
verdict, flagging another citation adds to ``wrong_citations``. Writes commit at once (WAL), so a
crash loses nothing that was acknowledged. Reads filter by the reader's ACL groups like every
other store. The fine-tuning dataset builder reads :meth:`FeedbackStore.list`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from core.records import Citation, Feedback, FeedbackVerdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    user TEXT NOT NULL,
    record TEXT NOT NULL
)
"""


def feedback_id(user: str, thread_id: str, turn: int) -> str:
    """One record per user and turn, so a changed vote replaces the old one."""
    return hashlib.sha256(f"{user}\x00{thread_id}\x00{turn}".encode()).hexdigest()[:24]


class FeedbackStore:
    """Feedback records in SQLite; safe to share between the app's threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    def get(self, key: str) -> Feedback | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM feedback WHERE feedback_id = ?", (key,)
            ).fetchone()
        return Feedback.model_validate_json(row[0]) if row else None

    def put(self, record: Feedback) -> Feedback:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO feedback (feedback_id, created_at, user, record) "
                "VALUES (?, ?, ?, ?)",
                (
                    record.feedback_id,
                    record.created_at.isoformat(),
                    record.user,
                    record.model_dump_json(),
                ),
            )
            self._conn.commit()
        return record

    def record(
        self,
        *,
        user: str,
        thread_id: str,
        turn: int,
        question: str,
        answer: str,
        citations: list[Citation],
        acl: list[str],
        verdict: FeedbackVerdict | None = None,
        wrong_citation: str | None = None,
    ) -> Feedback:
        """Add a vote and/or a flagged citation (chunk id) to this user's record of the turn."""
        key = feedback_id(user, thread_id, turn)
        old = self.get(key)
        wrong = list(old.wrong_citations) if old else []
        if wrong_citation and wrong_citation not in wrong:
            wrong.append(wrong_citation)
        return self.put(
            Feedback(
                feedback_id=key,
                created_at=datetime.now(UTC),
                user=user,
                thread_id=thread_id,
                question=question,
                answer=answer,
                citations=citations,
                verdict=verdict if verdict is not None else (old.verdict if old else None),
                wrong_citations=wrong,
                acl=acl,
            )
        )

    def list(self, acl_groups: list[str] | None = None) -> list[Feedback]:
        """Records oldest first; ``acl_groups`` None = all (training jobs), [] = nothing."""
        with self._lock:
            rows = self._conn.execute("SELECT record FROM feedback ORDER BY created_at").fetchall()
        records = [Feedback.model_validate_json(r[0]) for r in rows]
        if acl_groups is None:
            return records
        groups = set(acl_groups)
        return [r for r in records if groups.intersection(r.acl)]
