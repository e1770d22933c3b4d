"""Benchmark the CPU cross-encoder reranker: latency for N candidates, and training throughput.

Run as ``python -m finetune.bench [--model DIR] [--pdfs DIR] [--layers 4]
[--max-length 128] [--runtime onnx|torch] [--train-steps 20]``. Not a test.

* **Latency**: :func:`run` times ``CrossEncoderReranker.rerank`` on one query and ``candidates``
  chunks of 100-300 words, ``calls`` times after one warm-up call (which also exports the int8
  ONNX graph if the folder has none). It reports wall-clock p50/p95 (``time.perf_counter``) and
  the p50 of this process's CPU seconds (``time.process_time``): on a shared machine, wall time
  much above CPU time / threads means other processes held the cores. Without ``--model`` an
  untrained model with the requested layers and ``max_length`` is built from the packaged MiniLM
  (latency does not depend on the weights' values). Passages come from ``--pdfs`` (PyMuPDF text
  of real filings, never copied anywhere) or are generated.
* **Learned page ranker**: :func:`learned_latency` times ``LearnedPageReranker.rerank`` (page
  features + the booster) on the real retrieval hits of a FinanceBench-format set's questions,
  retrieved once against the set's cached corpus, ``repeats`` times each.
* **Training throughput**: :func:`train_throughput` runs a few steps of the real trainer on
  generated examples and reports (query, passage) pairs per second of step time, and how many
  training queries fit in a 15-minute job at that rate.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from core.options import CrossEncoderOptions
from core.records import Chunk, Hit, TrainingExample

logger = logging.getLogger(__name__)

QUERY = "What was the company's total net revenue in fiscal 2022 and how did it compare to 2021?"
_WORDS = [
    "revenue",
    "net",
    "income",
    "operating",
    "margin",
    "segment",
    "fiscal",
    "quarter",
    "increase",
    "decrease",
    "million",
    "billion",
    "cash",
    "flow",
    "capital",
    "expenditures",
    "dividends",
    "share",
    "repurchase",
    "guidance",
    "customers",
    "pricing",
    "volume",
    "foreign",
    "exchange",
    "impairment",
    "goodwill",
    "inventory",
    "liabilities",
    "debt",
    "interest",
    "tax",
    "rate",
    "effective",
]


def untrained_model(folder: Path, *, num_layers: int, max_length: int) -> Path:
    """A cross-encoder folder from the packaged MiniLM's first layers and a random head."""
    from transformers import AutoTokenizer

    from finetune.trainer import packaged_encoder_dir
    from rerank.cross_encoder import METADATA_FILE, CrossEncoderMetadata, load_classifier

    base = packaged_encoder_dir()
    model = load_classifier(base, num_labels=1, num_hidden_layers=num_layers)
    model.save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(base), local_files_only=True).save_pretrained(str(folder))
    metadata = CrossEncoderMetadata(
        base=str(base),
        stage="bench",
        max_length=max_length,
        num_layers=num_layers,
        created_at=datetime.now(UTC),
    )
    (folder / METADATA_FILE).write_text(metadata.model_dump_json(indent=2))
    return folder


def passages(count: int, *, pdfs: Path | None = None, seed: int = 0) -> list[str]:
    """``count`` passages of 100-300 words: windows of real filings' text, or generated."""
    rng = random.Random(seed)
    if pdfs is not None:
        import fitz

        words: list[str] = []
        for pdf in sorted(Path(pdfs).glob("*.pdf")):
            with fitz.open(pdf) as document:
                for page in document:
                    words += page.get_text().split()
            if len(words) > count * 400:
                break
        out, position = [], 0
        while len(out) < count and position < len(words):
            size = rng.randint(100, 300)
            out.append(" ".join(words[position : position + size]))
            position += size
        if len(out) == count:
            return out
        logger.warning("only %d passages in %s; generating the rest", len(out), pdfs)
        return out + passages(count - len(out), seed=seed + 1)
    return [
        " ".join(
            rng.choice(_WORDS) if rng.random() > 0.15 else f"${rng.randint(1, 9999)}"
            for _ in range(rng.randint(100, 300))
        )
        for _ in range(count)
    ]


def run(
    model: str | Path | None = None,
    *,
    candidates: int = 30,
    calls: int = 20,
    runtime: str = "onnx",
    threads: int | None = None,
    num_layers: int = 3,
    max_length: int = 128,
    pdfs: Path | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Latency of reranking ``candidates`` passages for one query.

    Returns:
        ``{"p50_ms", "p95_ms", "cpu_p50_ms", "calls", "candidates", "runtime", "max_length",
        "num_layers", "model"}``.
    """
    from rerank.cross_encoder import CrossEncoderReranker

    with tempfile.TemporaryDirectory(prefix="finrag-bench-rerank-") as tmp:
        folder = (
            Path(model)
            if model
            else untrained_model(Path(tmp) / "model", num_layers=num_layers, max_length=max_length)
        )
        reranker = CrossEncoderReranker(
            CrossEncoderOptions(model=str(folder), batch_size=batch_size),
            runtime=runtime,  # type: ignore[arg-type]
            threads=threads,
        )
        hits = [
            Hit(
                chunk=Chunk(chunk_id=f"c{i}", doc_id="d", page_no=1, modality="text", text=text),
                score=0.0,
                source="fused",
                rank=i + 1,
            )
            for i, text in enumerate(passages(candidates, pdfs=pdfs))
        ]
        reranker.rerank(QUERY, hits)  # warm-up: load, export once
        walls, cpus = _time_calls([lambda: reranker.rerank(QUERY, hits)] * calls)
        return {
            **_latency(walls, cpus, digits=1),
            "calls": calls,
            "candidates": candidates,
            "runtime": runtime,
            "max_length": reranker.metadata.max_length,
            "num_layers": reranker.metadata.num_layers,
            "model": str(model) if model else "untrained (packaged MiniLM layers)",
        }


def _time_calls(calls: list[Callable[[], object]]) -> tuple[list[float], list[float]]:
    """Each call's wall seconds (sorted) and this process's CPU seconds."""
    walls, cpus = [], []
    for call in calls:
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return sorted(walls), cpus


def _latency(walls: list[float], cpus: list[float], *, digits: int) -> dict[str, float]:
    """p50 / p95 wall and p50 CPU milliseconds of :func:`_time_calls`' result."""
    return {
        "p50_ms": round(1000 * statistics.median(walls), digits),
        "p95_ms": round(1000 * walls[min(len(walls) - 1, int(0.95 * len(walls)))], digits),
        "cpu_p50_ms": round(1000 * statistics.median(cpus), digits),
    }


def learned_latency(
    model: Path, settings: Any, set_dir: Path, *, repeats: int = 5
) -> dict[str, Any]:
    """Per-question latency of a learned page ranker on a set's real retrieval hits."""
    from core.options import LearnedRerankerOptions
    from evaluation.run_retrieval import corpus_settings, ensure_ingested
    from evaluation.sets import load_set
    from rerank.learned import LearnedPageReranker
    from retrieval.corpus import Corpus
    from retrieval.retriever import Retriever

    reranker = LearnedPageReranker(LearnedRerankerOptions(model=str(model)))
    eval_set = load_set(Path(set_dir))
    with Corpus.open(corpus_settings(settings, eval_set)) as corpus:
        ensure_ingested(eval_set, corpus)
        retriever = Retriever(corpus)
        results = [
            (q.question, retriever.retrieve(q.question, acl_groups=corpus.settings.default_acl))
            for q in eval_set.questions
        ]
    reranker.rerank(results[0][0], results[0][1].hits)  # warm-up
    walls, cpus = _time_calls(
        [partial(reranker.rerank, q, r.hits) for _ in range(repeats) for q, r in results]
    )
    return {
        **_latency(walls, cpus, digits=2),
        "max_ms": round(1000 * walls[-1], 2),
        "questions": len(results),
        "hits_p50": statistics.median(len(r.hits) for _, r in results),
        "calls": len(walls),
        "model": str(model),
    }


def train_throughput(
    *,
    steps: int = 20,
    num_layers: int = 3,
    max_length: int = 128,
    batch_size: int = 8,
    negatives: int = 7,
    threads: int | None = None,
) -> dict[str, Any]:
    """Pairs per second of the real trainer on generated 100-300-word passages."""
    from finetune.trainer import FinetuneConfig, train_cross_encoder

    texts = passages(batch_size * steps * (negatives + 1), seed=1)
    examples = [
        TrainingExample(
            example_id=f"b{i}",
            query=QUERY,
            positive=texts[i * (negatives + 1)],
            positive_id=f"c{i}",
            negatives=texts[i * (negatives + 1) + 1 : (i + 1) * (negatives + 1)],
            source="synthetic-sentence",
        )
        for i in range(batch_size * steps)
    ]
    with tempfile.TemporaryDirectory(prefix="finrag-bench-train-") as tmp:
        config = FinetuneConfig(
            out=Path(tmp),
            num_layers=num_layers,
            max_length=max_length,
            batch_size=batch_size,
            negatives_per_query=negatives,
            epochs=1,
            max_steps=steps,
            checkpoint_every=10_000,
            export_onnx=False,
            threads=threads,
            max_minutes=None,
        )
        started, cpu = time.perf_counter(), time.process_time()
        report = train_cross_encoder(config, examples, [])
        wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    pairs_per_s = report.pairs_per_second
    return {
        "pairs_per_second": pairs_per_s,
        "pairs": report.pairs_seen,
        "job_wall_s": round(wall, 1),
        "job_cpu_s": round(cpu_s, 1),
        "queries_in_15_min": int(pairs_per_s * 14 * 60 / (negatives + 1)),
        "num_layers": num_layers,
        "max_length": max_length,
        "pairs_per_query": negatives + 1,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--pdfs", type=Path)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--runtime", choices=["onnx", "torch"], default="onnx")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--train-steps", type=int, default=0)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "latency": run(
            args.model,
            calls=args.calls,
            runtime=args.runtime,
            threads=args.threads,
            num_layers=args.layers,
            max_length=args.max_length,
            pdfs=args.pdfs,
        )
    }
    if args.train_steps:
        result["training"] = train_throughput(
            steps=args.train_steps,
            num_layers=args.layers,
            max_length=args.max_length,
            threads=args.threads,
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
