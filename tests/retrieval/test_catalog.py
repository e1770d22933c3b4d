"""The catalog's states drive resumable ingestion."""

from __future__ import annotations

from core.records import Filing
from retrieval.catalog import Catalog


def _filing(doc_id: str, source: str = "/f/a.pdf", acl: list[str] | None = None) -> Filing:
    return Filing(
        doc_id=doc_id,
        source_path=source,
        file_name="a.pdf",
        company="Acme",
        fiscal_year=2023,
        acl=acl or ["public"],
    )


def test_states_and_visibility(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite")
    cat.put(_filing("d1"), "pending")
    assert cat.state("d1") == "pending"
    assert cat.filings() == []  # pending is not searchable
    assert [f.doc_id for f in cat.pending()] == ["d1"]
    cat.put(_filing("d1"), "ok")
    assert [f.doc_id for f in cat.filings()] == ["d1"]
    assert cat.pending() == []


def test_acl_and_source_lookup(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite")
    cat.put(_filing("d1", acl=["finance"]), "ok")
    cat.put(_filing("d2", source="/f/b.pdf"), "partial")
    assert [f.doc_id for f in cat.filings(["public"])] == ["d2"]
    assert {f.doc_id for f in cat.filings(["public", "finance"])} == {"d1", "d2"}
    assert [f.doc_id for f in cat.by_source("/f/a.pdf")] == ["d1"]
    cat.delete("d1")
    assert cat.get("d1") is None
    cat.close()
    reopened = Catalog(tmp_path / "c.sqlite")
    assert [f.doc_id for f in reopened.filings()] == ["d2"]
