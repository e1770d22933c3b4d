"""What the facades ask of an engine: engine-neutral request parts and the :class:`Engine` protocol.

Contract: the facades (:mod:`retrieval.index.chunks`, :mod:`retrieval.index.memory`) describe
collections (:class:`Schema`), points (:class:`Point`), filters (a list of :class:`Match`, all of
which must hold) and searches (:class:`Probe` per vector, fused by :data:`Fusion`) with these
plain types; an engine translates them into its own Qdrant calls and hands back payloads and
:class:`Found` results. Nothing here imports Qdrant. Engines are registered by name in
:data:`core.backends.INDEX_ENGINES` and built as ``Engine(settings, collection, own_folder=...)``
(see :class:`Engine`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from core.errors import IndexBackendError
from retrieval.sparse import SparseVec

__all__ = [
    "BATCH",
    "BM25",
    "IMAGE",
    "RRF_K",
    "TEXT",
    "Engine",
    "Found",
    "Fusion",
    "Match",
    "Point",
    "Probe",
    "Schema",
    "dense_search_params",
    "locked_error",
    "named_vector",
]

TEXT, IMAGE, BM25 = "text", "image", "bm25"
Fusion = Literal["rrf", "dbsf"]
RRF_K = 60  # the usual RRF constant; set explicitly because engines' defaults differ
BATCH = 256  # points per write request: keeps server requests well under its size limit


@dataclass(frozen=True)
class Match:
    """``key`` equals ``value`` (scalar) or any of ``value`` (list)."""

    key: str
    value: str | int | bool | list[str] | list[int]


@dataclass(frozen=True)
class Probe:
    """One vector to search with: dense list or sparse, against a named vector."""

    using: str
    vector: list[float] | SparseVec


@dataclass(frozen=True)
class Point:
    id: str
    vectors: dict[str, list[float] | SparseVec]
    payload: dict[str, Any]


@dataclass(frozen=True)
class Schema:
    """What a collection is made of; each facade owns one (chunks: ``chunks._chunk_schema``)."""

    dense: dict[str, int]  # named dense vector -> size (cosine)
    sparse: tuple[str, ...]  # named sparse vectors, IDF modifier
    # payload field -> keyword | integer | bool | tenant (a keyword whose values also group the
    # points in storage when segments are built: Qdrant's is_tenant)
    payload_indexes: dict[str, str]


@dataclass(frozen=True)
class Found:
    """One query result: the payload, the (fused) score and, when asked for, one dense vector."""

    payload: dict[str, Any]
    score: float
    vector: list[float] | None = None


class Engine(Protocol):
    """One collection on one Qdrant engine; it knows no schema until :meth:`create` gets one.

    Built by :data:`core.backends.INDEX_ENGINES` as ``factory(settings, collection,
    own_folder=...)``: ``own_folder`` asks for storage no other collection of this process
    shares, so two collections can be open side by side (the memory collection beside the chunk
    collection). An engine whose embedded folder is held by another opener raises
    :func:`locked_error`.
    """

    name: str  # the registered name: edge, local or server
    location: str  # folder (embedded) or URL (server), for messages

    def exists(self) -> bool: ...
    def vector_sizes(self) -> dict[str, int]: ...
    def payload_indexes(self) -> set[str]: ...  # indexed payload fields (local mode: none)
    def create(self, schema: Schema) -> None: ...
    def upsert(self, points: list[Point]) -> None: ...
    def set_payload(self, where: list[Match], payload: dict[str, Any]) -> None: ...
    def delete(self, where: list[Match]) -> None: ...
    def count(self, where: list[Match]) -> int: ...
    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]: ...
    def scroll(self, where: list[Match]) -> list[dict[str, Any]]: ...
    def query(
        self,
        probes: list[Probe],
        fusion: Fusion,
        where: list[Match],
        limit: int,
        prefetch: int,
        with_vector: str | None = None,
        exact: bool = False,
    ) -> list[Found]: ...
    def optimize(self) -> None: ...
    def unindexed(self) -> int: ...
    @property
    def optimizing(self) -> bool: ...
    def start_optimize(self) -> bool: ...
    def wait_optimized(self) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def locked_error(location: str, exc: Exception) -> IndexBackendError:
    """The error for an embedded folder that another opener holds (both engines lock theirs)."""
    return IndexBackendError(
        f"the embedded index at {location} is open in another process ({exc}); close that "
        "process (the embedded engines allow one process at a time) or run a Qdrant server and "
        "set FINRAG_QDRANT__URL"
    )


def named_vector(vector: Any, name: str | None) -> list[float] | None:
    """The dense vector ``name`` out of a returned point's vectors (None when not asked for)."""
    if not name or not isinstance(vector, dict):
        return None
    v = vector.get(name)
    return [float(x) for x in v] if v is not None else None


def dense_search_params(models: Any, qdrant: Any, exact: bool = False) -> Any:
    """``SearchParams`` for every dense probe: beam width and int8 rescoring.

    ``models`` is the engine's module of request types (``qdrant_client.models`` or
    ``qdrant_edge``: both spell these two the same); ``qdrant`` the ``settings.qdrant`` options.
    ``exact`` scores every candidate with the original vectors (no graph, no int8).
    """
    quantization = (
        models.QuantizationSearchParams(rescore=qdrant.rescore, oversampling=qdrant.oversampling)
        if qdrant.quantization == "int8" and not exact
        else None
    )
    return models.SearchParams(hnsw_ef=qdrant.hnsw_ef, quantization=quantization, exact=exact)
