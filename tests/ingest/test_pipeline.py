"""Batch ingestion end to end: landing, isolation of bad files, idempotency, replace, resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pymupdf
import pytest

from core.records import Query, SearchFilters
from retrieval.corpus import Corpus
from retrieval.search import CorpusSearch
from tests.fixtures.corpora import ingest_into


def _bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    corrupt = folder / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    empty = folder / "empty.pdf"
    empty.write_bytes(b"")
    html_named_pdf = folder / "not_really.pdf"
    html_named_pdf.write_text("<html><body>Annual report</body></html>")
    encrypted = folder / "locked.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Confidential annual report 2023")
    doc.save(str(encrypted), encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="secret")
    notes = folder / "notes.txt"
    notes.write_text("not a filing")
    return {
        "corrupt": corrupt,
        "empty": empty,
        "html": html_named_pdf,
        "encrypted": encrypted,
        "txt": notes,
    }


def _search(settings, text: str, **filters) -> list:
    with Corpus.open(settings) as corpus:
        query = Query(text=text, filters=SearchFilters(**filters), top_k=5)
        return CorpusSearch(corpus).search(query)


def test_batch_lands_good_files_and_reports_bad_ones(settings, sample_folder, tmp_path):
    bad = _bad_files(tmp_path / "bad")
    report = ingest_into([sample_folder, *bad.values()], settings)
    by_name = {Path(f.path).name: f for f in report.files}
    for name in ("northwind_2023_10k.pdf", "northwind_2024q2_10q.pdf", "contoso_fy2024_10k.pdf"):
        assert by_name[name].status == "ok", by_name[name]
        assert by_name[name].chunks > 0 and by_name[name].pages > 0
    for key in ("corrupt", "empty", "html", "encrypted", "txt"):
        entry = by_name[bad[key].name]
        assert entry.status == "failed", entry
        assert entry.reason and "\n" not in entry.reason
    assert (
        "password" in by_name["locked.pdf"].reason.lower()
        or "encrypt" in by_name["locked.pdf"].reason.lower()
    )
    assert "unsupported" in by_name["notes.txt"].reason

    hits = _search(settings, "Northwind total revenue 2023")
    assert hits and hits[0].chunk.file_name == "northwind_2023_10k.pdf"
    assert any("2,255.4" in h.chunk.text for h in hits)


def test_rerun_is_idempotent_and_changed_file_replaces(settings, sample_folder, tmp_path):
    folder = tmp_path / "filings"
    shutil.copytree(sample_folder, folder)
    first = ingest_into([folder], settings)
    assert first.count("ok") == 3
    with Corpus.open(settings) as ing:
        points = ing.index.count()
    second = ingest_into([folder], settings)
    assert second.count("skipped-duplicate") == 3 and second.count("ok") == 0
    with Corpus.open(settings) as ing:
        assert ing.index.count() == points

    # Same path, new bytes: the old filing's points go, the new ones come.
    target = folder / "northwind_2024q2_10q.pdf"
    doc = pymupdf.open(str(target))
    doc[0].insert_text((72, 760), "Amended: backlog was $1.5 billion.")
    doc.save(str(target) + ".new")
    doc.close()
    Path(str(target) + ".new").replace(target)
    third = ingest_into([folder], settings)
    assert third.count("ok") == 1 and third.count("skipped-duplicate") == 2
    with Corpus.open(settings) as ing:
        docs = ing.catalog.by_source(str(target.resolve()))
        assert len(docs) == 1
        new_doc = docs[0].doc_id
        assert ing.index.count(SearchFilters(doc_ids=[first_doc_id(first, target)])) == 0
        assert ing.index.count(SearchFilters(doc_ids=[new_doc])) > 0


def first_doc_id(report, path: Path) -> str:
    return next(f.doc_id for f in report.files if Path(f.path).name == path.name)


def test_interrupted_run_resumes_without_duplicates(settings, sample_folder, monkeypatch):
    from retrieval.index import Index

    calls = {"n": 0}
    real_mark_ready = Index.mark_ready

    def crash_on_second(self, doc_id):  # the process dies after writing points, before commit
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_mark_ready(self, doc_id)

    monkeypatch.setattr(Index, "mark_ready", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        ingest_into([sample_folder], settings)
    monkeypatch.setattr(Index, "mark_ready", real_mark_ready)

    with Corpus.open(settings) as ing:
        pending = ing.catalog.pending()
        assert len(pending) == 1
        # Half-written points are invisible to search.
        hidden = pending[0].doc_id
    assert not [h for h in _search(settings, "revenue") if h.chunk.doc_id == hidden]

    resumed = ingest_into([sample_folder], settings)
    statuses = sorted(f.status for f in resumed.files)
    assert statuses == ["ok", "ok", "skipped-duplicate"]
    with Corpus.open(settings) as ing:
        total = ing.index.count()
        assert ing.catalog.pending() == []
    clean = settings.model_copy(update={"data_dir": settings.data_dir.parent / "clean"})
    ingest_into([sample_folder], clean)
    with Corpus.open(clean) as ing:
        assert ing.index.count() == total


def test_overrides_sidecar_and_acl(settings, sample_folder, tmp_path):
    folder = tmp_path / "restricted"
    folder.mkdir()
    shutil.copy(sample_folder / "contoso_fy2024_10k.pdf", folder)
    (folder / "contoso_fy2024_10k.pdf.meta.json").write_text('{"ticker": "CFX"}')
    report = ingest_into(
        [folder], settings, overrides={"acl": ["finance"], "company": "Contoso Foods Corp."}
    )
    assert report.count("ok") == 1
    with Corpus.open(settings) as ing:
        filing = ing.catalog.filings()[0]
    assert (
        filing.company == "Contoso Foods Corp." and filing.metadata_source["company"] == "override"
    )
    assert filing.ticker == "CFX" and filing.metadata_source["ticker"] == "sidecar"
    assert filing.fiscal_year == 2024 and filing.metadata_source["fiscal_year"] == "document"
    assert filing.acl == ["finance"]

    with Corpus.open(settings) as corpus:
        searcher = CorpusSearch(corpus)
        public = searcher.search(Query(text="capital expenditures", acl_groups=["public"]))
        finance = searcher.search(Query(text="capital expenditures", acl_groups=["finance"]))
    assert public == []
    assert finance and all(h.chunk.acl == ["finance"] for h in finance)


def test_parallel_workers_give_the_same_index(settings, sample_folder):
    parallel = settings.model_copy(deep=True)
    parallel.ingest.workers = 2
    parallel.ingest.isolate = True
    report = ingest_into([sample_folder], parallel)
    assert report.count("ok") == 3
    serial = settings.model_copy(
        update={"data_dir": settings.data_dir.parent / "serial"}, deep=True
    )
    serial.ingest.workers = 1
    ingest_into([sample_folder], serial)
    with Corpus.open(parallel) as a, Corpus.open(serial) as b:
        assert a.index.count() == b.index.count() > 0


def test_same_overrides_again_skip_new_overrides_update(settings, sample_folder, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(sample_folder / "northwind_2024q2_10q.pdf", folder)
    assert ingest_into([folder], settings, overrides={"acl": ["finance"]}).count("ok") == 1
    again = ingest_into([folder], settings, overrides={"acl": ["finance"]})
    assert again.count("skipped-duplicate") == 1
    # A new ACL on a duplicate does not re-share it (that is set_acl, an administrator's action).
    moved = ingest_into([folder], settings, overrides={"acl": ["finance", "audit"]})
    assert moved.count("skipped-duplicate") == 1
    assert "access groups are unchanged" in moved.files[0].reason
    # Other overrides still update the filing, with its ACL kept.
    renamed = ingest_into(
        [folder], settings, overrides={"acl": ["public"], "company": "Northwind Renamed"}
    )
    assert renamed.count("ok") == 1
    with Corpus.open(settings) as ing:
        filing = ing.catalog.filings()[0]
        assert filing.acl == ["finance"] and filing.company == "Northwind Renamed"
        assert ing.index.count(acl_groups=["public"]) == 0
        assert ing.index.count(acl_groups=["finance"]) == ing.index.count() > 0


def test_each_corpus_chunks_with_its_own_embedder_in_one_process(settings, sample_folder):
    """Two corpora with different embedders in one process: each sizes chunks with its own
    tokenizer (a process-wide token counter once made the second reuse the first's)."""
    from core.options import HashEmbedderOptions
    from retrieval.embedders.hashing import HashEmbedder
    from retrieval.embedders.onnx import OnnxMiniLMEmbedder

    settings.ingest.workers = 1
    ingest_into([sample_folder], settings)  # the packaged MiniLM first
    hashed = settings.model_copy(
        update={
            "data_dir": settings.data_dir.parent / "hashed",
            "embedder": HashEmbedderOptions(max_tokens=110),
        }
    )
    assert ingest_into([sample_folder], hashed).count("ok") == 3
    with Corpus.open(hashed) as corpus:
        texts = [c.text for c in corpus.index.scroll_chunks() if c.modality in ("text", "table")]
    words = HashEmbedder(hashed.embedder).count_tokens(texts)
    pieces = OnnxMiniLMEmbedder(settings.embedder).count_tokens(texts)
    assert max(words) <= 110 < max(pieces)


def test_a_batch_past_the_threshold_builds_the_index(settings, sample_folder):
    """Once a batch leaves ``qdrant.index_threshold`` points unindexed, a build starts."""
    small = settings.model_copy(
        update={
            "qdrant": settings.qdrant.model_copy(
                update={"index_threshold": 1, "indexing_threshold_kb": 1}
            )
        }
    )
    ingest_into([sample_folder], small)  # closes the corpus: waits for the build
    with Corpus.open(small) as corpus:
        assert corpus.index._engine.unindexed() == 0
        assert not corpus.index.optimizing
    hits = _search(small, "Northwind total revenue 2023")
    assert hits and hits[0].chunk.file_name == "northwind_2023_10k.pdf"
