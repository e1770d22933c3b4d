"""Rerankers compared on one retrieval: the measurement behind ``finrag finetune evaluate``.

Every question of a FinanceBench-format set is retrieved once against the set's shared cached
corpus (as in ``finrag eval retrieval``, no filing given); each reranker then reorders the same
candidates (:func:`rerank.pages.rerank_pages`, the first ``candidates`` chunks), and the page
rankings are scored with the retrieval metrics. ``none`` is the retrieval's own page order.
Latency is the reranking time alone, per question, after one warm-up call per reranker.
"""

from __future__ import annotations

import platform
import time
from datetime import date
from pathlib import Path

import psutil

from core.settings import Settings
from evaluation.metrics import latency_summary, page_key, score_runs
from evaluation.run_retrieval import corpus_settings, ensure_ingested
from evaluation.sets import load_set
from rerank.pages import DEFAULT_CANDIDATES, rerank_pages


def eval_rerankers(
    set_dir: Path,
    settings: Settings,
    rerankers: dict,  # name -> rerank.base.Reranker
    limit: int | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    top_k: int = 10,
) -> dict:
    """Metrics per reranker (plus ``none``) and per question, on the same retrieved candidates."""
    from retrieval.corpus import Corpus
    from retrieval.retriever import Retriever

    eval_set = load_set(set_dir)
    questions = eval_set.questions[:limit] if limit else eval_set.questions
    gold: dict[str, set[str]] = {}
    runs: dict[str, dict[str, list[str]]] = {"none": {}, **{name: {} for name in rerankers}}
    latencies: dict[str, list[float]] = {name: [] for name in rerankers}
    with Corpus.open(corpus_settings(settings, eval_set)) as corpus:
        doc_ids = ensure_ingested(eval_set, corpus)
        groups = corpus.settings.default_acl
        retriever = Retriever(corpus)
        warm = retriever.retrieve(
            "warm-up revenue", acl_groups=groups, use_memory=False, use_tools=False
        )
        for reranker in rerankers.values():
            reranker.rerank("warm-up revenue", warm.hits[:candidates])
        for q in questions:
            gold[q.id] = {page_key(doc_ids[q.doc], p) for p in q.evidence_pages}
            result = retriever.retrieve(
                q.question, acl_groups=groups, top_k=top_k, use_memory=False, use_tools=False
            )
            pages = [(p.doc_id, p.page_no) for p in result.pages]
            runs["none"][q.id] = [page_key(*p) for p in pages]
            for name, reranker in rerankers.items():
                t = time.perf_counter()
                order = rerank_pages(q.question, result.hits, pages, reranker, candidates)
                latencies[name].append((time.perf_counter() - t) * 1000)
                runs[name][q.id] = [page_key(*p) for p in order]

    out: dict = {
        "set": eval_set.name,
        "date": date.today().isoformat(),
        "n": len(questions),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores",
        "candidates": candidates,
        "rerankers": {},
        "per_question": {},
    }
    for name, ranked in runs.items():
        aggregate, per_q = score_runs(gold, ranked)
        row = {k: round(v, 4) for k, v in aggregate.items()}
        if name in latencies:
            row |= {k: round(v, 1) for k, v in latency_summary(latencies[name]).items()}
        out["rerankers"][name] = row
        out["per_question"][name] = {q: v["mrr"] for q, v in per_q.items()}
    return out


def format_rerankers(result: dict) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    buffer = StringIO()
    console = Console(file=buffer, width=140)
    table = Table(
        title=f"Reranking on {result['set']} ({result['n']} questions, shared index, "
        f"{result['candidates']} candidates, {result['date']})"
    )
    table.add_column("reranker")
    for col in ("R@1", "R@3", "R@5", "R@10", "MRR", "nDCG@10", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right")
    for name, row in result["rerankers"].items():
        table.add_row(
            name,
            *(
                f"{row[k]:.3f}"
                for k in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr", "ndcg@10")
            ),
            *(f"{row[k]:.0f}" if k in row else "-" for k in ("p50_ms", "p95_ms")),
        )
    console.print(table)
    return buffer.getvalue()
