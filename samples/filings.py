"""Bundled sample filings for the demo: generated, fictional, free of any licence.

Three filings of two fictional companies are written as HTML and laid out into PDF pages with
PyMuPDF's Story engine (so they have a real text layer, multi-page tables and running
headers/footers, like an EDGAR filing printed to PDF):

* Northwind Robotics, Inc. (NWRB) 10-K for the fiscal year ended December 31, 2023
* Northwind Robotics, Inc. (NWRB) 10-Q for the quarter ended June 30, 2024
* Contoso Foods Corporation (CFCO) 10-K for the fiscal year ended June 30, 2024 (a non-December
  year)

Every figure is made up; the questions in :data:`SAMPLE_QUESTIONS` are answerable from them.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_QUESTIONS = [
    "What was Northwind Robotics' total revenue in fiscal 2023?",
    "How much did Contoso Foods spend on capital expenditures in fiscal 2024?",
    "What risks does Northwind Robotics describe about its supply chain?",
]

PAGE_BREAK = "<!--page-->"

_CSS = """
body { font-family: sans-serif; font-size: 10px; }
h1 { font-size: 16px; text-align: center; }
h2 { font-size: 13px; margin-top: 10px; }
h3 { font-size: 11px; }
p { margin: 4px 0; text-align: justify; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
td, th { border-bottom: 0.5px solid #888; padding: 2px 4px; font-size: 9px; }
td.n, th.n { text-align: right; }
.cover { text-align: center; }
"""


def _table(caption: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(
        f'<th class="n">{h}</th>' if i else f"<th>{h}</th>" for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<p><b>{caption}</b></p><table><tr>{head}</tr>{body}</table>"


def _paragraphs(*texts: str) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def _cover(form: str, period_line: str, name: str, ticker: str, state: str, cik: str) -> str:
    lines = [
        '<div class="cover">',
        "<p>UNITED STATES<br/>SECURITIES AND EXCHANGE COMMISSION<br/>Washington, D.C. 20549</p>",
        f"<h1>FORM {form}</h1>",
        f"<p>{period_line}</p>",
        f"<p>Commission File Number {cik}</p>",
        f"<h1>{name}</h1>",
        "<p>(Exact name of registrant as specified in its charter)</p>",
        f"<p>{state} (State of incorporation)</p>",
        "<table><tr><th>Title of each class</th><th>Trading Symbol(s)</th>"
        "<th>Name of each exchange on which registered</th></tr>",
        f"<tr><td>Common Stock, $0.01 par value</td><td>{ticker}</td>"
        "<td>The Nasdaq Stock Market LLC</td></tr></table>",
        "</div>",
    ]
    return "\n" + "\n".join(lines) + "\n"


def _filler(topic: str, n: int) -> str:
    sentences = [
        f"Our {topic} depends on the continued performance of suppliers, employees and "
        "information systems.",
        "Changes in economic conditions could affect demand for our products and the cost of our "
        f"{topic}.",
        "We monitor these matters through our enterprise risk management process and report to "
        "the Audit Committee.",
        "Forward-looking statements in this report are subject to risks that may cause actual "
        "results to differ.",
    ]
    return _paragraphs(*(" ".join(sentences[(i + k) % 4] for k in range(3)) for i in range(n)))


def _northwind_10k() -> str:
    years = ["2023", "2022", "2021"]
    income = [
        ["Product revenue", "$ 1,842.6", "$ 1,517.3", "$ 1,204.9"],
        ["Service revenue", "412.8", "366.1", "301.4"],
        ["Total revenue", "2,255.4", "1,883.4", "1,506.3"],
        ["Cost of revenue", "1,263.0", "1,073.5", "873.7"],
        ["Gross profit", "992.4", "809.9", "632.6"],
        ["Research and development", "301.2", "262.8", "221.0"],
        ["Selling, general and administrative", "389.5", "344.1", "298.2"],
        ["Operating income", "301.7", "203.0", "113.4"],
        ["Interest expense", "(18.4)", "(21.9)", "(24.3)"],
        ["Income before income taxes", "283.3", "181.1", "89.1"],
        ["Provision for income taxes", "59.5", "38.0", "18.7"],
        ["Net income", "$ 223.8", "$ 143.1", "$ 70.4"],
        ["Diluted earnings per share", "$ 2.61", "$ 1.68", "$ 0.83"],
    ]
    segments = [
        ["Industrial Automation", "1,391.7", "1,160.2", "948.0"],
        ["Warehouse Logistics", "651.9", "537.5", "402.6"],
        ["Field Services", "211.8", "185.7", "155.7"],
        ["Total revenue", "2,255.4", "1,883.4", "1,506.3"],
    ]
    cash = [
        ["Net cash provided by operating activities", "412.6", "318.0", "201.5"],
        ["Capital expenditures", "(146.3)", "(121.7)", "(98.4)"],
        ["Free cash flow", "266.3", "196.3", "103.1"],
    ]
    return (
        _cover(
            "10-K",
            "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE "
            "SECURITIES EXCHANGE ACT OF 1934<br/>"
            "For the fiscal year ended December 31, 2023",
            "Northwind Robotics, Inc.",
            "NWRB",
            "Delaware",
            "001-40123",
        )
        + PAGE_BREAK
        + "<h2>PART I</h2><h2>Item 1. Business</h2>"
        + _paragraphs(
            "Northwind Robotics, Inc. designs and manufactures autonomous mobile robots and "
            "robotic arms for factories and warehouses. We operate three segments: Industrial "
            "Automation, Warehouse Logistics and Field Services.",
            "As of December 31, 2023 we had approximately 6,400 employees in 14 countries.",
        )
        + "<h2>Item 1A. Risk Factors</h2>"
        + _paragraphs(
            "Supply chain disruptions could harm our business. We rely on a limited number of "
            "suppliers for semiconductors, servo motors and lithium-ion battery packs; a "
            "shortage of any of these components could delay shipments and increase our costs.",
            "We depend on a single contract manufacturer in Penang, Malaysia for the final "
            "assembly of our mobile robot platforms.",
        )
        + _filler("supply chain", 14)
        + PAGE_BREAK
        + "<h2>Item 7. Management's Discussion and Analysis of Financial Condition and Results of "
        "Operations</h2>"
        + _paragraphs(
            "Total revenue increased 19.8% to $2,255.4 million in fiscal 2023 from $1,883.4 "
            "million in fiscal 2022, driven by higher robot shipments in Industrial Automation "
            "and new warehouse contracts.",
            "Gross margin improved to 44.0% from 43.0% as component costs eased in the second "
            "half of the year.",
            "Capital expenditures were $146.3 million in 2023, primarily for the expansion of "
            "our Austin, Texas actuator plant.",
        )
        + _filler("operations", 16)
        + PAGE_BREAK
        + "<h2>Item 8. Financial Statements and Supplementary Data</h2>"
        + _table(
            "Consolidated Statements of Operations (in millions, except per share data)",
            ["Years ended December 31,"] + years,
            income,
        )
        + _table("Revenue by segment (in millions)", ["Segment"] + years, segments)
        + _table("Selected cash flow information (in millions)", [""] + years, cash)
        + "<h3>Note 7 - Debt</h3>"
        + _paragraphs(
            "In March 2023 we repaid $150.0 million of our term loan. As of December 31, 2023 "
            "long-term debt was $412.0 million, bearing interest at SOFR plus 1.75%."
        )
        + _filler("financing", 4)
    )


def _northwind_10q() -> str:
    rows = [
        ["Total revenue", "$ 611.2", "$ 538.9", "$ 1,190.4", "$ 1,041.7"],
        ["Gross profit", "275.0", "232.7", "531.8", "452.3"],
        ["Operating income", "88.4", "70.1", "160.2", "126.5"],
        ["Net income", "$ 65.9", "$ 51.8", "$ 118.3", "$ 92.0"],
    ]
    return (
        _cover(
            "10-Q",
            "QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE "
            "SECURITIES EXCHANGE ACT OF 1934<br/>"
            "For the quarterly period ended June 30, 2024",
            "Northwind Robotics, Inc.",
            "NWRB",
            "Delaware",
            "001-40123",
        )
        + PAGE_BREAK
        + "<h2>PART I - FINANCIAL INFORMATION</h2><h2>Item 1. Financial Statements</h2>"
        + _table(
            "Condensed Consolidated Statements of Operations (in millions, unaudited)",
            [
                "",
                "Three months ended June 30, 2024",
                "Three months ended June 30, 2023",
                "Six months ended June 30, 2024",
                "Six months ended June 30, 2023",
            ],
            rows,
        )
        + "<h2>Item 2. Management's Discussion and Analysis of Financial Condition and Results of "
        "Operations</h2>"
        + _paragraphs(
            "Revenue for the second quarter of 2024 was $611.2 million, an increase of 13.4% "
            "compared with $538.9 million in the second quarter of 2023.",
            "Backlog at June 30, 2024 was $1.4 billion.",
        )
        + _filler("quarterly results", 3)
    )


def _contoso_10k() -> str:
    years = ["Fiscal 2024", "Fiscal 2023"]
    income = [
        ["Net sales", "$ 8,931", "$ 8,402"],
        ["Cost of sales", "6,245", "5,951"],
        ["Gross margin", "2,686", "2,451"],
        ["Selling, general and administrative expenses", "1,514", "1,437"],
        ["Operating profit", "1,172", "1,014"],
        ["Net earnings", "$ 804", "$ 689"],
    ]
    cash = [
        ["Net cash provided by operating activities", "1,236", "1,091"],
        ["Purchases of land, buildings and equipment", "(418)", "(377)"],
        ["Dividends paid", "(301)", "(288)"],
    ]
    return (
        _cover(
            "10-K",
            "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE "
            "SECURITIES EXCHANGE ACT OF 1934<br/>"
            "For the fiscal year ended June 30, 2024",
            "Contoso Foods Corporation",
            "CFCO",
            "Minnesota",
            "001-09876",
        )
        + PAGE_BREAK
        + "<h2>PART I</h2><h2>Item 1. Business</h2>"
        + _paragraphs(
            "Contoso Foods Corporation makes packaged breakfast cereals, snacks and frozen meals "
            "sold in North America and Europe. Our fiscal year ends on June 30; fiscal 2024 "
            "ended June 30, 2024."
        )
        + "<h2>Item 1A. Risk Factors</h2>"
        + _paragraphs(
            "Volatility in the price of wheat, oats, sugar and packaging materials could reduce "
            "our margins."
        )
        + _filler("commodity costs", 12)
        + PAGE_BREAK
        + "<h2>Item 7. Management's Discussion and Analysis of Financial Condition and Results of "
        "Operations</h2>"
        + _paragraphs(
            "Net sales grew 6.3% to $8,931 million in fiscal 2024. Capital expenditures "
            "(purchases of land, buildings and equipment) were $418 million in fiscal 2024 "
            "compared with $377 million in fiscal 2023, reflecting the new frozen-meal line in "
            "Dijon, France.",
        )
        + _filler("manufacturing", 12)
        + PAGE_BREAK
        + "<h2>Item 8. Financial Statements and Supplementary Data</h2>"
        + _table("Consolidated Statements of Earnings (in millions)", [""] + years, income)
        + _table(
            "Consolidated Statements of Cash Flows - selected lines (in millions)",
            [""] + years,
            cash,
        )
    )


_SAMPLES = {
    "northwind_2023_10k.pdf": ("Northwind Robotics, Inc. | 2023 Form 10-K", _northwind_10k),
    "northwind_2024q2_10q.pdf": ("Northwind Robotics, Inc. | Q2 2024 Form 10-Q", _northwind_10q),
    "contoso_fy2024_10k.pdf": ("Contoso Foods Corporation | Fiscal 2024 Form 10-K", _contoso_10k),
}


def write_pdf_from_html(html: str, path: Path, running_header: str = "") -> Path:
    """Lay ``html`` out on US-letter pages with a running header and page-number footer."""
    import pymupdf

    mediabox = pymupdf.paper_rect("letter")
    where = mediabox + (54, 54, -54, -54)
    writer = pymupdf.DocumentWriter(str(path))
    for part in html.split(PAGE_BREAK):  # each part starts on a new page, like a filing's sections
        story = pymupdf.Story(html=part, user_css=_CSS)
        more = True
        while more:
            device = writer.begin_page(mediabox)
            more, _ = story.place(where)
            story.draw(device)
            writer.end_page()
    writer.close()
    doc = pymupdf.open(str(path))
    for number, page in enumerate(doc, start=1):
        if running_header and number > 1:
            page.insert_text((54, 36), running_header, fontsize=8, color=(0.35, 0.35, 0.35))
            page.insert_text(
                (mediabox.width / 2 - 4, mediabox.height - 30), str(number), fontsize=8
            )
    # Fixed metadata and file id: the same sample is the same bytes (and doc id) on every machine.
    doc.set_metadata(
        {
            "creationDate": "D:20240101000000Z",
            "modDate": "D:20240101000000Z",
            "producer": "finrag samples",
            "creator": "finrag samples",
        }
    )
    doc.save(str(path) + ".tmp", garbage=3, deflate=True, no_new_id=True)
    doc.close()
    Path(str(path) + ".tmp").replace(path)
    return path


def write_samples(folder: Path) -> Path:
    """Write the sample filings into ``folder`` (idempotent: same bytes every time)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, build) in _SAMPLES.items():
        target = folder / name
        if not target.exists():
            write_pdf_from_html(build(), target, header)
    return folder
