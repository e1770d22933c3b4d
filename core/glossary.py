"""Financial vocabulary: how analysts ask versus how filings say it.

Analysts ask for metrics ("quick ratio", "free cash flow", "DPO", "PP&E") that filings never
print as such: the filing prints the line items the metric is computed from, under statement
titles that vary by company ("statements of operations" / "of income" / "of earnings"). This module
maps the question's wording onto the filing's wording, so that lexical and dense search reach the
statement page that holds the operands.

The table (``glossary.toml`` beside this module: data, not code) is a general finance glossary
(the standard ratio definitions and line items of any financial-analysis textbook), not tuned to
an evaluation set. :func:`expand` returns only the added terms; callers
decide where to use them (:mod:`retrieval.search` adds them to the query and, when statements are
named, searches those statements' chunks as a second candidate list).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.records import STATEMENTS

GLOSSARY_FILE = Path(__file__).with_name("glossary.toml")


def _load(path: Path) -> list[tuple[re.Pattern[str], str, tuple[str, ...]]]:
    """The glossary's entries, compiled; a malformed file fails at import naming the entry."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("entry", [])
    out = []
    for n, entry in enumerate(entries, start=1):
        try:
            pattern = re.compile(entry["pattern"], re.IGNORECASE)
            kinds = tuple(entry.get("statements", ()))
            unknown = set(kinds) - set(STATEMENTS)
            if unknown:
                raise ValueError(f"unknown statements {sorted(unknown)}; known: {STATEMENTS}")
            out.append((pattern, str(entry["terms"]), kinds))
        except (KeyError, re.error, ValueError) as exc:
            raise ValueError(f"{path.name}: entry {n} ({entry.get('pattern')!r}): {exc}") from exc
    return out


_COMPILED = _load(GLOSSARY_FILE)


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
