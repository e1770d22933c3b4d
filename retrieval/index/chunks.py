"""The chunk collection: its schema, writes, reads and hybrid search (:class:`Index`).

Contract: :class:`Index` stores each :class:`~core.records.Chunk` as one point and answers
searches with :class:`~core.records.Hit` records carrying the reconstructed chunk; callers never
see Qdrant types. Lifecycle and engine choice come from
:class:`~retrieval.index.collection.Collection`.

Schema of collection ``settings.qdrant.collection`` (default ``chunks``):

* named dense vector ``text`` (cosine, the embedder's dim); named dense vector ``image`` (cosine)
  only when an image dim is given at creation;
* sparse vector ``bm25`` with the IDF modifier (values from :mod:`retrieval.sparse`);
* payload = ``Chunk.model_dump(mode="json")`` plus ``ready: bool`` and, on a chunk with both a
  company and a fiscal year, the derived keyword :data:`COMPANY_YEAR` (:func:`company_year`);
* payload indexes on :data:`PAYLOAD_INDEXES`.

Filters: each non-empty :class:`~core.records.SearchFilters` field must match one of its values.
When both ``companies`` and ``fiscal_years`` are given and the collection keeps a
:data:`COMPANY_YEAR` index (every collection created since it exists; qdrant-client local mode
keeps no payload indexes), the two conditions become one on :data:`COMPANY_YEAR` holding every
(company, year) pair: the same points, found from one small posting list instead of checking the
year of every chunk of the company (README, "Embedded engine at scale"). A collection created
before has no such field and keeps the two conditions.

Visibility rules: every search and :meth:`Index.count` includes ``ready == true`` (a document is
written with ``ready=False`` and flipped by :meth:`Index.mark_ready` once all its chunks landed, so
a half-ingested filing is never searched) and ``acl`` matching any of the caller's groups; an empty
group list sees nothing, never everything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import IndexBackendError, RetrievalError
from core.records import Chunk, Hit, HitSource, SearchFilters, point_id
from core.settings import Settings
from retrieval.index.collection import Collection, query_vector, vectors_matrix
from retrieval.index.requests import (
    BATCH,
    BM25,
    IMAGE,
    TEXT,
    Fusion,
    Match,
    Point,
    Probe,
    Schema,
)
from retrieval.sparse import SparseVec

logger = logging.getLogger(__name__)

__all__ = ["COMPANY_YEAR", "PAYLOAD_INDEXES", "Index", "company_year"]

# The derived payload field a company + fiscal year filter matches (see the module docstring).
COMPANY_YEAR = "company_year"

# payload field -> index type
PAYLOAD_INDEXES: dict[str, str] = {
    "doc_id": "keyword",
    "company": "keyword",
    "ticker": "keyword",
    "form": "keyword",
    "fiscal_year": "integer",
    "fiscal_period": "keyword",
    "modality": "keyword",
    "acl": "keyword",
    "ready": "bool",
    "file_name": "keyword",
    "page_no": "integer",
    "statement": "keyword",
    COMPANY_YEAR: "tenant",
}

_DERIVED = ("ready", COMPANY_YEAR)  # payload fields that are not Chunk fields

# SearchFilters field -> payload field
_FILTER_FIELDS = {
    "doc_ids": "doc_id",
    "companies": "company",
    "tickers": "ticker",
    "forms": "form",
    "fiscal_years": "fiscal_year",
    "fiscal_periods": "fiscal_period",
    "modalities": "modality",
    "statements": "statement",
}

_SOURCE: dict[str, HitSource] = {TEXT: "dense", BM25: "sparse", IMAGE: "image"}


class Index(Collection):
    """The chunk collection, over whichever engine the settings choose.

    Args:
        settings: ``settings.qdrant`` picks the engine and collection; ``settings.index_dir`` holds
            embedded storage.
        collection: overrides ``settings.qdrant.collection`` (e.g. for a test or a second corpus).

    Construction opens the engine (and an existing collection); it loads no model. Use one
    ``Index`` per process and close it (or use ``with``): embedded engines lock their folder.
    """

    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        super().__init__(settings, collection or settings.qdrant.collection)
        self._company_year: bool | None = None  # whether the collection indexes COMPANY_YEAR
        logger.debug(
            "index %s on %s at %s", self.collection, self._engine.name, self._engine.location
        )

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def text_dim(self) -> int:
        return self._text_image()[0]

    @property
    def image_dim(self) -> int | None:
        return self._text_image()[1]

    def ensure_collection(self, text_dim: int, image_dim: int | None = None) -> None:
        """Create the collection with its vectors and payload indexes, or check the existing one.

        Idempotent. An existing collection keeps any ``image`` vector it has even when
        ``image_dim`` is None (text-only writes are fine there).

        Raises:
            IndexBackendError: the existing collection has another text dim, or lacks the
                ``image`` vector / has another image dim than ``image_dim``.
        """
        if self._engine.exists():
            have = self._stored_dims()
            have_text, have_image = have[TEXT], have.get(IMAGE)
            if have_text != text_dim or (image_dim is not None and have_image != image_dim):
                raise IndexBackendError(
                    f"collection {self.collection!r} at {self.location} holds text dim {have_text}"
                    f" and image dim {have_image}, but the embedder gives text dim {text_dim} and "
                    f"image dim {image_dim}: switch back to the embedder it was built with, or "
                    "re-index into a new collection (FINRAG_QDRANT__COLLECTION) or a new data_dir"
                )
            self._dims = have
            self._company_year = None
            return
        logger.info(
            "creating collection %s (text %d, image %s) at %s",
            self.collection,
            text_dim,
            image_dim,
            self.location,
        )
        schema = _chunk_schema(text_dim, image_dim)
        self._engine.create(schema)
        self._dims = dict(schema.dense)

    def _text_image(self) -> tuple[int, int | None]:
        dims = self._require()
        return dims[TEXT], dims.get(IMAGE)

    def _missing(self) -> str:
        return (
            f"no collection {self.collection!r} at {self.location}: ingest documents first "
            "(or call ensure_collection)"
        )

    def _not_ours(self) -> str:
        return (
            f"collection {self.collection!r} at {self.location} was not created by finrag (no "
            f"named vector {TEXT!r}); choose another FINRAG_QDRANT__COLLECTION"
        )

    def optimize(self) -> None:
        """Build the vector indexes after a bulk load (edge: blocking HNSW build; others: no-op)."""
        self._require()
        self._engine.optimize()

    def optimize_if_due(self) -> bool:
        """Start a background index build when enough points await one; after each ingest batch.

        Due when ``settings.qdrant.index_threshold`` (> 0) dense vectors or more are outside an
        HNSW graph and no build is running. The build runs while the index keeps answering and
        taking writes (edge: a child process on a copy, swapped in with the writes made
        meanwhile; see :mod:`~retrieval.index.edge`); :meth:`close` waits for it. A server (and
        local mode) indexes on its own, so this never starts anything there.

        Returns:
            Whether a build was started.
        """
        threshold = self.settings.qdrant.index_threshold
        if threshold <= 0 or not self.exists() or self._engine.optimizing:
            return False
        waiting = self._engine.unindexed()
        if waiting < threshold:
            return False
        logger.info("%d points await an index build of %s: starting one", waiting, self.location)
        return self._engine.start_optimize()

    @property
    def optimizing(self) -> bool:
        """Whether a background index build is running."""
        return self._engine.optimizing

    def wait_optimized(self) -> None:
        """Block until a running background index build has been swapped in."""
        self._engine.wait_optimized()

    # -- writes ------------------------------------------------------------------------------

    def upsert(
        self,
        chunks: list[Chunk],
        text_vectors: np.ndarray | None,
        sparse_vectors: list[SparseVec],
        image_vectors: np.ndarray | None = None,
        ready: bool = False,
    ) -> int:
        """Write chunks as points (id = ``chunk.point_id``); the same chunk again replaces itself.

        Args:
            chunks: the chunks, with filing metadata filled in.
            text_vectors: (n, text_dim) float array, row i for chunk i; None (or an all-zero row)
                stores no ``text`` vector, e.g. for image-only ``page`` points.
            sparse_vectors: one :class:`SparseVec` per chunk (``Bm25Encoder.encode_document``);
                an empty one stores no ``bm25`` vector for that chunk.
            image_vectors: (n, image_dim) or None; an all-zero row means "no image for this chunk".
            ready: searchable at once. Leave False while a document is being written and call
                :meth:`mark_ready` after its last batch.

        Returns:
            The number of points written.
        """
        n = len(chunks)
        text_dim, image_dim = self._text_image()
        text = (
            None
            if text_vectors is None
            else vectors_matrix(text_vectors, n, text_dim, "text_vectors")
        )
        if len(sparse_vectors) != n:
            raise IndexBackendError(f"got {n} chunks but {len(sparse_vectors)} sparse vectors")
        image = None
        if image_vectors is not None:
            if image_dim is None:
                raise IndexBackendError(
                    f"collection {self.collection!r} has no image vector; create it with "
                    "ensure_collection(..., image_dim=...) in a new collection to store images"
                )
            image = vectors_matrix(image_vectors, n, image_dim, "image_vectors")
        points = []
        for i, chunk in enumerate(chunks):
            vectors: dict[str, list[float] | SparseVec] = {}
            if text is not None and np.any(text[i]):
                vectors[TEXT] = text[i].tolist()
            if len(sparse_vectors[i]):
                vectors[BM25] = sparse_vectors[i]
            if image is not None and np.any(image[i]):
                vectors[IMAGE] = image[i].tolist()
            payload = chunk.model_dump(mode="json")
            payload["ready"] = ready
            if chunk.company is not None and chunk.fiscal_year is not None:
                payload[COMPANY_YEAR] = company_year(chunk.company, chunk.fiscal_year)
            points.append(Point(id=chunk.point_id, vectors=vectors, payload=payload))
        try:
            for start in range(0, n, BATCH):
                self._engine.upsert(points[start : start + BATCH])
        except IndexBackendError:
            raise
        except Exception as exc:
            raise IndexBackendError(f"upsert into {self.collection!r} failed: {exc}") from exc
        return n

    def mark_ready(self, doc_id: str) -> None:
        """Make every chunk of ``doc_id`` searchable: the document's commit point."""
        self._require()
        self._engine.set_payload([Match("doc_id", doc_id)], {"ready": True})

    def set_acl(self, doc_id: str, acl: list[str]) -> None:
        """Give every chunk of ``doc_id`` the ACL groups ``acl`` (a filing re-shared)."""
        self._require()
        self._engine.set_payload([Match("doc_id", doc_id)], {"acl": list(acl)})

    def delete_doc(self, doc_id: str) -> None:
        """Remove every chunk of ``doc_id`` (ready or not)."""
        self._require()
        self._engine.delete([Match("doc_id", doc_id)])

    # -- reads -------------------------------------------------------------------------------

    def doc_point_count(self, doc_id: str) -> int:
        """Points stored for ``doc_id``, ready or not, whatever their ACL (for ingestion)."""
        if not self.exists():
            return 0
        return self._engine.count([Match("doc_id", doc_id)])

    def count(
        self, filters: SearchFilters | None = None, acl_groups: list[str] | None = None
    ) -> int:
        """Ready chunks matching ``filters``; ``acl_groups`` None = any ACL, [] = nothing."""
        if not self.exists():
            return 0
        if acl_groups is not None and not acl_groups:
            return 0
        return self._engine.count(self._where(filters, acl_groups))

    def get_chunks(self, chunk_ids: list[str], acl_groups: list[str] | None = None) -> list[Chunk]:
        """The stored chunks for ``chunk_ids``, in that order; unknown ids are skipped.

        ``acl_groups`` (when given) drops chunks none of those groups may read.
        """
        if not chunk_ids:
            return []
        self._require()
        payloads = self._engine.retrieve([point_id(c) for c in chunk_ids])
        by_id = {c.chunk_id: c for c in map(_chunk, payloads) if _readable(c, acl_groups)}
        return [by_id[c] for c in chunk_ids if c in by_id]

    def page_chunks(
        self, doc_id: str, page_no: int, acl_groups: list[str] | None = None
    ) -> list[Chunk]:
        """Ready chunks of one page, in document order."""
        self._require()
        where = [Match("doc_id", doc_id), Match("page_no", page_no), Match("ready", True)]
        chunks = [c for c in map(_chunk, self._engine.scroll(where)) if _readable(c, acl_groups)]
        return sorted(chunks, key=lambda c: (c.order, c.chunk_id))

    def scroll_chunks(
        self, filters: SearchFilters | None = None, acl_groups: list[str] | None = None
    ) -> list[Chunk]:
        """Every ready chunk matching ``filters``, sorted by (doc_id, order); for batch jobs.

        ``acl_groups`` None = any ACL, [] = nothing. Loads all matches into memory (a 900-page
        corpus of ~5k chunks: ~1 s CPU on the edge engine).
        """
        if not self.exists() or (acl_groups is not None and not acl_groups):
            return []
        chunks = list(map(_chunk, self._engine.scroll(self._where(filters, acl_groups))))
        return sorted(chunks, key=lambda c: (c.doc_id, c.order, c.chunk_id))

    def search(
        self,
        *,
        dense: np.ndarray | None,
        sparse: SparseVec | None,
        image: np.ndarray | None = None,
        filters: SearchFilters,
        acl_groups: list[str],
        limit: int = 10,
        prefetch_limit: int = 50,
        fusion: Fusion = "rrf",
        exact: bool = False,
    ) -> list[Hit]:
        """Search ready chunks the caller may read; hybrid when more than one vector is given.

        Args:
            dense: query vector for ``text`` (the embedder's ``embed_query``), or None.
            sparse: ``Bm25Encoder.encode_query`` output, or None (an empty one counts as None).
            image: query vector for ``image`` (only in a collection built with an image dim).
            filters: restrictions; each non-empty field must match one of its values.
            acl_groups: the caller's groups; a chunk is visible when its ``acl`` shares one.
                An empty list returns no hits.
            limit: hits to return.
            prefetch_limit: candidates per vector before fusion (raised to ``limit`` if lower).
            fusion: ``rrf`` (reciprocal rank, k=60) or ``dbsf`` (distribution-based score),
                both computed by Qdrant.
            exact: score dense candidates exactly (no HNSW graph, no int8 copy); slow, for
                measuring what the graph and quantization cost in recall.

        Returns:
            Hits best first, ``rank`` from 1, ``source`` ``fused`` for hybrid, else ``dense``,
            ``sparse`` or ``image``. No vector at all returns no hits.

        Raises:
            RetrievalError: a vector has the wrong size, or ``image`` is given for a collection
                without image vectors.
        """
        if fusion not in ("rrf", "dbsf"):
            raise RetrievalError(f"unknown fusion {fusion!r}; known: rrf, dbsf")
        if not acl_groups or limit <= 0:
            return []
        if not self.exists():
            logger.warning(
                "search on missing collection %s at %s: no hits", self.collection, self.location
            )
            return []
        text_dim, image_dim = self._text_image()
        probes: list[Probe] = []
        if dense is not None:
            probes.append(Probe(TEXT, query_vector(dense, text_dim, "dense")))
        if sparse is not None and len(sparse):
            probes.append(Probe(BM25, sparse))
        if image is not None:
            if image_dim is None:
                raise RetrievalError(
                    f"collection {self.collection!r} has no image vectors; search without `image` "
                    "or index with a multimodal embedder (settings.embedder.image_pages)"
                )
            probes.append(Probe(IMAGE, query_vector(image, image_dim, "image")))
        if not probes:
            return []
        where = self._where(filters, acl_groups)
        try:
            results = self._engine.query(
                probes, fusion, where, limit, max(prefetch_limit, limit), exact=exact
            )
        except Exception as exc:
            raise RetrievalError(
                f"search in {self.collection!r} at {self.location} failed: {exc}"
            ) from exc
        source: HitSource = "fused" if len(probes) > 1 else _SOURCE[probes[0].using]
        return [
            Hit(chunk=_chunk(found.payload), score=found.score, source=source, rank=rank)
            for rank, found in enumerate(results, start=1)
        ]

    def _where(self, filters: SearchFilters | None, acl_groups: list[str] | None) -> list[Match]:
        """What a point must meet: ``ready``, the ACL and ``filters`` (see the module docstring)."""
        if filters is not None and filters.companies and filters.fiscal_years:
            if self._company_year is None:
                self._company_year = COMPANY_YEAR in self._engine.payload_indexes()
            return _where(filters, acl_groups, by_pair=self._company_year)
        return _where(filters, acl_groups)


def company_year(company: str, fiscal_year: int) -> str:
    """The :data:`COMPANY_YEAR` value of a company and fiscal year: ``"Acme Corp|2022"``.

    The year never holds ``|``, so the last ``|`` splits it off: no two pairs share a value.
    """
    return f"{company}|{fiscal_year}"


# -- helpers private to the chunk collection ----------------------------------------------


def _chunk_schema(text_dim: int, image_dim: int | None) -> Schema:
    dense = {TEXT: text_dim}
    if image_dim:
        dense[IMAGE] = image_dim
    return Schema(dense=dense, sparse=(BM25,), payload_indexes=PAYLOAD_INDEXES)


def _where(
    filters: SearchFilters | None, acl_groups: list[str] | None, *, by_pair: bool = False
) -> list[Match]:
    where = [Match("ready", True)]
    if acl_groups is not None:
        where.append(Match("acl", list(acl_groups)))
    if filters is None:
        return where
    pairs = by_pair and bool(filters.companies) and bool(filters.fiscal_years)
    for name, key in _FILTER_FIELDS.items():
        values = getattr(filters, name)
        if values and not (pairs and name in ("companies", "fiscal_years")):
            where.append(Match(key, list(values)))
    if pairs:
        keys = [company_year(c, y) for c in filters.companies for y in filters.fiscal_years]
        where.append(Match(COMPANY_YEAR, list(dict.fromkeys(keys))))
    return where


def _chunk(payload: dict[str, Any]) -> Chunk:
    return Chunk.model_validate({k: v for k, v in payload.items() if k not in _DERIVED})


def _readable(chunk: Chunk, acl_groups: Sequence[str] | None) -> bool:
    return acl_groups is None or bool(set(chunk.acl) & set(acl_groups))
