"""Hybrid corpus search: one query in, fused hits from the index out.

Encodes the query once for each vector the collection holds (dense ``text``, sparse ``bm25``, and
``image`` when the embedder is multimodal) and lets Qdrant fuse the prefetches. The ACL groups of
the caller always travel with the query.

Query wording: the question is extended with the filing's words for the metrics it names
(:mod:`retrieval.glossary`: "quick ratio" -> current assets, receivables, current liabilities).
When those metrics live in primary statements, a second, smaller candidate list is searched among
the chunks of those statements only, so that the balance sheet competes with the many MD&A
paragraphs that merely mention its items; both lists are returned, each hit ranked within its own
list, for the caller's page-level fusion (:func:`retrieval.retriever.rank_pages`).

Example:
    >>> searcher = CorpusSearch(corpus)  # doctest: +SKIP
    >>> searcher.search(Query(text="total revenues 2022"))[0].chunk.page_no  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.records import Hit, Query
from retrieval.glossary import expand

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

STATEMENT_CANDIDATES = 20


class CorpusSearch:
    """Hybrid search over an open corpus's chunk collection (its embedder, BM25 and index)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    def search(
        self,
        query: Query,
        prefetch_limit: int = 50,
        glossary: bool = True,
        statements: bool = False,
    ) -> list[Hit]:
        """Fused hits within the query's filters and ACL groups, best first.

        Returns ``query.top_k`` hits. With ``statements``, they are followed by up to
        :data:`STATEMENT_CANDIDATES` hits from the statements the question's metrics live in
        (ranked within that second list) when the glossary names any.
        """
        expansion = expand(query.text) if glossary else None
        text = f"{query.text} {expansion.terms}" if expansion and expansion.terms else query.text
        corpus = self.corpus
        dense = corpus.embedder.embed_query(text)
        sparse = corpus.sparse.encode_query(text)
        # One query vector serves both spaces of a multimodal embedder.
        image = dense if corpus.image_pages else None
        kwargs = {
            "dense": dense,
            "sparse": sparse,
            "image": image,
            "acl_groups": query.acl_groups,
            "prefetch_limit": prefetch_limit,
        }
        hits = corpus.index.search(filters=query.filters, limit=query.top_k, **kwargs)
        if statements and expansion and expansion.statements and not query.filters.statements:
            focused = query.filters.model_copy(update={"statements": list(expansion.statements)})
            hits += corpus.index.search(filters=focused, limit=STATEMENT_CANDIDATES, **kwargs)
        return hits
