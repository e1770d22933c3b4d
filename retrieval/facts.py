"""The fact store: statement facts read at ingest, kept per filing, queried under the ACL.

Contract: one SQLite database under ``settings.data_dir`` (``facts.sqlite``, WAL, like the
catalog) holds every :class:`~core.records.Fact` of the corpus, keyed by ``fact_id``.

* :meth:`FactStore.replace` writes one filing's facts atomically: its old facts go in the same
  transaction, so a re-ingest (a changed ACL, a re-run after a crash) never duplicates a fact.
* :meth:`FactStore.delete` removes a filing's facts (the pipeline and the Library page call it
  wherever a filing leaves the catalog).
* :meth:`FactStore.query` returns facts whose ``acl`` meets ``acl_groups`` (an empty list reads
  nothing), filtered by any of doc ids, companies (case-insensitive), concepts, fiscal years,
  fiscal periods and statements; ordered by company, concept, period end, doc, page.

The metrics engine reads facts only through :meth:`query`.

Example:
    >>> store = FactStore(Path("/tmp/x/facts.sqlite"))  # doctest: +SKIP
    >>> store.query(acl_groups=["public"], companies=["Boeing"], concepts=["revenue"])
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from core.records import Fact
from retrieval.sqlite_store import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    fact_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    company TEXT,
    concept TEXT,
    fiscal_year INTEGER,
    fiscal_period TEXT,
    statement TEXT,
    period_end TEXT,
    page_no INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_doc ON facts(doc_id);
CREATE INDEX IF NOT EXISTS facts_concept ON facts(concept);
CREATE INDEX IF NOT EXISTS facts_year ON facts(fiscal_year);
CREATE TABLE IF NOT EXISTS fact_acl (
    fact_id TEXT NOT NULL,
    grp TEXT NOT NULL,
    PRIMARY KEY (fact_id, grp)
);
CREATE INDEX IF NOT EXISTS fact_acl_grp ON fact_acl(grp);
"""


class FactStore(SqliteStore):
    """SQLite-backed fact store; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def replace(self, doc_id: str, facts: list[Fact]) -> None:
        """Make ``facts`` the filing's facts, in one transaction (old ones removed).

        Raises:
            ValueError: a fact belongs to another filing.
        """
        stray = [f.fact_id for f in facts if f.doc_id != doc_id]
        if stray:
            raise ValueError(f"{len(stray)} facts belong to another filing than {doc_id[:12]}")
        with self._tx() as conn:
            self._delete(conn, doc_id)
            conn.executemany(
                "INSERT OR REPLACE INTO facts(fact_id, doc_id, company, concept, fiscal_year,"
                " fiscal_period, statement, period_end, page_no, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        f.fact_id,
                        f.doc_id,
                        (f.company or "").lower(),
                        f.concept,
                        f.fiscal_year,
                        f.fiscal_period,
                        f.statement,
                        f.period_end.isoformat() if f.period_end else None,
                        f.page_no,
                        f.model_dump_json(),
                    )
                    for f in facts
                ],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO fact_acl(fact_id, grp) VALUES (?, ?)",
                [(f.fact_id, g) for f in facts for g in f.acl],
            )

    def set_acl(self, doc_id: str, acl: list[str]) -> int:
        """Give every fact of ``doc_id`` the ACL groups ``acl``; returns how many facts."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT fact_id, record FROM facts WHERE doc_id=?", (doc_id,)
            ).fetchall()
            updated = [
                (Fact.model_validate_json(record).model_copy(update={"acl": list(acl)}), fact_id)
                for fact_id, record in rows
            ]
            conn.executemany(
                "UPDATE facts SET record=? WHERE fact_id=?",
                [(f.model_dump_json(), fact_id) for f, fact_id in updated],
            )
            conn.execute(
                "DELETE FROM fact_acl WHERE fact_id IN (SELECT fact_id FROM facts WHERE doc_id=?)",
                (doc_id,),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO fact_acl(fact_id, grp) VALUES (?, ?)",
                [(fact_id, g) for _, fact_id in updated for g in acl],
            )
        return len(rows)

    def delete(self, doc_id: str) -> None:
        """Remove a filing's facts (nothing happens when it has none)."""
        with self._tx() as conn:
            self._delete(conn, doc_id)

    @staticmethod
    def _delete(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute(
            "DELETE FROM fact_acl WHERE fact_id IN (SELECT fact_id FROM facts WHERE doc_id=?)",
            (doc_id,),
        )
        conn.execute("DELETE FROM facts WHERE doc_id=?", (doc_id,))

    def query(
        self,
        *,
        acl_groups: list[str],
        doc_ids: list[str] | None = None,
        companies: list[str] | None = None,
        concepts: list[str] | None = None,
        fiscal_years: list[int] | None = None,
        fiscal_periods: list[str] | None = None,
        statements: list[str] | None = None,
    ) -> list[Fact]:
        """Facts readable by one of ``acl_groups`` that match every filter given.

        A filter left None (or empty) does not restrict; ``companies`` match the filing's company
        name case-insensitively, as a substring ("boeing" finds "THE BOEING COMPANY").
        """
        if not acl_groups:
            return []
        where = ["fact_id IN (SELECT fact_id FROM fact_acl WHERE grp IN (%s))"]
        args: list[object] = list(acl_groups)
        where[0] %= ",".join("?" * len(acl_groups))
        for column, values in (
            ("doc_id", doc_ids),
            ("concept", concepts),
            ("fiscal_year", fiscal_years),
            ("fiscal_period", fiscal_periods),
            ("statement", statements),
        ):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if companies:
            where.append("(" + " OR ".join("company LIKE ?" for _ in companies) + ")")
            args.extend(f"%{c.lower()}%" for c in companies)
        sql = (
            "SELECT record FROM facts WHERE "
            + " AND ".join(where)
            + " ORDER BY company, concept, period_end, doc_id, page_no, fact_id"
        )
        with self._tx() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [Fact.model_validate(json.loads(r[0])) for r in rows]

    def count(self, doc_id: str | None = None) -> int:
        """How many facts the store holds (of one filing, when ``doc_id`` is given)."""
        with self._tx() as conn:
            if doc_id is None:
                row = conn.execute("SELECT COUNT(*) FROM facts").fetchone()
            else:
                sql = "SELECT COUNT(*) FROM facts WHERE doc_id=?"
                row = conn.execute(sql, (doc_id,)).fetchone()
        return int(row[0])
