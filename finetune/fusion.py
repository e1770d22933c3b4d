"""Calibrating how much a fine-tuned reranker should override the retrieval order.

Contract: :func:`calibrate_fusion` retrieves each held-out training query (the dataset's ``dev``
split: filings the model never trained on) from the corpus the way production does, reranks the
first ``candidates`` chunks, and measures the MRR of the positive's page for fusion weights
0, 0.1, ..., 1 (:func:`rerank.cross_encoder.fuse`: 1 = the model's order, 0 = retrieval's). The
best weight is written into the model's ``finrag_model.json`` (``fusion_weight``), with the
curve, so the served reranker blends exactly as calibrated. No evaluation-set question is used.

Why: hybrid retrieval already carries signals a small cross-encoder lacks (the resolver's filing
choice, BM25 on exact line items, the primary-statement boost). Reciprocal-rank fusion keeps them
where the model is unsure instead of replacing them.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

from core.options import CrossEncoderOptions
from core.records import TrainingExample
from rerank.base import passage_text
from rerank.pages import DEFAULT_CANDIDATES
from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

WEIGHTS = [round(0.1 * i, 1) for i in range(11)]


def _mrr(ranked: list[tuple[str, int]], gold: tuple[str, int]) -> float:
    return 1.0 / (ranked.index(gold) + 1) if gold in ranked else 0.0


def calibrate_fusion(
    model_dir: Path,
    examples: list[TrainingExample],
    corpus: Corpus,
    max_queries: int = 200,
    candidates: int = DEFAULT_CANDIDATES,
    seed: int = 13,
) -> dict:
    """Pick and store the fusion weight; returns ``{"weight", "curve", "queries"}``."""
    from rerank.cross_encoder import CrossEncoderReranker, fuse
    from retrieval.retriever import Retriever

    sample = [e for e in examples if e.positive_id]
    random.Random(seed).shuffle(sample)
    sample = sample[:max_queries]
    reranker = CrossEncoderReranker(CrossEncoderOptions(model=str(model_dir), fusion_weight=1.0))
    retriever = Retriever(corpus)
    # an offline job over the whole corpus: every group that owns a filing
    groups = sorted({g for f in corpus.filings() for g in f.acl}) or list(
        corpus.settings.default_acl
    )
    totals = dict.fromkeys(WEIGHTS, 0.0)
    used = 0
    positives = {c.chunk_id: c for c in corpus.index.get_chunks([e.positive_id for e in sample])}
    for example in sample:
        positive = positives.get(example.positive_id)
        if positive is None:
            continue
        gold = (positive.doc_id, positive.page_no)
        result = retriever.retrieve(
            example.query, acl_groups=groups, use_memory=False, use_tools=False
        )
        pool, seen = [], set()
        for hit in result.hits:
            if hit.chunk.chunk_id not in seen:
                seen.add(hit.chunk.chunk_id)
                pool.append(hit)
        pool = pool[:candidates]
        pages = [(p.doc_id, p.page_no) for p in result.pages]
        if not pool:
            continue
        used += 1
        scores = reranker.score(example.query, [passage_text(h.chunk) for h in pool])
        for weight in WEIGHTS:
            fused = fuse(scores, weight)
            order = sorted(range(len(pool)), key=lambda i: -fused[i])
            ranked: list[tuple[str, int]] = []
            for key in [(pool[i].chunk.doc_id, pool[i].chunk.page_no) for i in order] + pages:
                if key not in ranked:
                    ranked.append(key)
            totals[weight] += _mrr(ranked, gold)
    curve = {str(w): round(totals[w] / used, 4) if used else 0.0 for w in WEIGHTS}
    # Ties go to the smaller weight: the retrieval order is the known quantity.
    best = max(WEIGHTS, key=lambda w: (round(totals[w], 9), -w)) if used else 0.0
    info_path = Path(model_dir) / "finrag_model.json"
    info = json.loads(info_path.read_text())
    info["fusion_weight"] = best
    info["fusion_calibration"] = {"curve": curve, "queries": used, "candidates": candidates}
    info_path.write_text(json.dumps(info, indent=2, default=str))
    log.info("fusion weight %.1f from %d held-out queries: %s", best, used, curve)
    return {"weight": best, "curve": curve, "queries": used}
