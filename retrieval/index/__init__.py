"""The one Qdrant facade: the chunk and memory collections' schemas, writes, reads and search.

Contract: this package is the only code that builds Qdrant requests. :class:`Index` stores each
:class:`~core.records.Chunk` as one point and answers searches with :class:`~core.records.Hit`
records carrying the reconstructed chunk; :class:`MemoryIndex` does the same for the memory bank.
Callers never see Qdrant types.

Modules: :mod:`~retrieval.index.requests` (engine-neutral request parts and the ``Engine``
protocol), :mod:`~retrieval.index.edge` and :mod:`~retrieval.index.client` (the engines),
:mod:`~retrieval.index.collection` (engine choice and lifecycle shared by both facades),
:mod:`~retrieval.index.chunks` (:class:`Index`) and :mod:`~retrieval.index.memory`
(:class:`MemoryIndex`).

Engines (registered by name in :data:`core.backends.INDEX_ENGINES`, chosen from
``settings.qdrant``; the calls and the behaviour are the same for all):

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
at only 2k chunks p50 ~920 ms wall / 355 ms CPU. Edge builds its HNSW graphs (and int8 copies)
only when optimised: :meth:`Index.optimize_if_due` (called after every ingest batch) starts a
background build once ``qdrant.index_threshold`` points await one, :meth:`Index.optimize` builds
at once. Collection options (shards, replication, HNSW, int8 quantization, on-disk storage) come
from ``settings.qdrant``; see README, "Serving at scale".

Schemas: collection ``settings.qdrant.collection`` (default ``chunks``) belongs to :class:`Index`
(:mod:`~retrieval.index.chunks`); collection ``settings.qdrant.memory_collection`` (default
``memory``) belongs to :class:`MemoryIndex`: one point per phrasing of a curated
:class:`~core.records.MemoryEntry`. Each facade hands its own ``Schema`` (dense vectors, sparse
vectors, payload indexes) to the engine's ``create``; the engines know no collection.

Visibility (rules in :mod:`~retrieval.index.chunks`): searches and counts see only ready chunks
whose ``acl`` shares one of the caller's groups; an empty group list sees nothing, never everything.

Storage: under ``settings.index_dir``: ``edge/<collection>/`` (an EdgeShard: WAL + segments) or
``local/`` (qdrant-client's folder). The edge shard writes every update to its write-ahead log
before applying it; after a crash the next open replays the log (checked: a process killed with
``os._exit`` after three upserts reopens with all points), and :meth:`Index.close` flushes segments.
Both embedded engines lock their folder: one process at a time; use a server for several. The
memory collection lives in ``edge/<memory_collection>/`` or, in local mode,
``local-<memory_collection>/`` (local mode allows one client per folder even within a process), so
both open side by side.

Example:
    >>> from core.settings import Settings
    >>> with Index(Settings(data_dir="/tmp/finrag")) as index:  # doctest: +SKIP
    ...     index.ensure_collection(text_dim=384)
    ...     index.upsert(chunks, text_vectors, sparse_vectors)       # ready=False
    ...     index.mark_ready(doc_id)
    ...     hits = index.search(dense=q, sparse=s, filters=SearchFilters(), acl_groups=["public"])
"""

from __future__ import annotations

from retrieval.index.chunks import PAYLOAD_INDEXES, Index
from retrieval.index.memory import ANY_KEY, MEMORY_PAYLOAD_INDEXES, MemoryIndex, MemoryMatch
from retrieval.index.requests import BM25, IMAGE, RRF_K, TEXT, Fusion

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
