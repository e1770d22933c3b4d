"""Throughput check of the Qwen3-VL backends on whatever device is there (CUDA if visible).

Needs only what a GPU image has (torch, torchvision, transformers, Pillow, numpy) plus the project:
no PyMuPDF, no pytest. Pages are the PNGs of ``--pages-dir`` or, when none is given, synthetic
filing pages drawn with PIL (one fact each, letter size at ``--dpi``).

It prints one table (stage, figure, value, peak GPU memory of that stage; the peak is reset before
each stage with ``torch.cuda.reset_peak_memory_stats``) and a JSON line starting ``RESULT``:

* embedder: page images per second at batch 32, 8 and 1; queries per second one by one and batched;
* pointwise reranker: (question, page) pairs per second at batch ``--pair-batch`` (16), all
  questions against all pages in one ``score_many`` call (each page decoded once);
* listwise reranker: prefill seconds for one window of 5 pages (``max_new_tokens=1``) and
  milliseconds per decoded token (``--listwise-tokens`` forced tokens, prefill subtracted);
* a sanity figure: how often a page's own question ranks it first (a real checkpoint should be
  near 1.0; the tiny random model is at chance and only proves the code runs).

On CPU, or with the tiny random model, every line says "cpu, tiny model: not a GPU figure".

Models come from environment variables (a local folder or an id in the local HF cache); when one is
unset the tiny random Qwen3-VL of ``tests/fixtures/tiny_qwen.py`` is built on the fly:

    FINRAG_GPU_CHECK_EMBEDDER   e.g. /models/Qwen3-VL-Embedding-2B
    FINRAG_GPU_CHECK_RERANKER   e.g. /models/Qwen3-VL-Reranker-2B
    FINRAG_GPU_CHECK_LISTWISE   e.g. /models/MM-R5

Run: ``scripts/gpu_check.sh [--pages-dir renders/] [--pages 32] [--dpi 100] [--device auto]``.
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
NOT_GPU = "cpu, tiny model: not a GPU figure"


def fact(i: int) -> tuple[str, str, str, str]:
    company, metric, value, period = FACTS[i % len(FACTS)]
    if i >= len(FACTS):
        company += f" (segment {i // len(FACTS) + 1})"
    return company, metric, value, period


def question(i: int) -> str:
    company, metric, _, period = fact(i)
    return f"What was {company}'s {metric} in {period}?"


def write_pages(folder: Path, count: int, dpi: int) -> list[str]:
    """``count`` synthetic one-fact filing pages (letter size at ``dpi``) drawn with PIL."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(8.5 * dpi), int(11 * dpi)
    font = ImageFont.load_default(size=max(8, dpi // 7))
    paths = []
    for i in range(count):
        company, metric, value, period = fact(i)
        page = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(page)
        lines = [
            company,
            f"Annual Report on Form 10-K, {period}",
            "Management's discussion and analysis.",
            f"For {period}, {company} reported {metric} of {value}.",
            f"{metric.capitalize()}: {value}",
        ]
        for row, line in enumerate(lines):
            draw.text((dpi, dpi + row * dpi // 3), line, fill="black", font=font)
        path = folder / f"page-{i + 1:03d}.png"
        page.save(path)
        paths.append(str(path))
    return paths


def read_pages(folder: Path) -> list[str]:
    paths = sorted(str(p) for p in folder.glob("*.png"))
    if not paths:
        raise SystemExit(f"no .png files in {folder}")
    return paths


class Stages:
    """Timed stages, each with its own peak GPU memory, printed as one table."""

    def __init__(self, device, tiny: bool) -> None:
        self.device = device
        self.note = NOT_GPU if device.type != "cuda" or tiny else ""
        self.rows: list[tuple[str, str, float, float | None]] = []

    def synchronize(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def run(self, fn):
        """(result, wall seconds, peak GiB or None) of ``fn`` after a peak reset."""
        import torch

        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        self.synchronize()
        start = time.perf_counter()
        result = fn()
        self.synchronize()
        wall = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() / 2**30 if self.device.type == "cuda" else None
        return result, wall, peak

    def add(self, stage: str, figure: str, value: float, peak: float | None) -> None:
        self.rows.append((stage, figure, value, peak))

    def table(self) -> str:
        head = ("stage", "figure", "value", "peak GiB", "note")
        body = [
            (s, f, f"{v:.3f}", "-" if p is None else f"{p:.2f}", self.note)
            for s, f, v, p in self.rows
        ]
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head]]
        lines.append("-+-".join("-" * w for w in widths))
        lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
        return "\n".join(lines)


def wall_s(run: tuple) -> float:
    return run[1]


def top1(scores) -> float:
    """Share of rows whose own column (the diagonal) holds the row's highest score."""
    import numpy as np

    scores = np.asarray(scores)
    return float(np.mean(scores.argmax(axis=1) == np.arange(len(scores))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages-dir", type=Path, help="rendered pages (*.png); default synthetic")
    parser.add_argument("--pages", type=int, default=32, help="synthetic pages to draw")
    parser.add_argument("--dpi", type=int, default=100, help="synthetic page resolution")
    parser.add_argument("--queries", type=int, default=8)
    parser.add_argument("--batches", default="32,8,1", help="embedder batch sizes")
    parser.add_argument("--pair-batch", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--listwise-tokens", type=int, default=64)
    args = parser.parse_args()

    import torch

    from core.models import canonical_device, encode_chats
    from core.options import (
        ListwiseRerankerOptions,
        Qwen3VLEmbedderOptions,
        Qwen3VLRerankerOptions,
    )
    from core.records import Chunk, Hit
    from rerank.listwise import ListwiseVLReranker
    from rerank.pointwise import Qwen3VLReranker
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    device = torch.device(canonical_device(args.device))
    models = {
        key: os.environ.get(f"FINRAG_GPU_CHECK_{key.upper()}")
        for key in ("embedder", "reranker", "listwise")
    }
    tiny = None
    if not all(models.values()):
        from tests.fixtures.tiny_qwen import tiny_qwen_path

        tiny = str(tiny_qwen_path())
    stages = Stages(device, tiny is not None)
    report: dict[str, object] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "models": {k: v or f"tiny random ({tiny})" for k, v in models.items()},
    }

    with tempfile.TemporaryDirectory(prefix="finrag-gpu-check-") as tmp:
        if args.pages_dir:
            pages = read_pages(args.pages_dir)
        else:
            pages = write_pages(Path(tmp), args.pages, args.dpi)
        questions = [question(i) for i in range(min(args.queries, len(pages)))]
        print(f"device: {report['device']}  pages: {len(pages)}  queries: {len(questions)}")

        # -- embedder ----------------------------------------------------------------------
        embedder = Qwen3VLEmbedder(
            Qwen3VLEmbedderOptions(model=models["embedder"] or tiny, device=str(device))
        )
        _, load_s, peak = stages.run(embedder.loaded)
        stages.add("embedder", "load s", load_s, peak)
        embedder.embed_images(pages[:1])  # warm-up (kernels, allocator)
        emb: dict[str, object] = {"load_s": round(load_s, 2), "attention": embedder.attention}
        page_vectors = None
        for batch in [int(b) for b in args.batches.split(",")]:
            embedder.settings.batch_size = batch
            page_vectors, wall, peak = stages.run(lambda: embedder.embed_images(pages))
            stages.add("embedder", f"pages/s at batch {batch}", len(pages) / wall, peak)
            emb[f"pages_per_s_batch_{batch}"] = round(len(pages) / wall, 2)
        emb["pages_per_s"] = emb[f"pages_per_s_batch_{args.batches.split(',')[0]}"]
        _, wall, peak = stages.run(lambda: [embedder.embed_query(q) for q in questions])
        stages.add("embedder", "queries/s one by one", len(questions) / wall, peak)
        emb["queries_per_s_single"] = round(len(questions) / wall, 2)
        query_vectors, wall, peak = stages.run(lambda: embedder.embed_queries(questions))
        stages.add("embedder", "queries/s batched", len(questions) / wall, peak)
        emb["queries_per_s_batched"] = round(len(questions) / wall, 2)
        emb["sanity_top1"] = top1(query_vectors @ page_vectors[: len(questions)].T)
        report["embedder"] = emb

        # -- pointwise reranker --------------------------------------------------------------
        reranker = Qwen3VLReranker(
            Qwen3VLRerankerOptions(
                model=models["reranker"] or tiny, device=str(device), batch_size=args.pair_batch
            )
        )
        _, load_s, peak = stages.run(reranker.loaded)
        stages.add("pointwise", "load s", load_s, peak)
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
            for i, p in enumerate(pages[: len(questions)])
        ]
        reranker.score(questions[0], hits[:1])  # warm-up
        matrix, wall, peak = stages.run(lambda: reranker.score_many(questions, hits))
        pairs = len(questions) * len(hits)
        stages.add("pointwise", f"pairs/s at batch {args.pair_batch}", pairs / wall, peak)
        report["reranker"] = {
            "load_s": round(load_s, 2),
            "attention": reranker.attention,
            "pairs_per_s": round(pairs / wall, 2),
            "sanity_top1": top1(matrix),
        }

        # -- listwise reranker: prefill and per-token decode ---------------------------------
        listwise = ListwiseVLReranker(
            ListwiseRerankerOptions(model=models["listwise"] or tiny, device=str(device), window=5)
        )
        _, load_s, peak = stages.run(listwise.loaded)
        stages.add("listwise", "load s", load_s, peak)
        loaded = listwise.loaded()
        window = [
            h.model_copy(update={"chunk": h.chunk.model_copy(update={"image_path": p})})
            for h, p in zip((hits * 5)[:5], (pages * 5)[:5], strict=True)
        ]
        chat = listwise.messages(questions[0], window)
        images = [item["image"] for item in chat[1]["content"] if item["type"] == "image"]
        encoded = encode_chats(
            loaded, [chat], [images], min_pixels=listwise.min_pixels, max_pixels=listwise.max_pixels
        )

        def generate(tokens: int):
            with torch.inference_mode():
                return loaded.model.generate(
                    **encoded,
                    do_sample=False,
                    use_cache=True,
                    max_new_tokens=tokens,
                    min_new_tokens=tokens,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                )

        generate(2)  # warm-up
        # best of 3: the decode figure is a difference of two timings, so noise would dominate it
        _, prefill, peak = min((stages.run(lambda: generate(1)) for _ in range(3)), key=wall_s)
        stages.add("listwise", "prefill s per 5-page window", prefill, peak)
        n = max(2, args.listwise_tokens)
        _, wall, peak = min((stages.run(lambda: generate(n)) for _ in range(3)), key=wall_s)
        decode_ms = 1000 * max(0.0, wall - prefill) / (n - 1)
        stages.add("listwise", "decode ms per token", decode_ms, peak)
        report["listwise"] = {
            "load_s": round(load_s, 2),
            "attention": listwise.attention,
            "prompt_tokens": int(encoded["input_ids"].shape[1]),
            "prefill_s": round(prefill, 4),
            "decode_ms_per_token": round(decode_ms, 2),
        }

    if device.type == "cuda":
        report["peak_gpu_memory_gib"] = round(max(p or 0 for *_, p in stages.rows), 2)
    report["note"] = stages.note
    print(stages.table())
    print("RESULT " + json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
