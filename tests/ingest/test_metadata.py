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
    assert meta.file_number == "1-442"
    company = meta.evidence["company"]
    assert (company.rule, company.page, company.text) == (
        "registrant-caption",
        1,
        "THE BOEING COMPANY",
    )
    assert "THE BOEING COMPANY" in _doc(TEN_K).elements[company.element].text
    assert company.confidence >= 0.95
    assert meta.evidence["fiscal_year"].rule == "period-end"
    fields = {
        "company",
        "ticker",
        "cik",
        "file_number",
        "form",
        "period_end",
        "fiscal_period",
        "fiscal_year",
    }
    assert meta.sources == dict.fromkeys(fields, "document")
    assert set(meta.evidence) == fields
    assert all(0.5 <= e.confidence <= 1 for e in meta.evidence.values())


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
    assert meta.evidence["fiscal_year"].rule == "fiscal-label-start-year"
    assert meta.evidence["fiscal_year"].page == 2
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
    assert meta.evidence["ticker"].rule.startswith("trading-symbol-table")
    assert meta.evidence["fiscal_period"].rule == "fiscal-calendar"


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
    assert meta.evidence["fiscal_period"].rule == "statement-headers"
    assert meta.evidence["fiscal_period"].text == "Nine Months Ended"
    # No fiscal-year end printed: nine months to (about) September 30 close a December year.
    assert meta.fiscal_year == 2023
    assert meta.evidence["fiscal_year"].confidence < 0.9  # derived, less sure than a 10-K date


def test_eight_k_uses_earliest_event_and_the_year_of_the_report() -> None:
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
    # The calendar year of the Date of Report (FinanceBench's convention), though a June fiscal
    # year would call July 2022 fiscal 2023; an event has no fiscal period.
    assert meta.fiscal_year == 2022 and meta.fiscal_period is None
    assert meta.evidence["fiscal_year"].rule == "date-of-report-year"


def test_eight_k_recognised_from_wording_alone() -> None:
    meta = extract_metadata(_doc([["CURRENT REPORT", "Pursuant to Section 13 or 15(d)"]]), "k.pdf")
    assert meta.form == "8-K"
    assert meta.evidence["form"].rule == "report-wording"


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
    assert meta.evidence["company"].rule.startswith("release-headline")


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
    assert meta2.sources["company"] == "document"
    assert meta2.evidence["company"].rule == "registrant-caption"
    assert meta.ticker == "BA"  # the input is not modified
    filing = Filing(doc_id="d", source_path="b.pdf", file_name="b.pdf", **meta2.filing_fields())
    assert filing.metadata_source == {
        **dict.fromkeys(meta.sources, "document"),
        "ticker": "override",
        "fiscal_year": "override",
        "period_end": "override",
    }
    assert set(filing.metadata_evidence) == set(meta.evidence) - {
        "ticker",
        "fiscal_year",
        "period_end",
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


# ---------------------------------------------------------------------------------------------
# cover layouts, with the boxes PyMuPDF gives them (fictional companies)


def _at(text: str, x0: float, y0: float, x1: float, y1: float, kind: str = "text", page: int = 1):
    return Element(kind=kind, page_no=page, text=text, bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1))


def _laid_out(*elements: Element, pages: int = 1) -> ParsedDocument:
    return ParsedDocument(
        doc_id="d" * 64,
        path="x.pdf",
        format="pdf",
        page_count=pages,
        elements=list(elements),
    )


def _cover_top(period: str = "For the fiscal year ended December 31, 2020") -> list[Element]:
    return [
        _at("UNITED STATES SECURITIES AND EXCHANGE COMMISSION", 191, 63, 404, 85, "heading"),
        _at("FORM 10-K", 267, 107, 328, 119, "heading"),
        _at(
            "☒ ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT "
            "OF 1934",
            29,
            147,
            375,
            156,
        ),
        _at(period, 16, 162, 379, 182, "heading"),
        _at("☐ TRANSITION REPORT PURSUANT TO SECTION 13 OR 15(d)", 29, 185, 388, 194),
        _at("For the transition period from ______ to ______", 219, 200, 376, 209),
    ]


def test_two_column_cover_reads_the_name_above_the_caption_in_its_column() -> None:
    # Reading order interleaves the columns: the right column's "(I.R.S. Employer Identification
    # No.)" comes between the name and its caption, and an EIN sits level with the name.
    doc = _laid_out(
        *_cover_top(),
        _at("Commission file number 1-99999", 243, 209, 352, 218),
        _at("NORTHWIND AEROSPACE CORPORATION", 208, 239, 386, 250, "heading"),
        _at("52-0000001", 440, 238, 500, 248),
        _at("(I.R.S. Employer Identification No.)", 433, 270, 537, 278),
        _at("(Exact name of registrant as specified in its charter)", 223, 250, 371, 258),
        _at("Maryland", 118, 260, 149, 268, "heading"),
        _at("(State or other jurisdiction of incorporation or organization)", 90, 270, 300, 285),
    )
    meta = extract_metadata(doc, "n.pdf")
    assert meta.company == "NORTHWIND AEROSPACE CORPORATION"
    assert meta.evidence["company"].element == 7
    assert meta.file_number == "1-99999"
    assert (meta.form, meta.fiscal_year, meta.fiscal_period) == ("10-K", 2020, "FY")


def test_transition_period_line_over_the_caption_is_not_a_name() -> None:
    # The name is a logo (an image) between the transition-period line and its caption.
    doc = _laid_out(
        *_cover_top("For the fiscal year ended December 31, 2017"),
        _at(
            "For the transition period from to Commission File Number 001-00001",
            244,
            220,
            356,
            236,
            "heading",
        ),
        _at("(Exact name of Registrant as specified in its charter)", 225, 263, 376, 271),
        _at("Delaware", 156, 278, 182, 286, "heading"),
    )
    meta = extract_metadata(doc, "logo.pdf")
    assert meta.company is None  # nothing readable is better than the transition line
    assert meta.form == "10-K" and meta.fiscal_year == 2017


def test_logo_cover_takes_the_name_from_two_agreeing_body_readings() -> None:
    cover = [
        *_cover_top("For the fiscal year ended December 31, 2017"),
        _at(
            "For the transition period from to Commission File Number 001-00001",
            244,
            220,
            356,
            236,
            "heading",
        ),
        _at("(Exact name of Registrant as specified in its charter)", 225, 263, 376, 271),
    ]
    heading = _at("THE FABRIKAM COMPANY AND SUBSIDIARIES", 200, 40, 410, 52, "heading", page=2)
    terms = _at(
        'In this report, the terms "The Fabrikam Company," "Company," "we," "us" and "our" '
        "mean The Fabrikam Company and all entities included in our financial statements.",
        50,
        100,
        560,
        130,
        page=3,
    )
    meta = extract_metadata(_laid_out(*cover, heading, terms, pages=3), "logo.pdf")
    assert meta.company is not None and meta.company.upper() == "THE FABRIKAM COMPANY"
    assert set(meta.evidence["company"].rule.split("+")) >= {
        "subsidiaries-heading",
        "self-definition",
    }
    # One weak reading alone is not enough.
    meta = extract_metadata(_laid_out(*cover, heading, pages=2), "logo.pdf")
    assert meta.company is None


def test_cover_without_caption_reads_the_prominent_name_in_capitals() -> None:
    doc = _laid_out(
        _at("UNITED STATES", 235, 44, 361, 62, "title"),
        _at("FORM 10-K", 254, 110, 341, 128, "heading"),
        _at(
            "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF",
            43,
            154,
            574,
            166,
            "heading",
        ),
        _at("For the Fiscal Year Ended June 30, 2023", 43, 181, 210, 191, "heading"),
        _at("For the Transition Period From to", 43, 234, 265, 244, "heading"),
        _at("Commission File Number 001-00002", 223, 252, 373, 262, "heading"),
        _at("CONTOSO CORPORATION", 150, 278, 446, 302, "heading"),
        _at("WASHINGTON", 130, 323, 191, 332, "heading"),
        _at("91-0000002 (STATE OF INCORPORATION) (I.R.S. ID)", 113, 323, 463, 340),
        _at("ONE CONTOSO WAY, REDMOND, WASHINGTON 98052", 168, 344, 427, 354, "heading"),
        *[
            _at(
                f"Contoso Corporation builds tools. Contoso grew in fiscal 2023 ({i}).",
                50,
                100,
                560,
                120,
                page=2 + i,
            )
            for i in range(3)
        ],
        pages=4,
    )
    meta = extract_metadata(doc, "c.pdf")
    assert meta.company == "CONTOSO CORPORATION"
    assert meta.evidence["company"].rule == "identity-block+mentions"
    assert (meta.fiscal_year, meta.period_end) == (2023, date(2023, 6, 30))


def test_small_caps_spacing_is_undone_in_names_only_when_it_is_small_caps() -> None:
    from ingest.front_matter import tidy_name

    assert tidy_name("NORTHWIND R ESORTS I NTERNATIONAL") == "NORTHWIND RESORTS INTERNATIONAL"
    assert tidy_name("J C PENNEY COMPANY, INC.") == "J C PENNEY COMPANY, INC."
    assert tidy_name("NIKE, Inc .") == "NIKE, Inc."


def test_ten_q_of_a_june_fiscal_year_ignores_past_year_labels() -> None:
    pages = [
        [
            "FORM 10-Q",
            "For the Quarterly Period Ended December 31, 2022",
            "FABRIKAM PLC",
            "(Exact name of Registrant as specified in its charter)",
        ],
        [
            "Read with our Annual Report on Form 10-K for the fiscal year ended June 30, 2022.",
            "Three Months Ended December 31, Six Months Ended December 31,",
            "During the fourth quarter of fiscal year 2022 we sold a plant.",
            "In the fourth quarter of fiscal year 2022 we impaired goodwill.",
            "Integration was completed at the end of fiscal year 2022.",
        ],
    ]
    meta = extract_metadata(_doc(pages), "q.pdf")
    assert (meta.fiscal_year, meta.fiscal_period) == (2023, "Q2")
    assert meta.evidence["fiscal_year"].rule == "fiscal-calendar"
    assert meta.evidence["fiscal_year"].text.startswith("Form 10-K for the fiscal year ended")
    # Without the 10-K reference the statement headers still place the quarter.
    meta = extract_metadata(_doc([pages[0], pages[1][1:]]), "q.pdf")
    assert (meta.fiscal_year, meta.fiscal_period) == (2023, "Q2")
    assert meta.evidence["fiscal_year"].rule == "statement-headers"


def test_fifty_two_week_year_ending_in_the_first_days_of_january() -> None:
    pages = [
        [
            "FORM 10-K",
            "For the fiscal year ended January 1, 2023",
            "ACME INC.",
            "(Exact name of registrant as specified in its charter)",
        ]
    ]
    assert extract_metadata(_doc(pages), "a.pdf").fiscal_year == 2022


def test_eight_k_date_of_report_printed_above_its_caption() -> None:
    doc = _laid_out(
        _at("FORM 8-K", 270, 60, 340, 75, "heading"),
        _at(
            "CURRENT REPORT Pursuant to Section 13 or 15(d) of the Securities Exchange Act of 1934",
            160,
            80,
            450,
            100,
            "heading",
        ),
        _at("January 3, 2023", 260, 110, 350, 120),
        _at("Date of Report (Date of earliest event reported)", 200, 121, 410, 130),
        _at("WOODGROVE BANCORP, INC.", 230, 150, 380, 165, "heading"),
        _at("(Exact name of registrant as specified in its charter)", 210, 166, 400, 175),
    )
    meta = extract_metadata(doc, "k.pdf")
    assert (meta.company, meta.form) == ("WOODGROVE BANCORP, INC.", "8-K")
    assert (meta.period_end, meta.fiscal_year, meta.fiscal_period) == (date(2023, 1, 3), 2023, None)
    assert meta.evidence["fiscal_year"].element == 2


def test_earnings_release_with_a_wrapped_headline_and_dateline() -> None:
    doc = _laid_out(
        _at("Exhibit 99.1", 480, 53, 561, 68, "heading"),
        _at(
            "FABRIKAM RESORTS INTERNATIONAL REPORTS FOURTH QUARTER AND", 57, 94, 559, 111, "heading"
        ),
        _at("FULL YEAR 2022 FINANCIAL AND OPERATING RESULTS", 103, 109, 512, 126, "heading"),
        _at("• Record results in 4Q and full year 2022", 72, 134, 548, 220, "list"),
        _at(
            "Las Vegas, Nevada, February 8, 2023 – Fabrikam Resorts International (NYSE: FRI) "
            '("Fabrikam" or the "Company") today reported financial results for the quarter and '
            "year ended December 31, 2022.",
            54,
            237,
            561,
            265,
        ),
    )
    meta = extract_metadata(doc, "r.pdf")
    assert (meta.company, meta.ticker, meta.form) == (
        "FABRIKAM RESORTS INTERNATIONAL",
        "FRI",
        "earnings-release",
    )
    assert (meta.fiscal_year, meta.fiscal_period) == (2022, "Q4")
    assert (meta.filed_at, meta.period_end) == (date(2023, 2, 8), date(2022, 12, 31))
    assert "release-dateline" in meta.evidence["company"].rule
    assert meta.evidence["filed_at"].element == 4


@pytest.mark.parametrize(
    ("headline", "year", "quarter"),
    [
        ("Contoso Reports Second-Quarter 2023 Results", 2023, "Q2"),
        ("Contoso Reports Q4 2022 Earnings", 2022, "Q4"),
        ("Contoso Announces Results for the Third Quarter of Fiscal 2024", 2024, "Q3"),
        ("MAY 1, 2023 - Contoso Reports First Quarter Fiscal 2023 Results", 2023, "Q1"),
    ],
)
def test_release_headlines(headline: str, year: int, quarter: str) -> None:
    meta = extract_metadata(_doc([[headline, "Contoso (NYSE: CTSO) today reported."]]), "r.pdf")
    assert (meta.company, meta.form) == ("Contoso", "earnings-release")
    assert (meta.fiscal_year, meta.fiscal_period) == (year, quarter)


def test_values_below_the_confidence_threshold_are_left_unset() -> None:
    meta = extract_metadata(_doc(TEN_K), "b.pdf", min_confidence=0.97)
    assert meta.company is None and meta.ticker is None and "company" not in meta.evidence
    assert meta.fiscal_year is None  # 0.95 from the period end alone
    assert meta.cik is None and meta.form is None


def test_catalog_rows_without_evidence_still_load() -> None:
    old = (
        '{"doc_id": "d", "source_path": "a.pdf", "file_name": "a.pdf", "company": "ACME", '
        '"metadata_source": {"company": "document"}}'
    )
    filing = Filing.model_validate_json(old)
    assert filing.metadata_evidence == {} and filing.file_number is None
    meta = extract_metadata(_doc(TEN_K), "b.pdf")
    filing = Filing(doc_id="d", source_path="b.pdf", file_name="b.pdf", **meta.filing_fields())
    again = Filing.model_validate_json(filing.model_dump_json())
    assert again.metadata_evidence["company"].rule == "registrant-caption"
    assert again == filing


def test_captionless_logo_cover_does_not_take_the_state_for_the_name() -> None:
    # No caption and the name only in a logo: the block between the file number and the
    # incorporation caption holds the state of incorporation, printed over its caption.
    doc = _laid_out(
        *_cover_top("For the fiscal year ended December 31, 2019"),
        _at("Commission File Number 001-00003", 243, 212, 352, 221),
        _at("Delaware", 156, 278, 182, 286, "heading"),
        _at("(State or other jurisdiction of incorporation or organization)", 90, 286, 247, 294),
        _at("12-3456789 (I.R.S. Employer Identification No.)", 372, 278, 467, 294),
        *[
            _at("Delaware law governs us. Delaware courts hear claims.", 50, 100, 560, 120, page=2)
            for _ in range(2)
        ],
        pages=2,
    )
    meta = extract_metadata(doc, "logo.pdf")
    assert meta.company is None
    assert (meta.form, meta.fiscal_year) == ("10-K", 2019)
