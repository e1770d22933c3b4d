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


def test_ingested_filings_read_their_own_metadata(corpus_folder, settings) -> None:
    from core.options import HashEmbedderOptions
    from ingest.pipeline import Ingestor
    from retrieval.corpus import Corpus

    folder, filings = corpus_folder
    settings.embedder = HashEmbedderOptions()
    settings.ingest.render_pages = False
    settings.ingest.figures = False
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        report = Ingestor(corpus).ingest([folder])
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
