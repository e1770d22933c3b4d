"""The catalog of ingested filings: which companies, forms and periods the index holds.

A small SQLite database under ``settings.data_dir`` keeps one :class:`~core.records.Filing` per
document id, with its ingest state. The state is what makes batches resumable:

* ``pending``: chunks are being written; not searchable (the index gates on ``ready``). A re-run
  finding a pending filing deletes its points and ingests it again.
* ``ok`` / ``partial``: searchable; a re-run skips the file as a duplicate.

Later stages (resolver, UI) read the catalog to know which filings exist; the index itself stays
the source of truth for chunks.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.records import Filing
from retrieval.sqlite_store import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS filings (
    doc_id TEXT PRIMARY KEY,
    source_path TEXT NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS filings_source ON filings(source_path);
"""

SEARCHABLE = ("ok", "partial")


class Catalog(SqliteStore):
    """SQLite-backed catalog; safe to share between threads of one process.

    Example:
        >>> cat = Catalog(Path("/tmp/x/catalog.sqlite"))  # doctest: +SKIP
        >>> [f.company for f in cat.filings()]  # doctest: +SKIP
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def put(self, filing: Filing, state: str) -> None:
        """Insert or replace a filing with its ingest state (pending | ok | partial)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO filings(doc_id, source_path, state, record)"
                " VALUES (?, ?, ?, ?)",
                (filing.doc_id, filing.source_path, state, filing.model_dump_json()),
            )

    def state(self, doc_id: str) -> str | None:
        with self._tx() as conn:
            row = conn.execute("SELECT state FROM filings WHERE doc_id=?", (doc_id,)).fetchone()
        return row[0] if row else None

    def get(self, doc_id: str) -> Filing | None:
        with self._tx() as conn:
            row = conn.execute("SELECT record FROM filings WHERE doc_id=?", (doc_id,)).fetchone()
        return Filing.model_validate_json(row[0]) if row else None

    def by_source(self, source_path: str) -> list[Filing]:
        """Filings ingested earlier from the same path (a changed file has a new doc id)."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT record FROM filings WHERE source_path=?", (source_path,)
            ).fetchall()
        return [Filing.model_validate_json(r[0]) for r in rows]

    def pending(self) -> list[Filing]:
        with self._tx() as conn:
            rows = conn.execute("SELECT record FROM filings WHERE state='pending'").fetchall()
        return [Filing.model_validate_json(r[0]) for r in rows]

    def delete(self, doc_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM filings WHERE doc_id=?", (doc_id,))

    def filings(self, acl_groups: list[str] | None = None) -> list[Filing]:
        """Searchable filings, optionally only those readable by one of ``acl_groups``."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT record FROM filings WHERE state IN (?, ?) ORDER BY source_path",
                SEARCHABLE,
            ).fetchall()
        found = [Filing.model_validate_json(r[0]) for r in rows]
        if acl_groups is None:
            return found
        groups = set(acl_groups)
        return [f for f in found if groups.intersection(f.acl)]

    def export(self) -> list[dict]:
        """All rows, pending included, as plain dicts (for ``finrag filings --json``)."""
        with self._tx() as conn:
            rows = conn.execute("SELECT state, record, updated_at FROM filings").fetchall()
        return [
            {"state": state, "updated_at": updated, **json.loads(record)}
            for state, record, updated in rows
        ]
