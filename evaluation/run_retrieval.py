"""``finrag eval retrieval``: page-level retrieval quality on a FinanceBench-format set.

The set is ingested into its own corpus under ``<data_dir>/eval/<set>-<config hash>`` (so a run
never touches the user's corpus, and a change of embedder or chunking builds a fresh index while
an unchanged configuration reuses the cached one). Every question is then answered twice:

* ``shared``: against the whole set's index with no filing given (the resolver picks filings
  from the question, as in production) -- the hard, realistic case;
* ``given_filing``: restricted to the question's own filing -- a diagnostic of ranking alone.

Ranked units are pages (``doc_id#page``); gold pages come from ``evidence_pages``. Latency is the
wall time of :meth:`Retriever.retrieve` per question after one warm-up query.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from core.records import SearchFilters
from core.settings import Settings
from evaluation.metrics import latency_summary, page_key, score_runs
from evaluation.sets import EvalSet, load_set

if TYPE_CHECKING:
    from retrieval.corpus import Corpus


def corpus_settings(settings: Settings, eval_set: EvalSet) -> Settings:
    """Settings whose data_dir is the set's own cached corpus for this index configuration."""
    from ingest.chunking import CHUNK_SCHEMA

    config = json.dumps(
        {
            "schema": CHUNK_SCHEMA,
            "embedder": settings.embedder.model_dump(mode="json"),
            "ingest": settings.ingest.model_dump(mode="json", exclude={"workers"}),
        },
        sort_keys=True,
    )
    tag = hashlib.sha256(config.encode()).hexdigest()[:10]
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir / "eval" / f"{eval_set.name}-{tag}",
            "model_cache": settings.models_dir,
        }
    )


def ensure_ingested(eval_set: EvalSet, corpus: Corpus) -> dict[str, str]:
    """Ingest the set's documents into ``corpus`` (a no-op when cached); file name -> doc id."""
    from ingest.pipeline import Ingestor

    report = Ingestor(corpus).ingest([eval_set.pdf_dir])
    failed = [f for f in report.files if f.status == "failed"]
    if failed:
        raise RuntimeError("; ".join(f"{Path(f.path).name}: {f.reason}" for f in failed))
    return {Path(f.path).name: f.doc_id for f in report.files if f.doc_id}


def eval_retrieval(
    set_dir: Path,
    settings: Settings,
    top_k: int = 10,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score the set; ``progress(done, total)`` is called after each question."""
    from retrieval.corpus import Corpus
    from retrieval.retriever import Retriever

    eval_set = load_set(set_dir)
    questions = eval_set.questions[:limit] if limit else eval_set.questions
    with Corpus.open(corpus_settings(settings, eval_set)) as corpus:
        t0 = time.perf_counter()
        doc_ids = ensure_ingested(eval_set, corpus)
        ingest_s = time.perf_counter() - t0
        retriever = Retriever(corpus)
        groups = corpus.settings.default_acl
        retriever.retrieve("warm-up", acl_groups=groups, use_memory=False, use_tools=False)
        gold: dict[str, set[str]] = {}
        shared: dict[str, list[str]] = {}
        given: dict[str, list[str]] = {}
        latencies: list[float] = []
        given_latencies: list[float] = []
        scopes: dict[str, str] = {}
        for q in questions:
            doc_id = doc_ids[q.doc]
            gold[q.id] = {page_key(doc_id, p) for p in q.evidence_pages}
            t = time.perf_counter()
            result = retriever.retrieve(
                q.question, acl_groups=groups, top_k=top_k, use_memory=False, use_tools=False
            )
            latencies.append((time.perf_counter() - t) * 1000)
            shared[q.id] = [page_key(p.doc_id, p.page_no) for p in result.pages]
            scopes[q.id] = result.scope
            t = time.perf_counter()
            result = retriever.retrieve(
                q.question,
                acl_groups=groups,
                top_k=top_k,
                filters=SearchFilters(doc_ids=[doc_id]),
                use_memory=False,
                use_tools=False,
            )
            given_latencies.append((time.perf_counter() - t) * 1000)
            given[q.id] = [page_key(p.doc_id, p.page_no) for p in result.pages]
            if progress is not None:
                progress(len(given), len(questions))

    shared_agg, shared_per_q = score_runs(gold, shared)
    given_agg, _ = score_runs(gold, given)
    names = {v: k for k, v in doc_ids.items()}
    misses = []
    for q in questions:
        if shared_per_q[q.id]["recall@5"] < 1.0:
            top = shared[q.id][0] if shared[q.id] else None
            top_doc, top_page = top.split("#") if top else (None, None)
            misses.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "gold_file": q.doc,
                    "gold_pages": q.evidence_pages,
                    "first_file": names.get(top_doc),
                    "first_page": int(top_page) if top_page else None,
                    "gold_rank": next(
                        (i for i, p in enumerate(shared[q.id], 1) if p in gold[q.id]), None
                    ),
                    "scope": scopes[q.id],
                }
            )
    return {
        "set": eval_set.name,
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores",
        "embedder": settings.embedder.name,
        "document_tokens": settings.embedder.document_tokens,
        "reranker": settings.rerank.name,
        "n": len(questions),
        **{k: round(v, 4) for k, v in shared_agg.items()},
        **{k: round(v, 1) for k, v in latency_summary(latencies).items()},
        "given_filing": {
            **{k: round(v, 4) for k, v in given_agg.items()},
            **{k: round(v, 1) for k, v in latency_summary(given_latencies).items()},
        },
        "ingest_s": round(ingest_s, 1),
        "misses": misses,
    }


def format_retrieval(result: dict) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    buffer = StringIO()
    console = Console(file=buffer, width=140)
    table = Table(title=f"Retrieval on {result['set']} ({result['n']} questions, {result['date']})")
    table.add_column("index")
    for col in ("R@1", "R@3", "R@5", "R@10", "MRR", "nDCG@10", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right")
    for label, row in (("shared", result), ("filing given", result["given_filing"])):
        table.add_row(
            label,
            *(
                f"{row[k]:.3f}"
                for k in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr", "ndcg@10")
            ),
            f"{row['p50_ms']:.0f}",
            f"{row['p95_ms']:.0f}",
        )
    console.print(table)
    if result["misses"]:
        misses = Table(title="Questions whose gold pages are not all in the top 5 (shared index)")
        for col in ("id", "gold", "gold rank", "first instead", "scope"):
            misses.add_column(col, overflow="fold")
        for m in result["misses"]:
            misses.add_row(
                m["id"],
                f"{m['gold_file']} p.{m['gold_pages']}",
                str(m["gold_rank"] or "-"),
                f"{m['first_file']} p.{m['first_page']}",
                m["scope"],
            )
        console.print(misses)
    return buffer.getvalue()
