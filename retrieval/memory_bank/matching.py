"""How a question meets a memory entry: its scope, its ask, and the calibrated similarity.

Contract, for a question and the phrasings of an entry (its question and each paraphrase):

1. **Scope** (:func:`scope`). Company and period come from the caller (the resolver's output) or,
   when not given, from the question itself, read by :func:`retrieval.resolver.resolve` against
   the companies the bank holds. They are hard filters in Qdrant: an entry for company X never
   answers a question about company Y, and an entry for FY2023 never answers a question about
   FY2022. Entries without a company (or period) hold for every company (or period). A question
   that names no company is answered only by company-free entries, and one that names no period
   only by period-free entries: "What was Acme's revenue?" must not be answered with one year's
   figure silently; the resolver (with the conversation) is what supplies the period.
2. **The ask** (:func:`ask_of`). Company and period mentions are removed from the text first
   (both sides are stripped alike), because they are already enforced and MiniLM otherwise
   scores "revenue FY2022" vs "revenue FY2023" at 0.98.
3. **Calibrated similarity** (:func:`similarity`). ``score = cosine - 0.4 * (1 - lexical)`` where
   ``cosine`` is the dense cosine of the two asks and ``lexical`` the mean of the two
   content-term coverages (:func:`overlap` of :func:`content_terms`: stemmed BM25 terms, minus
   question-frame words such as "much", "total", "fiscal"). The bank serves only hits at or
   above a threshold per embedder (:data:`~retrieval.memory_bank.calibration.THRESHOLDS`, which
   says how it was chosen and what it achieves). Single-word synonyms ("sales" for revenue,
   "profit" for net income, "headcount" for employees) do not match: curators raise recall by
   adding paraphrases, and a miss costs only a corpus search, where a false match would serve a
   wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.records import Filing
from retrieval.index import ANY_KEY
from retrieval.memory_bank.keys import company_key, period_label

if TYPE_CHECKING:
    from retrieval.sparse import Bm25Encoder

__all__ = ["LEXICAL_WEIGHT", "ask_of", "content_terms", "overlap", "scope", "similarity"]

LEXICAL_WEIGHT = 0.4  # score = cosine - LEXICAL_WEIGHT * (1 - lexical)

# Words that frame a question without saying what is asked; they would inflate term overlap.
_FRAME = frozenset(
    {"much", "mani", "tell", "report", "total", "fiscal", "year", "end", "amount", "figur"}
)
_SPAN_KINDS = frozenset({"company", "ticker", "period", "date"})


def scope(
    question: str,
    company: str | Sequence[str] | None,
    period: str | Sequence[str] | None,
    known: Sequence[str],
    extra: Sequence[str | None] = (),
) -> tuple[list[str], list[str], str]:
    """(allowed company keys, allowed period keys, the ask) for a question.

    Args:
        question: the question.
        company: the resolved company name(s); None reads them from the question.
        period: the resolved period label(s); None reads them from the question.
        known: the companies the bank holds, for reading the question.
        extra: more company names to read the question against (None ignored).
    """
    given_companies = [company] if isinstance(company, str) else list(company or [])
    companies = [*known, *given_companies, *(c for c in extra if c)]
    resolution = _resolve(question, companies)
    names = given_companies if company is not None else resolution.companies
    if period is not None:
        periods = [period] if isinstance(period, str) else list(period)
        labels = [lbl for p in periods if (lbl := period_label(p))]
    else:
        labels = list(resolution.periods)
    company_keys = sorted({company_key(n) for n in names} | {ANY_KEY})
    return company_keys, sorted(set(labels) | {ANY_KEY}), _strip(question, resolution)


def ask_of(text: str, companies: Sequence[str | None]) -> str:
    """The ask of a phrasing: its text without mentions of these companies or of any period."""
    return _strip(text, _resolve(text, [c for c in companies if c]))


def content_terms(sparse: Bm25Encoder, ask: str) -> set[str]:
    """The stemmed BM25 terms of an ask, less the words that only frame a question."""
    return {t for t in sparse.tokenize(ask) if t not in _FRAME}


def overlap(a: set[str], b: set[str]) -> float:
    """Mean of the two coverages |a & b| / |a| and |a & b| / |b| (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    common = len(a & b)
    return (common / len(a) + common / len(b)) / 2


def similarity(cosine: float, lexical: float) -> float:
    """The calibrated similarity: the dense cosine, less a penalty for content terms not shared."""
    return cosine - LEXICAL_WEIGHT * (1.0 - lexical)


def _resolve(text: str, companies: Sequence[str]):
    from retrieval.resolver import resolve

    filings = [
        Filing(doc_id=f"memory:{name}", source_path="", file_name="", company=name)
        for name in dict.fromkeys(companies)
    ]
    return resolve(text, filings)


def _strip(text: str, resolution: Any) -> str:
    """The text without its company and period mentions (both are enforced as filters)."""
    spans = sorted(
        (s for s in resolution.matched_text if s.kind in _SPAN_KINDS), key=lambda s: -s.start
    )
    for s in spans:
        text = text[: s.start] + " " + text[s.end :]
    text = re.sub(r"(?<!\w)['\u2019]s\b", " ", text)  # the possessive left by "Acme's"
    text = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"\s+", " ", text)).strip()
    return text or "?"
