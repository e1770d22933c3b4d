"""Statement facts from table chunks and inline XBRL (ingest.facts)."""

from __future__ import annotations

from datetime import date

import pytest

from core.records import BBox, Chunk, Filing, TableCell, TableData
from ingest.facts import FiscalCalendar, facts_from_chunks, facts_from_ixbrl


def _filing(**kw) -> Filing:
    base = dict(
        doc_id="d" * 64,
        source_path="/x/acme.pdf",
        file_name="acme.pdf",
        company="ACME CORP",
        form="10-K",
        fiscal_year=2019,
        fiscal_period="FY",
        period_end=date(2019, 12, 31),
        acl=["public", "analysts"],
    )
    base.update(kw)
    return Filing(**base)


def _chunk(header, rows, *, statement="income", caption="", n=0, continues=None, x0=None):
    cells = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            x = (x0[r] if x0 else 20.0) if c == 0 else 300.0 + 60 * c
            cells.append(
                TableCell(
                    row=r, col=c, text=text, bbox=BBox(x0=x, y0=r * 10, x1=x + 50, y1=r * 10 + 8)
                )
            )
    table = TableData(header_rows=header, rows=rows, cells=cells, caption=caption)
    return Chunk(
        chunk_id=f"c{n}",
        doc_id="d" * 64,
        page_no=5 + n,
        modality="table",
        text="",
        table=table,
        statement=statement,
        order=n,
        continues_id=continues,
    )


def _by(facts, concept, year=None, period=None):
    return [
        f
        for f in facts
        if f.concept == concept
        and (year is None or f.fiscal_year == year)
        and (period is None or f.fiscal_period == period)
    ]


def test_income_statement_scale_sign_periods_and_units():
    header = [
        ["(In millions, except per share data)", "", "", ""],
        ["Years Ended December 31,", "2019", "2018", "2017"],
    ]
    rows = [
        ["Net sales", "1,234.5", "1,100", "990"],
        ["Cost of sales", "(700)", "(650)", "(600)"],
        ["Operating loss", "(12)", "5", "—"],
        ["Earnings per share:", "", "", ""],
        ["Diluted", "$ 1.25", "$ (0.40)", "0.90"],
        ["Gross margin %", "43.3%", "40.9%", "39.4%"],
    ]
    facts = facts_from_chunks(_filing(), [_chunk(header, rows)])
    rev = _by(facts, "revenue", 2019)[0]
    assert rev.value == pytest.approx(1.2345e9)
    assert (rev.period_type, rev.months, rev.fiscal_period) == ("duration", 12, "FY")
    assert (rev.period_start, rev.period_end) == (date(2019, 1, 1), date(2019, 12, 31))
    assert rev.scale == 1e6 and rev.unit == "USD" and rev.text == "1,234.5"
    assert rev.line_item == "Net sales" and rev.statement == "income"
    assert rev.acl == ["public", "analysts"] and rev.company == "ACME CORP"
    assert rev.bbox is not None and rev.chunk_id == "c0" and rev.page_no == 5
    assert _by(facts, "cost_of_revenue", 2018)[0].value == pytest.approx(-650e6)
    assert _by(facts, "operating_income", 2019)[0].value == pytest.approx(-12e6)
    assert not _by(facts, "operating_income", 2017)  # "—" is no figure
    eps = _by(facts, "eps_diluted", 2018)[0]
    assert (eps.value, eps.unit, eps.scale, eps.path) == (
        -0.40,
        "USD/share",
        1.0,
        ["Earnings per share"],
    )
    pct = [f for f in facts if f.line_item == "Gross margin %" and f.fiscal_year == 2019][0]
    assert pct.unit == "percent" and pct.value == pytest.approx(0.433)
    # deterministic ids
    again = facts_from_chunks(_filing(), [_chunk(header, rows)])
    assert [f.fact_id for f in again] == [f.fact_id for f in facts]
    assert len({f.fact_id for f in facts}) == len(facts)


def test_balance_sheet_instants_path_totals_and_continuation():
    header = [
        ["(in thousands)", "", ""],
        ["", "December 31,", "December 31,"],
        ["", "2019", "2018"],
    ]
    first = [
        ["Assets", "", ""],
        ["Current assets:", "", ""],
        ["Cash and cash equivalents", "5,794", "4,225"],
        ["Inventories, net (Note 6)", "32", "43"],
        ["Total", "6,000", "4,500"],
    ]
    x0 = [20, 20, 30, 30, 40]
    second = [["Property and equipment, net", "253", "260"], ["Total assets", "9,000", "8,000"]]
    chunks = [
        _chunk(header, first, statement="balance", x0=x0),
        _chunk([], second, statement="balance", n=1, continues="c0"),
    ]
    facts = facts_from_chunks(_filing(), chunks)
    ca = _by(facts, "current_assets", 2019)[0]
    assert ca.value == 6_000_000 and ca.path == ["Assets", "Current assets"]
    assert (ca.period_type, ca.months, ca.period_start) == ("instant", None, None)
    assert ca.period_end == date(2019, 12, 31) and ca.fiscal_period == "FY"
    assert _by(facts, "inventories", 2018)[0].value == 43_000
    ppe = _by(facts, "ppe_net", 2018)[0]  # continued page: headers and scale carried over
    assert ppe.value == 260_000 and ppe.page_no == 6
    assert _by(facts, "total_assets", 2019)[0].value == 9_000_000


def test_quarters_on_a_52_53_week_june_calendar():
    # a June fiscal year of 52/53 weeks: FY2024 Q2 ends "December 30, 2023"; July 1 closes June
    filing = _filing(
        fiscal_year=2024, fiscal_period="Q2", period_end=date(2023, 12, 30), form="10-Q"
    )
    cal = FiscalCalendar.of(filing)
    assert cal is not None and cal.end_month == 6
    assert cal.place(date(2024, 7, 1), 12) == (2024, "FY")
    assert FiscalCalendar.of(_filing(form="8-K", fiscal_period=None)) is None
    header = [
        ["", "Three Months Ended", "Three Months Ended", "Six Months Ended", "Six Months Ended"],
        ["", "December 30,", "December 31,", "December 30,", "December 31,"],
        ["(In millions)", "2023", "2022", "2023", "2022"],
    ]
    rows = [["Revenues", "500", "450", "900", "800"]]
    facts = facts_from_chunks(filing, [_chunk(header, rows)])
    got = {(f.fiscal_year, f.fiscal_period, f.months): f.value for f in facts}
    assert got == {
        (2024, "Q2", 3): 500e6,
        (2023, "Q2", 3): 450e6,
        (2024, "H1", 6): 900e6,
        (2023, "H1", 6): 800e6,
    }
    q = [f for f in facts if f.months == 3 and f.fiscal_year == 2024][0]
    assert q.period_start == date(2023, 10, 1)


def test_fiscal_labels_and_52_week_year_end_early_in_month():
    # a year that ends "January 1, 2023" closes December: it is fiscal 2022
    filing = _filing(fiscal_year=2022, period_end=date(2023, 1, 1))
    header = [
        ["", "Fiscal Years Ended", "Fiscal Years Ended"],
        ["", "January 1, 2023", "January 2, 2022"],
    ]
    facts = facts_from_chunks(filing, [_chunk(header, [["Net revenues", "10", "9"]])])
    assert {(f.fiscal_year, f.value) for f in facts} == {(2022, 10.0), (2021, 9.0)}
    # an annual report's income statement headed by dates alone: fiscal years
    header = [["", "January 1, 2023", "January 2, 2022"]]
    facts = facts_from_chunks(filing, [_chunk(header, [["Net revenues", "10", "9"]])])
    assert {(f.fiscal_year, f.months, f.fiscal_period) for f in facts} == {
        (2022, 12, "FY"),
        (2021, 12, "FY"),
    }
    # "Fiscal 2024" labels on a June calendar: the period end follows the filing's calendar
    june = _filing(fiscal_year=2024, period_end=date(2024, 6, 30))
    header = [["", "Fiscal 2024", "Fiscal 2023"]]
    facts = facts_from_chunks(
        june,
        [
            _chunk(
                header,
                [["Net sales", "1,650.4", "1,500"]],
                caption="Statements of Income (in millions)",
            )
        ],
    )
    f24 = _by(facts, "revenue", 2024)[0]
    assert f24.period_end == date(2024, 6, 30) and f24.value == pytest.approx(1650.4e6)


def test_cells_that_cannot_be_placed_are_skipped():
    header = [["", "2019", "2018", "2019 vs. 2018"], ["", "", "", ""]]
    rows = [["Net sales", "10", "9", "11%"], ["", "5", "4", "1"]]
    facts = facts_from_chunks(_filing(), [_chunk(header, rows)])
    assert {f.column for f in facts} == {"2019", "2018"}  # no change column, no unlabelled row
    # two columns with the same period (as reported / restated): neither is placed
    header = [["", "December 31, 2017", "December 31, 2017"], ["Assets", "Reported", "Restated"]]
    assert not facts_from_chunks(
        _filing(), [_chunk(header, [["Total assets", "1", "2"]], statement="balance")]
    )
    # a note's table keeps its figures but names no concept
    note = facts_from_chunks(
        _filing(), [_chunk(header[:1], [["Revenue", "7", "8"]], statement=None)]
    )
    assert note == [] or all(f.concept is None for f in note)


IXBRL = """<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:ix="http://www.xbrl.org/2013/inlineXBRL"
 xmlns:xbrli="http://www.xbrl.org/2003/instance" xmlns:us-gaap="http://fasb.org/us-gaap/2023"
 xmlns:iso4217="http://www.xbrl.org/2003/iso4217" xmlns:xbrldi="http://xbrl.org/2006/xbrldi">
<body><div style="display:none"><ix:header><ix:resources>
<xbrli:context id="FY2023"><xbrli:entity><xbrli:identifier scheme="http://www.sec.gov/CIK">0000000001</xbrli:identifier></xbrli:entity>
<xbrli:period><xbrli:startDate>2023-01-01</xbrli:startDate><xbrli:endDate>2023-12-31</xbrli:endDate></xbrli:period></xbrli:context>
<xbrli:context id="I2023"><xbrli:entity><xbrli:identifier scheme="http://www.sec.gov/CIK">0000000001</xbrli:identifier></xbrli:entity>
<xbrli:period><xbrli:instant>2023-12-31</xbrli:instant></xbrli:period></xbrli:context>
<xbrli:unit id="usd"><xbrli:measure>iso4217:USD</xbrli:measure></xbrli:unit>
</ix:resources></ix:header></div>
<p>Revenue <ix:nonFraction name="us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax"
 contextRef="FY2023" unitRef="usd"
 decimals="-6" scale="6" format="ixt:num-dot-decimal" id="f1">1,234</ix:nonFraction></p>
<p>PP&amp;E <ix:nonFraction name="us-gaap:PropertyPlantAndEquipmentNet"
 contextRef="I2023" unitRef="usd"
 decimals="-6" scale="6" id="f2">253</ix:nonFraction></p>
<p>Loss <ix:nonFraction name="us-gaap:OperatingIncomeLoss"
 contextRef="FY2023" unitRef="usd"
 decimals="-6" scale="6" sign="-" id="f3">12</ix:nonFraction></p>
</body></html>
"""


def test_inline_xbrl_tags(tmp_path):
    path = tmp_path / "acme-10k.htm"
    path.write_text(IXBRL, encoding="utf-8")
    filing = _filing(fiscal_year=2023, period_end=date(2023, 12, 31), format="html")
    facts = {f.concept: f for f in facts_from_ixbrl(filing, path)}
    rev = facts["revenue"]
    assert rev.value == 1.234e9 and rev.scale == 1e6 and rev.unit == "USD"
    assert (rev.period_type, rev.months, rev.fiscal_year, rev.fiscal_period) == (
        "duration",
        12,
        2023,
        "FY",
    )
    assert rev.source == "ixbrl" and rev.page_no == 1 and "f1" in rev.table_caption
    ppe = facts["ppe_net"]
    assert (
        ppe.period_type == "instant" and ppe.period_end == date(2023, 12, 31) and ppe.value == 253e6
    )
    assert facts["operating_income"].value == -12e6
    plain = tmp_path / "plain.htm"
    plain.write_text("<html><body><p>no tags</p></body></html>", encoding="utf-8")
    assert facts_from_ixbrl(filing, plain) == []


@pytest.fixture(scope="module")
def multi_folder(tmp_path_factory):
    from samples.multi_filing import write_multi_filing_samples

    folder = tmp_path_factory.mktemp("multi")
    return folder, write_multi_filing_samples(folder)


def test_end_to_end_multi_filing_net_sales(settings, multi_folder, open_corpus):
    import tomllib

    from ingest.pipeline import Ingestor
    from samples.multi_filing import DATA

    folder, samples = multi_folder
    settings.ingest.workers = 1
    corpus = open_corpus(settings)
    paths = [folder / s.file_name for s in samples if s.form in ("10-Q", "10-K")]
    report = Ingestor(corpus).ingest(paths, raise_errors=True)
    assert all(f.status in ("ok", "partial") for f in report.files)
    quarters = tomllib.loads(DATA.read_text())["quarters"]
    got = corpus.facts.query(acl_groups=["public"], concepts=["revenue"])
    assert got
    placed = {(f.fiscal_year, f.fiscal_period): f.value for f in got if f.months in (3, 12)}
    checked = 0
    for q in quarters:
        key = (q["fiscal_year"], f"Q{q['quarter']}")
        if key in placed:
            assert placed[key] == pytest.approx(q["net_sales"] * 1e6)
            checked += 1
    assert checked >= 4
    annual = {q["fiscal_year"] for q in quarters}
    for fy in annual:
        total = sum(q["net_sales"] for q in quarters if q["fiscal_year"] == fy)
        assert placed[(fy, "FY")] == pytest.approx(total * 1e6, rel=1e-6)
    # re-ingesting with another ACL changes nothing (re-sharing is set_acl's job) ...
    n = corpus.facts.count()
    again = Ingestor(corpus).ingest(paths, overrides={"acl": ["secret"]}, raise_errors=True)
    assert {f.status for f in again.files} == {"skipped-duplicate"}
    assert corpus.facts.count() == n
    assert corpus.facts.query(acl_groups=["secret"], concepts=["revenue"]) == []
    # ... and set_acl rewrites the facts' ACL, no duplicates
    for doc_id in {f.doc_id for f in report.files}:
        corpus.set_acl(doc_id, ["secret"])
    assert corpus.facts.count() == n
    assert corpus.facts.query(acl_groups=["public"], concepts=["revenue"]) == []
    assert len(corpus.facts.query(acl_groups=["secret"], concepts=["revenue"])) == len(got)


def _text(text: str, n: int, page: int) -> Chunk:
    return Chunk(
        chunk_id=f"t{n}",
        doc_id="d" * 64,
        page_no=page,
        modality="text",
        text=text,
        statement="balance",
        order=n,
    )


def test_column_heads_printed_as_text_above_a_headerless_statement():
    # the parser kept the grid but cut its heads into the page text, broken over lines
    heads = _text("CONSOLIDATED BALANCE SHEETS\nDecember 31,\n2019 December 31,\n2018", 0, 5)
    unit = _text("(In thousands, except share data)", 1, 5)
    rows = [["Inventories", "5,409", "5,209"], ["Total current assets", "8,870", "9,829"]]
    table = _chunk([], rows, statement="balance", n=2).model_copy(update={"page_no": 5})
    facts = facts_from_chunks(_filing(), [heads, unit, table])
    inventories = {f.fiscal_year: f.value for f in _by(facts, "inventories")}
    assert inventories == {2019: 5_409_000.0, 2018: 5_209_000.0}
    assert all(f.period_type == "instant" for f in facts)


def test_a_sentence_naming_years_is_no_column_head():
    prose = _text("Inventories rose in 2019 from 2018 as we opened new stores.", 0, 5)
    table = _chunk([], [["Inventories", "5,409", "5,209"]], statement="balance", n=1)
    quarter = _filing(form="10-Q", fiscal_period="Q2")  # no conventional heads to fall back on
    assert facts_from_chunks(quarter, [prose, table.model_copy(update={"page_no": 5})]) == []


def test_statement_without_its_own_unit_takes_its_siblings_scale():
    header = [["(In millions)", "", ""], ["Years Ended December 31,", "2019", "2018"]]
    income = _chunk(header, [["Net sales", "1,234", "1,100"]], n=0)
    bare = [["", "2019", "2018"]]
    cash = _chunk(bare, [["Capital expenditures", "(155)", "(131)"]], statement="cash-flow", n=1)
    capex = {
        f.fiscal_year: f.value for f in _by(facts_from_chunks(_filing(), [income, cash]), "capex")
    }
    assert capex == {2019: -155e6, 2018: -131e6}


def test_a_label_cut_at_the_line_end_joins_the_row_with_the_figures():
    header = [["(In millions)", "", ""], ["Years Ended December 31,", "2019", "2018"]]
    rows = [
        ["Net income", "1,300", "1,200"],
        ["Less: Net income attributable to noncontrolling interests", "35", "23"],
        ["NET INCOME ATTRIBUTABLE TO SHAREOWNERS OF", "", ""],
        ["THE EXAMPLE COMPANY", "1,265", "1,177"],
        ["Net earnings attributable to redeemable and noncontrolling interests", "5", "4"],
    ]
    facts = facts_from_chunks(_filing(), [_chunk(header, rows)])
    parent = [f for f in _by(facts, "net_income", 2019) if "SHAREOWNERS" in f.line_item]
    assert [f.line_item for f in parent] == [
        "NET INCOME ATTRIBUTABLE TO SHAREOWNERS OF THE EXAMPLE COMPANY"
    ]
    assert not [f for f in _by(facts, "net_income") if "noncontrolling" in f.line_item]


def test_an_unlabelled_total_row_totals_its_section():
    header = [["(In thousands)", "", ""], ["Years Ended December 31,", "2019", "2018"]]
    rows = [["Casino", "2,871", "6,517"], ["Rooms", "830", "2,322"], ["", "3,701", "8,839"]]
    facts = facts_from_chunks(_filing(), [_chunk(header, rows, caption="Revenues")])
    total = _by(facts, "revenue", 2019)
    assert [(f.line_item, f.value) for f in total] == [("Total Revenues", 3_701_000.0)]


def test_an_annual_reports_statement_with_its_heads_lost_reads_the_sec_order_and_says_so():
    rows = [["Total current assets", "5,121.3", "4,186.5"], ["Inventories", "1,426.3", "1,559.3"]]
    unit = _text("(In Millions, Except Par Value)", 0, 5)
    table = _chunk([], rows, statement="balance", n=1).model_copy(update={"page_no": 5})
    facts = facts_from_chunks(_filing(), [unit, table])
    current = {f.fiscal_year: f for f in _by(facts, "current_assets")}
    assert {y: f.value for y, f in current.items()} == {
        2019: 5_121_300_000.0,
        2018: 4_186_500_000.0,
    }
    assert "heads not printed" in current[2019].column
    # a 10-Q (or any shape but the 10-K's) is never guessed
    assert facts_from_chunks(_filing(form="10-Q", fiscal_period="Q2"), [unit, table]) == []
    three = _chunk([], [["Inventories", "1", "2", "3"]], statement="balance", n=2)
    assert facts_from_chunks(_filing(), [three]) == []


def test_a_notes_table_titled_like_a_statement_is_not_the_statement():
    header = [["(In millions)", "", ""], ["Years Ended December 31,", "2019", "2018"]]
    statement = [
        ["Net sales", "14,694", "14,544"],
        ["Cost of sales", "(11,969)", "(11,724)"],
        ["Gross profit", "2,725", "2,820"],
        ["Operating income", "1,508", "1,239"],
        ["Net income", "1,058", "815"],
    ]
    segment = _chunk(header, [["Total net sales", "1,071", "1,020"]], n=0)
    facts = facts_from_chunks(_filing(), [segment, _chunk(header, statement, n=1)])
    revenue = {(f.page_no, f.statement) for f in _by(facts, "revenue", 2019)}
    assert revenue == {(5, None), (6, "income")}  # the segment's figure stays, as another table's
