"""A fine-tuning job end to end on the sample filings: data, training, calibration, record, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from core.options import HashEmbedderOptions
from core.settings import Settings
from finetune.jobs import JobSpec, read_job, run_job
from ingest.pipeline import Ingestor
from retrieval.corpus import Corpus
from tests.finetune.test_trainer import make_examples, tiny_config

TINY = {
    "max_steps": 3,
    "batch_size": 2,
    "negatives_per_query": 2,
    "max_length": 48,
    "threads": 1,
    "max_minutes": None,
    "checkpoint_every": 2,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    # the job's plumbing is under test; MiniLM is tested elsewhere
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("jobs-corpus"),
        model_cache=model_cache,
        embedder=HashEmbedderOptions(),
    )
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        assert Ingestor(corpus).ingest([sample_folder]).count("ok") == 3
        yield corpus


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A one-layer general-stage model to start the company stage from."""
    from finetune.trainer import train_cross_encoder

    out = tmp_path_factory.mktemp("base")
    train_cross_encoder(
        tiny_config(out, num_layers=1, max_length=48, max_steps=2, epochs=1),
        make_examples(8, seed=3),
        make_examples(4, seed=4),
    )
    return out / "model"


def test_company_job_builds_data_trains_and_calibrates(corpus, base, tmp_path):
    out = tmp_path / "job"
    spec = JobSpec(stage="company", out=out, base=str(base), overrides=TINY)
    job = run_job(corpus, spec)
    assert job.state == "done" and job.phase == "done"
    assert read_job(out).state == "done"
    manifest = json.loads((out / "dataset" / "manifest.json").read_text())
    assert manifest["version"] == job.dataset_version and job.examples["train"] > 0
    info = json.loads((out / "model" / "finrag_model.json").read_text())
    assert info["stage"] == "company" and info["dataset_path"] == str((out / "dataset").resolve())
    curve = info["fusion_calibration"]["curve"]
    assert set(curve) == {str(round(0.1 * i, 1)) for i in range(11)}
    assert info["fusion_calibration"]["queries"] > 0
    assert info["fusion_weight"] == job.fusion_weight
    best = max(curve.values())
    assert curve[str(info["fusion_weight"])] == best  # the stored weight is the curve's best
    report = json.loads((out / "report.json").read_text())
    assert report["steps"] == 3

    # --resume trains on the very same dataset (same version), never a rebuilt one.
    again = run_job(corpus, spec.model_copy(update={"resume": True}))
    assert again.dataset_version == job.dataset_version


def test_a_job_without_data_fails_with_a_readable_record(corpus, base, tmp_path):
    out = tmp_path / "nothing"
    with pytest.raises(ConfigError, match="no indexed chunks|no training examples"):
        run_job(
            corpus,
            JobSpec(
                stage="company", company="Nonexistent Corp", out=out, base=str(base), overrides=TINY
            ),
        )
    job = read_job(out)
    assert job.state == "failed" and "Nonexistent" in job.message


def test_cli_refuses_a_bad_stage_and_reports_status(corpus, monkeypatch):
    from ui.cli import app

    monkeypatch.setenv("FINRAG_DATA_DIR", str(corpus.data_dir))
    monkeypatch.setenv("FINRAG_CONFIG", str(corpus.data_dir / "absent.toml"))
    runner = CliRunner()
    result = runner.invoke(
        app, ["finetune", "--stage", "final", "--out", str(corpus.data_dir / "x")]
    )
    assert result.exit_code == 2 and "--stage must be general or company" in result.output
    result = runner.invoke(app, ["finetune", "status"])
    assert result.exit_code == 0 and "no promoted reranker" in result.output
    result = runner.invoke(
        app, ["finetune", "promote", str(corpus.data_dir / "x" / "model"), "--by", "me"]
    )
    assert result.exit_code == 2 and "has not been evaluated" in result.output
