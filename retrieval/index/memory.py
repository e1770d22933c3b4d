"""The memory-bank collection: curated answers, one point per phrasing (:class:`MemoryIndex`).

Contract: :class:`MemoryIndex` owns the schema of ``settings.qdrant.memory_collection`` (in its
docstring), writes an entry's phrasings as points, lists entries and answers hybrid searches with
:class:`MemoryMatch` records carrying the stored dense vector (the caller computes its calibrated
similarity). Lifecycle and engine choice come from :class:`~retrieval.index.collection.Collection`;
the collection asks for storage of its own so it opens beside the chunk collection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import IndexBackendError, RetrievalError
from core.records import MemoryEntry, point_id
from core.settings import Settings
from retrieval.index.collection import Collection, query_vector, vectors_matrix
from retrieval.index.requests import BM25, TEXT, Match, Point, Probe, Schema
from retrieval.sparse import SparseVec

logger = logging.getLogger(__name__)

__all__ = ["ANY_KEY", "MEMORY_PAYLOAD_INDEXES", "MemoryIndex", "MemoryMatch"]

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


def _memory_schema(text_dim: int) -> Schema:
    return Schema(dense={TEXT: text_dim}, sparse=(BM25,), payload_indexes=MEMORY_PAYLOAD_INDEXES)


class MemoryIndex(Collection):
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
        settings: engine choice as for :class:`~retrieval.index.chunks.Index`.
        collection: overrides ``settings.qdrant.memory_collection``.
    """

    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        super().__init__(settings, collection or settings.qdrant.memory_collection, own_folder=True)

    @property
    def text_dim(self) -> int:
        return self._require()[TEXT]

    def _missing(self) -> str:
        return (
            f"no memory collection {self.collection!r} at {self.location}: add an entry "
            "first (finrag memory add)"
        )

    def _not_ours(self) -> str:
        return (
            f"collection {self.collection!r} at {self.location} was not created by finrag; "
            "choose another FINRAG_QDRANT__MEMORY_COLLECTION"
        )

    def ensure_collection(self, text_dim: int) -> None:
        """Create the collection, or check that the existing one has ``text_dim``."""
        if self._engine.exists():
            dims = self._stored_dims()
            have = dims[TEXT]
            if have != text_dim:
                raise IndexBackendError(
                    f"memory collection {self.collection!r} at {self.location} holds text dim "
                    f"{have}, but the embedder gives {text_dim}: switch back to the embedder it "
                    "was built with, or export the bank (finrag memory export), point "
                    "FINRAG_QDRANT__MEMORY_COLLECTION at a new collection and import it there"
                )
            self._dims = dims
            return
        logger.info(
            "creating memory collection %s (text %d) at %s",
            self.collection,
            text_dim,
            self.location,
        )
        schema = _memory_schema(text_dim)
        self._engine.create(schema)
        self._dims = dict(schema.dense)

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
        matrix = vectors_matrix(dense, n, self.text_dim, "dense")
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
                Point(id=point_id(f"memory:{entry.entry_id}:{i}"), vectors=vectors, payload=payload)
            )
        try:
            self._engine.delete([Match("entry_id", entry.entry_id)])
            self._engine.upsert(points)
        except IndexBackendError:
            raise
        except Exception as exc:
            raise IndexBackendError(f"writing memory entry {entry.entry_id} failed: {exc}") from exc
        return n

    def delete(self, entry_id: str) -> None:
        """Remove every point of one entry (a no-op for an unknown id)."""
        if self.exists():
            self._engine.delete([Match("entry_id", entry_id)])

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
            where.append(Match("entry_id", list(entry_ids)))
        if approved is not None:
            where.append(Match("approved", approved))
        if retired is not None:
            where.append(Match("retired", retired))
        if company_key is not None:
            where.append(Match("company_key", company_key))
        if acl_groups is not None:
            where.append(Match("acl", list(acl_groups)))
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
        where = [Match("acl", list(acl_groups))]
        if approved_only:
            where.append(Match("approved", True))
        if not include_retired:
            where.append(Match("retired", False))
        if company_keys:
            where.append(Match("company_key", list(company_keys)))
        if period_keys:
            where.append(Match("period_key", list(period_keys)))
        probes = [Probe(TEXT, query_vector(dense, self.text_dim, "dense"))]
        if sparse is not None and len(sparse):
            probes.append(Probe(BM25, sparse))
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


def _memory_entry(payload: dict[str, Any]) -> MemoryEntry:
    return MemoryEntry.model_validate({k: v for k, v in payload.items() if k not in _MEMORY_EXTRA})
