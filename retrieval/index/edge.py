"""The ``edge`` index engine: qdrant-edge-py, Qdrant's in-process engine.

Contract: :class:`EdgeEngine` implements :class:`~retrieval.index.requests.Engine` for one
collection stored as one EdgeShard folder ``<index_dir>/edge/<collection>/`` (WAL + segments). The
shard writes every update to its write-ahead log before applying it, so a process that dies
without :meth:`EdgeEngine.close` reopens with its writes; :meth:`EdgeEngine.close` flushes
segments. The folder is locked while open: a second opener gets
:func:`~retrieval.index.requests.locked_error`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from core.errors import IndexBackendError
from core.settings import Settings
from retrieval.index.requests import (
    BATCH,
    RRF_K,
    Found,
    Fusion,
    Match,
    Point,
    Probe,
    Schema,
    locked_error,
    named_vector,
)
from retrieval.sparse import SparseVec

__all__ = ["EdgeEngine"]


class EdgeEngine:
    """Qdrant's in-process engine: one EdgeShard directory per collection."""

    name = "edge"

    def __init__(self, settings: Settings, collection: str, *, own_folder: bool = False) -> None:
        # Every collection has a shard folder of its own, so own_folder asks for nothing more.
        import qdrant_edge as qe

        self._qe = qe
        self.path = settings.index_dir / "edge" / collection
        self.location = str(self.path)
        self._shard: Any = None
        if self.exists():
            self._open(None)

    def _open(self, config: Any) -> None:
        try:
            self._shard = self._qe.EdgeShard.load(self.location, config)
        except Exception as exc:  # the binding raises bare Exception with Qdrant's message
            if "WAL" in str(exc) or "WouldBlock" in str(exc):
                raise locked_error(self.location, exc) from exc
            raise IndexBackendError(
                f"cannot open the edge index at {self.location}: {exc}"
            ) from exc

    def exists(self) -> bool:
        return (self.path / "edge_config.json").is_file()

    def vector_sizes(self) -> dict[str, int]:
        # The shard has no API to read its vector config back; the file it keeps is plain JSON.
        vectors = json.loads((self.path / "edge_config.json").read_text())["vectors"]
        return {name: int(params["size"]) for name, params in vectors.items()}

    def create(self, schema: Schema) -> None:
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

    def _filter(self, where: list[Match]) -> Any:
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

    def upsert(self, points: list[Point]) -> None:
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

    def set_payload(self, where: list[Match], payload: dict[str, Any]) -> None:
        self._shard.update(
            self._qe.UpdateOperation.set_payload_by_filter(self._filter(where), payload)
        )

    def delete(self, where: list[Match]) -> None:
        self._shard.update(self._qe.UpdateOperation.delete_points_by_filter(self._filter(where)))

    def count(self, where: list[Match]) -> int:
        return int(self._shard.count(self._qe.CountRequest(exact=True, filter=self._filter(where))))

    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]:
        records = self._shard.retrieve(ids, with_payload=True, with_vector=False)
        return [r.payload for r in records if r.payload]

    def scroll(self, where: list[Match]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            request = self._qe.ScrollRequest(
                offset=offset, limit=BATCH, filter=self._filter(where), with_payload=True
            )
            records, offset = self._shard.scroll(request)
            out.extend(r.payload for r in records if r.payload)
            if offset is None:
                return out

    def query(
        self,
        probes: list[Probe],
        fusion: Fusion,
        where: list[Match],
        limit: int,
        prefetch: int,
        with_vector: str | None = None,
    ) -> list[Found]:
        qe = self._qe
        flt = self._filter(where)
        vectors = [with_vector] if with_vector else None

        def nearest(p: Probe) -> Any:
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
            Found(p.payload, float(p.score), named_vector(p.vector, with_vector))
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
