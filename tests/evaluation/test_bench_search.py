"""The search benchmark at a tiny size: every figure the README quotes comes back."""

from __future__ import annotations

from pathlib import Path

from evaluation.bench_search import bench_search


def test_bench_reports_latency_recall_memory_and_disk(tmp_path: Path) -> None:
    result = bench_search(
        n_chunks=1200, n_queries=5, dim=16, data_dir=tmp_path, recall_queries=3, text_pool=50
    )
    assert result["points"] == 1200
    assert result["qdrant"]["quantization"] == "int8"
    assert result["disk_mb"] > 0 and result["peak_rss_mb"] > 0
    for mix in ("broad", "narrow"):
        assert result[mix]["p95_ms"] >= result[mix]["p50_ms"] > 0
    assert result["broad"]["recall@10"] == 1.0  # 1,200 small points: no graph, the search is exact
