"""Filing metadata from hand-built documents: covers of each form, overrides and sidecars."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.records import BBox, Element, Filing, ParsedDocument, TableData
from ingest.metadata import FilingMetadata, apply_overrides, extract_metadata, load_sidecar


def _doc(pages: list[list[str | Element]]) -> ParsedDocument:
    elements: list[Element] = []
    for page_no, items in enumerate(pages, start=1):
        for n, item in enumerate(items):
            if isinstance(item, Element):
                elements.append(item)
                continue
            kind = "heading" if item.isupper() and len(item) < 60 else "text"
            box = BBox(x0=50, y0=60 + 20 * n, x1=550, y1=75 + 20 * n)
            elements.append(Element(kind=kind, page_no=page_no, text=item, bbox=box))
    return ParsedDocument(
        doc_id="d" * 64, path="x.pdf", format="pdf", page_count=len(pages), elements=elements
    )


TEN_K = [
    [
        "UNITED STATES SECURITIES AND EXCHANGE COMMISSION",
        "Washington, D.C. 20549",
        "FORM 10-K",
        "☒ ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934",
        "For the fiscal year ended December 31, 2022",
        "Commission file number 1-442 THE BOEING COMPANY",
        "(Exact name of registrant as specified in its charter) Delaware 91-0425694",
        "Securities registered pursuant to Section 12(b) of the Act: Common Stock, $5.00 Par Value "
        "BA New York Stock Exchange",
        "(Title of each class) (Trading Symbol) (Name of each exchange on which registered)",
        "Central Index Key: 12927",
    ],
    ["PART I", "Item 1. Business", "Our outlook for FY24 remains unchanged. Our FY24 plan is set."],
]


def test_ten_k_cover() -> None:
    meta = extract_metadata(_doc(TEN_K), "whatever.pdf")
    assert meta.company == "THE BOEING COMPANY"
    assert meta.ticker == "BA"
    assert meta.cik == "0000012927"
    assert meta.form == "10-K"
    assert meta.period_end == date(2022, 12, 31)
    assert meta.fiscal_period == "FY"
    # "FY24" talks about the future; the dates decide.
    assert meta.fiscal_year == 2022
    assert meta.evidence["company"] == "p1:registrant-name"
    assert meta.evidence["fiscal_year"] == "cover:period-end-year"
    fields = {"company", "ticker", "cik", "form", "period_end", "fiscal_period", "fiscal_year"}
    assert meta.sources == dict.fromkeys(fields, "document")
    assert set(meta.evidence) == fields


def test_ten_k_prefers_the_documents_own_fiscal_label_when_it_names_the_start_year() -> None:
    # A retailer whose year ends 28 Jan 2023 and calls it "fiscal 2022".
    pages = [
        [
            "FORM 10-K",
            "For the fiscal year ended January 28, 2023",
            "TARGET CORPORATION",
            "(Exact name of registrant as specified in its charter)",
        ],
        ["Fiscal 2022 was a year of change. In fiscal 2022 we grew. Fiscal 2022 sales rose."],
    ]
    meta = extract_metadata(_doc(pages), "t.pdf")
    assert meta.fiscal_year == 2022
    assert meta.evidence["fiscal_year"] == "fiscal-label"
    assert meta.company == "TARGET CORPORATION"


def test_ten_q_fiscal_year_ending_in_january_uses_prior_ten_k() -> None:
    table = TableData(
        header_rows=[
            ["Title of each class", "Trading Symbol", "Name of each exchange on which registered"]
        ],
        rows=[["Common Stock, $0.10 par value per share", "BBY", "New York Stock Exchange"]],
    )
    pages = [
        [
            "FORM 10-Q",
            "☒ QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT "
            "OF 1934",
            "For the quarterly period ended July 29, 2023",
            "BEST BUY CO., INC. (Exact name of registrant as specified in its charter)",
            Element(kind="table", page_no=1, text="", table=table),
        ],
        [
            "Read with our Annual Report on Form 10-K for the fiscal year ended January 28, 2023.",
            "Three Months Ended Six Months Ended July 29, 2023 July 30, 2022",
        ],
    ]
    meta = extract_metadata(_doc(pages), "q.pdf")
    assert (meta.company, meta.ticker, meta.form) == ("BEST BUY CO., INC.", "BBY", "10-Q")
    assert meta.period_end == date(2023, 7, 29)
    assert meta.fiscal_year == 2024  # the year ending early Feb 2024
    assert meta.fiscal_period == "Q2"
    assert meta.evidence["ticker"] == "p1:trading-symbol-table"
    assert meta.evidence["fiscal_period"] == "months-since-fiscal-year-end"


@pytest.mark.parametrize(
    ("period", "prior", "year", "quarter"),
    [
        ("June 27, 2020", "September 28, 2019", 2020, "Q3"),  # fiscal year ends in September
        ("December 31, 2022", "June 30, 2022", 2023, "Q2"),  # fiscal year ends in June
        ("September 30, 2023", "June 30, 2023", 2024, "Q1"),
    ],
)
def test_ten_q_non_calendar_years(period: str, prior: str, year: int, quarter: str) -> None:
    pages = [
        [
            "FORM 10-Q",
            f"For the quarterly period ended {period}",
            "ACME INC.",
            "(Exact name of registrant as specified in its charter)",
        ],
        [f"See our Annual Report on Form 10-K for the fiscal year ended {prior}."],
    ]
    meta = extract_metadata(_doc(pages), "q.pdf")
    assert meta.fiscal_year == year
    assert meta.fiscal_period == quarter


def test_ten_q_quarter_from_statement_headers_without_ten_k_reference() -> None:
    pages = [
        [
            "FORM 10-Q",
            "For the quarterly period ended October 1, 2023",
            "ACME INC.",
            "(Exact name of registrant as specified in its charter)",
        ],
        ["Condensed Consolidated Statements of Income", "Three Months Ended Nine Months Ended"],
    ]
    meta = extract_metadata(_doc(pages), "q.pdf")
    assert meta.fiscal_period == "Q3"
    assert meta.evidence["fiscal_period"] == "statement-headers"
    # No "fiscal YYYY" wording and no prior year end: the fiscal year is not invented.
    assert meta.fiscal_year is None


def test_eight_k_uses_earliest_event_and_has_no_fiscal_period() -> None:
    pages = [
        [
            "FORM 8-K",
            "CURRENT REPORT",
            "Pursuant to Section 13 or 15(d) of the Securities Exchange Act of 1934",
            "Date of Report (Date of earliest event reported): July 1, 2022 (June 30, 2022)",
            "AMCOR PLC (Exact name of registrant as specified in its charter)",
            "Title of each class Trading Symbol(s) Name of each exchange on which registered "
            "Ordinary Shares, par value $0.01 per share AMCR New York Stock Exchange",
            "We expect fiscal 2023 to be strong.",
        ]
    ]
    meta = extract_metadata(_doc(pages), "k.pdf")
    assert (meta.company, meta.ticker, meta.form) == ("AMCOR PLC", "AMCR", "8-K")
    assert meta.period_end == date(2022, 6, 30)
    assert meta.fiscal_year is None and meta.fiscal_period is None


def test_eight_k_recognised_from_wording_alone() -> None:
    meta = extract_metadata(_doc([["CURRENT REPORT", "Pursuant to Section 13 or 15(d)"]]), "k.pdf")
    assert meta.form == "8-K"
    assert meta.evidence["form"] == "p1:report-wording"


def test_earnings_release() -> None:
    pages = [
        [
            Element(
                kind="title",
                page_no=1,
                text="Amcor reports fiscal 2023 results and provides outlook for fiscal 2024",
            ),
            "June 2023 quarter: GAAP diluted EPS of 12.3 cps",
            "Three Months Ended June 30, 2023 net sales were $3.7 billion.",
        ],
        [
            "Amcor (NYSE: AMCR; ASX: AMC) is a global leader. Fiscal 2024 outlook. "
            "Fiscal 2024 guidance."
        ],
    ]
    meta = extract_metadata(_doc(pages), "r.pdf")
    assert meta.form == "earnings-release"
    assert meta.company == "Amcor"
    assert meta.ticker == "AMCR"
    assert meta.fiscal_year == 2023  # the first label in the title, not the outlook year
    assert meta.fiscal_period == "Q4"
    assert meta.evidence["company"] == "p1:release-title"


def test_earnings_release_quarter_words() -> None:
    pages = [["Best Buy Reports Second Quarter Fiscal 2024 Results", "(NYSE: BBY) today reported"]]
    meta = extract_metadata(_doc(pages), "r.pdf")
    assert (meta.company, meta.ticker, meta.form) == ("Best Buy", "BBY", "earnings-release")
    assert (meta.fiscal_year, meta.fiscal_period) == (2024, "Q2")


def test_ligatures_and_quarter_wording_without_fiscal_year_end() -> None:
    pages = [
        [
            "FORM 10-Q",
            "For the quarterly period ended June 30, 2024",
            "Northwind Robotics, Inc.",
            "(Exact name of registrant as speciﬁed in its charter)",
        ],
        [
            "Six months ended June 30, 2024",
            "Revenue for the second quarter of 2024 was $611.2 million.",
            "Debt due in fiscal 2027 and fiscal 2027.",
        ],
    ]
    meta = extract_metadata(_doc(pages), "n.pdf")
    assert (meta.company, meta.fiscal_period, meta.fiscal_year) == (
        "Northwind Robotics, Inc.",
        "Q2",
        2024,
    )
    ten_k = [
        [
            "FORM 10-K",
            "ANNUAL REPORT For the ﬁscal year ended June 30, 2024",
            "CONTOSO CORP",
            "(Exact name of registrant as speciﬁed in its charter)",
        ]
    ]
    meta = extract_metadata(_doc(ten_k), "c.pdf")
    assert (meta.period_end, meta.fiscal_year, meta.fiscal_period) == (
        date(2024, 6, 30),
        2024,
        "FY",
    )


def test_acl_is_accepted_but_not_metadata(tmp_path: Path) -> None:
    meta = apply_overrides(
        FilingMetadata(company="X"), {"acl": ["finance"], "ticker": "XX"}, "override"
    )
    assert meta.ticker == "XX" and meta.sources == {"ticker": "override"}
    with pytest.raises(ConfigError, match="list of group names"):
        apply_overrides(meta, {"acl": "finance"}, "override")
    pdf = tmp_path / "a.pdf"
    (tmp_path / "a.pdf.meta.json").write_text('{"acl": ["legal"]}')
    assert load_sidecar(pdf) == {"acl": ["legal"]}


def test_nothing_recognisable_stays_unknown() -> None:
    pages = [["Minutes of the garden club", "We planted 40 tulips in 2021 and more in May."]]
    meta = extract_metadata(_doc(pages), "ACME_2023Q2_10Q.pdf")
    assert meta.model_dump(exclude={"sources", "evidence"}) == {
        f: None for f in FilingMetadata.model_fields if f not in ("sources", "evidence")
    }
    assert meta.sources == {} and meta.evidence == {}


def test_overrides_replace_values_and_sources() -> None:
    meta = extract_metadata(_doc(TEN_K), "b.pdf")
    meta2 = apply_overrides(
        meta, {"ticker": "BA.X", "fiscal_year": "2021", "period_end": "2021-12-31"}, "override"
    )
    assert (meta2.ticker, meta2.fiscal_year, meta2.period_end) == ("BA.X", 2021, date(2021, 12, 31))
    assert meta2.sources["ticker"] == "override" and "ticker" not in meta2.evidence
    assert (
        meta2.sources["company"] == "document" and meta2.evidence["company"] == "p1:registrant-name"
    )
    assert meta.ticker == "BA"  # the input is not modified
    filing = Filing(doc_id="d", source_path="b.pdf", file_name="b.pdf", **meta2.filing_fields())
    assert filing.metadata_source == {
        **dict.fromkeys(meta.sources, "document"),
        "ticker": "override",
        "fiscal_year": "override",
        "period_end": "override",
    }


def test_overrides_reject_unknown_keys_and_bad_values() -> None:
    meta = FilingMetadata()
    with pytest.raises(
        ConfigError, match="unknown metadata field.*tikcer.*valid fields: acl, cik, company"
    ):
        apply_overrides(meta, {"tikcer": "X"}, "override:cli")
    with pytest.raises(ConfigError, match="fiscal_period"):
        apply_overrides(meta, {"fiscal_period": "H1"}, "override:cli")


def test_sidecars(tmp_path: Path) -> None:
    pdf = tmp_path / "acme.pdf"
    pdf.write_bytes(b"%PDF")
    assert load_sidecar(pdf) == {}
    (tmp_path / "acme.pdf.meta.toml").write_text('company = "Acme Corp"\nfiscal_year = 2023\n')
    data = load_sidecar(pdf)
    assert data == {"company": "Acme Corp", "fiscal_year": 2023}
    meta = apply_overrides(FilingMetadata(), data, "sidecar")
    assert meta.company == "Acme Corp" and meta.sources["fiscal_year"] == "sidecar"

    (tmp_path / "acme.pdf.meta.json").write_text(json.dumps({"ticker": "ACME"}))
    with pytest.raises(ConfigError, match="keep one"):
        load_sidecar(pdf)
    (tmp_path / "acme.pdf.meta.toml").unlink()
    assert load_sidecar(pdf) == {"ticker": "ACME"}

    (tmp_path / "acme.pdf.meta.json").write_text(json.dumps({"colour": "red"}))
    with pytest.raises(ConfigError, match="unknown metadata field.*colour"):
        load_sidecar(pdf)
    (tmp_path / "acme.pdf.meta.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read metadata sidecar"):
        load_sidecar(pdf)
