"""Re-sharing a filing (an admin's ACL change) moves its chunks, facts and catalog row together."""

from __future__ import annotations

import pytest

from core.errors import FinragError
from core.settings import Settings
from retrieval.corpus import Corpus
from tests.fixtures.corpora import ingest_into


def test_set_acl_reshares_chunks_facts_and_catalog(tmp_path, model_cache, sample_folder):
    # retrieval quality is not under test: the hash embedder, and no spawned parse processes
    settings = Settings(
        data_dir=tmp_path / "data",
        model_cache=model_cache,
        embedder={"name": "hash"},
        ingest={"workers": 1},
    )
    pdf = sorted(sample_folder.glob("*.pdf"))[0]
    report = ingest_into([pdf], settings, overrides={"acl": ["public"]})
    assert report.landed == 1
    doc_id = report.files[0].doc_id
    with Corpus.open(settings) as corpus:
        chunks = corpus.index.count(acl_groups=["public"])
        facts = len(corpus.facts.query(acl_groups=["public"], doc_ids=[doc_id]))
        assert chunks > 0 and facts > 0

        filing = corpus.set_acl(doc_id, ["finance", " "])
        assert filing.acl == ["finance"] and corpus.catalog.get(doc_id).acl == ["finance"]
        assert corpus.catalog.state(doc_id) in ("ok", "partial")
        assert corpus.index.count(acl_groups=["public"]) == 0
        assert corpus.index.count(acl_groups=["finance"]) == chunks
        assert corpus.facts.query(acl_groups=["public"], doc_ids=[doc_id]) == []
        moved = corpus.facts.query(acl_groups=["finance"], doc_ids=[doc_id])
        assert len(moved) == facts and all(f.acl == ["finance"] for f in moved)
        assert corpus.filings(["public"]) == [] and len(corpus.filings(["finance"])) == 1

        with pytest.raises(FinragError, match="at least one ACL group"):
            corpus.set_acl(doc_id, [])
        with pytest.raises(FinragError, match="no searchable filing"):
            corpus.set_acl("0" * 64, ["public"])
