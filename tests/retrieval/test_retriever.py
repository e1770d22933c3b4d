"""Tripartite retrieval over the generated sample filings, page ranking, and the eval command."""

from __future__ import annotations

import pytest

from core.records import Chunk, Hit, SearchFilters
from core.settings import Settings
from ingest.pipeline import Ingestor
from ingest.statements import statement_kind
from retrieval.corpus import Corpus
from retrieval.glossary import expand
from retrieval.retriever import Retriever, rank_pages, search_text
from tests.fixtures.sample_set import write_sample_set


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus"), model_cache=model_cache)
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        assert Ingestor(corpus).ingest([sample_folder]).count("ok") == 3
        yield corpus


@pytest.fixture
def retriever(corpus):
    return Retriever(corpus)


def _hit(doc: str, page: int, rank: int, cid: str) -> Hit:
    chunk = Chunk(
        chunk_id=cid, doc_id=doc, page_no=page, modality="text", text=cid, file_name=f"{doc}.pdf"
    )
    return Hit(chunk=chunk, score=1.0 / rank, source="fused", rank=rank)


def test_several_chunks_from_one_page_support_that_page():
    hits = [
        _hit("a", 1, 1, "a1"),
        _hit("b", 7, 2, "b1"),
        _hit("b", 7, 3, "b2"),
        _hit("b", 7, 4, "b3"),
    ]
    pages = rank_pages(hits)
    assert [(p.doc_id, p.page_no) for p in pages] == [("b", 7), ("a", 1)]
    assert pages[0].chunk_ids == ["b1", "b2", "b3"]
    # A second ranked list (e.g. statement candidates) adds its votes; duplicates listed once.
    pages = rank_pages(hits + [_hit("a", 1, 1, "a1"), _hit("a", 1, 2, "a2")])
    assert pages[0].doc_id == "a" and pages[0].chunk_ids == ["a1", "a2"]


def test_glossary_maps_metrics_to_filing_words_and_statements():
    quick = expand("Has the quick ratio improved?")
    assert "current liabilities" in quick.terms and quick.statements == ("balance",)
    capex = expand("What was FY2018 capex?")
    assert "purchases of property" in capex.terms and capex.statements == ("cash-flow",)
    assert expand("Who is the CEO?").terms == ""


def test_statement_kind_from_titles():
    assert statement_kind(["Item 8", "Consolidated Statements of Operations"]) == "income"
    assert statement_kind(["Item 8"], "CONSOLIDATED BALANCE SHEETS") == "balance"
    assert statement_kind(["Statement of Financial Position"]) == "balance"
    assert (
        statement_kind(["Consolidated Statements of Comprehensive Income"])
        == "comprehensive-income"
    )
    assert statement_kind(["Condensed Consolidated Statements of Cash Flows"]) == "cash-flow"
    assert statement_kind(["Note 4 - Income Taxes"]) is None
    assert statement_kind(["Item 7. Management's Discussion and Analysis"]) is None


def test_resolved_question_finds_the_right_filing_and_page(retriever):
    result = retriever.retrieve(
        "How much did Contoso Foods spend on capital expenditures in fiscal 2024?",
        acl_groups=["public"],
    )
    assert "Contoso" in result.scope
    top = result.pages[0]
    assert top.file_name == "contoso_fy2024_10k.pdf"
    page_text = " ".join(
        h.chunk.text
        for h in result.hits
        if h.chunk.page_no == top.page_no and h.chunk.doc_id == top.doc_id
    )
    assert "418" in page_text
    assert {h.chunk.file_name for h in result.hits} == {"contoso_fy2024_10k.pdf"}
    assert set(result.timings_ms) >= {"resolve", "search"}


def test_company_and_period_words_are_removed_only_when_filtered(retriever):
    filings = retriever.filings(["public"])
    from retrieval.resolver import resolve

    res = resolve("What was Northwind Robotics' revenue in FY2023?", filings)
    assert res.filters.doc_ids
    stripped = search_text(res.question, res)
    assert "Northwind" not in stripped and "2023" not in stripped and "revenue" in stripped
    nothing = resolve("What is the revenue?", filings)
    assert search_text(nothing.question, nothing) == "What is the revenue?"


def test_unresolved_question_searches_everything_and_says_so(retriever):
    result = retriever.retrieve("supply chain disruptions", acl_groups=["public"])
    assert "searched all" in result.scope.lower()
    assert result.pages and result.pages[0].file_name == "northwind_2023_10k.pdf"


def test_explicit_filters_replace_the_resolution(retriever):
    doc = next(f.doc_id for f in retriever.filings(["public"]) if f.form == "10-Q")
    result = retriever.retrieve(
        "Northwind revenue 2023", acl_groups=["public"], filters=SearchFilters(doc_ids=[doc])
    )
    assert {h.chunk.doc_id for h in result.hits} == {doc}


def test_acl_applies_to_catalog_and_hits(retriever):
    assert retriever.retrieve("revenue", acl_groups=["finance"]).hits == []
    assert retriever.filings(["finance"]) == []


def test_eval_retrieval_on_a_generated_set(tmp_path, model_cache, sample_folder):
    from evaluation.run_retrieval import eval_retrieval

    set_dir = tmp_path / "miniset"
    write_sample_set(set_dir, sample_folder)
    settings = Settings(data_dir=tmp_path / "data", model_cache=model_cache)
    settings.ingest.workers = 1
    result = eval_retrieval(set_dir, settings)
    for key in (
        "n",
        "recall@1",
        "recall@3",
        "recall@5",
        "recall@10",
        "mrr",
        "ndcg@10",
        "p50_ms",
        "p95_ms",
    ):
        assert key in result and key in result["given_filing"] or key == "n"
    assert result["n"] == 3
    assert result["recall@5"] == 1.0 and result["given_filing"]["recall@5"] == 1.0
    assert result["mrr"] >= 0.5
    # The set's corpus is cached: a second run ingests nothing.
    again = eval_retrieval(set_dir, settings)
    assert again["ingest_s"] < result["ingest_s"]


def test_memory_hit_arrives_beside_corpus_evidence(corpus):
    from retrieval.memory_bank import make_entry

    retriever = Retriever(corpus)
    bank = retriever.memory
    entry = make_entry(
        "What was Northwind Robotics' free cash flow in fiscal 2023?",
        "Free cash flow was $266.3 million (operating cash flow 412.6 less capex 146.3).",
        company="Northwind Robotics, Inc.",
        period="FY2023",
        author="analyst@example.com",
    )
    bank.add(entry)
    question = "Northwind Robotics free cash flow in fiscal 2023?"
    assert retriever.retrieve(question, acl_groups=["public"]).memory == []  # not approved yet
    bank.approve(entry.entry_id, "curator@example.com")
    result = retriever.retrieve(question, acl_groups=["public"])
    assert [m.entry.entry_id for m in result.memory] == [entry.entry_id]
    assert result.memory[0].entry.approved_by == "curator@example.com"
    assert result.hits, "a memory hit never replaces the corpus evidence"
    assert retriever.retrieve(question, acl_groups=["finance"]).memory == []
    other = retriever.retrieve(
        "What was Contoso Foods' free cash flow in fiscal 2024?", acl_groups=["public"]
    )
    assert other.memory == []


def test_a_malformed_glossary_entry_is_named(tmp_path):
    from core.glossary import _load

    bad = tmp_path / "glossary.toml"
    bad.write_text('[[entry]]\npattern = "ok"\nterms = "x"\n\n[[entry]]\npattern = "(unclosed"\n')
    with pytest.raises(ValueError, match=r"entry 2 \('\(unclosed'\)"):
        _load(bad)
    bad.write_text('[[entry]]\npattern = "x"\nterms = "y"\nstatements = ["p&l"]\n')
    with pytest.raises(ValueError, match="unknown statements"):
        _load(bad)
