"""Which primary financial statement a chunk belongs to.

Most numeric questions about a filing are answered from the primary statements (income statement,
balance sheet, cash flow statement), whose titles vary by company: "Consolidated Statements of
Operations", "... of Income", "... of Earnings"; "Balance Sheets", "Statements of Financial
Position". Tagging chunks with one canonical kind lets retrieval reach those pages when a question
names a metric computed from them (see :mod:`retrieval.glossary`).
"""

from __future__ import annotations

import re

STATEMENTS = ("income", "comprehensive-income", "balance", "cash-flow", "equity")

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
