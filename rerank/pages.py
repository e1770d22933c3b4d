"""Pages reordered by a reranker: what the evaluation and the promotion gate measure.

Contract: :func:`rerank_pages` takes one retrieval result's chunk hits (best first, as
:class:`~retrieval.retriever.Retriever` returns them: each top page's chunks, then their
neighbours), lets the reranker score the first ``candidates`` distinct chunks (every chunk for a
reranker that ``reads_every_hit``, as the agent hands it them), and ranks pages by
their best chunk's reranker score. The retrieved pages the reranker did not see follow in their
retrieval order, so reranking reorders the retrieved pages but never drops one.
"""

from __future__ import annotations

from core.records import Hit

DEFAULT_CANDIDATES = 30


def rerank_pages(
    query: str,
    hits: list[Hit],
    pages: list[tuple[str, int]],
    reranker,
    candidates: int = DEFAULT_CANDIDATES,
) -> list[tuple[str, int]]:
    """``(doc_id, page_no)`` best first after reranking the first ``candidates`` chunks of ``hits``.

    ``pages`` is the retrieval's own page order (``RetrievalResult.pages``).
    """
    seen: set[str] = set()
    pool: list[Hit] = []
    for hit in hits:
        if hit.chunk.chunk_id not in seen:
            seen.add(hit.chunk.chunk_id)
            pool.append(hit)
    read = pool if reranker.reads_every_hit else pool[:candidates]
    scored = reranker.rerank(query, read) if pool else []
    order: list[tuple[str, int]] = []
    for key in [(h.chunk.doc_id, h.chunk.page_no) for h in scored] + list(pages):
        if key not in order:
            order.append(key)
    return order
