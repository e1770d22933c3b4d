"""Hybrid corpus search: one query in, fused hits from the index out.

Encodes the query once for each vector the collection holds (dense ``text``, sparse ``bm25``, and
``image`` when the embedder is multimodal) and lets Qdrant fuse the prefetches. The ACL groups of
the caller always travel with the query.

Example:
    >>> searcher = CorpusSearch(Settings())  # doctest: +SKIP
    >>> searcher.search(Query(text="total revenues 2022"))[0].chunk.page_no  # doctest: +SKIP
"""

from __future__ import annotations

from core.records import Hit, Query
from core.settings import Settings


class CorpusSearch:
    def __init__(self, settings: Settings, index=None) -> None:  # noqa: ANN001 - Index is lazy
        from retrieval.embedders.base import get_embedder
        from retrieval.index import Index
        from retrieval.sparse import Bm25Encoder

        self.settings = settings
        self.embedder = get_embedder(settings.embedder, str(settings.models_dir))
        self.sparse = Bm25Encoder()
        self.index = index or Index(settings)
        self._owns_index = index is None

    def close(self) -> None:
        if self._owns_index:
            self.index.close()

    def search(self, query: Query, prefetch_limit: int = 50) -> list[Hit]:
        """Top ``query.top_k`` fused hits within the query's filters and ACL groups."""
        dense = self.embedder.embed_query(query.text)
        image = None
        if self.settings.embedder.image_pages and hasattr(self.embedder, "embed_images"):
            image = dense  # one query vector serves both spaces for a shared multimodal embedder
        return self.index.search(
            dense=dense,
            sparse=self.sparse.encode_query(query.text),
            image=image,
            filters=query.filters,
            acl_groups=query.acl_groups,
            limit=query.top_k,
            prefetch_limit=prefetch_limit,
        )
