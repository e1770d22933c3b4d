"""The Ray executor against the local one: same points, payloads, search results and catalog.

One Ray instance (2 CPUs on 127.0.0.1, no dashboard) serves the module; its workers run a setup
hook (``tests.fixtures.ray_hooks``) that kills the worker parsing one file on its first try, so
the batch shows a retried task landing exactly as a local parse does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import IngestError
from core.records import SearchFilters
from core.settings import Settings
from retrieval.corpus import Corpus
from tests.fixtures.corpora import ingest_into

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'finrag[cluster]')")

ROOT = Path(__file__).resolve().parents[2]
CRASH_FILE = "northwind_2024q2_10q.pdf"
ALWAYS_CRASHES = "crashes-every-worker.pdf"
QUERIES = ["Northwind total revenue 2023", "Contoso operating income", "net cash from operations"]


def _settings(data_dir: Path, model_cache: Path, executor: str) -> Settings:
    settings = Settings(data_dir=data_dir, model_cache=model_cache)
    settings.ingest.executor = executor  # type: ignore[assignment]
    settings.ingest.workers = 2
    return settings


@pytest.fixture(scope="module")
def batch(sample_folder, tmp_path_factory) -> Path:
    """The sample filings and a corrupt PDF."""
    folder = tmp_path_factory.mktemp("batch")
    shutil.copytree(sample_folder, folder, dirs_exist_ok=True)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    return folder


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    marker = tmp_path_factory.mktemp("crash") / "crashed"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_CONFIG", str(marker.parent / "absent.toml"))
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={
                "env_vars": {
                    "PYTHONPATH": str(ROOT),
                    "FINRAG_TEST_CRASH_FILE": CRASH_FILE,
                    "FINRAG_TEST_CRASH_MARKER": str(marker),
                    "FINRAG_TEST_CRASH_ALWAYS": ALWAYS_CRASHES,
                },
                "worker_process_setup_hook": "tests.fixtures.ray_hooks.crash_once",
            },
        )
        yield marker
        ray.shutdown()


@pytest.fixture(scope="module")
def corpora(ray_cluster, batch, model_cache, tmp_path_factory):
    """(local settings, local report), (ray settings, ray report) for the same batch."""
    base = tmp_path_factory.mktemp("corpora")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_CONFIG", str(base / "absent.toml"))
        local = _settings(base / "local", model_cache, "local")
        on_ray = _settings(base / "ray", model_cache, "ray")
        return (local, ingest_into([batch], local)), (on_ray, ingest_into([batch], on_ray))


def _points(settings: Settings) -> list[dict]:
    with Corpus.open(settings) as corpus:
        chunks = corpus.index.scroll_chunks()
    data_dir = str(settings.data_dir)
    return [
        {"point_id": c.point_id, **c.model_dump(mode="json")}
        | {"image_path": (c.image_path or "").replace(data_dir, "DATA")}
        for c in chunks
    ]


def _scores(corpus: Corpus, text: str) -> list[list[float]]:
    """The scores of the dense and the BM25 top 8, each vector searched on its own.

    Scores, not chunk ids or passages: the dense model reads a chunk's first 96 tokens, and the
    samples' boilerplate passages share those, so different chunks score exactly alike; the index
    orders equal scores by write order, which follows the order files finish. Which of the tied
    chunks comes back (and, in the fused ranking, even the fused scores) then differs between any
    two runs whose files finish in another order, 1 vs 2 local workers too. Points and payloads are
    compared exactly by the test above.
    """
    out = []
    for dense, sparse in (
        (corpus.embedder.embed_query(text), None),
        (None, corpus.sparse.encode_query(text)),
    ):
        hits = corpus.index.search(
            dense=dense, sparse=sparse, filters=SearchFilters(), acl_groups=["public"], limit=8
        )
        out.append(sorted(round(h.score, 5) for h in hits))
    return out


def test_ray_batch_matches_local_points_and_payloads(corpora):
    (local, _), (on_ray, _) = corpora
    a, b = _points(local), _points(on_ray)
    assert len(a) > 0
    assert [p["point_id"] for p in a] == [p["point_id"] for p in b]
    assert a == b


def test_ray_batch_matches_local_search_catalog_and_facts(corpora):
    (local, _), (on_ray, _) = corpora
    with Corpus.open(local) as a, Corpus.open(on_ray) as b:
        for text in QUERIES:
            hits_a, hits_b = _scores(a, text), _scores(b, text)
            assert all(hits_a) and hits_a == hits_b, text
        drop = {"ingested_at"}
        assert [f.model_dump(exclude=drop) for f in a.catalog.filings()] == [
            f.model_dump(exclude=drop) for f in b.catalog.filings()
        ]
        assert a.facts.count() == b.facts.count() > 0


def test_killed_worker_is_retried_and_lands(corpora, ray_cluster):
    (_, local_report), (_, ray_report) = corpora
    assert ray_cluster.exists(), "the crash hook never fired: the test proves nothing"
    by_name = {Path(f.path).name: f for f in ray_report.files}
    assert by_name[CRASH_FILE].status == "ok" and by_name[CRASH_FILE].chunks > 0
    local = {Path(f.path).name: (f.status, f.pages, f.chunks) for f in local_report.files}
    assert {Path(f.path).name: (f.status, f.pages, f.chunks) for f in ray_report.files} == local


def test_corrupt_pdf_fails_with_one_line_and_the_rest_land(corpora):
    (_, local_report), (_, ray_report) = corpora
    by_name = {Path(f.path).name: f for f in ray_report.files}
    corrupt = by_name.pop("corrupt.pdf")
    assert corrupt.status == "failed" and corrupt.reason and "\n" not in corrupt.reason
    assert (
        corrupt.reason == {Path(f.path).name: f for f in local_report.files}["corrupt.pdf"].reason
    )
    assert len(by_name) == 3 and all(f.status == "ok" for f in by_name.values())


def test_retries_run_out_with_a_one_line_reason(ray_cluster, sample_folder, settings, tmp_path):
    from ingest.ray_executor import ray_prepare

    doomed = tmp_path / ALWAYS_CRASHES
    shutil.copy(sample_folder / "contoso_fy2024_10k.pdf", doomed)
    settings.ingest.ray_max_retries = 1
    [(path, _, outcome, _)] = list(ray_prepare([(doomed, "d" * 64)], settings, {}, None))
    assert path == doomed
    assert isinstance(outcome, IngestError) and "\n" not in str(outcome)
    assert "died 2 times" in str(outcome) and "RAY_MAX_RETRIES" in str(outcome)


def test_rerun_on_ray_adds_nothing(corpora, batch):
    _, (on_ray, _) = corpora
    with Corpus.open(on_ray) as corpus:
        before = corpus.index.count()
    again = ingest_into([batch], on_ray)
    assert again.count("skipped-duplicate") == 3
    with Corpus.open(on_ray) as corpus:
        assert corpus.index.count() == before


def test_missing_ray_names_the_extra(settings, sample_folder, monkeypatch):
    import sys

    from core.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "ray", None)
    settings.ingest.executor = "ray"
    with pytest.raises(MissingDependencyError, match=r"finrag\[cluster\]"):
        ingest_into([sample_folder], settings, raise_errors=True)


def test_cli_ingest_on_ray_and_unknown_executor(ray_cluster, sample_folder, model_cache, tmp_path):
    from typer.testing import CliRunner

    from ui.cli import app

    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(sample_folder / "contoso_fy2024_10k.pdf", folder)
    env = {
        "FINRAG_DATA_DIR": str(tmp_path / "data"),
        "FINRAG_MODEL_CACHE": str(model_cache),
        "FINRAG_CONFIG": str(tmp_path / "absent.toml"),
    }
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(folder), "--executor", "ray", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert [f["status"] for f in json.loads(result.stdout)["files"]] == ["ok"]
    result = runner.invoke(app, ["ingest", str(folder), "--executor", "spark"], env=env)
    assert result.exit_code == 2 and "known: local, ray" in result.output


_OWN_INSTANCE = """
import sys
from pathlib import Path
import ray
from core.settings import Settings
from tests.fixtures.corpora import ingest_into

settings = Settings(data_dir=Path(sys.argv[1]), model_cache=Path(sys.argv[2]))
settings.ingest.executor = "ray"
settings.ingest.workers = 1
report = ingest_into([sys.argv[3]], settings)
print([f.status for f in report.files], ray.is_initialized())
"""


def test_without_a_session_ray_starts_a_local_instance_and_shuts_it_down(
    sample_folder, model_cache, tmp_path
):
    """In a fresh process (this module's session would otherwise be reused)."""
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(sample_folder / "northwind_2024q2_10q.pdf", folder)
    env = {**os.environ, "FINRAG_CONFIG": str(tmp_path / "absent.toml"), "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    args = [str(tmp_path / "data"), str(model_cache), str(folder)]
    done = subprocess.run(
        [sys.executable, "-c", _OWN_INSTANCE, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['ok'] False"
