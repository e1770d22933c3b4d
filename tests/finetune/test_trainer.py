"""The CPU cross-encoder trainer: learning, logs, checkpoints, exact resume, budgets, stages.

A tiny run (2 of MiniLM's layers, 64-token pairs) on made-up financial passages: each query's
positive states the asked company, metric and year; negatives share one or two of the three.
"""

from __future__ import annotations

import json
import random

import pytest

from core.errors import ConfigError
from core.records import TrainingExample

COMPANIES = [
    "Acme Corp",
    "Borealis Mining",
    "Cobalt Freight",
    "Dunmore Foods",
    "Elgin Software",
    "Fairhaven Bank",
    "Granite Utilities",
    "Harbor Retail",
    "Ivory Pharma",
    "Juniper Air",
]
METRICS = [
    "net revenue",
    "operating income",
    "capital expenditures",
    "research and development expense",
    "dividends paid",
    "free cash flow",
]
YEARS = [2019, 2020, 2021, 2022, 2023]


def passage(company: str, metric: str, year: int, rng: random.Random) -> str:
    value = rng.randint(100, 9000)
    return (
        f"{company} reported {metric} of ${value} million for fiscal {year}, compared with "
        f"${value - rng.randint(5, 90)} million in the prior year. Management attributed the "
        "change to pricing, volume and foreign exchange effects described in the segment "
        "discussion."
    )


def make_examples(n: int, seed: int, negatives: int = 3) -> list[TrainingExample]:
    """``n`` queries; negatives: same company other metric, other company same metric, random."""
    rng = random.Random(seed)
    examples = []
    for i in range(n):
        company, metric, year = rng.choice(COMPANIES), rng.choice(METRICS), rng.choice(YEARS)
        other_metric = rng.choice([m for m in METRICS if m != metric])
        other_company = rng.choice([c for c in COMPANIES if c != company])
        negs = [
            passage(company, other_metric, year, rng),
            passage(other_company, metric, year, rng),
            passage(rng.choice(COMPANIES), rng.choice(METRICS), rng.choice(YEARS), rng),
        ][:negatives]
        examples.append(
            TrainingExample(
                example_id=f"ex-{seed}-{i}",
                query=f"What was {company}'s {metric} in fiscal {year}?",
                positive=passage(company, metric, year, rng),
                positive_id=f"chunk-{seed}-{i}",
                negatives=negs,
                company=company,
                source="synthetic-sentence",
            )
        )
    return examples


def tiny_config(out, **overrides):
    from finetune.trainer import FinetuneConfig

    values = dict(
        out=out,
        num_layers=2,
        max_length=64,
        batch_size=4,
        negatives_per_query=3,
        epochs=3,
        lr=5e-4,
        warmup_ratio=0.1,
        checkpoint_every=10,
        export_onnx=False,
        threads=2,
        max_minutes=None,
        seed=7,
    )
    values.update(overrides)
    return FinetuneConfig(**values)


_TINY_RUN: list = []  # test_cross_encoder imports the fixture: one run for both modules


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One 30-step general-stage run with ONNX export, shared by trainer and reranker tests."""
    from finetune.trainer import train_cross_encoder

    if _TINY_RUN:
        return _TINY_RUN[0]
    out = tmp_path_factory.mktemp("ce-run")
    train, dev = make_examples(40, seed=1), make_examples(24, seed=2)
    losses: list[float] = []
    report = train_cross_encoder(
        tiny_config(out, export_onnx=True, checkpoint_every=7),
        train,
        dev,
        on_progress=lambda step, total, m: losses.append(m["loss"]),
    )
    _TINY_RUN.append((out, report, losses, dev))
    return _TINY_RUN[0]


def test_training_lowers_loss_and_ranks_positives_first_more_often(tiny_run):
    out, report, losses, _ = tiny_run
    assert report.steps == report.total_steps == 30 and report.stopped == "completed"
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.2
    assert report.final_dev.loss < report.initial_dev.loss
    assert report.final_dev.accuracy_at_1 >= report.initial_dev.accuracy_at_1 + 0.25
    assert report.final_dev.mrr > report.initial_dev.mrr
    # The served int8 graph ranks about as well as the fp32 model it came from.
    assert report.final_dev_onnx.accuracy_at_1 >= report.final_dev.accuracy_at_1 - 0.1


def test_run_writes_log_report_model_and_checkpoints(tiny_run):
    from finetune.trainer import list_checkpoints
    from rerank.cross_encoder import read_metadata

    out, report, _, _ = tiny_run
    log = [json.loads(line) for line in (out / "run_log.jsonl").read_text().splitlines()]
    assert [(e["event"], e["step"]) for e in log] == [
        ("start", 0),
        ("epoch", 10),
        ("epoch", 20),
        ("epoch", 30),
    ]
    assert log[0]["loss"] is None and all(e["loss"] > 0 for e in log[1:])
    assert log[-1]["dev_accuracy_at_1"] == report.final_dev.accuracy_at_1
    assert json.loads((out / "report.json").read_text())["steps"] == 30
    meta = read_metadata(out / "model")
    assert (meta.backend, meta.stage, meta.num_layers, meta.max_length) == (
        "cross-encoder",
        "general",
        2,
        64,
    )
    assert meta.metrics["dev_accuracy_at_1"] == report.final_dev.accuracy_at_1
    assert (out / "model" / "onnx" / "model.int8.onnx").is_file()
    # Kept: the newest two of steps 7, 10, 14, 20, 21, 28, 30.
    assert [p.name for p in list_checkpoints(out)] == ["step-000028", "step-000030"]


def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path):
    import torch

    from finetune.trainer import latest_checkpoint, train_cross_encoder
    from rerank.cross_encoder import load_classifier

    train, dev = make_examples(12, seed=3), make_examples(3, seed=4)
    # 3 steps per epoch; dropout on, so the checkpointed RNG state matters.
    config = dict(max_steps=8, checkpoint_every=2, epochs=4, dropout=0.1, max_length=32)
    full_losses: list[float] = []
    full = train_cross_encoder(
        tiny_config(tmp_path / "full", **config),
        train,
        dev,
        on_progress=lambda s, t, m: full_losses.append(m["loss"]),
    )

    class Crash(Exception):
        pass

    def crash_at_5(step, total, metrics):
        if step == 5:
            raise Crash

    with pytest.raises(Crash):
        train_cross_encoder(
            tiny_config(tmp_path / "cut", **config), train, dev, on_progress=crash_at_5
        )
    assert latest_checkpoint(tmp_path / "cut").name == "step-000004"
    resumed_losses: list[float] = []
    resumed = train_cross_encoder(
        tiny_config(tmp_path / "cut", resume=True, **config),
        train,
        dev,
        on_progress=lambda s, t, m: resumed_losses.append((s, m["loss"])),
    )
    assert resumed.resumed_from_step == 4 and resumed.steps == 8
    assert [s for s, _ in resumed_losses] == [5, 6, 7, 8]
    assert [loss for _, loss in resumed_losses] == full_losses[4:]
    assert resumed.final_dev == full.final_dev
    a, b = load_classifier(tmp_path / "full" / "model"), load_classifier(tmp_path / "cut" / "model")
    for name in (
        "classifier.weight",
        "bert.encoder.layer.1.output.dense.weight",
        "bert.embeddings.LayerNorm.weight",
    ):
        assert torch.equal(a.state_dict()[name], b.state_dict()[name]), name
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "cut" / "run_log.jsonl").read_text().splitlines()
    ]
    assert steps == [0, 3, 6, 8]  # the log has no duplicate lines from the crashed attempt


def test_resume_refuses_a_changed_configuration(tmp_path):
    from finetune.trainer import train_cross_encoder

    train = make_examples(8, seed=5)
    train_cross_encoder(tiny_config(tmp_path, max_steps=2, checkpoint_every=1), train)
    with pytest.raises(ConfigError, match="lr changed"):
        train_cross_encoder(tiny_config(tmp_path, max_steps=2, lr=1e-3, resume=True), train)


def test_time_budget_stops_after_a_checkpoint_and_resume_finishes(tmp_path):
    from finetune.trainer import latest_checkpoint, train_cross_encoder

    train = make_examples(8, seed=6)
    first = train_cross_encoder(tiny_config(tmp_path, epochs=2, max_minutes=0.001), train)
    assert first.stopped == "time_budget" and first.steps == 1 and first.total_steps == 4
    assert latest_checkpoint(tmp_path).name == "step-000001"
    assert (tmp_path / "model" / "finrag_model.json").is_file()
    second = train_cross_encoder(tiny_config(tmp_path, epochs=2, resume=True), train)
    assert (second.stopped, second.resumed_from_step, second.steps) == ("completed", 1, 4)


def test_company_stage_starts_from_the_general_stage_output(tiny_run, tmp_path):
    from finetune.trainer import train_cross_encoder

    out, general, _, dev = tiny_run
    with pytest.raises(ConfigError, match="--base"):
        train_cross_encoder(tiny_config(tmp_path, stage="company"), make_examples(4, seed=8), dev)
    report = train_cross_encoder(
        tiny_config(
            tmp_path,
            stage="company",
            company="ACME",
            base=str(out),
            max_steps=1,
            num_layers=None,
            lr=1e-6,
        ),
        make_examples(8, seed=9),
        dev,
    )
    # Before its first step the company model is the general model: same dev scores.
    assert report.initial_dev == general.final_dev
    assert report.num_layers == 2 and report.base == str((out / "model").resolve())


def test_load_config_reads_toml_and_cli_flags_override(tmp_path):
    from finetune.trainer import load_config

    file = tmp_path / "finetune.toml"
    file.write_text('[finetune]\nstage = "company"\nlr = 3e-5\nepochs = 5\nout = "runs/x"\n')
    config = load_config(file, epochs=1, company="ACME", base=None)
    assert (config.stage, config.lr, config.epochs, config.company) == ("company", 3e-5, 1, "ACME")
    assert str(config.out) == "runs/x"
    file.write_text('lr = -1\nout = "x"\n')
    with pytest.raises(ConfigError, match="lr"):
        load_config(file)
