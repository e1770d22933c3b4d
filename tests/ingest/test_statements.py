"""Primary statements recognised by their line items when their titles are lost."""

from __future__ import annotations

from core.records import Element, TableData
from ingest.statements import page_statements, statement_kind

INCOME = [
    "Net sales",
    "Cost of sales",
    "Gross profit",
    "Selling, general and administrative expenses",
    "Operating income",
    "Interest expense",
    "Income before income taxes",
    "Provision for income taxes",
    "Net income",
    "Basic",
    "Diluted",
    "Weighted-average shares outstanding",
]
BALANCE_ASSETS = [
    "Cash and cash equivalents",
    "Accounts receivable, net",
    "Inventories",
    "Total current assets",
    "Property, plant and equipment, net",
    "Goodwill",
    "Total assets",
]
BALANCE_CLAIMS = [
    "Accounts payable",
    "Accrued liabilities",
    "Total current liabilities",
    "Long-term debt",
    "Total liabilities",
    "Retained earnings",
    "Total shareholders' equity",
    "Total liabilities and shareholders' equity",
]
CASH_FLOW = [
    "Net income",
    "Depreciation and amortization",
    "Changes in working capital",
    "Net cash provided by operating activities",
    "Capital expenditures",
    "Acquisitions, net of cash acquired",
    "Net cash used in investing activities",
    "Dividends paid",
    "Repurchases of common stock",
    "Net cash used in financing activities",
    "Net increase in cash",
    "Cash at end of year",
]


def _page(page_no: int, *labels: list[str]) -> list[Element]:
    return [
        Element(
            kind="table",
            page_no=page_no,
            text="",
            table=TableData(rows=[[label, "1,234", "1,100"] for label in rows]),
        )
        for rows in labels
    ]


def test_untitled_statement_pages_are_named_by_their_lines():
    elements = [
        *_page(40, INCOME),
        *_page(42, BALANCE_ASSETS + BALANCE_CLAIMS),
        *_page(44, CASH_FLOW),
    ]
    assert page_statements(elements) == {40: "income", 42: "balance", 44: "cash-flow"}


def test_summaries_repeating_a_few_totals_are_not_statements():
    selected_data = ["Net sales", "Operating income", "Net income", "Diluted", "Total assets"]
    segment_note = ["Segment A revenue", "Segment B revenue", "Total assets", "Capital spending"]
    key_indicators = INCOME[:4] + ["Net income", "Diluted"]  # fewer than a statement's lines
    elements = [
        *_page(20, selected_data * 3),  # many lines, but it spans statements
        *_page(21, segment_note * 4),
        *_page(22, key_indicators),
        *_page(50, INCOME),
    ]
    assert page_statements(elements) == {50: "income"}


def test_the_fuller_statement_wins_and_a_repeat_counts_too():
    condensed = INCOME[:2] + INCOME[4:9] + ["Other", "Other income", "Other expense", "Minority"]
    elements = [
        *_page(30, condensed),  # an investee's condensed statement: fewer standard lines
        *_page(45, INCOME),
        *_page(60, INCOME),  # the same statement printed again (MD&A and Item 8)
    ]
    assert page_statements(elements) == {45: "income", 60: "income"}


def test_a_balance_sheet_split_over_two_pages_names_both():
    elements = [*_page(70, BALANCE_ASSETS + ["Other assets"] * 6), *_page(71, BALANCE_CLAIMS * 2)]
    assert page_statements(elements) == {70: "balance", 71: "balance"}


def test_equity_and_comprehensive_income_statements_are_left_out():
    equity = ["Balance at January 1", "Net income", "Dividends", "Balance at December 31"] * 4
    comprehensive = ["Net income", "Other comprehensive income", "Foreign currency"] * 5
    assert page_statements([*_page(80, equity), *_page(81, comprehensive)]) == {}


def test_a_title_still_names_its_chunk():
    assert statement_kind(["Item 8", "Consolidated Statements of Operations"]) == "income"
    assert statement_kind(["Note 4 Balance sheet components"]) is None
