"""The generated multi-filing corpus: one June-year company's 10-Ks, 10-Qs, 8-Ks and releases."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from samples.multi_filing import quarter_end, write_multi_filing_samples


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multi_filing")
    return folder, write_multi_filing_samples(folder)


def test_the_corpus_spans_two_fiscal_years_of_every_form(corpus_folder) -> None:
    folder, filings = corpus_folder
    assert Counter(f.form for f in filings) == {
        "10-K": 2,
        "10-Q": 6,
        "earnings-release": 8,
        "8-K": 3,
    }
    assert {f.fiscal_year for f in filings if f.form != "8-K"} == {2024, 2025}
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.file_name for f in filings)
    # a June fiscal year: its second quarter ends in December of the year before
    assert quarter_end(2024, 2, "06-30") == date(2023, 12, 31)
    q2 = next(f for f in filings if f.form == "10-Q" and f.fiscal_period == "Q2")
    assert (q2.fiscal_year, q2.period_end) == (2024, date(2023, 12, 31))
    # an 8-K carries the calendar year of its Date of Report, not the fiscal year
    july = next(f for f in filings if f.form == "8-K" and f.period_end.month == 8)
    assert (july.fiscal_year, july.fiscal_period) == (2024, None)


def test_same_data_same_bytes(corpus_folder, tmp_path) -> None:
    folder, filings = corpus_folder
    again = write_multi_filing_samples(tmp_path)
    assert again == filings
    assert all(
        (folder / f.file_name).read_bytes() == (tmp_path / f.file_name).read_bytes()
        for f in filings
    )


@pytest.fixture(scope="module")
def ingested(corpus_folder, model_cache, tmp_path_factory):
    """The corpus ingested once (hash embedder, no page images): its report and open corpus."""
    from core.options import HashEmbedderOptions
    from core.settings import Settings
    from ingest.pipeline import Ingestor
    from retrieval.corpus import Corpus

    folder, _ = corpus_folder
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("multi_filing_data"),
        model_cache=model_cache,
        embedder=HashEmbedderOptions(),
    )
    settings.ingest.render_pages = False
    settings.ingest.figures = False
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        yield Ingestor(corpus).ingest([folder]), corpus


def test_ingested_filings_read_their_own_metadata(corpus_folder, ingested) -> None:
    _, filings = corpus_folder
    report, corpus = ingested
    catalog = {f.file_name: f for f in corpus.filings()}
    assert [f.status for f in report.files] == ["ok"] * len(filings)
    assert not [w for f in report.files for w in f.errors]
    wrong = []
    for expected in filings:
        got = catalog[expected.file_name]
        fields = ("company", "ticker", "form", "fiscal_year", "fiscal_period", "period_end")
        want = tuple(getattr(expected, k) for k in fields)
        have = tuple(getattr(got, k) for k in fields)
        if want != have or got.filed_at != expected.filed_at:
            wrong.append(f"{expected.file_name}: {have} {got.filed_at}, expected {want}")
        assert all(got.metadata_source[k] == "document" for k in fields if getattr(got, k))
        assert {"company", "form", "fiscal_year"} <= set(got.metadata_evidence)
        assert got.metadata_evidence["company"].page == 1
    assert not wrong, "\n".join(wrong)
    assert {catalog[f.file_name].file_number for f in filings if f.form != "earnings-release"} == {
        "001-41872"
    }


# Questions as analysts write them, against the metadata the ingest read (not the generator's):
# the filings the resolver must select, and words the scope must say about the choice.
SELECTIONS = [
    (
        "What were Tailspin's net sales in Q2 of FY2024?",
        {"tailspin_2024q2_10q.pdf", "tailspin_2024q2_earnings.pdf"},
        ["Q2 FY2024"],
    ),
    (
        "TSOG revenue FY2025Q1 earnings release",
        {"tailspin_2025q1_earnings.pdf"},
        ["Q1 FY2025 earnings release"],
    ),
    (
        "What did Tailspin Outdoor report as net income in its latest 10-K?",
        {"tailspin_2025_10k.pdf"},
        ["FY2025 10-K"],
    ),
    (
        "Tailspin Outdoor Gear operating income for fiscal 2024 in the annual report",
        {"tailspin_2024_10k.pdf"},
        ["FY2024 10-K"],
    ),
    (
        "What did Tailspin announce in the 8-K dated August 6, 2024?",
        {"tailspin_8k_2024-08-06.pdf"},
        ["8-K"],
    ),
    (
        # a June year: the quarter ended March 31, 2025 is the third of fiscal 2025
        "Tailspin net sales for the quarter ended March 31, 2025",
        {"tailspin_2025q3_10q.pdf", "tailspin_2025q3_earnings.pdf"},
        ["Q3 FY2025"],
    ),
    (
        # no filing of its own: the next 10-K reports it as the prior year
        "Tailspin gross profit in FY2023",
        {"tailspin_2024_10k.pdf"},
        ["comparatives for FY2023"],
    ),
]


@pytest.mark.parametrize(("question", "expected", "said"), SELECTIONS)
def test_the_resolver_selects_the_filing_that_reports_the_period(
    ingested, question, expected, said
) -> None:
    from retrieval.resolver import resolve

    _, corpus = ingested
    catalog = corpus.filings()
    names = {f.doc_id: f.file_name for f in catalog}
    resolution = resolve(question, catalog)
    assert {names[d] for d in resolution.doc_ids} == expected, resolution.scope
    assert all(words in resolution.scope for words in said), resolution.scope


def test_search_reads_only_the_selected_filings(ingested) -> None:
    from retrieval.retriever import Retriever

    _, corpus = ingested
    names = {f.doc_id: f.file_name for f in corpus.filings()}
    result = Retriever(corpus).retrieve(
        "What were Tailspin's net sales in Q2 of FY2024?",
        acl_groups=["public"],
        use_memory=False,
        use_tools=False,
    )
    assert result.pages
    assert {names[p.doc_id] for p in result.pages} <= {
        "tailspin_2024q2_10q.pdf",
        "tailspin_2024q2_earnings.pdf",
    }
    assert "Q2 FY2024" in result.resolution.scope
