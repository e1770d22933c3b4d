"""Collection options from ``settings.qdrant`` reach the engines' requests; the background build.

Local mode and the edge shard accept cluster and quantization options without acting on all of
them (local mode is one exact shard), so these tests read the requests the engines build and the
config an edge shard stores; the results stay the conformance suite's job (tests/retrieval/
test_index.py runs it with and without these options).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.records import SearchFilters
from core.settings import Settings
from retrieval.index import Index
from retrieval.index.chunks import COMPANY_YEAR
from retrieval.index.requests import BM25, TEXT, Probe, Schema
from tests.retrieval.index_conformance import (
    DIM,
    ENCODER,
    bow,
    make_chunks,
    settings_for,
    write,
)

CLUSTER = {
    "shard_number": 6,
    "replication_factor": 2,
    "write_consistency_factor": 2,
    "on_disk_vectors": True,
    "on_disk_payload": True,
    "hnsw_m": 32,
    "hnsw_ef_construct": 200,
    "hnsw_ef": 96,
    "oversampling": 3.0,
    "max_segment_size_kb": 300_000,
}


def test_settings_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("FINRAG_QDRANT__SHARD_NUMBER", "4")
    monkeypatch.setenv("FINRAG_QDRANT__QUANTIZATION", "none")
    q = Settings().qdrant
    assert (q.shard_number, q.quantization) == (4, "none")


def test_server_create_request_carries_cluster_and_quantization(tmp_path: Path) -> None:
    with Index(settings_for("local", tmp_path, **CLUSTER)) as index:
        calls: list[dict[str, Any]] = []
        client = index._engine._client
        real = client.create_collection
        client.create_collection = lambda **kw: calls.append(kw) or real(**kw)
        index.ensure_collection(text_dim=DIM)
        (request,) = calls
    assert request["shard_number"] == 6
    assert request["replication_factor"] == 2
    assert request["write_consistency_factor"] == 2
    assert request["on_disk_payload"] is True
    text = request["vectors_config"][TEXT]
    assert (text.size, text.on_disk) == (DIM, True)
    assert request["sparse_vectors_config"][BM25].modifier.value == "idf"
    hnsw = request["hnsw_config"]
    assert (hnsw.m, hnsw.ef_construct, hnsw.payload_m) == (32, 200, 0)
    scalar = request["quantization_config"].scalar
    assert (scalar.type.value, scalar.quantile, scalar.always_ram) == ("int8", 0.99, True)
    optimizers = request["optimizers_config"]
    assert (optimizers.indexing_threshold, optimizers.max_segment_size) == (20_000, 300_000)


def test_no_quantization_when_asked(tmp_path: Path) -> None:
    with Index(settings_for("local", tmp_path, quantization="none")) as index:
        engine = index._engine
        assert engine.create_request(Schema({TEXT: 8}, (), {}))["quantization_config"] is None
        assert engine.search_params().quantization is None


def test_server_search_params_reach_dense_probes_only(tmp_path: Path) -> None:
    with Index(settings_for("local", tmp_path, **CLUSTER)) as index:
        index.ensure_collection(text_dim=DIM)
        write(index, make_chunks("acme"))
        calls: list[dict[str, Any]] = []
        client = index._engine._client
        real = client.query_points
        client.query_points = lambda *a, **kw: calls.append(kw) or real(*a, **kw)
        q = "Acme revenue"
        hits = index.search(
            dense=bow(q),
            sparse=ENCODER.encode_query(q),
            filters=SearchFilters(),
            acl_groups=["public"],
        )
        index.search(
            dense=bow(q), sparse=None, filters=SearchFilters(), acl_groups=["public"], limit=3
        )
    assert hits and hits[0].chunk.company == "Acme Corp"
    hybrid, single = calls
    dense, sparse = hybrid["prefetch"]
    assert dense.params.hnsw_ef == 96
    assert (dense.params.quantization.rescore, dense.params.quantization.oversampling) == (
        True,
        3.0,
    )
    assert sparse.params is None
    assert single["search_params"].quantization.oversampling == 3.0


def test_edge_shard_stores_the_options(tmp_path: Path) -> None:
    with Index(settings_for("edge", tmp_path, **CLUSTER)) as index:
        index.ensure_collection(text_dim=DIM)
        params = index._engine.search_params()
        location = Path(index.location)
    assert (params.hnsw_ef, params.quantization.rescore, params.quantization.oversampling) == (
        96,
        True,
        3.0,
    )
    stored = json.loads((location / "edge_config.json").read_text())
    text = stored["vectors"][TEXT]
    assert text["on_disk"] is True
    assert "int8" in json.dumps(text["quantization_config"]).lower()
    assert stored["hnsw_config"]["m"] == 32
    assert stored["hnsw_config"]["ef_construct"] == 200
    assert stored["optimizers"]["max_segment_size"] == 300_000


def test_segment_size_cap_defaults_to_a_fixed_size_or_the_engines_own(tmp_path: Path) -> None:
    # 512 MB whatever the machine's CPU count (Qdrant's own default is 256 MB per CPU)
    assert Settings().qdrant.max_segment_size_kb == 512_000
    with Index(settings_for("edge", tmp_path, max_segment_size_kb=None)) as index:
        index.ensure_collection(text_dim=DIM)
        stored = json.loads((Path(index.location) / "edge_config.json").read_text())
    assert stored["optimizers"]["max_segment_size"] is None


# -- background build -------------------------------------------------------------------------


def _bulk(index: Index, n_docs: int, tag: str) -> list[str]:
    """``n_docs`` copies of the acme filing (distinct doc ids), ready; returns the doc ids."""
    doc_ids = []
    for i in range(n_docs):
        chunks = make_chunks("acme", suffix=f" {tag}{i}")
        write(index, chunks)
        doc_ids.append(chunks[0].doc_id)
    return doc_ids


def _probe(index: Index, text: str) -> list[str]:
    """Top texts for ``text`` by BM25 (its unique suffix decides) after a hybrid search answers.

    The copies differ only in their suffix, so dense ranks among them are arbitrary; the hybrid
    query must still answer, and the sparse one must put the copy itself first.
    """
    flt = SearchFilters(companies=["Acme Corp"])
    hybrid = index.search(
        dense=bow(text), sparse=ENCODER.encode_query(text), filters=flt, acl_groups=["public"]
    )
    assert len(hybrid) == 10
    hits = index.search(
        dense=None, sparse=ENCODER.encode_query(text), filters=flt, acl_groups=["public"], limit=3
    )
    return [h.chunk.text for h in hits]


@pytest.mark.parametrize("engine", ["edge", "local"])
def test_background_build_keeps_answering_and_loses_nothing(engine: str, tmp_path: Path) -> None:
    options = {"index_threshold": 200, "indexing_threshold_kb": 1, "full_scan_threshold_kb": 1}
    index = Index(settings_for(engine, tmp_path, **options))
    index.ensure_collection(text_dim=DIM)
    first = _bulk(index, 60, "first")  # 240 points
    started = index.optimize_if_due()
    assert started == (engine == "edge")  # a server (local mode) indexes on its own
    assert not index.optimize_if_due()  # one build at a time
    # Meanwhile: searches answer correctly, and writes (new, replaced, deleted) land.
    answered = 0
    later: list[str] = []
    while index.optimizing or answered < 3:
        target = make_chunks("acme", suffix=f" first{answered % 60}")[0].text
        assert _probe(index, target)[0] == target
        if answered < 200:  # writes during the build; queries go on until it ends
            later += _bulk(index, 1, f"later{answered}-")
        answered += 1
    write(index, make_chunks("acme", suffix=" first0"))  # the same chunks again: no duplicates
    index.delete_doc(first[1])
    index.wait_optimized()
    assert index._engine.build_error is None if engine == "edge" else True
    expected = (60 - 1 + len(later)) * 4
    assert index.count() == expected
    assert index.count(SearchFilters(doc_ids=[first[0]])) == 4
    assert index.count(SearchFilters(doc_ids=[first[1]])) == 0
    last = make_chunks("acme", suffix=f" later{len(later) - 1}-0")[0].text  # _bulk adds its i
    assert _probe(index, last)[0] == last
    if engine == "edge":
        # the first batch went into a graph; what came during the build awaits the next one
        assert index._engine.unindexed() <= (len(later) + 1) * 4
        assert not Path(index.location + ".build").exists()
    index.close()
    with Index(settings_for(engine, tmp_path, **options)) as reopened:  # and it persisted
        assert reopened.count() == expected


def test_a_failed_build_leaves_the_index_as_it_was(tmp_path: Path, monkeypatch) -> None:
    import retrieval.index.edge as edge

    options = {"index_threshold": 10, "indexing_threshold_kb": 1}
    with Index(settings_for("edge", tmp_path, **options)) as index:
        index.ensure_collection(text_dim=DIM)
        _bulk(index, 5, "x")
        failing = [sys.executable, "-c", "raise SystemExit('no build today')"]
        monkeypatch.setattr(edge, "_build_command", lambda path: failing)
        assert index.optimize_if_due()
        _bulk(index, 1, "y")
        index.wait_optimized()
        assert "index build failed" in (index._engine.build_error or "")
        assert index.count() == 24
        assert not Path(index.location + ".build").exists()


def test_unindexed_counts_points_awaiting_a_graph(tmp_path: Path) -> None:
    with Index(settings_for("edge", tmp_path, indexing_threshold_kb=1)) as index:
        index.ensure_collection(text_dim=DIM)
        _bulk(index, 10, "u")
        assert index._engine.unindexed() == 40
        index.optimize()
        assert index._engine.unindexed() < 40


def test_probe_type_is_the_engines_input() -> None:
    # guards the dense/sparse split the engines use for search params
    assert isinstance(Probe(TEXT, bow("x").tolist()).vector, list)
    assert np.asarray(bow("x")).shape == (DIM,)


@pytest.mark.parametrize("engine", ["edge", "local"])
def test_exact_search_agrees_on_a_small_corpus(engine: str, tmp_path: Path) -> None:
    with Index(settings_for(engine, tmp_path)) as index:
        index.ensure_collection(text_dim=DIM)
        write(index, make_chunks("acme") + make_chunks("globex"))
        args = {"dense": bow("Globex revenue"), "sparse": None, "filters": SearchFilters()}
        normal = index.search(**args, acl_groups=["public"])
        exact = index.search(**args, acl_groups=["public"], exact=True)
    assert [h.chunk.chunk_id for h in normal] == [h.chunk.chunk_id for h in exact]


def test_company_year_is_a_tenant_index_on_both_engines(tmp_path: Path) -> None:
    """Qdrant groups a tenant index's values in storage when it builds a segment."""
    with Index(settings_for("local", tmp_path)) as index:
        calls: dict[str, Any] = {}
        client = index._engine._client
        real = client.create_payload_index

        def spy(collection: str, field: str, **kw: Any) -> Any:
            calls[field] = kw["field_schema"]
            return real(collection, field, **kw)

        client.create_payload_index = spy
        index.ensure_collection(text_dim=DIM)
    tenant = calls[COMPANY_YEAR]
    assert tenant.is_tenant is True and tenant.type.value == "keyword"
    with Index(settings_for("edge", tmp_path)) as index:
        index.ensure_collection(text_dim=DIM)
        stored = index._engine._shard.info().payload_schema
    assert stored[COMPANY_YEAR].params.is_tenant is True
    assert stored["company"].params is None or not stored["company"].params.is_tenant


def test_company_and_year_filter_after_a_build(tmp_path: Path) -> None:
    """A build reorders the points by their company_year; the pair filter finds the same ones."""
    with Index(settings_for("edge", tmp_path, indexing_threshold_kb=1)) as index:
        index.ensure_collection(text_dim=DIM)
        _bulk(index, 10, "u")
        write(index, make_chunks("globex") + make_chunks("initech"))
        pairs = SearchFilters(companies=["Acme Corp", "Initech"], fiscal_years=[2022])
        before = index.count(pairs)
        index.optimize()
        assert index._engine.unindexed() < before
        assert index.count(pairs) == before == 40 + len(make_chunks("initech"))
        hits = index.search(
            dense=bow("revenue"), sparse=None, filters=pairs, acl_groups=["public", "finance"]
        )
        assert {h.chunk.company for h in hits} == {"Acme Corp", "Initech"}
