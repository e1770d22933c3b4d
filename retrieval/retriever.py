"""Tripartite retrieval: corpus hits, memory-bank hits and live-data tool results in one record.

Contract: :meth:`Retriever.retrieve` takes a question, the caller's ACL groups and optionally the
conversation so far and explicit filters, and returns a :class:`RetrievalResult`:

* ``resolution``: which companies, periods and forms the question names, resolved against the
  catalog (:mod:`retrieval.resolver`); its ``doc_ids`` restrict the corpus search unless the caller
  gave filters of their own. When nothing is recognised, everything the caller may read is
  searched and ``scope`` says so.
* ``hits``: corpus chunks, page-aware. The index returns fused chunk hits (dense + BM25, and the
  ``image`` vector when the collection has one, fused by Qdrant); chunks are then grouped by page
  and pages are ranked by the reciprocal-rank sum of their chunks, so several chunks from one page
  support that page. Each page's best chunks come first, then its neighbours (previous/next chunk
  and table continuations) are added so an answer can read a statement that runs over two chunks.
* ``memory``: expert-curated entries matched above the calibrated threshold (never replacing the
  corpus hits; the agent weighs both).
* ``tools``: results of the live-data tools the question calls for (company facts, market data).
* ``timings_ms`` per part.

The caller's ACL groups apply to every part: the index filters chunks, the memory bank filters
entries, and the catalog the resolver sees holds only filings the caller may read.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.records import (
    Chunk,
    Filing,
    Hit,
    MemoryHit,
    PageHit,
    Query,
    Resolution,
    RetrievalResult,
    SearchFilters,
    ToolResult,
)
from retrieval.resolver import resolve

if TYPE_CHECKING:
    from retrieval.corpus import Corpus
    from retrieval.tools.base import ToolRegistry

log = logging.getLogger(__name__)

_PAGE_RRF_K = 10  # page-score damping: the 1st chunk weighs 1/11, the 10th 1/20


def search_text(question: str, resolution: Resolution) -> str:
    """The question without the company and period words the resolver turned into filters.

    Once the filter holds the right filings, "Boeing" and "FY2022" only pull lexical search towards
    pages that repeat them (exhibit indexes, signatures, subsidiaries lists).
    """
    text = question
    for span in sorted(resolution.matched_text, key=lambda s: -s.start):
        if (
            span.kind in ("company", "ticker", "period", "relative", "date")
            and resolution.filters.doc_ids
        ):
            text = text[: span.start] + " " + text[span.end :]
    return " ".join(text.split()) or question


def rank_pages(hits: list[Hit]) -> list[PageHit]:
    """Group chunk hits by page; a page scores the reciprocal-rank sum of its chunks.

    ``hits`` may hold several ranked lists one after another (each hit's ``rank`` is within its
    own list); a chunk found by two lists counts twice.
    """
    scores: dict[tuple[str, int], float] = defaultdict(float)
    members: dict[tuple[str, int], list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for hit in hits:
        key = (hit.chunk.doc_id, hit.chunk.page_no)
        scores[key] += 1.0 / (_PAGE_RRF_K + hit.rank)
        if hit.chunk.chunk_id not in members[key]:
            members[key].append(hit.chunk.chunk_id)
        names[hit.chunk.doc_id] = hit.chunk.file_name
    ordered = sorted(scores, key=lambda k: (-scores[k], k))
    return [
        PageHit(
            doc_id=d,
            page_no=p,
            file_name=names[d],
            score=scores[(d, p)],
            rank=i,
            chunk_ids=members[(d, p)],
        )
        for i, (d, p) in enumerate(ordered, start=1)
    ]


class Retriever:
    """The one retrieval entry point for the agent, the UI and the evaluation.

    Each part is a method of its own, so the agent's graph runs them as separate stages
    (:meth:`resolve`, :meth:`search_memory`, :meth:`call_tools`, :meth:`search_corpus`);
    :meth:`retrieve` runs all four for callers that want one call.

    Args:
        corpus: the open corpus (index, memory collection, catalog, embedder).
        tools: a tool registry, or None to build one from ``corpus.settings.tools``.

    Example:
        >>> retriever = Retriever(corpus)  # doctest: +SKIP
        >>> r = retriever.retrieve("Boeing FY2022 revenue", acl_groups=["public"])  # doctest: +SKIP
        >>> r.pages[0].file_name, r.scope  # doctest: +SKIP
    """

    def __init__(self, corpus: Corpus, tools: ToolRegistry | None = None) -> None:
        from retrieval.memory_bank import MemoryBank
        from retrieval.search import CorpusSearch
        from retrieval.tools.base import build_tools

        self.corpus = corpus
        self.search = CorpusSearch(corpus)
        self.memory = MemoryBank(corpus)
        self.tools = tools if tools is not None else build_tools(corpus.settings)

    def filings(self, acl_groups: list[str]) -> list[Filing]:
        return self.corpus.filings(acl_groups)

    # -- the parts ---------------------------------------------------------------------------

    def resolve(
        self, question: str, *, acl_groups: list[str], history: list[str] | None = None
    ) -> Resolution:
        """The companies, periods and forms ``question`` names, among the filings the caller
        may read; ``history`` (earlier questions of the conversation) fills in what it omits."""
        return resolve(question, self.filings(acl_groups), history=history)

    def search_corpus(
        self,
        question: str,
        resolution: Resolution,
        *,
        acl_groups: list[str],
        filters: SearchFilters | None = None,
        top_k: int = 10,
        candidates: int = 60,
    ) -> tuple[list[Hit], list[PageHit]]:
        """Chunk hits of the ``top_k`` best pages (each page's neighbours after its own hits),
        and those pages, within the resolution's filings or the caller's ``filters``.

        Args:
            filters: explicit restrictions (from the UI or the command line); they replace the
                resolver's filing selection instead of being combined with it.
            candidates: chunk hits fetched from the index before grouping by page.
        """
        chosen = filters if filters is not None and not filters.is_empty() else resolution.filters
        chunk_hits = self.search.search(
            Query(
                text=search_text(question, resolution),
                filters=chosen,
                acl_groups=acl_groups,
                top_k=candidates,
            ),
            statements=True,
        )
        pages = rank_pages(chunk_hits)[:top_k]
        return self._page_hits(chunk_hits, pages, acl_groups), pages

    def search_memory(
        self, question: str, resolution: Resolution, *, acl_groups: list[str]
    ) -> tuple[list[MemoryHit], str | None]:
        """Memory-bank entries for ``question`` within its one company and period (when it
        names exactly one), and a note when the bank could not be consulted."""
        company = resolution.companies[0] if len(resolution.companies) == 1 else None
        period = resolution.periods[0] if len(resolution.periods) == 1 else None
        try:
            hits = self.memory.search(
                question, acl_groups=acl_groups, company=company, period=period
            )
        except ConfigError as exc:  # e.g. no calibrated threshold for this embedder
            return [], f"memory bank not consulted: {exc}"
        return hits, None

    def call_tools(
        self, question: str, resolution: Resolution, *, acl_groups: list[str]
    ) -> list[ToolResult]:
        """Results of the live-data tools the question calls for (none when none is configured)."""
        from retrieval.tools.planner import plan_tool_calls

        calls = plan_tool_calls(question, resolution, self.filings(acl_groups), self.tools)
        return [self.tools.call(name, args) for name, args in calls]

    # -- all of it ---------------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        *,
        acl_groups: list[str],
        history: list[str] | None = None,
        filters: SearchFilters | None = None,
        top_k: int = 10,
        candidates: int = 60,
        use_memory: bool = True,
        use_tools: bool = True,
    ) -> RetrievalResult:
        """Evidence for ``question`` that the caller (``acl_groups``) may read.

        Args:
            filters: explicit restrictions; they replace the resolver's filing selection.
            top_k: pages to return (each with its supporting and neighbouring chunks).
            candidates: chunk hits fetched from the index before grouping by page.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        resolution = self.resolve(question, acl_groups=acl_groups, history=history)
        timings["resolve"] = _ms(t0)

        t0 = time.perf_counter()
        hits, pages = self.search_corpus(
            question,
            resolution,
            acl_groups=acl_groups,
            filters=filters,
            top_k=top_k,
            candidates=candidates,
        )
        timings["search"] = _ms(t0)

        memory: list[MemoryHit] = []
        if use_memory:
            t0 = time.perf_counter()
            memory, note = self.search_memory(question, resolution, acl_groups=acl_groups)
            if note:
                resolution.notes.append(note)
            timings["memory"] = _ms(t0)

        tool_results: list[ToolResult] = []
        if use_tools:
            t0 = time.perf_counter()
            tool_results = self.call_tools(question, resolution, acl_groups=acl_groups)
            timings["tools"] = _ms(t0)

        return RetrievalResult(
            question=question,
            resolution=resolution,
            hits=hits,
            pages=pages,
            memory=memory,
            tools=tool_results,
            timings_ms=timings,
        )

    def _page_hits(
        self, chunk_hits: list[Hit], pages: list[PageHit], acl_groups: list[str]
    ) -> list[Hit]:
        """Chunks of the top pages in page order, each page's neighbours appended after its hits."""
        by_id = {h.chunk.chunk_id: h for h in chunk_hits}
        wanted: list[str] = []
        seen: set[str] = set()
        for page in pages:
            for cid in page.chunk_ids:
                if cid not in seen:
                    seen.add(cid)
                    wanted.append(cid)
        neighbour_ids: list[str] = []
        for cid in wanted:
            chunk = by_id[cid].chunk
            for nid in (chunk.prev_id, chunk.next_id, chunk.continues_id):
                if nid and nid not in seen:
                    seen.add(nid)
                    neighbour_ids.append(nid)
        neighbours = {
            c.chunk_id: c for c in self.corpus.index.get_chunks(neighbour_ids, acl_groups)
        }
        out: list[Hit] = []
        for page in pages:
            for cid in page.chunk_ids:
                hit = by_id[cid]
                out.append(hit.model_copy(update={"rank": len(out) + 1}))
                chunk = hit.chunk
                for nid in (chunk.continues_id, chunk.prev_id, chunk.next_id):
                    if nid in neighbours:
                        n: Chunk = neighbours.pop(nid)
                        out.append(Hit(chunk=n, score=0.0, source="fused", rank=len(out) + 1))
        return out


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
