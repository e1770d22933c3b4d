"""Smoke benchmark of the Qwen3-VL backends on whatever device is there (CUDA if visible).

What it prints (one block per stage, plus a JSON line at the end):

* embedder: load seconds, page images embedded per second (pages rendered from a generated PDF
  with PyMuPDF at ``--dpi``), queries per second;
* pointwise reranker: (question, page image) pairs scored per second;
* listwise reranker (only when ``FINRAG_GPU_CHECK_LISTWISE`` is set): seconds per window;
* a ViDoRe-style sanity check: every generated page answers one question; we report how often
  the page's own question ranks it first among all pages, by embedding similarity and by
  reranker score. A real checkpoint should be near 1.0; the tiny random model is at chance
  (1 / pages) and only proves the code runs;
* peak GPU memory (``torch.cuda.max_memory_allocated``) when on CUDA.

Models come from environment variables (a local folder or an id in the local HF cache); when a
variable is unset the tiny random Qwen3-VL from ``tests/fixtures/tiny_qwen.py`` is built on the fly:

    FINRAG_GPU_CHECK_EMBEDDER   e.g. /models/Qwen3-VL-Embedding-2B
    FINRAG_GPU_CHECK_RERANKER   e.g. /models/Qwen3-VL-Reranker-2B
    FINRAG_GPU_CHECK_LISTWISE   e.g. /models/MM-R5 (optional; skipped when unset)

Run: ``scripts/gpu_check.sh [--pages 16] [--dpi 100] [--batch 8] [--device auto]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Each page states one fact about one fictional company; its question asks for that fact.
FACTS = [
    ("Aldermoor Shipping", "total revenue", "$4.21 billion", "fiscal 2023"),
    ("Brightwell Foods", "net income", "$612 million", "fiscal 2022"),
    ("Castellan Mining", "capital expenditures", "$1.35 billion", "fiscal 2023"),
    ("Dunmore Pharmaceuticals", "research and development expense", "$889 million", "fiscal 2021"),
    ("Everly Telecom", "free cash flow", "$2.07 billion", "fiscal 2023"),
    ("Fairhaven Bank", "net interest income", "$3.48 billion", "fiscal 2022"),
    ("Glenrock Energy", "proved oil reserves", "1.2 billion barrels", "fiscal 2023"),
    ("Hollister Retail", "same-store sales growth", "4.6%", "fiscal 2022"),
    ("Ironbridge Steel", "long-term debt", "$5.9 billion", "fiscal 2021"),
    ("Juniper Health", "operating margin", "18.3%", "fiscal 2023"),
    ("Kestrel Aerospace", "order backlog", "$27.4 billion", "fiscal 2022"),
    ("Larkspur Software", "annual recurring revenue", "$1.12 billion", "fiscal 2023"),
]


def write_pages(folder: Path, count: int, dpi: int) -> tuple[list[str], list[str]]:
    """Render ``count`` one-fact filing pages to PNG; returns (image paths, questions)."""
    import pymupdf

    doc = pymupdf.open()
    questions = []
    for i in range(count):
        company, metric, value, period = FACTS[i % len(FACTS)]
        suffix = f" (segment {i // len(FACTS) + 1})" if i >= len(FACTS) else ""
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 90), f"{company}{suffix}", fontsize=20)
        page.insert_text((72, 120), f"Annual Report on Form 10-K, {period}", fontsize=12)
        body = (
            f"Management's discussion and analysis. For {period}, {company}{suffix} reported "
            f"{metric} of {value}, compared with the prior year. The change reflects pricing, "
            "volumes and foreign exchange. See the consolidated financial statements."
        )
        page.insert_textbox(pymupdf.Rect(72, 150, 540, 400), body, fontsize=11)
        page.insert_text((72, 440), f"{metric.capitalize():<40} {value}", fontsize=11)
        questions.append(f"What was {company}{suffix}'s {metric} in {period}?")
    paths = []
    for number, page in enumerate(doc, start=1):
        path = folder / f"page-{number:03d}.png"
        page.get_pixmap(dpi=dpi).save(str(path))
        paths.append(str(path))
    return paths, questions


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn):
    synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    synchronize()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def top1(scores) -> float:
    """Share of rows whose own column (the diagonal) holds the row's highest score."""
    import numpy as np

    scores = np.asarray(scores)
    return float(np.mean(scores.argmax(axis=1) == np.arange(len(scores))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--listwise-tokens", type=int, default=256)
    args = parser.parse_args()

    import numpy as np
    import torch

    from core.models import resolve_device
    from core.options import (
        ListwiseRerankerOptions,
        Qwen3VLEmbedderOptions,
        Qwen3VLRerankerOptions,
    )
    from core.records import Chunk, Hit
    from rerank.pointwise import Qwen3VLReranker
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    device = resolve_device(args.device)
    tiny = None
    embedder_model = os.environ.get("FINRAG_GPU_CHECK_EMBEDDER")
    reranker_model = os.environ.get("FINRAG_GPU_CHECK_RERANKER")
    if not (embedder_model and reranker_model):
        from tests.fixtures.tiny_qwen import tiny_qwen_path

        tiny = str(tiny_qwen_path())
    report: dict[str, object] = {
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "embedder_model": embedder_model or f"tiny random ({tiny})",
        "reranker_model": reranker_model or f"tiny random ({tiny})",
        "pages": args.pages,
        "dpi": args.dpi,
    }
    print(f"device: {report['device']}  pages: {args.pages} at {args.dpi} dpi  batch: {args.batch}")

    with tempfile.TemporaryDirectory(prefix="finrag-gpu-check-") as tmp:
        pages, questions = write_pages(Path(tmp), args.pages, args.dpi)

        embedder = Qwen3VLEmbedder(
            Qwen3VLEmbedderOptions(
                model=embedder_model or tiny,
                device=str(device),
                batch_size=args.batch,
            )
        )
        _, load_s, _ = timed(embedder.loaded)
        embedder.embed_images(pages[:1])  # warm-up (kernels, allocator)
        page_vectors, wall, cpu = timed(lambda: embedder.embed_images(pages))
        query_vectors, q_wall, _ = timed(
            lambda: np.stack([embedder.embed_query(q) for q in questions])
        )
        visual_tokens = (
            int(embedder.encode([embedder_input(pages[0])])["image_grid_thw"].prod()) // 4
        )
        report["embedder"] = {
            "load_s": round(load_s, 2),
            "pages_per_s": round(len(pages) / wall, 2),
            "page_cpu_s": round(cpu / len(pages), 3),
            "queries_per_s": round(len(questions) / q_wall, 2),
            "visual_tokens_per_page": visual_tokens,
            "dim": int(page_vectors.shape[1]),
            "sanity_top1": top1(query_vectors @ page_vectors.T),
        }
        print("embedder:", json.dumps(report["embedder"]))

        reranker = Qwen3VLReranker(
            Qwen3VLRerankerOptions(
                model=reranker_model or tiny,
                device=str(device),
                batch_size=args.batch,
            )
        )
        _, load_s, _ = timed(reranker.loaded)
        hits = [
            Hit(
                chunk=Chunk(
                    chunk_id=f"p{i}",
                    doc_id="d",
                    page_no=i + 1,
                    modality="page",
                    text="",
                    image_path=p,
                ),
                score=0.0,
                source="fused",
                rank=i + 1,
            )
            for i, p in enumerate(pages)
        ]
        reranker.score(questions[0], hits[:1])  # warm-up
        matrix, wall, cpu = timed(lambda: [reranker.score(q, hits) for q in questions])
        pairs = len(questions) * len(hits)
        report["reranker"] = {
            "load_s": round(load_s, 2),
            "pairs_per_s": round(pairs / wall, 2),
            "pair_cpu_s": round(cpu / pairs, 3),
            "sanity_top1": top1(matrix),
            "own_page_mean_score": round(float(np.mean(np.diag(np.asarray(matrix)))), 4),
            "other_pages_mean_score": round(
                float(np.mean(np.asarray(matrix)[~np.eye(len(hits), dtype=bool)])), 4
            ),
        }
        print("reranker:", json.dumps(report["reranker"]))

        listwise_model = os.environ.get("FINRAG_GPU_CHECK_LISTWISE")
        if listwise_model:
            from rerank.listwise import ListwiseVLReranker

            listwise = ListwiseVLReranker(
                ListwiseRerankerOptions(model=listwise_model, device=str(device), window=5),
                max_new_tokens=args.listwise_tokens,
            )
            _, load_s, _ = timed(listwise.loaded)
            window = hits[:5]
            out, wall, _ = timed(lambda: listwise.rerank(questions[0], list(reversed(window))))
            report["listwise"] = {
                "load_s": round(load_s, 2),
                "window_s": round(wall, 2),
                "parsed_ok": listwise.last_windows[0].ok,
                "own_page_first": out[0].chunk.chunk_id == "p0",
            }
            print("listwise:", json.dumps(report["listwise"]))

    if device.type == "cuda":
        report["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        print(f"peak GPU memory: {report['peak_gpu_memory_gib']} GiB")
    print("RESULT " + json.dumps(report))
    return 0


def embedder_input(path: str):
    from retrieval.embedders.qwen3_vl import EmbedInput

    return EmbedInput(image=path)


if __name__ == "__main__":
    raise SystemExit(main())
