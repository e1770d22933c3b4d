"""Page-level IR metrics through ir-measures (trec_eval underneath).

A "document" for these metrics is one page of one filing, ``"<doc_id>#<page>"``; the gold pages of
a question are its qrels. Latency percentiles are computed here too so every report agrees.
"""

from __future__ import annotations

import numpy as np

METRIC_NAMES = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr", "ndcg@10")


def page_key(doc_id: str, page_no: int) -> str:
    return f"{doc_id}#{page_no}"


def score_runs(
    gold: dict[str, set[str]], ranked: dict[str, list[str]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Aggregate and per-question metrics for ranked page lists (best first).

    Questions with no retrieved pages count as zeros (trec_eval would silently drop them).
    """
    import ir_measures
    from ir_measures import RR, R, nDCG

    measures = {
        "recall@1": R @ 1,
        "recall@3": R @ 3,
        "recall@5": R @ 5,
        "recall@10": R @ 10,
        "mrr": RR,
        "ndcg@10": nDCG @ 10,
    }
    qrels = {q: dict.fromkeys(pages, 1) for q, pages in gold.items()}
    run = {
        q: {p: float(len(pages) - i) for i, p in enumerate(pages)}
        for q, pages in ranked.items()
        if pages
    }
    per_q: dict[str, dict[str, float]] = {q: dict.fromkeys(measures, 0.0) for q in gold}
    by_measure = {m: name for name, m in measures.items()}
    for metric in ir_measures.iter_calc(list(measures.values()), qrels, run):
        per_q[metric.query_id][by_measure[metric.measure]] = float(metric.value)
    n = max(len(per_q), 1)
    aggregate = {name: sum(v[name] for v in per_q.values()) / n for name in measures}
    return aggregate, per_q


def latency_summary(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    arr = np.asarray(ms)
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}
