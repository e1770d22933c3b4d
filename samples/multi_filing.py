"""One fictional company's filings over two fiscal years: 10-Ks, 10-Qs, 8-Ks, earnings releases.

Contract: :func:`multi_filing_samples` returns one :class:`SampleFiling` per document, built from
``multi_filing.toml`` beside this file: its file name, the metadata a reader of the document must
find (company, ticker, form, fiscal year and period, period end, release date) and its HTML.
:func:`write_multi_filing_samples` lays them out as PDFs in a folder with
:func:`samples.filings.write_pdf_from_html` (same bytes on every run) and returns the same records.

The company (Tailspin Outdoor Gear, Inc., ticker TSOG) has a June fiscal year end, so its fiscal
years straddle calendar years: the 10-Q for the quarter ended December 31, 2023 is Q2 of fiscal
2024, and the release of August 6, 2024 reports the fourth quarter of fiscal 2024. It files, for
fiscal 2024 and fiscal 2025, a 10-K, three 10-Qs and four quarterly earnings releases (no SEC
cover: a headline such as "Tailspin Outdoor Gear Reports Second Quarter Fiscal 2024 Results" and a
dateline), plus three 8-Ks whose cover prints the "Date of Report (Date of earliest event
reported)" either after its caption or above it; one 8-K furnishes a release as Exhibit 99.1.

What the metadata must read, per form (:class:`SampleFiling`):

* 10-K: fiscal_period ``FY``, fiscal_year the year the fiscal year ends, period_end June 30;
* 10-Q: ``Q1``..``Q3`` of the fiscal year in which the quarter falls;
* earnings release: ``Q1``..``Q4`` and fiscal year as its headline announces them, period_end
  the quarter's end, filed_at the release date;
* 8-K: no fiscal period; fiscal_year the calendar year of the Date of Report (the FinanceBench
  convention: an 8-K reports an event, which has a date, not a fiscal period), period_end the
  earliest event's date.

Every name and figure is made up. The release headlines and datelines name the company as
"Tailspin Outdoor Gear" and "Tailspin Outdoor Gear, Inc.": the registered name is what every
filing's ``company`` reads.
"""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from samples.filings import PAGE_BREAK, write_pdf_from_html

DATA = Path(__file__).with_name("multi_filing.toml")
_ORDINAL = {1: "First", 2: "Second", 3: "Third", 4: "Fourth"}
_MONTHS = {1: "three", 2: "six", 3: "nine", 4: "twelve"}


@dataclass(frozen=True)
class SampleFiling:
    """One generated document and the metadata a reader of it must find."""

    file_name: str
    company: str
    ticker: str
    form: str  # 10-K | 10-Q | 8-K | earnings-release
    fiscal_year: int
    fiscal_period: str | None  # FY | Q1..Q4; None for an 8-K
    period_end: date
    filed_at: date | None  # a release's date
    running_header: str
    html: str


@dataclass(frozen=True)
class _Quarter:
    fiscal_year: int
    quarter: int
    end: date
    figures: dict[str, float]
    release_date: date
    ten_q_date: date | None
    headline: str


def _long(d: date) -> str:
    return f"{calendar.month_name[d.month]} {d.day}, {d.year}"


def _money(x: float) -> str:
    return f"{x:,.1f}"


def quarter_end(fiscal_year: int, quarter: int, fiscal_year_end: str) -> date:
    """The last day of ``quarter`` (1-4) of ``fiscal_year`` for a fiscal year ending on
    ``fiscal_year_end`` ("MM-DD", at a month end)."""
    month = int(fiscal_year_end.split("-")[0])
    index = fiscal_year * 12 + (month - 1) - 12 + 3 * quarter
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])


def _load(path: Path = DATA) -> tuple[dict[str, Any], list[_Quarter], list[dict[str, Any]]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    company = data["company"]
    quarters = []
    for q in data["quarters"]:
        fy, n = int(q["fiscal_year"]), int(q["quarter"])
        quarters.append(
            _Quarter(
                fiscal_year=fy,
                quarter=n,
                end=quarter_end(fy, n, company["fiscal_year_end"]),
                figures={
                    k: float(q[k])
                    for k in ("net_sales", "gross_profit", "operating_income", "net_income")
                },
                release_date=date.fromisoformat(q["release_date"]),
                ten_q_date=date.fromisoformat(q["ten_q_date"]) if "ten_q_date" in q else None,
                headline=q["headline"].format(
                    short=company["short_name"], fy=fy, yy=f"{fy % 100:02d}"
                ),
            )
        )
    return company, quarters, list(data.get("current_reports", []))


# ------------------------------------------------------------------------------------ covers


def _registrant(c: dict[str, Any], file_number_in_table: bool) -> str:
    ids = (
        f"<tr><td>{c['state']}</td><td>{c['file_number']}</td><td>{c['irs_number']}</td></tr>"
        "<tr><td>(State or other jurisdiction of incorporation)</td>"
        "<td>(Commission File Number)</td><td>(I.R.S. Employer Identification No.)</td></tr>"
        if file_number_in_table
        else f"<tr><td>{c['state']}</td><td>{c['irs_number']}</td></tr>"
        "<tr><td>(State or other jurisdiction of incorporation or organization)</td>"
        "<td>(I.R.S. Employer Identification No.)</td></tr>"
    )
    return (
        f"<h1>{c['name']}</h1>"
        "<p>(Exact name of registrant as specified in its charter)</p>"
        f'<table class="ids">{ids}</table>'
        f"<p>{c['address']}</p><p>(Address of principal executive offices)</p>"
        "<p>Securities registered pursuant to Section 12(b) of the Act:</p>"
        "<table><tr><th>Title of each class</th><th>Trading Symbol(s)</th>"
        "<th>Name of each exchange on which registered</th></tr>"
        f"<tr><td>Common Stock, no par value</td><td>{c['ticker']}</td>"
        f"<td>{c['exchange']}</td></tr></table>"
    )


def _centred(html: str) -> str:
    # Story ignores text-align inherited from a div; covers are centred, so say it per paragraph.
    return html.replace("<p>", '<p style="text-align:center">')


def _periodic_cover(c: dict[str, Any], form: str, period_line: str) -> str:
    kind = "ANNUAL" if form == "10-K" else "QUARTERLY"
    return _centred(
        '<div class="cover">'
        "<p>UNITED STATES<br/>SECURITIES AND EXCHANGE COMMISSION<br/>Washington, D.C. 20549</p>"
        f"<h1>FORM {form}</h1>"
        f"<p>[X] {kind} REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF "
        f"1934</p><p>{period_line}</p><p>OR</p>"
        "<p>[ ] TRANSITION REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT "
        "OF 1934</p><p>For the transition period from ________ to ________</p>"
        f"<p>Commission File Number {c['file_number']}</p>"
        + _registrant(c, file_number_in_table=False)
        + "<p>Indicate by check mark whether the registrant (1) has filed all reports required to "
        "be filed by Section 13 or 15(d) of the Securities Exchange Act of 1934 during the "
        "preceding 12 months. Yes [X] No [ ]</p></div>"
    )


def _current_cover(c: dict[str, Any], report: dict[str, Any]) -> str:
    when = date.fromisoformat(report["report_date"])
    event = date.fromisoformat(report["event_date"]) if "event_date" in report else None
    dates = _long(when) + (f" ({_long(event)})" if event else "")
    if report.get("layout") == "above":
        date_block = f"<p>{dates}</p><p>Date of Report (Date of earliest event reported)</p>"
    else:
        date_block = f"<p>Date of Report (Date of earliest event reported): {dates}</p>"
    return _centred(
        '<div class="cover">'
        "<p>UNITED STATES<br/>SECURITIES AND EXCHANGE COMMISSION<br/>Washington, D.C. 20549</p>"
        "<h1>FORM 8-K</h1>"
        "<p>CURRENT REPORT<br/>Pursuant to Section 13 or 15(d) of the Securities Exchange Act of "
        "1934</p>" + date_block + _registrant(c, file_number_in_table=True) + "<p>Check the "
        "appropriate box below if the Form 8-K filing is intended to simultaneously satisfy the "
        "filing obligation of the registrant under any of the following provisions.</p></div>"
    )


# ------------------------------------------------------------------------------------ bodies


def _paragraphs(*texts: str) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def _statement(title: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(
        f'<th class="n">{h}</th>' if i else f"<th>{h}</th>" for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{x}</td>' if i else f"<td>{x}</td>" for i, x in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<p><b>{title}</b></p><table><tr>{head}</tr>{body}</table>"


_LINES = [
    ("Net sales", "net_sales"),
    ("Gross profit", "gross_profit"),
    ("Operating income", "operating_income"),
    ("Net income", "net_income"),
]


def _sum(quarters: list[_Quarter], key: str) -> float:
    return round(sum(q.figures[key] for q in quarters), 1)


def _ten_k(c: dict[str, Any], year: list[_Quarter], prior: list[_Quarter]) -> str:
    fy = year[0].fiscal_year
    end = year[-1].end
    rows = [
        [label, _money(_sum(year, k)), _money(_sum(prior, k)) if prior else "—"]
        for label, k in _LINES
    ]
    growth = (
        f" from ${_money(_sum(prior, 'net_sales'))} million in fiscal {fy - 1}" if prior else ""
    )
    return (
        _periodic_cover(c, "10-K", f"For the fiscal year ended {_long(end)}")
        + PAGE_BREAK
        + "<h2>PART I</h2><h2>Item 1. Business</h2>"
        + _paragraphs(
            f"{c['name']} designs and sells {c['products']}. Our fiscal year ends on June 30; "
            f"fiscal {fy} ended {_long(end)}.",
        )
        + "<h2>Item 7. Management's Discussion and Analysis of Financial Condition and Results "
        "of Operations</h2>"
        + _paragraphs(
            f"Net sales were ${_money(_sum(year, 'net_sales'))} million in fiscal {fy}{growth}.",
            f"Net income for fiscal {fy} was ${_money(_sum(year, 'net_income'))} million.",
        )
        + "<h2>Item 8. Financial Statements and Supplementary Data</h2>"
        + _statement(
            "Consolidated Statements of Income (in millions)",
            ["", f"Fiscal {fy}", f"Fiscal {fy - 1}"],
            rows,
        )
    )


def _ten_q(c: dict[str, Any], q: _Quarter, year_to_date: list[_Quarter]) -> str:
    prior_end = quarter_end(q.fiscal_year - 1, 4, c["fiscal_year_end"])
    header = ["", f"Three Months Ended {_long(q.end)}"]
    rows = [[label, _money(q.figures[k])] for label, k in _LINES]
    if q.quarter > 1:
        header.append(f"{_MONTHS[q.quarter].capitalize()} Months Ended {_long(q.end)}")
        for row, (_, k) in zip(rows, _LINES, strict=True):
            row.append(_money(_sum(year_to_date, k)))
    ordinal = _ORDINAL[q.quarter].lower()
    return (
        _periodic_cover(c, "10-Q", f"For the quarterly period ended {_long(q.end)}")
        + PAGE_BREAK
        + "<h2>PART I - FINANCIAL INFORMATION</h2><h2>Item 1. Financial Statements</h2>"
        + _statement(
            "Condensed Consolidated Statements of Income (unaudited, in millions)", header, rows
        )
        + _paragraphs(
            "These condensed consolidated financial statements should be read in conjunction with "
            "the consolidated financial statements included in our Annual Report on Form 10-K "
            f"for the fiscal year ended {_long(prior_end)}."
        )
        + "<h2>Item 2. Management's Discussion and Analysis of Financial Condition and Results "
        "of Operations</h2>"
        + _paragraphs(
            f"Net sales for the {ordinal} quarter of fiscal {q.fiscal_year} were "
            f"${_money(q.figures['net_sales'])} million.",
        )
    )


def _release(c: dict[str, Any], q: _Quarter, year: list[_Quarter]) -> str:
    ordinal = _ORDINAL[q.quarter].lower()
    if q.quarter == 4:
        period = f"the fourth quarter and fiscal year ended {_long(q.end)}"
    else:
        period = (
            f"the quarter ended {_long(q.end)}, the {ordinal} quarter of its fiscal {q.fiscal_year}"
        )
    rows = [[label, _money(q.figures[k])] for label, k in _LINES]
    header = ["", f"Three Months Ended {_long(q.end)}"]
    if q.quarter == 4:
        header.append(f"Twelve Months Ended {_long(q.end)}")
        for row, (_, k) in zip(rows, _LINES, strict=True):
            row.append(_money(_sum(year, k)))
    return (
        f"<h1>{q.headline}</h1>"
        + _paragraphs(
            f"{c['dateline_place']}, {_long(q.release_date)} -- {c['name']} "
            f"({c['exchange_short']}: {c['ticker']}) today reported financial results for "
            f"{period}.",
            f"Net sales were ${_money(q.figures['net_sales'])} million and net income was "
            f"${_money(q.figures['net_income'])} million.",
        )
        + _statement("Condensed Consolidated Statements of Income (in millions)", header, rows)
        + _paragraphs(
            f"About {c['short_name']}: {c['name']} designs and sells {c['products']}.",
        )
    )


def _current(
    c: dict[str, Any], report: dict[str, Any], releases: dict[tuple[int, int], str]
) -> str:
    when = date.fromisoformat(report["report_date"])
    html = (
        _current_cover(c, report)
        + PAGE_BREAK
        + f"<h2>{report['item']}</h2>"
        + _paragraphs(report["text"])
        + "<h2>SIGNATURES</h2>"
        + _paragraphs(
            "Pursuant to the requirements of the Securities Exchange Act of 1934, the registrant "
            "has duly caused this report to be signed on its behalf by the undersigned hereunto "
            f"duly authorized. {c['name']} Date: {_long(when)}"
        )
    )
    if "release" in report:
        fy, n = report["release"]
        html += PAGE_BREAK + "<p>Exhibit 99.1</p>" + releases[(fy, n)]
    return html


# ------------------------------------------------------------------------------------ corpus


def multi_filing_samples(path: Path = DATA) -> list[SampleFiling]:
    """The documents and their expected metadata, in filing order (not written)."""
    c, quarters, reports = _load(path)
    short = c["short_name"].split()[0].lower()
    out: list[SampleFiling] = []
    releases: dict[tuple[int, int], str] = {}

    def add(
        name: str,
        form: str,
        fy: int,
        fp: str | None,
        end: date,
        filed: date | None,
        header: str,
        html: str,
    ) -> None:
        out.append(
            SampleFiling(name, c["name"], c["ticker"], form, fy, fp, end, filed, header, html)
        )

    for q in quarters:
        year = [x for x in quarters if x.fiscal_year == q.fiscal_year and x.quarter <= q.quarter]
        tag = f"{q.fiscal_year}q{q.quarter}"
        if q.ten_q_date is not None:
            add(
                f"{short}_{tag}_10q.pdf",
                "10-Q",
                q.fiscal_year,
                f"Q{q.quarter}",
                q.end,
                None,
                f"{c['name']} | Form 10-Q for the quarter ended {_long(q.end)}",
                _ten_q(c, q, year),
            )
        releases[(q.fiscal_year, q.quarter)] = _release(c, q, year)
        add(
            f"{short}_{tag}_earnings.pdf",
            "earnings-release",
            q.fiscal_year,
            f"Q{q.quarter}",
            q.end,
            q.release_date,
            "",
            releases[(q.fiscal_year, q.quarter)],
        )
        if q.quarter == 4:
            prior = [x for x in quarters if x.fiscal_year == q.fiscal_year - 1]
            add(
                f"{short}_{q.fiscal_year}_10k.pdf",
                "10-K",
                q.fiscal_year,
                "FY",
                q.end,
                None,
                f"{c['name']} | Fiscal {q.fiscal_year} Form 10-K",
                _ten_k(c, year, prior),
            )
    for report in reports:
        when = date.fromisoformat(report["report_date"])
        event = date.fromisoformat(report.get("event_date", report["report_date"]))
        add(
            f"{short}_8k_{when.isoformat()}.pdf",
            "8-K",
            when.year,
            None,
            event,
            None,
            f"{c['name']} | Form 8-K",
            _current(c, report, releases),
        )
    return out


def write_multi_filing_samples(folder: Path) -> list[SampleFiling]:
    """Write every document of :func:`multi_filing_samples` into ``folder`` as a PDF (skipping
    files already there: the same data gives the same bytes) and return the records."""
    folder.mkdir(parents=True, exist_ok=True)
    filings = multi_filing_samples()
    for filing in filings:
        target = folder / filing.file_name
        if not target.exists():
            write_pdf_from_html(filing.html, target, filing.running_header)
    return filings
