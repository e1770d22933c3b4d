"""The words of a question and of a row label, as the extractive answerer compares them.

Contract: :func:`tokens` lower-cases, drops stop words (question words, filler, period words,
arithmetic words) and stems plurals, so "Total revenues" and "revenue" meet; :func:`asked_years`
are the fiscal years the resolver found plus every year the question writes.
"""

from __future__ import annotations

import re

from core.records import RetrievalResult

STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "for",
        "to",
        "and",
        "or",
        "by",
        "with",
        "from",
        "at",
        "as",
        "is",
        "was",
        "were",
        "be",
        "been",
        "are",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "much",
        "many",
        "did",
        "does",
        "do",
        "has",
        "have",
        "had",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "than",
        "then",
        "there",
        "their",
        "company",
        "company's",
        "companies",
        "corporation",
        "inc",
        "corp",
        "co",
        "ltd",
        "year",
        "years",
        "fiscal",
        "fy",
        "period",
        "ended",
        "ending",
        "quarter",
        "total",
        "amount",
        "value",
        "figure",
        "report",
        "reported",
        "according",
        "filing",
        "filings",
        "tell",
        "me",
        "show",
        "give",
        "please",
        "about",
        "over",
        "between",
        "during",
        "per",
        "based",
        "us",
        "our",
        "we",
        "vs",
        "versus",
        "compared",
        "change",
        "growth",
        "grow",
        "grew",
        "increase",
        "increased",
        "decrease",
        "decreased",
        "decline",
        "declined",
        "yoy",
        "year-over-year",
        "annual",
        "rate",
        "calculate",
        "compute",
        "ratio",
        "margin",
        "cagr",
        "compound",
    ]
)
WEAK = frozenset({"total", "net", "other", "and", "of", "the", "consolidated"})
WORD = re.compile(r"[a-z][a-z&'\-]*")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


def stem(word: str) -> str:
    word = word.strip("'-&")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def tokens(text: str, drop: frozenset[str] = STOP) -> list[str]:
    return [stem(w) for w in WORD.findall(text.lower()) if w not in drop and stem(w) not in drop]


def asked_years(question: str, result: RetrievalResult) -> list[int]:
    years = set(result.resolution.fiscal_years)
    years.update(int(y) for y in YEAR.findall(question))
    return sorted(years)
