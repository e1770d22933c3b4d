"""The generated stage-1 corpus: deterministic, varied, internally consistent, and ingestible."""

from __future__ import annotations

import re
from collections import Counter

import pymupdf
import pytest

from samples.general import build_filings, write_general_corpus


@pytest.fixture(scope="module")
def filings():
    return build_filings(companies=24, seed=7)


def test_same_seed_same_bytes_other_seed_other_companies(tmp_path):
    a = write_general_corpus(tmp_path / "a", companies=2, seed=11)
    b = write_general_corpus(tmp_path / "b", companies=2, seed=11)
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    other = {f.company for f in build_filings(companies=2, seed=12)}
    assert other.isdisjoint({f.company for f in build_filings(companies=2, seed=11)})


def test_every_total_and_tie_holds(filings):
    assert [p for f in filings for p in f.check()] == []
    # the checks have teeth: break one component and the total no longer matches
    income = filings[0].statements[0]
    item = next(
        line for line in income.lines if line.values and not line.parts and line.kind == "amount"
    )
    item.values[0] += 1
    assert any("column 0" in p for p in income.check())
    item.values[0] -= 1


def test_consistency_of_the_printed_numbers(filings):
    """Net income is the same figure in the income statement, the cash flow and the EPS note."""
    for filing in (f for f in filings if f.form == "10-K"):
        income, _, cash, *notes = filing.statements
        eps = next(s for s in notes if s.kind == "eps")
        assert income.value("Net income") == cash.value("Net income")
        assert eps.lines[0].values == next(
            line.values for line in income.lines if line.label == eps.lines[0].label
        )


def test_corpus_is_varied(filings):
    tenks = [f for f in filings if f.form == "10-K"]
    assert len(Counter(f.industry for f in tenks)) == 12
    assert len({f.company for f in tenks}) == len({f.ticker for f in tenks}) == 24
    assert all(re.fullmatch(r"ZQ[A-Z]{2}", f.ticker) for f in tenks)
    assert {f.form for f in filings} == {"10-K", "10-Q"}
    assert len({f.period_end.month for f in tenks}) >= 3  # not only December year ends

    def labels(filing):
        return {line.label for line in filing.statements[0].lines}

    bank = next(f for f in tenks if f.industry == "bank")
    insurer = next(f for f in tenks if f.industry == "insurance")
    retail = next(f for f in tenks if f.industry == "retail")
    assert "Provision for credit losses" in labels(bank)
    assert "Losses and loss adjustment expenses" in labels(insurer)
    assert "Cost of sales" in labels(retail) and "Net interest income" not in labels(retail)
    assert "Merchandise inventories" in {line.label for line in retail.statements[1].lines}
    # layouts differ too: column headers, zero dashes, units
    headers = {f.statements[0].periods[0].split(" 20")[0].split(" ")[0] for f in tenks}
    assert len(headers) >= 3
    units = {m for f in tenks for m in re.findall(r"in (millions|thousands)", f.html, re.I)}
    assert {u.lower() for u in units} == {"millions", "thousands"}


def test_mdna_quotes_the_statements(filings):
    filing = next(f for f in filings if f.form == "10-K" and f.industry == "software")
    income = filing.statements[0]
    diluted = income.value("Diluted")
    assert f"Diluted earnings per share were ${diluted / 100:.2f}." in filing.html
    assert re.search(
        r"(increased|rose|grew|decreased|declined|fell) \d+\.\d% to \$[\d,.]+ (million|billion)",
        filing.html,
    )


def test_small_corpus_ingests_with_tables_statements_and_metadata(tmp_path, settings):
    from core.options import HashEmbedderOptions
    from ingest.pipeline import Ingestor
    from retrieval.corpus import Corpus

    folder = tmp_path / "corpus"
    paths = write_general_corpus(folder, companies=3, seed=7)
    expected = {f.file_name: f for f in build_filings(companies=3, seed=7)}
    settings.embedder = HashEmbedderOptions()
    settings.ingest.render_pages = False
    settings.ingest.figures = False
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        report = Ingestor(corpus).ingest([folder])
        chunks = list(corpus.index.scroll_chunks())
    assert [f.status for f in report.files] == ["ok"] * len(paths)
    assert sum(f.pages for f in report.files) == sum(pymupdf.open(p).page_count for p in paths)
    by_file: dict[str, list] = {}
    for chunk in chunks:
        by_file.setdefault(chunk.file_name, []).append(chunk)
    assert set(by_file) == set(expected)
    for name, filing in expected.items():
        got = by_file[name]
        first = got[0]
        assert (
            first.company,
            first.ticker,
            first.form,
            first.fiscal_year,
            first.fiscal_period,
        ) == (filing.company, filing.ticker, filing.form, filing.fiscal_year, filing.fiscal_period)
        assert first.period_end == filing.period_end
        statements = {c.statement for c in got if c.modality == "table" and c.statement}
        assert {"income", "balance", "cash-flow"} <= statements, (name, statements)
        income = next(c for c in got if c.modality == "table" and c.statement == "income")
        # row and column headers on the cells, e.g. ("Net income", "2023") -> "1,234"
        assert any(
            cell.row_header and cell.col_header and re.search(r"\d", cell.text)
            for cell in income.table.cells
        )
