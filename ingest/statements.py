"""Which primary financial statement a chunk belongs to.

Most numeric questions about a filing are answered from the primary statements (income statement,
balance sheet, cash flow statement), whose titles vary by company: "Consolidated Statements of
Operations", "... of Income", "... of Earnings"; "Balance Sheets", "Statements of Financial
Position". Tagging chunks with one canonical kind lets retrieval reach those pages when a question
names a metric computed from them (see :mod:`retrieval.glossary`).

Two readings, the first that answers wins: :func:`statement_kind` reads a chunk's own headings or
caption ("Consolidated Statements of Operations"); :func:`page_statements` recognises a statement
page by the line items its tables print, for the many layouts where the title is lost (a running
header the parser drops, a title split from its table, a logo-like heading). Measured on the
FinanceBench dev sets (2026-12-04): titles alone tagged 1 of the 3 statements of a typical 10-K;
the line-item reading tags every statement page the questions cite but two.
"""

from __future__ import annotations

import re

from core.records import STATEMENTS, Element, TableData

__all__ = ["STATEMENTS", "classify_page", "page_statements", "statement_kind"]


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "comprehensive-income",
        re.compile(
            r"statements?\s+of\s+(consolidated\s+)?comprehensive\s+(income|loss|earnings)", re.I
        ),
    ),
    (
        "income",
        re.compile(
            r"statements?\s+of\s+(consolidated\s+)?(operations|income|earnings|\(?loss\)?)|income\s+statements?",
            re.I,
        ),
    ),
    (
        "balance",
        re.compile(
            r"balance\s+sheets?|statements?\s+of\s+(consolidated\s+)?financial\s+(position|condition)",
            re.I,
        ),
    ),
    ("cash-flow", re.compile(r"statements?\s+of\s+(consolidated\s+)?cash\s+flows?", re.I)),
    (
        "equity",
        re.compile(
            r"statements?\s+of\s+(changes\s+in\s+)?(consolidated\s+)?(shareholders|stockholders|share\s*owners|members)[’']?\s+(equity|deficit)",
            re.I,
        ),
    ),
]
# A note or an MD&A discussion mentions statement titles in passing; only a short title counts.
_MAX_TITLE_CHARS = 160


def statement_kind(section_path: list[str], caption: str = "") -> str | None:
    """The statement kind named by the chunk's innermost headings or table caption, if any."""
    for text in (caption, *reversed(section_path[-2:])):
        if not text or len(text) > _MAX_TITLE_CHARS:
            continue
        if re.match(r"\s*(note|item)\s+\d", text, re.I):
            return None  # inside a note or an Item's prose, not the statement itself
        for kind, pattern in _PATTERNS:
            if pattern.search(text):
                return kind
    return None


# A primary statement is recognised by the line items every such statement prints, whatever its
# title (which layouts often lose to a running header or a column split): the balance sheet both
# totals its assets and states liabilities or equity; the cash flow statement walks through at
# least two of the three activities; the income statement nets revenue down to net income. Among
# a filing's pages that qualify, the one printing the most of its kind's standard lines is the
# statement itself; summaries (selected financial data, key indicators, segment notes, an
# investee's condensed statements) repeat a few of them.
_BALANCE_ASSETS = re.compile(r"^total\s+(current\s+)?assets\b")
_BALANCE_CLAIMS = re.compile(
    r"^total\s+(current\s+)?liabilities\b|^total\s+equity\b"
    r"|\b(stockholders|shareholders|share\s*owners)[’']?\s+equity\b"
)
_CASH_ACTIVITY = re.compile(r"\b(operating|investing|financing)\s+activities\b")
_INCOME_BOTTOM = re.compile(r"^net\s+(income|earnings|\(?loss\)?)|^net\s+\(?(income|earnings)\)?")
_OTHER_COMPREHENSIVE = re.compile(r"other\s+comprehensive")
_EQUITY_ROLL = re.compile(r"^balances?\b")
# The standard lines of each statement (any textbook's layout), counted to tell the statement from
# the summaries that repeat some of them.
_STANDARD_LINES: dict[str, list[re.Pattern[str]]] = {
    "income": [
        re.compile(p)
        for p in (
            r"\b(total\s+)?(net\s+)?(revenues?|sales)\b",
            r"^(total\s+)?cost\s+of\s+",
            r"gross\s+(profit|margin)",
            r"operating\s+income|income\s+from\s+operations|operating\s+(profit|loss)",
            r"interest\s+expense",
            r"\bbefore\b.*\btax",
            r"\btax(es)?\b",
            r"^net\s+(income|earnings|\(?loss)",
            r"\bbasic\b",
            r"\bdiluted\b",
            r"weighted[\s-]+average",
        )
    ],
    "balance": [
        re.compile(p)
        for p in (
            r"cash\s+and\s+(cash\s+)?equivalents",
            r"^total\s+current\s+assets",
            r"property|plant\s+and\s+equipment",
            r"goodwill",
            r"^total\s+assets",
            r"accounts\s+payable",
            r"^total\s+current\s+liabilities",
            r"long[\s-]+term\s+debt",
            r"^total\s+liabilities\b",
            r"retained\s+earnings|accumulated\s+deficit",
            r"total\s+liabilities\s+and\s+",
        )
    ],
    "cash-flow": [
        re.compile(p)
        for p in (
            r"operating\s+activities",
            r"investing\s+activities",
            r"financing\s+activities",
            r"depreciation",
            r"capital\s+expenditures?|(purchases?|acquisitions?|additions?)\s+(of|to)\s+property",
            r"net\s+(increase|decrease|change)",
            r"(beginning|end)\s+of\s+(the\s+)?(year|period)",
        )
    ],
}
# A primary statement prints a dozen lines or more; the summaries that repeat its totals do not.
_MIN_LINES = 12
_MIN_INCOME_LINES = 5  # of the 11 standard income-statement lines


def _label(row: list[str]) -> str:
    first = next((cell for cell in row if cell.strip()), "")
    text = re.sub(r"[.\u2026_]{2,}", " ", first.lower())
    return " ".join(text.replace("’", "'").split())


def page_statements(elements: list[Element]) -> dict[int, str]:
    """Page number -> the primary statement printed there, read from its tables' line items.

    Only the filing's own primary statements are named, one per kind: among the pages that qualify
    (:func:`classify_page`), the one printing the most standard lines of that kind, then the most
    lines (an exact repeat of it elsewhere in the filing counts too). A balance sheet split over two
    pages (assets on one, liabilities and equity on the next) names both pages.
    """
    tables: dict[int, list[TableData]] = {}
    for el in elements:
        if el.table is not None:
            tables.setdefault(el.page_no, []).append(el.table)
    lines = {page: _labels(found) for page, found in tables.items()}
    best: dict[str, tuple[tuple[int, int], list[int]]] = {}

    def offer(kind: str, pages: list[int]) -> None:
        labels = [label for p in pages for label in lines[p]]
        if len(labels) < _MIN_LINES:
            return
        score = (_standard(kind, labels), len(labels))
        if kind not in best or score > best[kind][0]:
            best[kind] = (score, list(pages))
        elif score == best[kind][0]:
            # The same statement printed twice (a 10-K that repeats it in the MD&A): both count.
            best[kind][1].extend(p for p in pages if p not in best[kind][1])

    for page, labels in lines.items():
        kind = _kind(labels)
        if kind:
            offer(kind, [page])
        following = lines.get(page + 1)
        split_sheet = (
            following is not None
            and _has(labels, _BALANCE_ASSETS)
            and not _has(labels, _BALANCE_CLAIMS)
            and _has(following, _BALANCE_CLAIMS)
        )
        if split_sheet:
            offer("balance", [page, page + 1])
    return {page: kind for kind, (_, pages) in best.items() for page in pages}


def classify_page(tables: list[TableData]) -> str | None:
    """The primary statement one page's tables could form, from their row labels, or None."""
    labels = _labels(tables)
    return _kind(labels) if len(labels) >= _MIN_LINES else None


def _labels(tables: list[TableData]) -> list[str]:
    labels = [_label(row) for table in tables for row in table.rows]
    return [label for label in labels if label]


def _has(labels: list[str], pattern: re.Pattern[str]) -> int:
    return sum(1 for label in labels if pattern.search(label))


def _standard(kind: str, labels: list[str]) -> int:
    return sum(1 for pattern in _STANDARD_LINES[kind] if _has(labels, pattern))


def _kind(labels: list[str]) -> str | None:
    activities = {m.group(1) for label in labels for m in _CASH_ACTIVITY.finditer(label)}
    if len(activities) >= 2:
        return "cash-flow"
    if _has(labels, _BALANCE_ASSETS) and _has(labels, _BALANCE_CLAIMS):
        return "balance"
    if _has(labels, _EQUITY_ROLL) >= 2 or _has(labels, _OTHER_COMPREHENSIVE):
        return None  # a statement of equity or of comprehensive income, not asked for as such
    if activities or _has(labels, _BALANCE_ASSETS):
        return None  # a summary spanning statements (selected financial data), not the statement
    # Revenue lines are sometimes only named by their sources ("casino", "rooms"): the income
    # statement is told by netting down to net income through enough of its standard lines.
    if _has(labels, _INCOME_BOTTOM) and _standard("income", labels) >= _MIN_INCOME_LINES:
        return "income"
    return None
