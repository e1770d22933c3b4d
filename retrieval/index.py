"""The one Qdrant facade: the chunk collection's schema, writes, reads and hybrid search.

Contract: :class:`Index` is the only code that builds Qdrant requests. It stores each
:class:`~core.records.Chunk` as one point and answers searches with :class:`~core.records.Hit`
records carrying the reconstructed chunk. Callers never see Qdrant types.

Engines (chosen from ``settings.qdrant``; the calls and the behaviour are the same for all):

=========  ==========================================  =============================================
name       when                                        what
=========  ==========================================  =============================================
``server`` ``qdrant.url`` is set                        qdrant-client against a Qdrant server
``edge``   no url, ``engine`` ``auto`` (default)/edge  qdrant-edge-py, Qdrant's in-process engine
``local``  no url, ``engine`` ``local``                 qdrant-client local mode (``path=``)
=========  ==========================================  =============================================

``server`` and ``local`` run the very same qdrant-client calls (only the constructor differs), so
the local-mode conformance tests also exercise the server code path. ``local`` is pure Python and
brute force; ``edge`` is native. Measured with ``evaluation/bench_search.py`` (2 shared cores,
filtered hybrid query, RRF): edge at 50k chunks p50 12 ms wall / 6 ms CPU, p95 ~30 ms; local
at only 2k chunks p50 ~920 ms wall / 355 ms CPU. After a bulk load call :meth:`Index.optimize`
(edge builds HNSW then; ~5 min for 50k x 384 on this machine).

Schema of collection ``settings.qdrant.collection`` (default ``chunks``):

* named dense vector ``text`` (cosine, the embedder's dim); named dense vector ``image`` (cosine)
  only when an image dim is given at creation;
* sparse vector ``bm25`` with the IDF modifier (values from :mod:`retrieval.sparse`);
* payload = ``Chunk.model_dump(mode="json")`` plus ``ready: bool``;
* payload indexes on doc_id, company, ticker, form, fiscal_year, fiscal_period, modality, acl,
  ready, file_name and page_no.

Collection ``settings.qdrant.memory_collection`` (default ``memory``) belongs to
:class:`MemoryIndex` (schema in its docstring): one point per phrasing of a curated
:class:`~core.records.MemoryEntry`. Each facade hands its own :class:`_Schema` (dense vectors,
sparse vectors, payload indexes) to the engine's ``create``; the engines know no collection.

Visibility rules: every search and :meth:`Index.count` includes ``ready == true`` (a document is
written with ``ready=False`` and flipped by :meth:`Index.mark_ready` once all its chunks landed, so
a half-ingested filing is never searched) and ``acl`` matching any of the caller's groups; an empty
group list sees nothing, never everything.

Storage: under ``settings.index_dir``: ``edge/<collection>/`` (an EdgeShard: WAL + segments) or
``local/`` (qdrant-client's folder). The edge shard writes every update to its write-ahead log
before applying it; after a crash the next open replays the log (checked: a process killed with
``os._exit`` after three upserts reopens with all points), and :meth:`Index.close` flushes segments.
Both embedded engines lock their folder: one process at a time; use a server for several. The
memory collection lives in ``edge/<memory_collection>/`` or, in local mode,
``local-<memory_collection>/``
(local mode allows one client per folder even within a process), so both open side by side.

Example:
    >>> from core.settings import Settings
    >>> with Index(Settings(data_dir="/tmp/finrag")) as index:  # doctest: +SKIP
    ...     index.ensure_collection(text_dim=384)
    ...     index.upsert(chunks, text_vectors, sparse_vectors)       # ready=False
    ...     index.mark_ready(doc_id)
    ...     hits = index.search(dense=q, sparse=s, filters=SearchFilters(), acl_groups=["public"])
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Self

import numpy as np

from core.errors import IndexBackendError, RetrievalError
from core.records import Chunk, Hit, HitSource, MemoryEntry, SearchFilters, point_id
from core.settings import Settings
from retrieval.sparse import SparseVec

logger = logging.getLogger(__name__)

__all__ = [
    "ANY_KEY",
    "BM25",
    "IMAGE",
    "MEMORY_PAYLOAD_INDEXES",
    "PAYLOAD_INDEXES",
    "RRF_K",
    "TEXT",
    "Fusion",
    "Index",
    "MemoryIndex",
    "MemoryMatch",
]

TEXT, IMAGE, BM25 = "text", "image", "bm25"
Fusion = Literal["rrf", "dbsf"]
RRF_K = 60  # the usual RRF constant; set explicitly because engines' defaults differ
_BATCH = 256  # points per write request: keeps server requests well under its size limit

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
}

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


# -- engine-neutral request parts -----------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    """``key`` equals ``value`` (scalar) or any of ``value`` (list)."""

    key: str
    value: str | int | bool | list[str] | list[int]


@dataclass(frozen=True)
class _Probe:
    """One vector to search with: dense list or sparse, against a named vector."""

    using: str
    vector: list[float] | SparseVec


@dataclass(frozen=True)
class _Point:
    id: str
    vectors: dict[str, list[float] | SparseVec]
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Schema:
    """What a collection is made of; each facade owns one (chunks: :func:`_chunk_schema`)."""

    dense: dict[str, int]  # named dense vector -> size (cosine)
    sparse: tuple[str, ...]  # named sparse vectors, IDF modifier
    payload_indexes: dict[str, str]  # payload field -> keyword | integer | bool


@dataclass(frozen=True)
class _Found:
    """One query result: the payload, the (fused) score and, when asked for, one dense vector."""

    payload: dict[str, Any]
    score: float
    vector: list[float] | None = None


def _chunk_schema(text_dim: int, image_dim: int | None) -> _Schema:
    dense = {TEXT: text_dim}
    if image_dim:
        dense[IMAGE] = image_dim
    return _Schema(dense=dense, sparse=(BM25,), payload_indexes=PAYLOAD_INDEXES)


class _Engine(Protocol):
    name: str
    location: str

    def exists(self) -> bool: ...
    def vector_sizes(self) -> dict[str, int]: ...
    def create(self, schema: _Schema) -> None: ...
    def upsert(self, points: list[_Point]) -> None: ...
    def set_payload(self, where: list[_Match], payload: dict[str, Any]) -> None: ...
    def delete(self, where: list[_Match]) -> None: ...
    def count(self, where: list[_Match]) -> int: ...
    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]: ...
    def scroll(self, where: list[_Match]) -> list[dict[str, Any]]: ...
    def query(
        self,
        probes: list[_Probe],
        fusion: Fusion,
        where: list[_Match],
        limit: int,
        prefetch: int,
        with_vector: str | None = None,
    ) -> list[_Found]: ...
    def optimize(self) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def _locked_error(location: str, exc: Exception) -> IndexBackendError:
    return IndexBackendError(
        f"the embedded index at {location} is open in another process ({exc}); close that "
        "process (the embedded engines allow one process at a time) or run a Qdrant server and "
        "set FINRAG_QDRANT__URL"
    )


# -- qdrant-edge-py -------------------------------------------------------------------------


class _EdgeEngine:
    """Qdrant's in-process engine: one EdgeShard directory per collection."""

    name = "edge"

    def __init__(self, root: Path, collection: str) -> None:
        import qdrant_edge as qe

        self._qe = qe
        self.path = root / "edge" / collection
        self.location = str(self.path)
        self._shard: Any = None
        if self.exists():
            self._open(None)

    def _open(self, config: Any) -> None:
        try:
            self._shard = self._qe.EdgeShard.load(self.location, config)
        except Exception as exc:  # the binding raises bare Exception with Qdrant's message
            if "WAL" in str(exc) or "WouldBlock" in str(exc):
                raise _locked_error(self.location, exc) from exc
            raise IndexBackendError(
                f"cannot open the edge index at {self.location}: {exc}"
            ) from exc

    def exists(self) -> bool:
        return (self.path / "edge_config.json").is_file()

    def vector_sizes(self) -> dict[str, int]:
        # The shard has no API to read its vector config back; the file it keeps is plain JSON.
        vectors = json.loads((self.path / "edge_config.json").read_text())["vectors"]
        return {name: int(params["size"]) for name, params in vectors.items()}

    def create(self, schema: _Schema) -> None:
        qe = self._qe
        config = qe.EdgeConfig(
            vectors={
                name: qe.EdgeVectorParams(size=size, distance=qe.Distance.Cosine)
                for name, size in schema.dense.items()
            },
            sparse_vectors={
                name: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for name in schema.sparse
            },
        )
        self._shard = qe.EdgeShard.create(self.location, config)
        kinds = {
            "keyword": qe.PayloadSchemaType.Keyword,
            "integer": qe.PayloadSchemaType.Integer,
            "bool": qe.PayloadSchemaType.Bool,
        }
        for field, kind in schema.payload_indexes.items():
            self._shard.update(qe.UpdateOperation.create_field_index(field, kinds[kind]))
        self._shard.flush()

    def _vector(self, v: list[float] | SparseVec) -> Any:
        if isinstance(v, SparseVec):
            return self._qe.SparseVector(indices=v.indices, values=v.values)
        return v

    def _filter(self, where: list[_Match]) -> Any:
        qe = self._qe
        conditions = []
        for m in where:
            if isinstance(m.value, list):
                match = qe.MatchAny(m.value)
            elif isinstance(m.value, bool):
                # MatchValue(True) is read as the integer 1 by the binding (bool is an int in
                # Python) and then never matches a boolean payload; numpy's bool_ is not an int.
                match = qe.MatchValue(np.bool_(m.value))
            else:
                match = qe.MatchValue(m.value)
            conditions.append(qe.FieldCondition(key=m.key, match=match))
        return qe.Filter(must=conditions) if conditions else None

    def upsert(self, points: list[_Point]) -> None:
        qe = self._qe
        batch = [
            qe.Point(
                id=p.id,
                vector={k: self._vector(v) for k, v in p.vectors.items()},
                payload=p.payload,
            )
            for p in points
        ]
        self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def set_payload(self, where: list[_Match], payload: dict[str, Any]) -> None:
        self._shard.update(
            self._qe.UpdateOperation.set_payload_by_filter(self._filter(where), payload)
        )

    def delete(self, where: list[_Match]) -> None:
        self._shard.update(self._qe.UpdateOperation.delete_points_by_filter(self._filter(where)))

    def count(self, where: list[_Match]) -> int:
        return int(self._shard.count(self._qe.CountRequest(exact=True, filter=self._filter(where))))

    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]:
        records = self._shard.retrieve(ids, with_payload=True, with_vector=False)
        return [r.payload for r in records if r.payload]

    def scroll(self, where: list[_Match]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            request = self._qe.ScrollRequest(
                offset=offset, limit=_BATCH, filter=self._filter(where), with_payload=True
            )
            records, offset = self._shard.scroll(request)
            out.extend(r.payload for r in records if r.payload)
            if offset is None:
                return out

    def query(
        self,
        probes: list[_Probe],
        fusion: Fusion,
        where: list[_Match],
        limit: int,
        prefetch: int,
        with_vector: str | None = None,
    ) -> list[_Found]:
        qe = self._qe
        flt = self._filter(where)
        vectors = [with_vector] if with_vector else None

        def nearest(p: _Probe) -> Any:
            return qe.Query.Nearest(self._vector(p.vector), using=p.using)

        if len(probes) == 1:
            request = qe.QueryRequest(
                limit=limit,
                query=nearest(probes[0]),
                filter=flt,
                with_payload=True,
                with_vector=vectors,
            )
        else:
            request = qe.QueryRequest(
                limit=limit,
                # The filter goes on every prefetch too, so each candidate list is already
                # restricted rather than cut to `prefetch` and then emptied by the filter.
                prefetches=[
                    qe.Prefetch(limit=prefetch, query=nearest(p), filter=flt) for p in probes
                ],
                query=qe.Fusion.Rrf(k=RRF_K) if fusion == "rrf" else qe.Fusion.Dbsf(),
                filter=flt,
                with_payload=True,
                with_vector=vectors,
            )
        return [
            _Found(p.payload, float(p.score), _named(p.vector, with_vector))
            for p in self._shard.query(request)
            if p.payload
        ]

    def optimize(self) -> None:
        self._shard.optimize()

    def flush(self) -> None:
        self._shard.flush()

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None


# -- qdrant-client (server or local mode) ------------------------------------------------


class _ClientEngine:
    """qdrant-client: a server (``url``) or local mode (``path``); the same calls after __init__."""

    def __init__(self, settings: Settings, collection: str, folder: str = "local") -> None:
        from qdrant_client import QdrantClient, models

        self._m = models
        self.collection = collection
        q = settings.qdrant
        if q.url:
            self.name = "server"
            self.location = q.url
            self._client = QdrantClient(url=q.url, api_key=q.api_key, timeout=int(q.timeout_s))
        else:
            self.name = "local"
            path = settings.index_dir / folder
            path.mkdir(parents=True, exist_ok=True)
            self.location = str(path)
            try:
                self._client = QdrantClient(path=str(path))
            except (
                RuntimeError
            ) as exc:  # "Storage folder ... is already accessed by another instance"
                raise _locked_error(self.location, exc) from exc

    def exists(self) -> bool:
        try:
            return bool(self._client.collection_exists(self.collection))
        except Exception as exc:
            raise IndexBackendError(
                f"cannot reach Qdrant at {self.location}: {exc}; start the server (docker compose "
                "up qdrant) or unset FINRAG_QDRANT__URL to use the embedded index"
            ) from exc

    def vector_sizes(self) -> dict[str, int]:
        vectors = self._client.get_collection(self.collection).config.params.vectors
        if not isinstance(vectors, dict):  # a single unnamed vector: not one of ours
            return {}
        return {name: params.size for name, params in vectors.items()}

    def create(self, schema: _Schema) -> None:
        m = self._m
        self._client.create_collection(
            self.collection,
            vectors_config={
                name: m.VectorParams(size=size, distance=m.Distance.COSINE)
                for name, size in schema.dense.items()
            },
            sparse_vectors_config={
                name: m.SparseVectorParams(modifier=m.Modifier.IDF) for name in schema.sparse
            },
        )
        kinds = {
            "keyword": m.PayloadSchemaType.KEYWORD,
            "integer": m.PayloadSchemaType.INTEGER,
            "bool": m.PayloadSchemaType.BOOL,
        }
        with warnings.catch_warnings():
            # Local mode accepts the calls but warns that payload indexes have no effect there.
            warnings.simplefilter("ignore", UserWarning)
            for field, kind in schema.payload_indexes.items():
                self._client.create_payload_index(
                    self.collection, field, field_schema=kinds[kind], wait=True
                )

    def _vector(self, v: list[float] | SparseVec) -> Any:
        if isinstance(v, SparseVec):
            return self._m.SparseVector(indices=v.indices, values=v.values)
        return v

    def _filter(self, where: list[_Match]) -> Any:
        m = self._m
        conditions = [
            m.FieldCondition(
                key=w.key,
                match=m.MatchAny(any=w.value)
                if isinstance(w.value, list)
                else m.MatchValue(value=w.value),
            )
            for w in where
        ]
        return m.Filter(must=conditions) if conditions else None

    def upsert(self, points: list[_Point]) -> None:
        structs = [
            self._m.PointStruct(
                id=p.id,
                vector={k: self._vector(v) for k, v in p.vectors.items()},
                payload=p.payload,
            )
            for p in points
        ]
        self._client.upsert(self.collection, points=structs, wait=True)

    def set_payload(self, where: list[_Match], payload: dict[str, Any]) -> None:
        self._client.set_payload(
            self.collection, payload=payload, points=self._filter(where), wait=True
        )

    def delete(self, where: list[_Match]) -> None:
        selector = self._m.FilterSelector(filter=self._filter(where))
        self._client.delete(self.collection, points_selector=selector, wait=True)

    def count(self, where: list[_Match]) -> int:
        return self._client.count(
            self.collection, count_filter=self._filter(where), exact=True
        ).count

    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]:
        records = self._client.retrieve(
            self.collection, ids=ids, with_payload=True, with_vectors=False
        )
        return [r.payload for r in records if r.payload]

    def scroll(self, where: list[_Match]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection,
                scroll_filter=self._filter(where),
                limit=_BATCH,
                offset=offset,
                with_payload=True,
                with_vectors=False,
            )
            out.extend(r.payload for r in records if r.payload)
            if offset is None:
                return out

    def query(
        self,
        probes: list[_Probe],
        fusion: Fusion,
        where: list[_Match],
        limit: int,
        prefetch: int,
        with_vector: str | None = None,
    ) -> list[_Found]:
        m = self._m
        flt = self._filter(where)
        vectors: list[str] | bool = [with_vector] if with_vector else False
        if len(probes) == 1:
            response = self._client.query_points(
                self.collection,
                query=self._vector(probes[0].vector),
                using=probes[0].using,
                query_filter=flt,
                limit=limit,
                with_payload=True,
                with_vectors=vectors,
            )
        else:
            response = self._client.query_points(
                self.collection,
                prefetch=[
                    m.Prefetch(
                        query=self._vector(p.vector), using=p.using, limit=prefetch, filter=flt
                    )
                    for p in probes
                ],
                query=(
                    m.RrfQuery(rrf=m.Rrf(k=RRF_K))
                    if fusion == "rrf"
                    else m.FusionQuery(fusion=m.Fusion.DBSF)
                ),
                query_filter=flt,
                limit=limit,
                with_payload=True,
                with_vectors=vectors,
            )
        return [
            _Found(p.payload, float(p.score), _named(p.vector, with_vector))
            for p in response.points
            if p.payload
        ]

    def optimize(self) -> None:
        """A server optimises in the background; local mode has no index to build."""

    def flush(self) -> None:
        """qdrant-client writes are durable when the call returns (``wait=True``)."""

    def close(self) -> None:
        self._client.close()


# -- the facade -----------------------------------------------------------------------------


class Index:
    """The chunk collection, over whichever engine the settings choose.

    Args:
        settings: ``settings.qdrant`` picks the engine and collection; ``settings.index_dir`` holds
            embedded storage.
        collection: overrides ``settings.qdrant.collection`` (e.g. for a test or a second corpus).

    Construction opens the engine (and an existing collection); it loads no model. Use one
    ``Index`` per process and close it (or use ``with``): embedded engines lock their folder.
    """

    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.qdrant.collection
        q = settings.qdrant
        if q.url or q.engine == "local":
            self._engine: _Engine = _ClientEngine(settings, self.collection)
        elif q.engine in ("auto", "edge"):
            self._engine = _EdgeEngine(settings.index_dir, self.collection)
        else:  # pydantic already restricts the literal; kept for settings built with construct()
            raise IndexBackendError(f"unknown qdrant engine {q.engine!r}; known: auto, edge, local")
        self._dims: tuple[int, int | None] | None = None
        logger.debug(
            "index %s on %s at %s", self.collection, self._engine.name, self._engine.location
        )

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def engine(self) -> str:
        """``edge``, ``local`` or ``server``."""
        return self._engine.name

    @property
    def location(self) -> str:
        """The folder (embedded) or URL (server) holding the collection."""
        return self._engine.location

    def exists(self) -> bool:
        """Whether the collection has been created."""
        return self._dims is not None or self._engine.exists()

    @property
    def text_dim(self) -> int:
        return self._require()[0]

    @property
    def image_dim(self) -> int | None:
        return self._require()[1]

    def ensure_collection(self, text_dim: int, image_dim: int | None = None) -> None:
        """Create the collection with its vectors and payload indexes, or check the existing one.

        Idempotent. An existing collection keeps any ``image`` vector it has even when
        ``image_dim`` is None (text-only writes are fine there).

        Raises:
            IndexBackendError: the existing collection has another text dim, or lacks the
                ``image`` vector / has another image dim than ``image_dim``.
        """
        if self._engine.exists():
            have_text, have_image = self._chunk_dims()
            if have_text != text_dim or (image_dim is not None and have_image != image_dim):
                raise IndexBackendError(
                    f"collection {self.collection!r} at {self.location} holds text dim {have_text}"
                    f" and image dim {have_image}, but the embedder gives text dim {text_dim} and "
                    f"image dim {image_dim}: switch back to the embedder it was built with, or "
                    "re-index into a new collection (FINRAG_QDRANT__COLLECTION) or a new data_dir"
                )
            self._dims = (have_text, have_image)
            return
        logger.info(
            "creating collection %s (text %d, image %s) at %s",
            self.collection,
            text_dim,
            image_dim,
            self.location,
        )
        self._engine.create(_chunk_schema(text_dim, image_dim))
        self._dims = (text_dim, image_dim)

    def _require(self) -> tuple[int, int | None]:
        if self._dims is None:
            if not self._engine.exists():
                raise IndexBackendError(
                    f"no collection {self.collection!r} at {self.location}: ingest documents first "
                    "(or call ensure_collection)"
                )
            self._dims = self._chunk_dims()
        return self._dims

    def _chunk_dims(self) -> tuple[int, int | None]:
        sizes = self._engine.vector_sizes()
        if TEXT not in sizes:
            raise IndexBackendError(
                f"collection {self.collection!r} at {self.location} was not created by finrag (no "
                f"named vector {TEXT!r}); choose another FINRAG_QDRANT__COLLECTION"
            )
        return sizes[TEXT], sizes.get(IMAGE)

    def optimize(self) -> None:
        """Build the vector indexes after a bulk load (edge: blocking HNSW build; others: no-op)."""
        self._require()
        self._engine.optimize()

    def flush(self) -> None:
        """Persist segments now (edge). Writes are already crash-safe through the WAL."""
        self._engine.flush()

    def close(self) -> None:
        """Flush and release the engine (and the folder lock of an embedded engine)."""
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        text_dim, image_dim = self._require()
        text = None if text_vectors is None else _matrix(text_vectors, n, text_dim, "text_vectors")
        if len(sparse_vectors) != n:
            raise IndexBackendError(f"got {n} chunks but {len(sparse_vectors)} sparse vectors")
        image = None
        if image_vectors is not None:
            if image_dim is None:
                raise IndexBackendError(
                    f"collection {self.collection!r} has no image vector; create it with "
                    "ensure_collection(..., image_dim=...) in a new collection to store images"
                )
            image = _matrix(image_vectors, n, image_dim, "image_vectors")
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
            points.append(_Point(id=chunk.point_id, vectors=vectors, payload=payload))
        try:
            for start in range(0, n, _BATCH):
                self._engine.upsert(points[start : start + _BATCH])
        except IndexBackendError:
            raise
        except Exception as exc:
            raise IndexBackendError(f"upsert into {self.collection!r} failed: {exc}") from exc
        return n

    def mark_ready(self, doc_id: str) -> None:
        """Make every chunk of ``doc_id`` searchable: the document's commit point."""
        self._require()
        self._engine.set_payload([_Match("doc_id", doc_id)], {"ready": True})

    def delete_doc(self, doc_id: str) -> None:
        """Remove every chunk of ``doc_id`` (ready or not)."""
        self._require()
        self._engine.delete([_Match("doc_id", doc_id)])

    # -- reads -------------------------------------------------------------------------------

    def doc_point_count(self, doc_id: str) -> int:
        """Points stored for ``doc_id``, ready or not, whatever their ACL (for ingestion)."""
        if not self.exists():
            return 0
        return self._engine.count([_Match("doc_id", doc_id)])

    def count(
        self, filters: SearchFilters | None = None, acl_groups: list[str] | None = None
    ) -> int:
        """Ready chunks matching ``filters``; ``acl_groups`` None = any ACL, [] = nothing."""
        if not self.exists():
            return 0
        if acl_groups is not None and not acl_groups:
            return 0
        return self._engine.count(_where(filters, acl_groups))

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
        where = [_Match("doc_id", doc_id), _Match("page_no", page_no), _Match("ready", True)]
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
        chunks = list(map(_chunk, self._engine.scroll(_where(filters, acl_groups))))
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
        text_dim, image_dim = self._require()
        probes: list[_Probe] = []
        if dense is not None:
            probes.append(_Probe(TEXT, _query_vector(dense, text_dim, "dense")))
        if sparse is not None and len(sparse):
            probes.append(_Probe(BM25, sparse))
        if image is not None:
            if image_dim is None:
                raise RetrievalError(
                    f"collection {self.collection!r} has no image vectors; search without `image` "
                    "or index with a multimodal embedder (settings.embedder.image_pages)"
                )
            probes.append(_Probe(IMAGE, _query_vector(image, image_dim, "image")))
        if not probes:
            return []
        where = _where(filters, acl_groups)
        try:
            results = self._engine.query(probes, fusion, where, limit, max(prefetch_limit, limit))
        except Exception as exc:
            raise RetrievalError(
                f"search in {self.collection!r} at {self.location} failed: {exc}"
            ) from exc
        source: HitSource = "fused" if len(probes) > 1 else _SOURCE[probes[0].using]
        return [
            Hit(chunk=_chunk(found.payload), score=found.score, source=source, rank=rank)
            for rank, found in enumerate(results, start=1)
        ]


# -- the memory collection ------------------------------------------------------------------

# payload field -> index type, for the memory collection
MEMORY_PAYLOAD_INDEXES: dict[str, str] = {
    "entry_id": "keyword",
    "company_key": "keyword",
    "period_key": "keyword",
    "approved": "bool",
    "retired": "bool",
    "acl": "keyword",
}
ANY_KEY = "*"  # company_key / period_key of an entry that holds for every company / period
_MEMORY_EXTRA = ("phrasing", "ask", "phrasing_no", "company_key", "period_key")


@dataclass(frozen=True)
class MemoryMatch:
    """One phrasing point found by :meth:`MemoryIndex.search`."""

    entry: MemoryEntry
    phrasing: str  # the stored question or paraphrase, as written
    ask: str  # the text that was embedded (company and period mentions removed)
    fused_score: float  # Qdrant's RRF score (rank-based, not a similarity)
    vector: np.ndarray  # the stored unit dense vector, for the caller's calibrated similarity


def _memory_schema(text_dim: int) -> _Schema:
    return _Schema(dense={TEXT: text_dim}, sparse=(BM25,), payload_indexes=MEMORY_PAYLOAD_INDEXES)


class MemoryIndex:
    """The memory-bank collection (``settings.qdrant.memory_collection``, default ``memory``).

    Schema: one point per phrasing of a :class:`~core.records.MemoryEntry` (its question and each
    paraphrase; point id from ``entry_id`` + phrasing number), with the dense vector ``text``
    (cosine), the sparse vector ``bm25`` (IDF modifier), and payload
    ``MemoryEntry.model_dump(mode="json")`` plus ``phrasing``, ``ask`` (the embedded text),
    ``phrasing_no``, ``company_key`` and ``period_key`` (:data:`ANY_KEY` for an entry that holds
    for any company / period); payload indexes on :data:`MEMORY_PAYLOAD_INDEXES`.

    Storage next to the chunk index, so both are open together in one process: ``edge`` keeps one
    shard folder per collection (``<index_dir>/edge/memory``); qdrant-client local mode locks its
    whole folder against a second client even in the same process, so the memory collection gets
    its own folder ``<index_dir>/local-<collection>``; a server holds both collections.

    Args:
        settings: engine choice as for :class:`Index`.
        collection: overrides ``settings.qdrant.memory_collection``.
    """

    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.qdrant.memory_collection
        q = settings.qdrant
        if q.url or q.engine == "local":
            self._engine: _Engine = _ClientEngine(
                settings, self.collection, folder=f"local-{self.collection}"
            )
        elif q.engine in ("auto", "edge"):
            self._engine = _EdgeEngine(settings.index_dir, self.collection)
        else:
            raise IndexBackendError(f"unknown qdrant engine {q.engine!r}; known: auto, edge, local")
        self._dim: int | None = None

    @property
    def engine(self) -> str:
        """``edge``, ``local`` or ``server``."""
        return self._engine.name

    @property
    def location(self) -> str:
        return self._engine.location

    def exists(self) -> bool:
        return self._dim is not None or self._engine.exists()

    @property
    def text_dim(self) -> int:
        if self._dim is None:
            if not self._engine.exists():
                raise IndexBackendError(
                    f"no memory collection {self.collection!r} at {self.location}: add an entry "
                    "first (finrag memory add)"
                )
            self._dim = self._memory_dim()
        return self._dim

    def _memory_dim(self) -> int:
        sizes = self._engine.vector_sizes()
        if TEXT not in sizes:
            raise IndexBackendError(
                f"collection {self.collection!r} at {self.location} was not created by finrag; "
                "choose another FINRAG_QDRANT__MEMORY_COLLECTION"
            )
        return sizes[TEXT]

    def ensure_collection(self, text_dim: int) -> None:
        """Create the collection, or check that the existing one has ``text_dim``."""
        if self._engine.exists():
            have = self._memory_dim()
            if have != text_dim:
                raise IndexBackendError(
                    f"memory collection {self.collection!r} at {self.location} holds text dim "
                    f"{have}, but the embedder gives {text_dim}: switch back to the embedder it "
                    "was built with, or export the bank (finrag memory export), point "
                    "FINRAG_QDRANT__MEMORY_COLLECTION at a new collection and import it there"
                )
            self._dim = have
            return
        logger.info(
            "creating memory collection %s (text %d) at %s",
            self.collection,
            text_dim,
            self.location,
        )
        self._engine.create(_memory_schema(text_dim))
        self._dim = text_dim

    def flush(self) -> None:
        self._engine.flush()

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------------

    def put(
        self,
        entry: MemoryEntry,
        phrasings: list[str],
        asks: list[str],
        dense: np.ndarray,
        sparse: list[SparseVec],
        company_key: str,
        period_key: str,
    ) -> int:
        """Replace every point of ``entry.entry_id`` with one point per phrasing.

        Args:
            entry: the entry; its JSON becomes each point's payload.
            phrasings: question and paraphrases as written (shown as ``matched_phrasing``).
            asks: what was embedded for each phrasing.
            dense: (n, text_dim) unit vectors, row i for phrasing i.
            sparse: one BM25 document vector per phrasing.
            company_key, period_key: normalised keys, or :data:`ANY_KEY`.

        Returns:
            Points written.
        """
        n = len(phrasings)
        if not (len(asks) == len(sparse) == n):
            raise IndexBackendError(
                f"got {n} phrasings, {len(asks)} asks, {len(sparse)} sparse vectors"
            )
        matrix = _matrix(dense, n, self.text_dim, "dense")
        base = entry.model_dump(mode="json")
        points = []
        for i in range(n):
            vectors: dict[str, list[float] | SparseVec] = {}
            if np.any(matrix[i]):
                vectors[TEXT] = matrix[i].tolist()
            if len(sparse[i]):
                vectors[BM25] = sparse[i]
            payload = base | {
                "phrasing": phrasings[i],
                "ask": asks[i],
                "phrasing_no": i,
                "company_key": company_key,
                "period_key": period_key,
            }
            points.append(
                _Point(
                    id=point_id(f"memory:{entry.entry_id}:{i}"), vectors=vectors, payload=payload
                )
            )
        try:
            self._engine.delete([_Match("entry_id", entry.entry_id)])
            self._engine.upsert(points)
        except IndexBackendError:
            raise
        except Exception as exc:
            raise IndexBackendError(f"writing memory entry {entry.entry_id} failed: {exc}") from exc
        return n

    def delete(self, entry_id: str) -> None:
        """Remove every point of one entry (a no-op for an unknown id)."""
        if self.exists():
            self._engine.delete([_Match("entry_id", entry_id)])

    # -- reads -------------------------------------------------------------------------------

    def entries(
        self,
        *,
        entry_ids: list[str] | None = None,
        approved: bool | None = None,
        retired: bool | None = None,
        company_key: str | None = None,
        acl_groups: list[str] | None = None,
    ) -> list[MemoryEntry]:
        """Stored entries (one per entry, not per phrasing), sorted by question.

        Each argument left None does not restrict; ``acl_groups`` [] sees nothing.
        """
        if not self.exists() or (acl_groups is not None and not acl_groups):
            return []
        if entry_ids is not None and not entry_ids:
            return []
        where = []
        if entry_ids is not None:
            where.append(_Match("entry_id", list(entry_ids)))
        if approved is not None:
            where.append(_Match("approved", approved))
        if retired is not None:
            where.append(_Match("retired", retired))
        if company_key is not None:
            where.append(_Match("company_key", company_key))
        if acl_groups is not None:
            where.append(_Match("acl", list(acl_groups)))
        seen: dict[str, MemoryEntry] = {}
        for payload in self._engine.scroll(where):
            if payload.get("phrasing_no") == 0:
                entry = _memory_entry(payload)
                seen[entry.entry_id] = entry
        return sorted(seen.values(), key=lambda e: (e.question.lower(), e.entry_id))

    def search(
        self,
        *,
        dense: np.ndarray,
        sparse: SparseVec | None,
        acl_groups: list[str],
        company_keys: list[str],
        period_keys: list[str],
        approved_only: bool = True,
        include_retired: bool = False,
        limit: int = 20,
        prefetch_limit: int = 50,
    ) -> list[MemoryMatch]:
        """Phrasing points by hybrid (dense + BM25, RRF in Qdrant) search, within the filters.

        Args:
            dense: the query's unit vector for ``text``.
            sparse: its BM25 query vector (None or empty: dense only).
            acl_groups: the caller's groups; [] finds nothing.
            company_keys: allowed ``company_key`` values (pass :data:`ANY_KEY` among them to
                include company-free entries); [] = no restriction.
            period_keys: likewise for ``period_key``.
            approved_only, include_retired: curator switches.
            limit, prefetch_limit: points returned / candidates per vector before fusion.

        Returns:
            Matches best fused first, each with its stored dense vector.
        """
        if not acl_groups or limit <= 0 or not self.exists():
            return []
        where = [_Match("acl", list(acl_groups))]
        if approved_only:
            where.append(_Match("approved", True))
        if not include_retired:
            where.append(_Match("retired", False))
        if company_keys:
            where.append(_Match("company_key", list(company_keys)))
        if period_keys:
            where.append(_Match("period_key", list(period_keys)))
        probes = [_Probe(TEXT, _query_vector(dense, self.text_dim, "dense"))]
        if sparse is not None and len(sparse):
            probes.append(_Probe(BM25, sparse))
        try:
            found = self._engine.query(
                probes, "rrf", where, limit, max(prefetch_limit, limit), with_vector=TEXT
            )
        except Exception as exc:
            raise RetrievalError(f"memory search in {self.collection!r} failed: {exc}") from exc
        out = []
        for f in found:
            if f.vector is None:  # a phrasing with no dense vector cannot be scored
                continue
            out.append(
                MemoryMatch(
                    entry=_memory_entry(f.payload),
                    phrasing=str(f.payload.get("phrasing", "")),
                    ask=str(f.payload.get("ask", "")),
                    fused_score=f.score,
                    vector=np.asarray(f.vector, dtype=np.float32),
                )
            )
        return out


# -- helpers private to the facade -----------------------------------------------------------


def _where(filters: SearchFilters | None, acl_groups: list[str] | None) -> list[_Match]:
    where = [_Match("ready", True)]
    if acl_groups is not None:
        where.append(_Match("acl", list(acl_groups)))
    if filters is not None:
        for name, key in _FILTER_FIELDS.items():
            values = getattr(filters, name)
            if values:
                where.append(_Match(key, list(values)))
    return where


def _named(vector: Any, name: str | None) -> list[float] | None:
    """The dense vector ``name`` out of a returned point's vectors (None when not asked for)."""
    if not name or not isinstance(vector, dict):
        return None
    v = vector.get(name)
    return [float(x) for x in v] if v is not None else None


def _memory_entry(payload: dict[str, Any]) -> MemoryEntry:
    return MemoryEntry.model_validate({k: v for k, v in payload.items() if k not in _MEMORY_EXTRA})


def _chunk(payload: dict[str, Any]) -> Chunk:
    return Chunk.model_validate({k: v for k, v in payload.items() if k != "ready"})


def _readable(chunk: Chunk, acl_groups: Sequence[str] | None) -> bool:
    return acl_groups is None or bool(set(chunk.acl) & set(acl_groups))


def _matrix(a: np.ndarray, n: int, dim: int, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if a.shape != (n, dim):
        raise IndexBackendError(f"{name} has shape {a.shape}, expected ({n}, {dim})")
    if not np.isfinite(a).all():
        raise IndexBackendError(f"{name} contains NaN or inf; check the embedder output")
    return a


def _query_vector(v: np.ndarray, dim: int, name: str) -> list[float]:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    if v.shape[0] != dim:
        raise RetrievalError(
            f"{name} query vector has {v.shape[0]} dims but the index holds {dim}: query with the "
            "embedder the index was built with (settings.embedder)"
        )
    return v.tolist()
