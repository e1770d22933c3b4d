"""Financial vocabulary: how analysts ask versus how filings say it.

Analysts ask for metrics ("quick ratio", "free cash flow", "DPO", "PP&E") that filings never
print as such: the filing prints the line items the metric is computed from, under statement
titles that vary by company ("statements of operations" / "of income" / "of earnings"). This module
maps the question's wording onto the filing's wording, so that lexical and dense search reach the
statement page that holds the operands.

The table is a general finance glossary (the standard ratio definitions of any financial analysis
textbook), not tuned to an evaluation set. :func:`expand` returns only the added terms; callers
decide where to use them (:mod:`retrieval.search` adds them to the query and, when statements are
named, searches those statements' chunks as a second candidate list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (pattern in the question, words the filing uses for it, primary statements holding it)
_ENTRIES: list[tuple[str, str, tuple[str, ...]]] = [
    # statements
    (
        r"income statements?|statements? of (income|operations|earnings)|p\s*&\s*l|profit and loss",
        "consolidated statements of operations income earnings net sales revenues cost of sales "
        "net income",
        ("income",),
    ),
    (
        r"balance sheets?|statements? of financial (position|condition)",
        "consolidated balance sheets statements of financial position total assets "
        "total liabilities equity",
        ("balance",),
    ),
    (
        r"cash flow statements?|statements? of cash flows?",
        "consolidated statements of cash flows operating activities investing activities "
        "financing activities",
        ("cash-flow",),
    ),
    # profitability
    (
        r"gross (profit )?margins?|gross profit",
        "gross profit cost of sales cost of revenues net sales revenues",
        ("income",),
    ),
    (
        r"operating (profit )?margins?|operating income margin",
        "operating income earnings from operations revenues net sales",
        ("income",),
    ),
    (
        r"net (profit )?margins?|profit margins?",
        "net income net earnings revenues net sales",
        ("income",),
    ),
    (
        r"\bebitda\b",
        "operating income depreciation amortization earnings before interest taxes adjusted ebitda",
        ("income", "cash-flow"),
    ),
    (r"\bebit\b", "operating income earnings before interest and taxes", ("income",)),
    (
        r"effective (income )?tax rate|tax rate",
        "effective tax rate provision for income taxes income before income taxes",
        ("income",),
    ),
    (
        r"return on (assets|equity)|\broa\b|\broe\b",
        "net income total assets total equity shareholders equity",
        ("income", "balance"),
    ),
    (
        r"\beps\b|earnings per share",
        "earnings per share diluted basic net income shares",
        ("income",),
    ),
    (r"\brevenues?\b|\bsales\b|top line", "total revenues net sales", ("income",)),
    (r"\bcogs\b|cost of (goods|products) sold", "cost of sales cost of revenue", ("income",)),
    (r"operating income|operating profit", "operating income", ("income",)),
    (r"net (income|earnings)", "net income net earnings", ("income",)),
    (
        r"depreciation|amortization|\bd\s*&\s*a\b",
        "depreciation and amortization",
        ("cash-flow", "income"),
    ),
    # liquidity and leverage
    (
        r"quick ratio|acid test",
        "current assets cash and cash equivalents receivables current liabilities balance sheets",
        ("balance",),
    ),
    (
        r"current ratio|working capital",
        "total current assets total current liabilities balance sheets",
        ("balance",),
    ),
    (
        r"cash (and|&) cash equivalents|cash position|cash balance",
        "cash and cash equivalents",
        ("balance", "cash-flow"),
    ),
    (
        r"total assets|current (assets|liabilities)|accounts (payable|receivable)|inventor(y|ies)",
        "balance sheets",
        ("balance",),
    ),
    (r"\bdebt\b|borrowings", "long-term debt short-term borrowings", ("balance",)),
    (
        r"debt to equity|leverage ratio|debt-to-equity",
        "long-term debt total debt equity borrowings",
        ("balance",),
    ),
    (r"interest coverage", "interest expense operating income", ("income",)),
    (
        r"cash conversion|days (sales|inventory|payable)|\bdso\b|\bdio\b|\bdpo\b",
        "accounts payable accounts receivable inventories cost of sales balance sheets",
        ("balance", "income"),
    ),
    (r"inventory turnover", "inventories cost of sales", ("balance", "income")),
    (
        r"operating cash flow ratio|cash flows? from operations|operating cash flows?",
        "net cash provided by operating activities total current liabilities",
        ("cash-flow", "balance"),
    ),
    (
        r"capital[- ]intensi(ve|ty)",
        "capital expenditures purchases of property plant and equipment total assets revenues",
        ("cash-flow", "balance", "income"),
    ),
    (r"asset turnover", "total assets revenues net sales", ("balance", "income")),
    # cash flow
    (
        r"free cash flow|\bfcf\b",
        "net cash provided by operating activities capital expenditures "
        "purchases of property plant and equipment",
        ("cash-flow",),
    ),
    (
        r"capital expenditures?|\bcapex\b|capital spending",
        "capital expenditures purchases of property plant and equipment additions to property",
        ("cash-flow",),
    ),
    (
        r"dividend payout|dividends? paid|paid dividends|\bdividends\b",
        "dividends paid cash dividends declared per share",
        ("cash-flow",),
    ),
    (
        r"\bpp\s*&\s*e\b|\bppne\b|\bppe\b|fixed assets",
        "property plant and equipment net",
        ("balance",),
    ),
    (r"share repurchases?|buybacks?", "repurchases of common stock treasury stock", ("cash-flow",)),
    # narrative topics
    (
        r"legal (battles?|disputes?|matters?|issues?)|lawsuits?|litigation",
        "legal proceedings litigation contingencies claims",
        (),
    ),
    (
        r"acquisitions?|acquired|buyouts?|takeovers?",
        "acquisitions business combinations acquired purchase price",
        (),
    ),
    (r"customers?", "customers sales to customers revenue concentration", ()),
    (r"cyclical(ity)?|seasonal(ity)?", "cyclical seasonal economic conditions demand", ()),
    (
        r"spin[- ]?off|divest(iture|ed|ing)?|separation",
        "spin-off separation divestiture discontinued operations",
        (),
    ),
    (r"segments?|business units?|divisions?", "segment information reportable segments", ()),
    (r"headcount|employees|workforce", "employees human capital", ()),
    (r"guidance|outlook|forecast", "outlook guidance expects", ()),
    (r"restructuring", "restructuring charges severance", ()),
    (r"\bfx\b|foreign exchange|currency", "foreign currency exchange rates", ()),
]
_COMPILED = [(re.compile(p, re.IGNORECASE), words, kinds) for p, words, kinds in _ENTRIES]


@dataclass(frozen=True)
class Expansion:
    terms: str  # the filing's words for what the question names ('' when nothing matched)
    statements: tuple[str, ...]  # primary statements (ingest.statements kinds) that hold it


def expand(question: str) -> Expansion:
    """The filing's words and the statements for the metrics and topics the question names."""
    words: list[str] = []
    kinds: list[str] = []
    for pattern, terms, statements in _COMPILED:
        if pattern.search(question):
            words.append(terms)
            kinds.extend(k for k in statements if k not in kinds)
    return Expansion(" ".join(words), tuple(kinds))
