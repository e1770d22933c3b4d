"""The ``edge`` index engine: qdrant-edge-py, Qdrant's in-process engine.

Contract: :class:`EdgeEngine` implements :class:`~retrieval.index.requests.Engine` for one
collection stored as one EdgeShard folder ``<index_dir>/edge/<collection>/`` (WAL + segments). The
shard writes every update to its write-ahead log before applying it, so a process that dies
without :meth:`EdgeEngine.close` reopens with its writes; :meth:`EdgeEngine.close` flushes
segments. The folder is locked while open: a second opener gets
:func:`~retrieval.index.requests.locked_error`.

Collection options come from ``settings.qdrant`` (:meth:`EdgeEngine.config`): HNSW parameters,
scalar int8 quantization (searched with rescoring and oversampling), on-disk vectors and payload.

Background index build (:meth:`EdgeEngine.start_optimize`): the binding holds the GIL for the
whole of ``EdgeShard.optimize`` (measured: a Python thread got 1 tick in a 29 s build), so a
build in a thread would stall every query of the process. Instead the shard is flushed and
copied to ``<collection>.build/`` (writes wait for the copy; reads do not), a child process
(:mod:`retrieval.index.edge_build`) builds the indexes in the copy, and meanwhile the live shard
keeps answering (exactly, unindexed) and taking writes, each also kept in a journal. When the
child is done the copy replaces the live folder and the journal is replayed on it, in order: the
result holds every write once. One build at a time; a failed build leaves the live shard as it
was. A process that dies mid-build leaves ``<collection>.build/`` behind; the next open removes it.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path
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
    dense_search_params,
    locked_error,
    named_vector,
)
from retrieval.sparse import SparseVec

logger = logging.getLogger(__name__)

__all__ = ["EdgeEngine"]


class EdgeEngine:
    """Qdrant's in-process engine: one EdgeShard directory per collection."""

    name = "edge"

    def __init__(self, settings: Settings, collection: str, *, own_folder: bool = False) -> None:
        # Every collection has a shard folder of its own, so own_folder asks for nothing more.
        import qdrant_edge as qe

        self._qe = qe
        self._q = settings.qdrant
        self.path = settings.index_dir / "edge" / collection
        self.location = str(self.path)
        self._shard: Any = None
        # Writes (and the copy a build starts from) hold _writing; reads hold _reading, so only
        # the swap after a build, which holds both, makes a read wait for a closed shard.
        self._writing = threading.RLock()
        self._reading = threading.RLock()
        self._journal: list[Any] | None = None  # writes made while a build runs
        self._builder: threading.Thread | None = None
        self.build_error: str | None = None  # the last background build's failure, if any
        if self.exists():
            self._open(None)
            shutil.rmtree(self._build_path, ignore_errors=True)  # a build a dead process left

    @property
    def _build_path(self) -> Path:
        return self.path.with_name(self.path.name + ".build")

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

    def payload_indexes(self) -> set[str]:
        with self._reading:
            return set(self._shard.info().payload_schema)

    def config(self, schema: Schema) -> Any:
        """The ``EdgeConfig`` a new shard gets: the schema plus ``settings.qdrant``'s options."""
        qe, q = self._qe, self._q
        quantization = (
            qe.ScalarQuantizationConfig(
                type=qe.ScalarType.Int8,
                quantile=q.quantization_quantile,
                always_ram=q.quantization_always_ram,
            )
            if q.quantization == "int8"
            else None
        )
        return qe.EdgeConfig(
            vectors={
                name: qe.EdgeVectorParams(
                    size=size,
                    distance=qe.Distance.Cosine,
                    on_disk=q.on_disk_vectors,
                    quantization_config=quantization,
                )
                for name, size in schema.dense.items()
            },
            sparse_vectors={
                name: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for name in schema.sparse
            },
            on_disk_payload=q.on_disk_payload,
            hnsw_config=qe.HnswIndexConfig(
                m=q.hnsw_m,
                ef_construct=q.hnsw_ef_construct,
                full_scan_threshold=q.full_scan_threshold_kb,
                payload_m=q.hnsw_payload_m,
            ),
            quantization_config=quantization,
            optimizers=qe.EdgeOptimizersConfig(
                indexing_threshold=q.indexing_threshold_kb, max_segment_size=q.max_segment_size_kb
            ),
        )

    def search_params(self, exact: bool = False) -> Any:
        """``SearchParams`` for every dense probe (see ``dense_search_params``)."""
        return dense_search_params(self._qe, self._q, exact)

    def create(self, schema: Schema) -> None:
        qe = self._qe
        self._shard = qe.EdgeShard.create(self.location, self.config(schema))
        kinds = {
            "keyword": qe.PayloadSchemaType.Keyword,
            "integer": qe.PayloadSchemaType.Integer,
            "bool": qe.PayloadSchemaType.Bool,
            "tenant": qe.KeywordIndexParams(is_tenant=True),
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
        self._update(qe.UpdateOperation.upsert_points(batch))

    def _update(self, operation: Any) -> None:
        with self._writing:
            self._shard.update(operation)
            if self._journal is not None:
                self._journal.append(operation)

    def set_payload(self, where: list[Match], payload: dict[str, Any]) -> None:
        self._update(self._qe.UpdateOperation.set_payload_by_filter(self._filter(where), payload))

    def delete(self, where: list[Match]) -> None:
        self._update(self._qe.UpdateOperation.delete_points_by_filter(self._filter(where)))

    def count(self, where: list[Match]) -> int:
        request = self._qe.CountRequest(exact=True, filter=self._filter(where))
        with self._reading:
            return int(self._shard.count(request))

    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]:
        with self._reading:
            records = self._shard.retrieve(ids, with_payload=True, with_vector=False)
        return [r.payload for r in records if r.payload]

    def scroll(self, where: list[Match]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            request = self._qe.ScrollRequest(
                offset=offset, limit=BATCH, filter=self._filter(where), with_payload=True
            )
            with self._reading:
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
        exact: bool = False,
    ) -> list[Found]:
        qe = self._qe
        flt = self._filter(where)
        vectors = [with_vector] if with_vector else None
        params = self.search_params(exact)

        def nearest(p: Probe) -> Any:
            return qe.Query.Nearest(self._vector(p.vector), using=p.using)

        def dense(p: Probe) -> Any:
            return None if isinstance(p.vector, SparseVec) else params

        if len(probes) == 1:
            request = qe.QueryRequest(
                limit=limit,
                query=nearest(probes[0]),
                filter=flt,
                with_payload=True,
                with_vector=vectors,
                params=dense(probes[0]),
            )
        else:
            request = qe.QueryRequest(
                limit=limit,
                # The filter goes on every prefetch too, so each candidate list is already
                # restricted rather than cut to `prefetch` and then emptied by the filter.
                prefetches=[
                    qe.Prefetch(limit=prefetch, query=nearest(p), filter=flt, params=dense(p))
                    for p in probes
                ],
                query=qe.Fusion.Rrf(k=RRF_K) if fusion == "rrf" else qe.Fusion.Dbsf(),
                filter=flt,
                with_payload=True,
                with_vector=vectors,
            )
        with self._reading:
            points = self._shard.query(request)
        return [
            Found(p.payload, float(p.score), named_vector(p.vector, with_vector))
            for p in points
            if p.payload
        ]

    def optimize(self) -> None:
        self.wait_optimized()
        with self._writing, self._reading:
            self._shard.optimize()

    # -- background build ---------------------------------------------------------------------

    def unindexed(self) -> int:
        """About how many points' dense vectors are outside an HNSW graph.

        ``indexed_vectors_count`` counts sparse vectors too (always indexed) and every named
        vector of a point, so this assumes each point has each vector: good enough for a trigger.
        """
        with self._reading:
            info = self._shard.info()
        config = json.loads((self.path / "edge_config.json").read_text())
        n_dense = max(1, len(config.get("vectors", {})))
        n_all = n_dense + len(config.get("sparse_vectors", {}))
        missing = int(info.points_count) * n_all - int(info.indexed_vectors_count)
        return max(0, missing // n_dense)

    @property
    def optimizing(self) -> bool:
        return self._builder is not None and self._builder.is_alive()

    def start_optimize(self) -> bool:
        """Start a background build (see the module docstring); False when one is running."""
        if self.optimizing or self._shard is None:
            return False
        with self._writing:
            self._shard.flush()
            shutil.rmtree(self._build_path, ignore_errors=True)
            # Writes wait for the copy (the lock); they then go to the live shard and the journal.
            shutil.copytree(self.path, self._build_path)
            self._journal = []
        self.build_error = None
        self._builder = threading.Thread(target=self._build, name="edge-build", daemon=True)
        self._builder.start()
        return True

    def wait_optimized(self) -> None:
        """Block until a running background build has finished (and been swapped in)."""
        if self._builder is not None:
            self._builder.join()
            self._builder = None

    def _build(self) -> None:
        command = _build_command(self._build_path)
        try:
            proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=_REPO)
            if proc.returncode != 0:
                raise IndexBackendError(f"index build failed: {proc.stderr.strip()[-2000:]}")
            self._swap()
        except Exception as exc:  # the live shard is untouched; say why and carry on
            self.build_error = str(exc)
            logger.error("background index build of %s failed: %s", self.location, exc)
            with self._writing:
                self._journal = None
            shutil.rmtree(self._build_path, ignore_errors=True)

    def _swap(self) -> None:
        """Put the built copy in place of the live shard and replay the writes made meanwhile."""
        old = self.path.with_name(self.path.name + ".old")
        with self._writing, self._reading:
            journal, self._journal = self._journal or [], None
            self._shard.flush()
            self._shard.close()
            self._shard = None
            shutil.rmtree(old, ignore_errors=True)
            self.path.rename(old)
            self._build_path.rename(self.path)
            try:
                self._open(None)
                for operation in journal:
                    self._shard.update(operation)
                self._shard.flush()
            except Exception:
                # Back to the shard we had: it holds every write (the journal went there too).
                if self._shard is not None:
                    self._shard.close()
                shutil.rmtree(self.path, ignore_errors=True)
                old.rename(self.path)
                self._open(None)
                raise
            shutil.rmtree(old, ignore_errors=True)
        logger.info("index build of %s in place; %d writes replayed", self.location, len(journal))

    def flush(self) -> None:
        with self._writing:
            self._shard.flush()

    def close(self) -> None:
        if self.optimizing:
            logger.warning("waiting for the index build of %s before closing", self.location)
        self.wait_optimized()
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None


_REPO = str(Path(__file__).resolve().parents[2])  # the child imports retrieval.index.edge_build


def _build_command(path: Path) -> list[str]:
    """The child process that builds the indexes of the shard copy at ``path``."""
    return [sys.executable, "-m", "retrieval.index.edge_build", str(path)]
