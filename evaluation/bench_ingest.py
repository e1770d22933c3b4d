"""``finrag bench ingest``: end-to-end ingest throughput, per-stage cost, peak memory, re-run cost.

Runs the real pipeline twice on a folder in a fresh temporary data dir (so earlier corpora do not
count): the first run measures pages/s and memory, the second checks that re-ingesting is cheap
and adds no points. Per-stage figures are CPU seconds summed over processes, shown as pages per
CPU-second, so they add up to where the time goes even though stages overlap in wall time.
"""

from __future__ import annotations

import contextlib
import platform
import tempfile
import threading
import time
from pathlib import Path

import psutil

from core.settings import Settings


class _PeakRss:
    """Samples the resident memory of this process and its children (the parse workers)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a worker that just exited
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_ingest(folder: Path, base: Settings) -> dict:
    from ingest.pipeline import Ingestor
    from retrieval.corpus import Corpus

    with tempfile.TemporaryDirectory(prefix="finrag-bench-") as tmp:
        settings = base.model_copy(update={"data_dir": Path(tmp)})
        with Corpus.open(settings) as corpus:
            # Load the embedder before timing: first-use model export/load is not ingest speed.
            t0 = time.perf_counter()
            corpus.embedder.embed_documents(["warm up"])
            warmup = time.perf_counter() - t0
            with _PeakRss() as rss:
                first = Ingestor(corpus).ingest([folder])
            points_after_first = corpus.index.count()
        with Corpus.open(settings) as corpus:  # the same folder again, as a second run would
            second = Ingestor(corpus).ingest([folder])
            points_after_second = corpus.index.count()

    pages = sum(f.pages for f in first.files if f.status in ("ok", "partial"))
    chunks = sum(f.chunks for f in first.files)
    per_stage = {
        name: round(pages / seconds, 1) if seconds > 0 else None
        for name, seconds in sorted(first.stage_seconds.items())
    }
    return {
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "embedder": settings.embedder.name,
        "files": len(first.files),
        "failed": first.count("failed"),
        "pages": pages,
        "chunks": chunks,
        "first_run_s": round(first.seconds, 1),
        "pages_per_s": round(pages / first.seconds, 2) if first.seconds else None,
        "stage_cpu_s": {k: round(v, 1) for k, v in sorted(first.stage_seconds.items())},
        "stage_pages_per_cpu_s": per_stage,
        "peak_rss_gb": round(rss.peak / 2**30, 2),
        "model_warmup_s": round(warmup, 1),
        "rerun_s": round(second.seconds, 2),
        "rerun_fraction": round(second.seconds / first.seconds, 3) if first.seconds else None,
        "points_first": points_after_first,
        "points_added_by_rerun": points_after_second - points_after_first,
    }


def format_bench(result: dict) -> str:
    lines = [f"{k}: {v}" for k, v in result.items() if not isinstance(v, dict)]
    for key in ("stage_cpu_s", "stage_pages_per_cpu_s"):
        lines.append(f"{key}:")
        lines.extend(f"  {stage}: {value}" for stage, value in result[key].items())
    return "\n".join(lines)
