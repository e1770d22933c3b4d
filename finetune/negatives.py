"""Hard negatives for reranker training, mined from the index and never a true positive.

Contract: :meth:`NegativeMiner.mine` takes a query, its positive chunk, an :class:`AnswerKey`
(what makes another chunk an equally good answer) and the filings it may draw from, and returns
up to ``per_query`` :class:`Negative` chunks, hardest kinds first:

* ``explicit``: chunks an analyst marked as wrong citations for this question;
* ``other-period``: the same company's other filings, found by hybrid search (a 2022 table row
  for a 2023 question);
* ``other-company``: the same metric in another company's filings (in-memory lexical match on the
  key's terms, e.g. another company's "Total revenue" row);
* ``same-page``: neighbours of the positive on its page (same layout, different content);
* ``same-filing``: other high-ranked hits of the hybrid search in the positive's own filing
  (what the production retriever confuses after the resolver picked the filing).

Kinds are taken round-robin (other-period, other-company, same-page, same-filing) so that every
query sees several kinds of confusion; a kind that runs out gives its turn to the next.

Never a negative: the positive itself and any extra positive id, a chunk whose text is a
near-duplicate of the positive (same text, or term-set Jaccard >= 0.8), and a chunk the
key accepts: all the key's terms plus one of its figures (another chunk with the same row label
and the same value), a chunk on one of the key's pages (gold evidence pages), or a chunk inside
the key's section (heading queries). Two negatives never share the same text.

The hybrid search is :class:`retrieval.search.CorpusSearch` (the production query path, glossary
expansion included), restricted to the allowed filings of the positive's company; without a
search object the miner ranks lexically in memory (tests, or a corpus without an embedder).

Example:
    >>> miner = NegativeMiner(chunks, search=CorpusSearch(corpus))  # doctest: +SKIP
    >>> [n.kind for n in miner.mine(q, positive, key, allowed_docs)]  # doctest: +SKIP
    ['other-period', 'other-company', 'same-page', 'same-filing']
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from core.records import Chunk, Query, SearchFilters
from retrieval.resolver.companies import name_aliases
from retrieval.sparse import Bm25Encoder

logger = logging.getLogger(__name__)

NegativeKind = Literal["explicit", "other-period", "other-company", "same-page", "same-filing"]
ROUND_ROBIN: tuple[NegativeKind, ...] = (
    "other-period",
    "other-company",
    "same-page",
    "same-filing",
)
NEAR_DUPLICATE = 0.8  # Jaccard similarity of two texts' term sets
_MIN_TERMS = 3  # a negative shorter than this teaches nothing (a page header, a lone number)


@lru_cache(maxsize=1)
def _encoder() -> Bm25Encoder:
    return Bm25Encoder()


def terms_of(text: str) -> frozenset[str]:
    """Stemmed content terms with numbers normalised (``$2,255.4`` -> ``2255.4``): the BM25 view."""
    return frozenset(_encoder().tokenize(text))


_QUESTION_TERMS = frozenset(
    Bm25Encoder().tokenize(
        "what was were did report disclose discuss where find how much change fiscal year quarter "
        "months ended period filing fy company"
    )
)


def figure_of(text: str) -> str:
    """A printed figure as one normalised term (``(1,842.6)`` -> ``1842.6``), '' when none."""
    for token in _encoder().tokenize(text):
        if token[:1].isdigit():
            return token
    return ""


_SPACE = re.compile(r"\s+")


def company_key(name: str | None) -> str | None:
    """One key per company however its filings spell it ("AMCOR PLC", "Amcor" -> "amcor")."""
    if not name:
        return None
    core, aliases = name_aliases(name)
    return "".join(t.norm for t in core) or min(aliases, default=name.lower())


def _norm_text(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


@dataclass(frozen=True)
class AnswerKey:
    """What makes a chunk an answer to a query, besides being the positive itself.

    Attributes:
        terms: stemmed terms that must all be in a chunk for ``figures`` to count.
        figures: normalised figures; a chunk with all ``terms`` and one of these answers too.
        pages: (doc_id, page_no) whose every chunk counts as an answer (gold evidence pages).
        section: (doc_id, section path); chunks of that section or below answer (headings).
        positive_ids: further chunk ids that are positives for the same query.
    """

    terms: frozenset[str] = frozenset()
    figures: frozenset[str] = frozenset()
    pages: frozenset[tuple[str, int]] = frozenset()
    section: tuple[str, tuple[str, ...]] | None = None
    positive_ids: frozenset[str] = frozenset()

    def accepts(self, chunk: Chunk, chunk_terms: frozenset[str]) -> bool:
        """Whether ``chunk`` could be a correct answer (so it must not be a negative)."""
        if chunk.chunk_id in self.positive_ids or (chunk.doc_id, chunk.page_no) in self.pages:
            return True
        if self.section is not None:
            doc_id, path = self.section
            if chunk.doc_id == doc_id and tuple(chunk.section_path[: len(path)]) == path:
                return True
        return bool(self.figures and self.terms <= chunk_terms and self.figures & chunk_terms)


@dataclass(frozen=True)
class Negative:
    chunk: Chunk
    kind: NegativeKind


@dataclass
class _Corpus:
    """The chunks a dataset is built from, with the lookups mining needs."""

    chunks: dict[str, Chunk]
    pages: dict[tuple[str, int], list[Chunk]] = field(default_factory=lambda: defaultdict(list))
    postings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    terms: dict[str, frozenset[str]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, chunks: Iterable[Chunk]) -> _Corpus:
        ordered = sorted(chunks, key=lambda c: (c.doc_id, c.order, c.chunk_id))
        corpus = cls(chunks={c.chunk_id: c for c in ordered})
        for c in ordered:
            corpus.pages[(c.doc_id, c.page_no)].append(c)
            t = terms_of(c.text)
            corpus.terms[c.chunk_id] = t
            for term in t:
                corpus.postings[term].append(c.chunk_id)
        n = max(len(ordered), 1)
        corpus.idf = {t: math.log(1 + n / len(ids)) for t, ids in corpus.postings.items()}
        return corpus


class NegativeMiner:
    """Mines hard negatives for many queries over one corpus.

    Args:
        chunks: every chunk negatives may come from (``Index.scroll_chunks()``).
        search: a :class:`retrieval.search.CorpusSearch` over the same index; None ranks
            lexically in memory instead.
        per_query: negatives per query.
        candidates: hits fetched per hybrid search.
    """

    def __init__(
        self,
        chunks: Iterable[Chunk],
        search: Any = None,
        per_query: int = 4,
        candidates: int = 20,
    ) -> None:
        self.corpus = _Corpus.build(chunks)
        self.search = search
        self.per_query = per_query
        self.candidates = candidates
        self.searches = 0
        # "AMCOR PLC" (10-K) and "Amcor" (earnings release) are one company.
        self._doc_company: dict[str, str | None] = {}
        for c in self.corpus.chunks.values():
            self._doc_company.setdefault(c.doc_id, company_key(c.company))

    def terms(self, chunk: Chunk) -> frozenset[str]:
        found = self.corpus.terms.get(chunk.chunk_id)
        return found if found is not None else terms_of(chunk.text)

    def mine(
        self,
        query: str,
        positive: Chunk,
        key: AnswerKey,
        allowed_docs: Iterable[str],
        explicit: Sequence[str] = (),
    ) -> list[Negative]:
        """Up to ``per_query`` negatives for ``query`` from ``allowed_docs`` (see module doc).

        Args:
            explicit: chunk ids marked wrong for this question; taken first when allowed.
        """
        allowed = frozenset(allowed_docs)
        if self.per_query <= 0:
            return []
        pos_terms = self.terms(positive)
        pos_text = _norm_text(positive.text)
        taken: list[Negative] = []
        seen_ids = {positive.chunk_id}
        seen_texts = {pos_text}

        def take(chunk: Chunk, kind: NegativeKind) -> bool:
            if chunk.chunk_id in seen_ids or chunk.doc_id not in allowed:
                return False
            seen_ids.add(chunk.chunk_id)
            text = _norm_text(chunk.text)
            terms = self.terms(chunk)
            if text in seen_texts or len(terms) < _MIN_TERMS or key.accepts(chunk, terms):
                return False
            if _overlap(terms, pos_terms) >= NEAR_DUPLICATE or any(
                _overlap(terms, self.terms(n.chunk)) >= NEAR_DUPLICATE for n in taken
            ):
                return False
            seen_texts.add(text)
            taken.append(Negative(chunk, kind))
            return True

        for cid in explicit:
            chunk = self.corpus.chunks.get(cid)
            if chunk is not None:
                take(chunk, "explicit")
        if len(taken) >= self.per_query:
            return taken[: self.per_query]

        query_terms = terms_of(query)
        pools = self._pools(query, query_terms, positive, key, allowed)
        cursors = dict.fromkeys(ROUND_ROBIN, 0)
        while len(taken) < self.per_query:
            progressed = False
            for kind in ROUND_ROBIN:
                pool = pools[kind]
                while cursors[kind] < len(pool):
                    chunk = pool[cursors[kind]]
                    cursors[kind] += 1
                    if take(chunk, kind):
                        progressed = True
                        break
                if len(taken) >= self.per_query:
                    break
            if not progressed:
                break
        return taken

    # -- candidate pools ---------------------------------------------------------------------

    def _pools(
        self,
        query: str,
        query_terms: frozenset[str],
        positive: Chunk,
        key: AnswerKey,
        allowed: frozenset[str],
    ) -> dict[NegativeKind, list[Chunk]]:
        pools: dict[NegativeKind, list[Chunk]] = {k: [] for k in ROUND_ROBIN}
        company = company_key(positive.company)
        same_company = [d for d in allowed if company is None or self._company_of(d) == company]
        for chunk in self._ranked(query, query_terms, positive, sorted(same_company)):
            if chunk.doc_id != positive.doc_id:
                pools["other-period"].append(chunk)
            elif chunk.page_no == positive.page_no:
                pools["same-page"].append(chunk)
            else:
                pools["same-filing"].append(chunk)
        # The metric without the company, the period and the template's words.
        metric = key.terms or frozenset(
            t
            for t in query_terms - _QUESTION_TERMS - terms_of(positive.company or "")
            if not t[:1].isdigit()
        )
        others = {d for d in allowed if self._company_of(d) != company}
        pools["other-company"] = self._lexical(metric, others, limit=self.candidates // 2)
        # Page neighbours the search did not rank come after those it did, nearest first.
        ranked_here = {c.chunk_id for c in pools["same-page"]}
        neighbours = sorted(
            (
                c
                for c in self.corpus.pages.get((positive.doc_id, positive.page_no), [])
                if c.chunk_id not in ranked_here
            ),
            key=lambda c: abs(c.order - positive.order),
        )
        pools["same-page"].extend(neighbours)
        return pools

    def _company_of(self, doc_id: str) -> str | None:
        return self._doc_company.get(doc_id)

    def _ranked(
        self, query: str, query_terms: frozenset[str], positive: Chunk, doc_ids: list[str]
    ) -> list[Chunk]:
        if not doc_ids:
            return []
        if self.search is None:
            return self._lexical(query_terms, set(doc_ids), limit=self.candidates)
        self.searches += 1
        filters = SearchFilters(doc_ids=doc_ids)
        hits = self.search.search(
            Query(text=query, filters=filters, top_k=self.candidates, acl_groups=list(positive.acl))
        )
        # Hits come back as payload copies; use the corpus's objects so terms are cached.
        return [self.corpus.chunks.get(h.chunk.chunk_id, h.chunk) for h in hits]

    def _lexical(self, terms: frozenset[str], doc_ids: set[str], limit: int) -> list[Chunk]:
        """Chunks of ``doc_ids`` ranked by the idf mass of ``terms`` they hold (at least half)."""
        if not terms or not doc_ids:
            return []
        idf = self.corpus.idf
        total = sum(idf.get(t, 0.0) for t in terms)
        if total <= 0:
            return []
        scores: dict[str, float] = defaultdict(float)
        for t in terms:
            w = idf.get(t, 0.0)
            for cid in self.corpus.postings.get(t, ()):
                scores[cid] += w
        chunks = self.corpus.chunks
        ranked = sorted(
            (cid for cid, s in scores.items() if s >= total / 2 and chunks[cid].doc_id in doc_ids),
            key=lambda cid: (-scores[cid], cid),
        )
        return [chunks[cid] for cid in ranked[:limit]]


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
