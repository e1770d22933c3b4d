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
    assert result["memory"]["max_uss_mb"] > 0 and result["memory"]["max_anon_mb"] > 0
    assert result["segments"] >= 1


def test_bench_builds_while_loading(tmp_path: Path) -> None:
    # 1,200 points of 16 floats built every 500 (and once at the end): the load never holds more
    # than that many unindexed points, like an ingest; the default is one capped segment's worth
    result = bench_search(
        n_chunks=1200,
        n_queries=3,
        dim=16,
        data_dir=tmp_path,
        recall_queries=0,
        text_pool=50,
        build_every=500,
    )
    assert result["builds"] == 3 and result["points"] == 1200
    default = bench_search(
        n_chunks=100, n_queries=1, dim=16, data_dir=tmp_path, recall_queries=0, text_pool=10
    )
    assert default["build_every"] == 512_000 * 1024 // (16 * 4)
