"""Search latency of the index engines on a synthetic filing-like collection.

Contract: :func:`bench_search` builds ``n_chunks`` points through :class:`retrieval.index.Index`
(random unit dense vectors; BM25 vectors from generated filing-like text with a Zipf vocabulary,
numbers, form names and company names; filing metadata on 1 document per 100 chunks), then times
``n_queries`` hybrid queries (dense + bm25 fused by RRF in Qdrant, ``ready`` + ACL + a filter) and
returns a dict of build and query timings. Nothing is downloaded; the same seed gives the same data.

Two query mixes are timed: ``broad`` (form = 10-K, about a third of the points) and ``narrow``
(one company and one fiscal year, about 0.3%: one condition on the indexed ``company_year``
pairs, see :mod:`retrieval.index.chunks`). Wall times are reported with per-query CPU time
(``time.process_time``, all threads of this process) because the machine is shared.

Memory stays bounded at any size: points are generated and written one document (100 chunks) at
a time, so the process holds one document's vectors plus what the engine keeps. Texts and their
BM25 vectors come from a pool of ``text_pool`` generated chunks reused in turn (encoding is ~1 ms
of CPU per chunk, 17 minutes at 1M); every point has its own random dense vector, company name
(the first word) and metadata. The
collection is built with ``settings.qdrant``'s options (int8 quantization by default; override
with ``qdrant={...}``); the HNSW build (:meth:`Index.optimize`) is timed apart from loading. Like an
ingest, which builds as it goes (``Index.optimize_if_due``), the load builds the indexes each time
``build_every`` points await them (default: one segment's worth at ``max_segment_size_kb``), so
no segment grows past that cap and the unindexed one the writes go to stays bounded (one unindexed
segment of 1M points took 14.5 GB of RSS before it was three quarters loaded). After each build
the collection is closed and opened again, as the live process of an ingest opens the built copy
(``EdgeEngine`` builds in a child process): the pages the build wrote through its memory maps
stay resident in the process that wrote them (2.7 GB for a segment of 340k points) but are not
part of the collection the queries read.
Recall: for ``recall_queries`` dense-only queries per mix, the top 10 of the normal search
(graph + int8 with rescoring) against the top 10 of an exact search (original vectors, every
candidate), averaged. Peak RSS, the largest private memory (USS) and anonymous memory sampled
between writes and builds (``/proc/self/smaps_rollup``; the binding holds the GIL while it builds,
so a build's own peak shows only in the peak RSS), the segment count and the collection's size on
disk are reported too.

Run: ``python -m evaluation.bench_search --engine edge --n-chunks 50000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.records import Chunk, SearchFilters, make_chunk_id
from core.settings import Settings
from retrieval.index import Index
from retrieval.sparse import Bm25Encoder, SparseVec

logger = logging.getLogger(__name__)

_WORDS = [
    "revenue",
    "income",
    "net",
    "operating",
    "expenses",
    "margin",
    "cash",
    "flow",
    "assets",
    "liabilities",
    "equity",
    "debt",
    "goodwill",
    "impairment",
    "segment",
    "growth",
    "decline",
    "fiscal",
    "quarter",
    "year",
    "ended",
    "compared",
    "prior",
    "period",
    "increase",
    "decrease",
    "primarily",
    "due",
    "higher",
    "lower",
    "sales",
    "volume",
    "pricing",
    "costs",
    "gross",
    "profit",
    "tax",
    "rate",
    "effective",
    "share",
    "repurchase",
    "dividend",
    "diluted",
    "earnings",
    "per",
    "capital",
    "expenditures",
    "depreciation",
    "amortization",
    "inventory",
    "receivables",
    "payable",
    "lease",
    "obligations",
    "pension",
    "risk",
    "factors",
    "market",
    "interest",
    "currency",
    "exchange",
    "foreign",
    "hedging",
    "derivative",
    "fair",
    "value",
    "level",
    "acquisition",
    "divestiture",
    "restructuring",
    "charges",
    "litigation",
    "contingencies",
    "guidance",
    "outlook",
    "customers",
    "products",
    "services",
    "cloud",
    "advertising",
    "subscriptions",
    "backlog",
    "orders",
    "deliveries",
    "aircraft",
    "pharmaceuticals",
    "retail",
    "stores",
    "comparable",
    "digital",
    "wholesale",
    "international",
    "domestic",
    "americas",
    "europe",
    "asia",
    "pacific",
    "consolidated",
    "statements",
    "balance",
    "sheet",
    "notes",
    "accounting",
    "policies",
]
_FORMS = ["10-K", "10-Q", "8-K"]
_YEARS = list(range(2018, 2024))


def _vocabulary(rng: np.random.Generator, size: int = 6000) -> list[str]:
    """Real finance words first (most frequent), then pseudo-words for a long Zipf tail."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    tail = {"".join(rng.choice(letters, rng.integers(4, 11))) for _ in range(size)}
    return _WORDS + sorted(tail)[: size - len(_WORDS)]


def _text(
    rng: np.random.Generator, vocab: list[str], probs: np.ndarray, company: str, n: int
) -> str:
    words = list(rng.choice(vocab, size=n, p=probs))
    for _ in range(max(1, n // 15)):  # amounts, years, form names as filings have them
        pos = int(rng.integers(0, len(words)))
        kind = rng.integers(0, 3)
        words[pos] = (
            f"{rng.integers(1, 999)},{rng.integers(0, 999):03d}"
            if kind == 0
            else str(rng.choice(_YEARS))
            if kind == 1
            else str(rng.choice(_FORMS))
        )
    words.insert(0, company)
    return " ".join(words)


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
    }


def bench_search(
    n_chunks: int = 50_000,
    engine: str = "edge",
    n_queries: int = 200,
    dim: int = 384,
    data_dir: Path | None = None,
    *,
    chunks_per_doc: int = 100,
    words_per_chunk: int = 150,
    optimize: bool = True,
    seed: int = 0,
    recall_queries: int = 50,
    qdrant: dict[str, Any] | None = None,
    text_pool: int = 20_000,
    build_every: int | None = None,
) -> dict[str, Any]:
    """Build a synthetic collection with ``engine`` and time hybrid queries on it.

    Args:
        n_chunks: points to index.
        engine: ``edge`` or ``local`` (embedded engines; a server is timed by setting a url).
        n_queries: queries per mix (``broad`` and ``narrow``).
        dim: dense vector size.
        data_dir: where the bench collection goes (a ``bench-<engine>-<n>`` folder inside is
            replaced); None = a temporary folder removed afterwards.
        optimize: run :meth:`Index.optimize` after loading (edge builds HNSW; timed separately).
        recall_queries: dense-only queries per mix compared with an exact search (0 = none).
        qdrant: ``settings.qdrant`` fields to build with (e.g. ``{"quantization": "none"}``).
        text_pool: distinct generated texts (with their BM25 vectors) reused across points.
        build_every: run :meth:`Index.optimize` while loading each time this many points await
            it (with ``optimize``); None = the points a segment of ``max_segment_size_kb`` holds
            at ``dim`` float32 (all of them when that is unset), 0 = only after loading.

    Returns:
        ``{"engine", "n_chunks", "dim", "qdrant", "build_s", "build_cpu_s", "encode_cpu_s",
        "optimize_s", "builds", "segments", "points", "disk_mb", "peak_rss_mb", "memory":
        {max_uss_mb, max_anon_mb, end_uss_mb, ...}, "broad": {p50_ms, p95_ms, cpu_p50_ms,
        mean_hits, recall@10}, "narrow": {...}}``.
    """
    rng = np.random.default_rng(seed)
    encoder = Bm25Encoder()
    vocab = _vocabulary(rng)
    probs = 1.0 / np.arange(1, len(vocab) + 1) ** 1.07
    probs /= probs.sum()
    companies = [f"Company{i:02d}" for i in range(50)]

    temp = None
    if data_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="finrag-bench-")
        data_dir = Path(temp.name)
    root = Path(data_dir) / f"bench-{engine}-{n_chunks}"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(data_dir=root, qdrant={**(qdrant or {}), "engine": engine, "url": None})
    # Build-relevant options only; the rest are defaults nobody asked about.
    options = settings.qdrant.model_dump(
        include={
            "quantization",
            "hnsw_m",
            "hnsw_ef_construct",
            "hnsw_payload_m",
            "hnsw_ef",
            "on_disk_vectors",
            "max_segment_size_kb",
        }
    )
    if build_every is None:
        cap_kb = settings.qdrant.max_segment_size_kb
        build_every = cap_kb * 1024 // (dim * 4) if cap_kb else 0
    result: dict[str, Any] = {
        "engine": engine,
        "n_chunks": n_chunks,
        "dim": dim,
        "qdrant": options,
        "build_every": build_every,
    }
    memory = _Memory()
    optimize_s, builds, awaiting = 0.0, 0, 0
    try:
        index = Index(settings, collection="bench")
        try:
            index.ensure_collection(text_dim=dim)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            c0 = time.process_time()
            pool_texts = [
                _text(rng, vocab, probs, "", words_per_chunk)
                for _ in range(min(n_chunks, text_pool))
            ]
            pool_sparse = encoder.encode_documents(pool_texts)
            encode_cpu = time.process_time() - c0
            n_docs = (n_chunks + chunks_per_doc - 1) // chunks_per_doc
            for d in range(n_docs):
                company = companies[d % len(companies)]
                meta = {
                    "company": company,
                    "ticker": company.upper()[:4],
                    "form": _FORMS[d % 3],
                    "fiscal_year": _YEARS[(d // len(companies)) % len(_YEARS)],
                    "fiscal_period": "FY",
                    "acl": ["public"] if d % 10 else ["finance"],
                }
                doc_id = f"{d:064x}"
                size = min(chunks_per_doc, n_chunks - d * chunks_per_doc)
                first = d * chunks_per_doc
                picks = [(first + i) % len(pool_texts) for i in range(size)]
                texts = [company + pool_texts[k] for k in picks]
                company_term = encoder.encode_documents([company])[0]
                sparse = [_plus(pool_sparse[k], company_term) for k in picks]
                chunks = [
                    Chunk(
                        chunk_id=make_chunk_id(doc_id, 1 + i // 5, str(i)),
                        doc_id=doc_id,
                        page_no=1 + i // 5,
                        modality="text",
                        text=t,
                        order=i,
                        file_name=f"{company}-{d}.pdf",
                        **meta,
                    )
                    for i, t in enumerate(texts)
                ]
                index.upsert(chunks, _unit(rng, size, dim), sparse)
                index.mark_ready(doc_id)
                awaiting += size
                if d % 10 == 9:
                    memory.sample()
                if optimize and build_every and awaiting >= build_every:
                    memory.sample()
                    t0, c0 = time.perf_counter(), time.process_time()
                    index = _build(index, settings)
                    optimize_s += time.perf_counter() - t0
                    cpu0 += time.process_time() - c0  # the load's CPU leaves the builds out
                    builds, awaiting = builds + 1, 0
                    memory.sample()
                    logger.info("built at %d points (%.0f s of builds)", first + size, optimize_s)
            index.flush()
            memory.sample()
            result["build_s"] = round(time.perf_counter() - wall0 - optimize_s, 2)
            result["build_cpu_s"] = round(time.process_time() - cpu0, 2)
            result["encode_cpu_s"] = round(encode_cpu, 2)
            t0 = time.perf_counter()
            if optimize:
                index = _build(index, settings)
                builds += 1
            result["optimize_s"] = round(optimize_s + time.perf_counter() - t0, 2)
            result["builds"] = builds
            memory.sample()
            result["points"] = index.count()
            index.flush()
            result["segments"] = _segments(index)
            result["disk_mb"] = round(_size(root) / 2**20, 1)

            for mix in ("broad", "narrow"):
                walls, cpus, hits = [], [], []
                for q in range(n_queries):
                    if mix == "broad":
                        filters = SearchFilters(forms=["10-K"])
                    else:
                        filters = SearchFilters(
                            companies=[companies[q % len(companies)]], fiscal_years=[_YEARS[q % 2]]
                        )
                    dense = _unit(rng, 1, dim)[0]
                    sparse_q = encoder.encode_query(_text(rng, vocab, probs, "", 8))
                    w, c = time.perf_counter(), time.process_time()
                    found = index.search(
                        dense=dense,
                        sparse=sparse_q,
                        filters=filters,
                        acl_groups=["public"],
                        limit=10,
                        prefetch_limit=50,
                    )
                    walls.append(time.perf_counter() - w)
                    cpus.append(time.process_time() - c)
                    hits.append(len(found))
                stats = _percentiles(walls)
                stats["cpu_p50_ms"] = _percentiles(cpus)["p50_ms"]
                stats["mean_hits"] = round(float(np.mean(hits)), 1)
                if recall_queries:
                    stats["recall@10"] = _recall(
                        index, rng, dim, filters, recall_queries, companies, mix
                    )
                result[mix] = stats
                logger.info("%s %s: %s", engine, mix, stats)
            memory.sample()
            result["memory"] = memory.report()
        finally:
            index.close()
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    finally:
        if temp is not None:
            temp.cleanup()
    return result


def _plus(a: SparseVec, b: SparseVec) -> SparseVec:
    """The terms of ``a`` and ``b`` (``b`` wins on a shared index): a pooled text plus a company."""
    terms = dict(zip(a.indices, a.values, strict=True))
    terms.update(zip(b.indices, b.values, strict=True))
    keys = sorted(terms)
    return SparseVec(indices=keys, values=[terms[k] for k in keys])


def _recall(
    index: Index,
    rng: np.random.Generator,
    dim: int,
    filters: SearchFilters,
    n: int,
    companies: list[str],
    mix: str,
) -> float:
    """Mean overlap of the normal dense top 10 with the exact dense top 10, over ``n`` queries."""
    found = []
    for q in range(n):
        if mix == "narrow":
            filters = SearchFilters(
                companies=[companies[q % len(companies)]], fiscal_years=[_YEARS[q % 2]]
            )
        dense = _unit(rng, 1, dim)[0]
        args = {"dense": dense, "sparse": None, "filters": filters, "acl_groups": ["public"]}
        approx = {h.chunk.chunk_id for h in index.search(**args, limit=10)}
        exact = {h.chunk.chunk_id for h in index.search(**args, limit=10, exact=True)}
        if exact:  # a filter nothing passes says nothing about recall
            found.append(len(approx & exact) / len(exact))
    return round(float(np.mean(found)), 4) if found else float("nan")


class _Memory:
    """The process's memory from ``/proc/self/smaps_rollup`` (Linux), sampled when asked.

    RSS counts every resident page of the engine's memory-mapped files (the kernel may drop the
    clean ones); USS (private pages) and anonymous memory are what the process itself holds.
    """

    _PATH = "/proc/self/smaps_rollup"

    def __init__(self) -> None:
        self.max: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def sample(self) -> None:
        if not os.path.exists(self._PATH):
            return
        kb: dict[str, int] = {}
        with open(self._PATH) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    kb[parts[0].rstrip(":")] = int(parts[1])
        self.last = {
            "rss_mb": kb.get("Rss", 0) / 1024,
            "uss_mb": (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024,
            "anon_mb": kb.get("Anonymous", 0) / 1024,
        }
        for k, v in self.last.items():
            self.max[k] = max(self.max.get(k, 0.0), v)

    def report(self) -> dict[str, float]:
        out = {f"max_{k}": round(v, 1) for k, v in self.max.items()}
        out.update({f"end_{k}": round(v, 1) for k, v in self.last.items()})
        return out


def _build(index: Index, settings: Settings) -> Index:
    """Build the indexes (:meth:`Index.optimize`), then reopen the collection (see the module)."""
    index.optimize()
    index.close()
    return Index(settings, collection="bench")


def _segments(index: Index) -> int | None:
    """Segments of an edge shard (what a query searches one by one); None for other engines."""
    shard = getattr(index._engine, "_shard", None)
    return int(shard.info().segments_count) if shard is not None else None


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-chunks", type=int, default=50_000)
    parser.add_argument("--engine", default="edge", choices=["edge", "local"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--no-optimize", action="store_true")
    parser.add_argument("--quantization", choices=["int8", "none"], default=None)
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument(
        "--build-every", type=int, default=None, help="points per build while loading (0 = at end)"
    )
    parser.add_argument(
        "--qdrant", default=None, help='JSON of settings.qdrant fields, e.g. {"hnsw_payload_m": 16}'
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = bench_search(
        args.n_chunks,
        args.engine,
        args.queries,
        args.dim,
        args.data_dir,
        optimize=not args.no_optimize,
        recall_queries=args.recall_queries,
        qdrant={
            **json.loads(args.qdrant or "{}"),
            **({"quantization": args.quantization} if args.quantization else {}),
        }
        or None,
        build_every=args.build_every,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
