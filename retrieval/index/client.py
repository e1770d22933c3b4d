"""The ``server`` and ``local`` index engines: qdrant-client against a server or in local mode.

Contract: :class:`ClientEngine` implements :class:`~retrieval.index.requests.Engine` for one
collection. With ``settings.qdrant.url`` set it talks to that server (``name`` ``server``);
otherwise it opens local mode (``name`` ``local``) in ``<index_dir>/local/``, or in
``<index_dir>/local-<collection>/`` when asked for a folder of its own (local mode locks its
folder per client, even within one process). After the constructor both run the very same calls,
so the local-mode tests exercise the server code path too.

Collection options come from ``settings.qdrant`` (:meth:`ClientEngine.create_request`): shards,
replication and write consistency, on-disk vectors and payload, HNSW parameters, scalar int8
quantization and the optimizer's indexing threshold (a server builds HNSW in the background past
it); searches carry :meth:`ClientEngine.search_params` (int8 with rescoring and oversampling).
Local mode accepts these and ignores them (one shard, brute force), so the tests check the
requests as built and the results through the conformance suite.
"""

from __future__ import annotations

import warnings
from typing import Any

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

__all__ = ["ClientEngine"]


class ClientEngine:
    """qdrant-client: a server (``url``) or local mode (``path``); the same calls after __init__."""

    def __init__(self, settings: Settings, collection: str, *, own_folder: bool = False) -> None:
        from qdrant_client import QdrantClient, models

        self._m = models
        self.collection = collection
        q = self._q = settings.qdrant
        if q.url:
            self.name = "server"
            self.location = q.url
            self._client = QdrantClient(url=q.url, api_key=q.api_key, timeout=int(q.timeout_s))
        else:
            self.name = "local"
            # Local mode locks its whole folder against a second client, even in this process.
            folder = f"local-{collection}" if own_folder else "local"
            path = settings.index_dir / folder
            path.mkdir(parents=True, exist_ok=True)
            self.location = str(path)
            try:
                self._client = QdrantClient(path=str(path))
            except RuntimeError as exc:
                # "Storage folder ... is already accessed by another instance"
                raise locked_error(self.location, exc) from exc

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

    def payload_indexes(self) -> set[str]:
        # A server lists the indexes it keeps; local mode keeps none and lists none.
        return set(self._client.get_collection(self.collection).payload_schema or {})

    def create_request(self, schema: Schema) -> dict[str, Any]:
        """The keyword arguments of ``create_collection``: the schema plus the settings' options."""
        m, q = self._m, self._q
        quantization = (
            m.ScalarQuantization(
                scalar=m.ScalarQuantizationConfig(
                    type=m.ScalarType.INT8,
                    quantile=q.quantization_quantile,
                    always_ram=q.quantization_always_ram,
                )
            )
            if q.quantization == "int8"
            else None
        )
        return {
            "collection_name": self.collection,
            "vectors_config": {
                name: m.VectorParams(
                    size=size, distance=m.Distance.COSINE, on_disk=q.on_disk_vectors
                )
                for name, size in schema.dense.items()
            },
            "sparse_vectors_config": {
                name: m.SparseVectorParams(
                    modifier=m.Modifier.IDF, index=m.SparseIndexParams(on_disk=q.on_disk_vectors)
                )
                for name in schema.sparse
            },
            "shard_number": q.shard_number,
            "replication_factor": q.replication_factor,
            "write_consistency_factor": q.write_consistency_factor,
            "on_disk_payload": q.on_disk_payload,
            "hnsw_config": m.HnswConfigDiff(
                m=q.hnsw_m,
                ef_construct=q.hnsw_ef_construct,
                full_scan_threshold=q.full_scan_threshold_kb,
                payload_m=q.hnsw_payload_m,
            ),  # the graph stays in RAM: a search walks it at random
            "optimizers_config": m.OptimizersConfigDiff(
                indexing_threshold=q.indexing_threshold_kb, max_segment_size=q.max_segment_size_kb
            ),
            "quantization_config": quantization,
        }

    def search_params(self, exact: bool = False) -> Any:
        """``SearchParams`` for every dense probe (see ``dense_search_params``)."""
        return dense_search_params(self._m, self._q, exact)

    def create(self, schema: Schema) -> None:
        m = self._m
        self._client.create_collection(**self.create_request(schema))
        kinds = {
            "keyword": m.PayloadSchemaType.KEYWORD,
            "integer": m.PayloadSchemaType.INTEGER,
            "bool": m.PayloadSchemaType.BOOL,
            "tenant": m.KeywordIndexParams(type=m.KeywordIndexType.KEYWORD, is_tenant=True),
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

    def _filter(self, where: list[Match]) -> Any:
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

    def upsert(self, points: list[Point]) -> None:
        structs = [
            self._m.PointStruct(
                id=p.id,
                vector={k: self._vector(v) for k, v in p.vectors.items()},
                payload=p.payload,
            )
            for p in points
        ]
        self._client.upsert(self.collection, points=structs, wait=True)

    def set_payload(self, where: list[Match], payload: dict[str, Any]) -> None:
        self._client.set_payload(
            self.collection, payload=payload, points=self._filter(where), wait=True
        )

    def delete(self, where: list[Match]) -> None:
        selector = self._m.FilterSelector(filter=self._filter(where))
        self._client.delete(self.collection, points_selector=selector, wait=True)

    def count(self, where: list[Match]) -> int:
        return self._client.count(
            self.collection, count_filter=self._filter(where), exact=True
        ).count

    def retrieve(self, ids: list[str]) -> list[dict[str, Any]]:
        records = self._client.retrieve(
            self.collection, ids=ids, with_payload=True, with_vectors=False
        )
        return [r.payload for r in records if r.payload]

    def scroll(self, where: list[Match]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection,
                scroll_filter=self._filter(where),
                limit=BATCH,
                offset=offset,
                with_payload=True,
                with_vectors=False,
            )
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
        flt = self._filter(where)
        vectors: list[str] | bool = [with_vector] if with_vector else False
        params = self.search_params(exact)
        with warnings.catch_warnings():
            # Local mode warns that it searches exactly (search_params have no effect there).
            warnings.simplefilter("ignore", UserWarning)
            return self._query(probes, fusion, flt, limit, prefetch, params, vectors, with_vector)

    def _query(
        self,
        probes: list[Probe],
        fusion: Fusion,
        flt: Any,
        limit: int,
        prefetch: int,
        params: Any,
        vectors: list[str] | bool,
        with_vector: str | None,
    ) -> list[Found]:
        m = self._m

        def dense(p: Probe) -> Any:
            return None if isinstance(p.vector, SparseVec) else params

        if len(probes) == 1:
            response = self._client.query_points(
                self.collection,
                query=self._vector(probes[0].vector),
                using=probes[0].using,
                query_filter=flt,
                search_params=dense(probes[0]),
                limit=limit,
                with_payload=True,
                with_vectors=vectors,
            )
        else:
            response = self._client.query_points(
                self.collection,
                prefetch=[
                    m.Prefetch(
                        query=self._vector(p.vector),
                        using=p.using,
                        limit=prefetch,
                        filter=flt,
                        params=dense(p),
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
            Found(p.payload, float(p.score), named_vector(p.vector, with_vector))
            for p in response.points
            if p.payload
        ]

    def optimize(self) -> None:
        """A server optimises in the background; local mode has no index to build."""

    def unindexed(self) -> int:
        """A server indexes past ``indexing_threshold_kb`` on its own: nothing waits for us."""
        return 0

    @property
    def optimizing(self) -> bool:
        return False

    def start_optimize(self) -> bool:
        """Nothing to start (see :meth:`unindexed`)."""
        return False

    def wait_optimized(self) -> None:
        """Nothing runs (see :meth:`unindexed`)."""

    def flush(self) -> None:
        """qdrant-client writes are durable when the call returns (``wait=True``)."""

    def close(self) -> None:
        self._client.close()
