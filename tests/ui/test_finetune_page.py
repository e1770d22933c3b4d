"""The Fine-tuning page through AppTest: serving table, job folders, a real tiny job, gate and
promote."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ui.views.finetune import curve_points, gate_table, job_folder, newest_general_model

TIMEOUT_S = 60
NOW = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
HELD_OUT = [
    {
        "id": "q1",
        "question": "What was Northwind Robotics' total revenue in fiscal 2023?",
        "doc": "northwind_2023_10k.pdf",
        "evidence_pages": [6],
    },
    {
        "id": "q3",
        "question": "Which supplier does Northwind Robotics depend on for final assembly?",
        "doc": "northwind_2023_10k.pdf",
        "evidence_pages": [2],
    },
]


def _page() -> None:
    from ui.views.finetune import render

    render()


@pytest.fixture
def env(tmp_path, model_cache, monkeypatch):
    monkeypatch.setenv("FINRAG_DATA_DIR", str(tmp_path / "ft-corpus"))
    monkeypatch.setenv("FINRAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("FINRAG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("FINRAG_INGEST__WORKERS", "1")  # no spawned parse processes in the test
    monkeypatch.setenv("FINRAG_INGEST__ISOLATE", "false")
    # Retrieval quality is not under test: the hash embedder spares the MiniLM ONNX export.
    monkeypatch.setenv("FINRAG_EMBEDDER__NAME", "hash")
    from core.settings import Settings

    return Settings()


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _frame(at, column: str):
    return next((f.value for f in at.dataframe if column in f.value.columns), None)


def _write_job(
    settings,
    name: str,
    *,
    stage="general",
    state="done",
    started=NOW,
    report=True,
    company=None,
    model=True,
):
    """A job folder as run_job and the trainer leave it: job.json, run_log.jsonl, report.json,
    model/."""
    from finetune.jobs import JobSpec, JobState
    from finetune.trainer import DevMetrics, FinetuneReport, RunLogEntry

    out = settings.data_dir / "finetune" / "runs" / name
    (out / "model").mkdir(parents=True)
    job = JobState(
        spec=JobSpec(stage=stage, out=out, company=company),
        state=state,
        phase="done" if state == "done" else "training",
        dataset_version="3f9ac2e1d4b7a0c6",
        examples={"train": 412, "dev": 96},
        started_at=started,
        finished_at=started + timedelta(minutes=9) if state == "done" else None,
        seconds={"data": 41.2, "training": 498.7} if state == "done" else {},
    )
    (out / "job.json").write_text(job.model_dump_json(indent=2))
    log = [
        RunLogEntry(
            event="start",
            step=0,
            epoch=0.0,
            loss=None,
            dev_loss=1.52,
            dev_mrr=0.581,
            dev_accuracy_at_1=0.406,
            lr=0.0,
            elapsed_s=6.1,
            cpu_s=11.8,
        ),
        RunLogEntry(
            event="epoch",
            step=52,
            epoch=1.0,
            loss=1.214,
            dev_loss=1.03,
            dev_mrr=0.694,
            dev_accuracy_at_1=0.552,
            lr=3.9e-5,
            elapsed_s=251.4,
            cpu_s=489.0,
        ),
        RunLogEntry(
            event="epoch",
            step=104,
            epoch=2.0,
            loss=0.871,
            dev_loss=0.94,
            dev_mrr=0.712,
            dev_accuracy_at_1=0.573,
            lr=0.0,
            elapsed_s=497.9,
            cpu_s=975.3,
        ),
    ]
    (out / "run_log.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in log))
    if report:
        report = FinetuneReport(
            stage=stage,
            company=company,
            base="/opt/models/all-MiniLM-L6-v2",
            num_layers=4,
            max_length=128,
            steps=104,
            total_steps=104,
            epochs_completed=2.0,
            stopped="completed",
            train_examples=412,
            dev_examples=96,
            pairs_seen=26624,
            pairs_per_second=54.6,
            initial_dev=DevMetrics(loss=1.52, mrr=0.581, accuracy_at_1=0.406, examples=96),
            final_dev=DevMetrics(loss=0.94, mrr=0.712, accuracy_at_1=0.573, examples=96),
            final_train_loss=0.85,
            resumed_from_step=0,
            elapsed_s=498.7,
            cpu_s=975.3,
            threads=2,
            model_dir=str(out / "model"),
            dataset_version="3f9ac2e1d4b7a0c6",
            dataset_fingerprint="ab12",
            config={"lr": 5e-5},
        )
        (out / "report.json").write_text(report.model_dump_json(indent=2))
    if model:
        (out / "model" / "finrag_model.json").write_text(
            json.dumps({"backend": "cross-encoder", "stage": stage})
        )
    return out


def _gate(out, passed: bool, serving=None, scope="*"):
    from finetune.gate import GateDecision, Margin

    cand = {
        "recall@1": 0.533,
        "recall@3": 0.733,
        "recall@5": 0.8,
        "recall@10": 0.867,
        "mrr": 0.648,
        "ndcg@10": 0.69,
        "p50_ms": 212.4,
        "p95_ms": 301.0,
    }
    none = {**cand, "recall@1": 0.4, "mrr": 0.552, "recall@5": 0.8, "p50_ms": 0.0}
    if not passed:
        cand = {**cand, "mrr": 0.561, "recall@5": 0.767}
    reasons = (
        []
        if passed
        else [
            "MRR 0.561 vs none 0.552: gain +0.009 is below the margin 0.020",
            "Recall@5 0.767 vs none 0.800: falls by 0.033",
        ]
    )
    decision = GateDecision(
        candidate=str((out / "model").resolve()),
        backend="cross-encoder",
        scope=scope,
        held_out="/sets/held-out",
        n=30,
        metrics={"none": none, "candidate": cand},
        serving=serving,
        margin=Margin(),
        passed=passed,
        reasons=reasons,
        bootstrap_win_rate={"none": 0.93 if passed else 0.58},
        evaluated_at=NOW,
    )
    (out / "gate.json").write_text(decision.model_dump_json(indent=2))
    return decision


# --- pure helpers ---------------------------------------------------------------------------------


def test_helpers(settings, tmp_path):
    assert (
        job_folder(settings, "company", "Northwind Robotics, Inc.", NOW).name
        == "company-northwind-robotics-inc-20250304T103000Z"
    )
    assert (
        job_folder(settings, "general", None, NOW)
        == settings.data_dir / "finetune" / "runs" / "general-all-20250304T103000Z"
    )
    points = curve_points(
        [{"step": 0, "loss": None, "dev_mrr": 0.5}, {"step": 4, "loss": 1.23456, "dev_mrr": 0.6}]
    )
    assert points == [
        {"step": 0, "series": "dev MRR", "value": 0.5},
        {"step": 4, "series": "dev MRR", "value": 0.6},
        {"step": 4, "series": "train loss", "value": 1.2346},
    ]
    rows = gate_table(
        {
            "candidate": {
                "recall@1": 0.5333,
                "recall@5": 0.8,
                "recall@10": 0.9,
                "mrr": 0.64821,
                "ndcg@10": 0.7,
                "p50_ms": 212.6,
            },
            "none": {
                "recall@1": 0.4,
                "recall@5": 0.8,
                "recall@10": 0.9,
                "mrr": 0.55,
                "ndcg@10": 0.6,
            },
        }
    )
    assert [r["ranking"] for r in rows] == [
        "no reranker",
        "this model",
    ]  # fixed order, whatever the dict's
    assert (rows[1]["R@1"], rows[1]["MRR"], rows[1]["p50 ms"], rows[0]["p50 ms"]) == (
        0.533,
        0.648,
        213,
        None,
    )

    older = _write_job(settings, "general-all-1", started=NOW - timedelta(days=1))
    newer = _write_job(settings, "general-all-2", started=NOW)
    _write_job(
        settings, "general-all-3", state="failed", started=NOW + timedelta(hours=1), report=False
    )
    _write_job(
        settings,
        "company-nwrb-4",
        stage="company",
        company="NWRB",
        started=NOW + timedelta(hours=2),
    )
    from ui.views.finetune import list_jobs, runs_root

    jobs = list_jobs(runs_root(settings))
    assert [j.spec.out.name for j in jobs] == [
        "company-nwrb-4",
        "general-all-3",
        "general-all-2",
        "general-all-1",
    ]
    assert newest_general_model(jobs) == newer / "model" and older.exists()


# --- the page ------------------------------------------------------------------------------------


def test_serving_table_shows_promotions(env, monkeypatch):
    from rerank.promoted import PromotedModel, record_promotion

    at = _app()
    assert any("No promoted reranker" in i.value for i in at.info)
    assert any("No fine-tuning jobs yet" in i.value for i in at.info)
    record_promotion(
        env.data_dir,
        PromotedModel(
            backend="cross-encoder",
            model="/runs/company-nwrb/model",
            scope="NWRB",
            promoted_at=NOW,
            promoted_by="alice",
            metrics={"mrr": 0.6481},
        ),
    )
    at.run()
    table = _frame(at, "promoted by")
    assert table.to_dict("records") == [
        {
            "scope": "NWRB",
            "backend": "cross-encoder",
            "model": "/runs/company-nwrb/model",
            "MRR": 0.648,
            "promoted by": "alice",
            "promoted at": "2025-03-04 10:30 UTC",
        }
    ]
    assert not at.warning

    monkeypatch.setenv("FINRAG_RERANK__NAME", "none")
    at.run()
    assert "does not consult promotions" in at.warning[0].value


def test_a_job_folder_shows_its_log_chart_and_report(env):
    _write_job(env, "general-all-20250303T090000Z", started=NOW - timedelta(days=1))
    out = _write_job(env, "general-all-20250304T103000Z", started=NOW)
    at = _app()
    assert at.selectbox(key="finetune_job").value == str(out)  # the newest job is shown
    assert (
        at.selectbox(key="finetune_job").options[0]
        == "general-all-20250304T103000Z (started 2025-03-04 10:30 UTC)"
    )
    assert any("Done in 540 s" in s.value for s in at.success)
    log = _frame(at, "dev MRR")
    assert list(log["event"]) == ["start", "epoch", "epoch"]
    assert list(log["step"]) == [0, 52, 104]
    assert list(log["dev MRR"]) == [0.581, 0.694, 0.712]
    assert log["train loss"].isna().iloc[0] and list(log["train loss"])[1:] == [1.214, 0.871]
    assert len(at.get("vega_lite_chart")) == 1  # dev MRR and train loss by step
    metrics = {m.label: (m.value, m.delta) for m in at.metric}
    assert metrics["dev MRR"] == ("0.712", "+0.131")
    assert metrics["dev accuracy@1"] == ("0.573", "+0.167")
    assert metrics["steps"][0] == "104 of 104" and metrics["pairs / s"][0] == "54.6"
    assert any(
        "completed its epochs" in c.value and "dev MRR 0.581 → 0.712" in c.value for c in at.caption
    )
    assert any("412 train / 96 dev" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Resume"]  # nothing to resume
    assert at.button(key="finetune_promote").disabled  # not evaluated yet


def test_an_interrupted_job_offers_resume(env):
    # Marked running by this very process, yet no thread of this server runs it: the process that
    # wrote it died (a crash or a restart).
    out = _write_job(
        env, "general-all-20250304T103000Z", state="running", report=False, model=False
    )
    job = json.loads((out / "job.json").read_text())
    assert job["pid"] == os.getpid()
    at = _app()
    assert "without finishing" in at.warning[0].value
    assert not at.button(key="finetune_resume").disabled
    assert any("has no model yet" in c.value for c in at.caption)


def test_gate_decision_and_promote(env):
    from rerank.promoted import promoted

    refused = _write_job(
        env, "company-nwrb-20250304T103000Z", stage="company", company="NWRB", started=NOW
    )
    passed = _write_job(env, "general-all-20250304T090000Z", started=NOW - timedelta(hours=1))
    _gate(refused, passed=False, scope="NWRB")
    _gate(passed, passed=True)

    at = _app()
    assert at.selectbox(key="finetune_job").value == str(refused)
    assert at.text_input(key=f"finetune_scope_{refused.name}").value == "NWRB"
    table = _frame(at, "nDCG@10")
    assert list(table["ranking"]) == ["no reranker", "this model"]
    assert list(table["MRR"]) == [0.552, 0.561]
    assert "REFUSED" in at.error[0].value and "falls by 0.033" in at.error[0].value
    assert at.button(key="finetune_promote").disabled

    at.selectbox(key="finetune_job").set_value(str(passed)).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "PASSED" in at.success[-1].value
    assert any("this model wins: no reranker 93%" in c.value for c in at.caption)
    assert not at.button(key="finetune_promote").disabled
    at.button(key="finetune_promote").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    serving = promoted(env.data_dir)["*"]
    assert serving.model == str((passed / "model").resolve())
    assert (serving.promoted_by, serving.metrics["mrr"]) == ("local", 0.648)
    assert any("Promoted" in s.value and "replaced no reranker" in s.value for s in at.success)
    assert _frame(at, "promoted by")["model"].tolist() == [str((passed / "model").resolve())]

    # The decision referred to "no model serving": promoting it again now would be stale.
    at.button(key="finetune_promote").click().run()
    assert "serving model changed since the evaluation" in at.error[0].value
    assert len(promoted(env.data_dir)) == 1


def test_evaluate_with_a_missing_set_is_an_error_message(env, tmp_path):
    _write_job(env, "general-all-20250304T103000Z")
    at = _app()
    at.text_input(key="finetune_set").set_value(str(tmp_path / "nowhere"))
    at.button(key="finetune_evaluate").click().run()
    assert not at.exception, at.exception
    assert "does not exist" in at.error[0].value


def test_company_stage_needs_a_base(env, sample_folder):
    from tests.fixtures.corpora import ingest_into

    ingest_into([sample_folder], env)
    at = _app()
    at.radio(key="finetune_stage").set_value("company").run()
    assert any("No finished general job yet" in c.value for c in at.caption)
    at.text_input(key="finetune_exclude").set_value("").run()
    at.button(key="finetune_start").click().run()
    assert not at.exception, at.exception
    assert "starts from a general job's model" in at.error[0].value


# --- a real tiny job ------------------------------------------------------------------------------


def _tiny_base(tmp_path):
    """A 1-layer cross-encoder trained for 2 steps: the company stage's base in seconds."""
    from core.records import TrainingExample
    from finetune.trainer import FinetuneConfig, train_cross_encoder

    facts = [
        ("Northwind Robotics", "revenue", 2023),
        ("Contoso Foods", "capital expenditures", 2024),
        ("Northwind Robotics", "operating income", 2022),
        ("Contoso Foods", "net income", 2023),
    ]
    examples = [
        TrainingExample(
            example_id=f"ex-{i}",
            query=f"What was {c}'s {m} in fiscal {y}?",
            positive=f"{c} reported {m} of ${100 + i} million for fiscal {y}.",
            positive_id=f"chunk-{i}",
            negatives=[
                f"{c2} reported {m2} of ${200 + i} million for fiscal {y2}."
                for c2, m2, y2 in facts
                if (c2, m2, y2) != (c, m, y)
            ][:2],
            company=c,
            source="synthetic-sentence",
        )
        for i, (c, m, y) in enumerate(facts)
    ]
    config = FinetuneConfig(
        out=tmp_path / "base",
        num_layers=1,
        max_length=32,
        max_steps=2,
        batch_size=2,
        negatives_per_query=2,
        export_onnx=False,
        threads=1,
        max_minutes=None,
    )
    train_cross_encoder(config, examples)
    return tmp_path / "base" / "model"


def test_start_a_company_job_and_watch_it_finish(env, sample_folder, tmp_path):
    from finetune.jobs import read_job
    from tests.fixtures.corpora import ingest_into

    report = ingest_into([sample_folder], env)
    assert report.landed == 3
    base = _tiny_base(tmp_path)
    options = tmp_path / "tiny.toml"
    options.write_text(
        "[finetune]\nmax_length = 32\nbatch_size = 2\nnegatives_per_query = 2\n"
        "export_onnx = false\nthreads = 1\nmax_dev_examples = 8\n"
    )

    at = _app()
    at.radio(key="finetune_stage").set_value("company").run()
    assert not at.exception, at.exception
    companies = at.selectbox(key="finetune_company")
    assert companies.options == [
        "all filings",
        "CFCO (Contoso Foods Corporation)",
        "NWRB (Northwind Robotics, Inc.)",
    ]
    companies.set_value("NWRB")
    at.text_input(key="finetune_base").set_value(str(base))
    at.text_input(key="finetune_exclude").set_value("")
    at.number_input(key="finetune_max_steps").set_value(2)
    at.text_input(key="finetune_config").set_value(str(options))
    at.button(key="finetune_start").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    out = at.selectbox(key="finetune_job").value
    assert "company-nwrb-" in out
    assert at.button(key="finetune_start").disabled or read_job(out).state != "running"

    deadline = time.monotonic() + TIMEOUT_S
    while not any("Done in" in s.value for s in at.success):
        assert not at.error, [e.value for e in at.error]
        assert time.monotonic() < deadline, "the job did not finish in time"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    job = read_job(Path(out))
    assert (job.state, job.phase, job.spec.company, job.spec.base) == (
        "done",
        "done",
        "NWRB",
        str(base),
    )
    assert job.spec.overrides == {"epochs": 2, "max_steps": 2} and job.spec.max_minutes == 14.0
    assert job.examples["train"] > 0
    assert (Path(out) / "model" / "finrag_model.json").is_file()
    report = json.loads((Path(out) / "report.json").read_text())
    assert (report["stage"], report["company"], report["steps"], report["num_layers"]) == (
        "company",
        "NWRB",
        2,
        1,
    )
    from ui.views.finetune.work import latest_training

    training = latest_training()
    assert (training.step, training.total) == (2, 2)  # the progress bar's counts
    assert list(_frame(at, "dev MRR")["step"])[-1] == 2
    assert any(m.label == "steps" and m.value == "2 of 2" for m in at.metric)
    assert not at.button(key="finetune_start").disabled  # the next job may start
    assert at.button(key="finetune_promote").disabled  # not evaluated yet

    # The gate on a held-out set of the same sample filings: ingested once, reranked, decided.
    set_dir = tmp_path / "held-out"
    shutil.copytree(sample_folder, set_dir / "pdfs")
    (set_dir / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in HELD_OUT))
    at.text_input(key="finetune_set").set_value(str(set_dir))
    at.button(key="finetune_evaluate").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + TIMEOUT_S
    while _frame(at, "nDCG@10") is None:
        assert not at.error, [e.value for e in at.error]
        assert time.monotonic() < deadline, "the gate evaluation did not finish in time"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    gate = json.loads((Path(out) / "gate.json").read_text())
    assert (gate["n"], gate["scope"], gate["serving"]) == (2, "NWRB", None)
    table = _frame(at, "nDCG@10")
    assert list(table["ranking"]) == ["no reranker", "this model"]
    assert list(table["MRR"]) == [
        round(gate["metrics"][k]["mrr"], 3) for k in ("none", "candidate")
    ]
    assert at.button(key="finetune_promote").disabled is not gate["passed"]


def test_a_reader_cannot_promote_and_the_refusal_is_audited(env, monkeypatch):
    import ui.identity
    from rerank.promoted import promoted
    from ui.corpus import app_corpus

    passed = _write_job(env, "general-all-20250304T090000Z", started=NOW - timedelta(hours=1))
    _gate(passed, passed=True)
    monkeypatch.setenv("FINRAG_USERS__IDENTITY_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("FINRAG_USERS__GROUPS", json.dumps({"mallory": ["public"]}))
    monkeypatch.setattr(ui.identity, "request_headers", lambda: {"X-Forwarded-User": "mallory"})

    at = _app()
    assert "needs the admin role" in at.button(key="finetune_promote").help
    assert "needs the admin role" in at.button(key="finetune_start").help
    at.button(key="finetune_promote").click().run()
    assert not at.exception, at.exception
    assert any("promoting a reranker needs the admin role" in e.value for e in at.error)
    assert promoted(env.data_dir) == {}
    at.button(key="finetune_start").click().run()
    assert any("starting a fine-tuning job needs the admin role" in e.value for e in at.error)

    events = app_corpus(env).audit.events()
    assert [(e.user, e.role, e.action, e.outcome) for e in events] == [
        ("mallory", "reader", "model.promote", "refused"),
        ("mallory", "reader", "finetune.start", "refused"),
    ]
    assert events[0].object == str(passed / "model")
