"""Conformance suite for retrieval.index: the same behaviour from every engine.

Every test of :class:`~tests.retrieval.index_conformance.IndexConformance` runs on each embedded
engine (``edge`` = qdrant-edge-py, ``local`` = qdrant-client local mode, whose calls are the ones
a Qdrant server receives): one subclass per engine names it. Tests of one engine only (the edge
WAL) sit on that engine's class; the engine choice from settings is tested here once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.records import SearchFilters
from core.settings import Settings
from retrieval.index import Index
from retrieval.index.chunks import COMPANY_YEAR, _where, company_year
from retrieval.index.collection import engine_name
from retrieval.index.requests import Match
from tests.retrieval.index_conformance import (
    TEXTS,
    IndexConformance,
    make_chunks,
    settings_for,
)

REPO = Path(__file__).resolve().parents[2]


class TestEdgeEngine(IndexConformance):
    @pytest.fixture(scope="class")
    def engine(self) -> str:
        return "edge"

    # local mode's durability is qdrant-client's own, so only edge runs this one
    def test_writes_survive_a_crash(self, engine: str, tmp_path: Path) -> None:
        """A process that dies without close() leaves an index that opens with its writes (WAL)."""
        script = textwrap.dedent(
            f"""
            import os, sys
            sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
            from index_conformance import Index, make_chunks, settings_for, write, DIM
            from pathlib import Path
            index = Index(settings_for({engine!r}, Path({str(tmp_path)!r})))
            index.ensure_collection(text_dim=DIM)
            write(index, make_chunks("acme"), ready=False)
            write(index, make_chunks("globex"))
            os._exit(3)
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 3, proc.stderr
        with Index(settings_for(engine, tmp_path)) as index:
            assert index.count() == len(TEXTS["globex"])
            assert index.doc_point_count(make_chunks("acme")[0].doc_id) == len(TEXTS["acme"])


class TestLocalEngine(IndexConformance):
    @pytest.fixture(scope="class")
    def engine(self) -> str:
        return "local"


# The defaults quantize (int8, rescored); these run the suite exact, and with the cluster options
# a server receives (local mode accepts and ignores them; tests/retrieval/test_index_options.py
# checks the requests carry them).
class TestEdgeEngineExact(IndexConformance):
    QDRANT = {"quantization": "none", "on_disk_vectors": True, "hnsw_payload_m": None}

    @pytest.fixture(scope="class")
    def engine(self) -> str:
        return "edge"


class TestLocalEngineCluster(IndexConformance):
    QDRANT = {
        "shard_number": 4,
        "replication_factor": 2,
        "write_consistency_factor": 2,
        "on_disk_vectors": True,
        "hnsw_ef": 128,
    }

    @pytest.fixture(scope="class")
    def engine(self) -> str:
        return "local"


@pytest.mark.parametrize(
    ("configured", "expected"), [("auto", "edge"), ("edge", "edge"), ("local", "local")]
)
def test_engine_is_the_one_configured(configured: str, expected: str, tmp_path: Path) -> None:
    with Index(settings_for(configured, tmp_path)) as index:
        assert index.engine == expected
        assert Path(index.location).is_relative_to(tmp_path / "qdrant")
    assert Path(index.location).is_relative_to(index.settings.index_dir)


def test_server_is_chosen_by_url(tmp_path: Path) -> None:
    """A url wins over the embedded engine setting; auto is the registry's default, edge."""
    url = "http://qdrant.invalid:6333"
    server = Settings(data_dir=tmp_path, qdrant={"url": url, "engine": "local"})
    assert engine_name(server) == "server"
    assert engine_name(settings_for("auto", tmp_path)) == "edge"


def test_company_and_year_become_pairs() -> None:
    """Every (company, year) pair once, in the filter's order; the other conditions unchanged."""
    filters = SearchFilters(
        companies=["Acme", "Globex", "Acme"], fiscal_years=[2022, 2023], forms=["10-K"]
    )
    assert _where(filters, ["public"], by_pair=True) == [
        Match("ready", True),
        Match("acl", ["public"]),
        Match("form", ["10-K"]),
        Match(COMPANY_YEAR, ["Acme|2022", "Acme|2023", "Globex|2022", "Globex|2023"]),
    ]
    assert Match("company", ["Acme", "Globex", "Acme"]) in _where(filters, None)
    only_years = SearchFilters(fiscal_years=[2022])
    assert _where(only_years, None, by_pair=True) == [
        Match("ready", True),
        Match("fiscal_year", [2022]),
    ]
    assert company_year("A|B", 2022) == "A|B|2022"
