"""The evaluation run store and the Evaluate page (AppTest) on a generated FinanceBench-format
set."""

from __future__ import annotations

import json
import logging
import time

import pytest

from core.errors import ConfigError
from evaluation.runs import compare, list_runs, load_run, recall_curve, runs_dir, save_run
from tests.fixtures.sample_set import write_sample_set
from ui.views.evaluate import (
    answer_misses,
    answer_types,
    comparison_table,
    curve_rows,
    retrieval_metrics,
    run_labels,
)

TIMEOUT_S = 90


def _retrieval_result(r1: float, r5: float, p50: float = 12.34) -> dict:
    block = {
        "recall@1": r1,
        "recall@3": r5,
        "recall@5": r5,
        "recall@10": r5,
        "mrr": r1,
        "ndcg@10": r5,
        "p50_ms": p50,
        "p95_ms": 2 * p50,
    }
    return {
        "set": "mini",
        "n": 3,
        **block,
        "given_filing": {**block, "recall@1": 1.0},
        "misses": [],
    }


# --- the run store -------------------------------------------------------------------------------


def test_save_list_load_and_skip_a_corrupt_file(settings, tmp_path, caplog):
    first = save_run(
        settings, "retrieval", tmp_path / "mini", _retrieval_result(0.5, 0.75), {"limit": 3}
    )
    second = save_run(settings, "retrieval", tmp_path / "mini", _retrieval_result(0.6667, 1.0))
    answers = save_run(
        settings, "answers", tmp_path / "mini", {"set": "mini", "n": 2, "numeric_correct": 0.5}
    )
    assert first.run_id != second.run_id and "-retrieval-mini" in first.run_id
    assert (runs_dir(settings) / f"{first.run_id}.json").exists()
    assert [r.run_id for r in list_runs(settings, "retrieval")] == [second.run_id, first.run_id]
    assert [r.run_id for r in list_runs(settings)] == [answers.run_id, second.run_id, first.run_id]

    loaded = load_run(settings, first.run_id)
    assert loaded == first
    assert loaded.params == {"limit": 3} and loaded.set_name == "mini"
    assert (
        loaded.config.embedder == settings.embedder.name and loaded.config.llm == settings.llm.name
    )

    (runs_dir(settings) / "20990101T000000000000Z-retrieval-broken.json").write_text("{not json")
    (runs_dir(settings) / "20990101T000000000001Z-retrieval-wrong.json").write_text(
        json.dumps({"kind": "x"})
    )
    with caplog.at_level(logging.WARNING, logger="evaluation.runs"):
        assert [r.run_id for r in list_runs(settings, "retrieval")] == [second.run_id, first.run_id]
    assert sum("skipping unreadable evaluation run" in m for m in caplog.messages) == 2
    with pytest.raises(ConfigError, match="unreadable"):
        load_run(settings, "20990101T000000000000Z-retrieval-broken")
    with pytest.raises(ConfigError, match="no evaluation run"):
        load_run(settings, "nope")
    with pytest.raises(ConfigError, match="not a run id"):
        load_run(settings, "../../etc/passwd")
    with pytest.raises(ConfigError, match="unknown evaluation kind"):
        save_run(settings, "speed", tmp_path, {})  # type: ignore[arg-type]


def test_curve_and_compare(settings, tmp_path):
    base = save_run(settings, "retrieval", tmp_path, _retrieval_result(0.5, 0.75, p50=10.4))
    other = save_run(settings, "retrieval", tmp_path, _retrieval_result(0.6667, 1.0, p50=8.6))
    assert recall_curve(base.result) == {1: 0.5, 3: 0.75, 5: 0.75, 10: 0.75}
    assert recall_curve(base.result["given_filing"])[1] == 1.0
    assert recall_curve({"numeric_correct": 1.0}) == {}

    rows = {r.metric: r for r in compare([base, other])}
    assert rows["recall@1"].values == [0.5, 0.6667] and rows["recall@1"].deltas == [None, 0.1667]
    assert rows["recall@5 (filing given)"].values == [0.75, 1.0]
    assert rows["p50 ms"].deltas[1] == pytest.approx(-1.8)
    assert rows["questions"].values == [3.0, 3.0]

    table = {row["metric"]: row for row in comparison_table([base, other])}
    assert table["recall@1"] == {
        "metric": "recall@1",
        "#1": "0.500",
        "#2": "0.667",
        "Δ #2": "+0.167",
    }
    assert table["p50 ms"] == {"metric": "p50 ms", "#1": "10", "#2": "9", "Δ #2": "-2"}

    # Same second, same stack, same n: pickers could not tell them apart without the run id.
    twin = other.model_copy(update={"created_at": base.created_at, "result": base.result})
    assert twin.label == base.label
    labels = run_labels([base, twin])
    assert labels == {
        base.run_id: f"{base.label} · {base.run_id}",
        twin.run_id: f"{base.label} · {twin.run_id}",
    }
    assert run_labels([base])[base.run_id] == base.label

    answers = save_run(settings, "answers", tmp_path, {"set": "mini", "n": 1})
    with pytest.raises(ConfigError, match="different kinds"):
        compare([base, answers])
    assert compare([]) == []


def test_page_tables_round_readably():
    (shared, given) = retrieval_metrics(_retrieval_result(2 / 3, 1.0, p50=12.6))
    assert shared["index"] == "shared index" and shared["R@1"] == 0.667 and shared["p50 ms"] == 13
    assert given["R@1"] == 1.0 and given["p95 ms"] == 25
    points = curve_rows([("a", _retrieval_result(0.5, 1.0)), ("b", {"n": 0})])
    assert [(p["run"], p["k"], p["recall"]) for p in points] == [
        ("a", 1, 0.5),
        ("a", 3, 1.0),
        ("a", 5, 1.0),
        ("a", 10, 1.0),
    ]
    rows = answer_misses(
        {
            "questions": [
                {
                    "id": "ok",
                    "question": "?",
                    "numeric": True,
                    "abstained": False,
                    "recall": 1.0,
                    "unsupported": 0,
                },
                {
                    "id": "wrong",
                    "question": "?",
                    "numeric": False,
                    "abstained": False,
                    "recall": 1.0,
                    "unsupported": 0,
                    "cited_pages": [6, 7],
                    "gold_pages": [6],
                    "ms": 812.6,
                },
            ]
        }
    )
    assert [(r["id"], r["numeric"], r["cited pages"], r["ms"]) for r in rows] == [
        ("wrong", "wrong", "6, 7", 813)
    ]


def test_answer_tables_read_yes_no_and_question_types():
    base = {"abstained": False, "recall": 1.0, "unsupported": 0, "question": "?"}
    rows = answer_misses(
        {
            "questions": [
                {**base, "id": "agrees", "numeric": None, "yes_no": True},
                {**base, "id": "disagrees", "numeric": None, "yes_no": False},
                {**base, "id": "unscored", "numeric": None, "yes_no": None},
            ]
        }
    )
    assert [(r["id"], r["yes/no"]) for r in rows] == [("disagrees", "disagrees"), ("unscored", "-")]
    types = answer_types(
        {
            "by_question_type": {
                "metrics-generated": {"n": 2, "n_numeric": 2, "numeric_correct": 0.5},
                "all numeric": {"n": 2, "n_numeric": 2, "numeric_correct": 0.5, "p50_ms": 80.4},
            }
        }
    )
    assert [(t["question type"], t["numeric correct"], t["p50 ms"]) for t in types] == [
        ("metrics-generated", 0.5, None),
        ("all numeric", 0.5, 80),
    ]
    assert answer_types({"n": 1}) == []  # runs saved before the per-type table


# --- the page ------------------------------------------------------------------------------------


def _page() -> None:
    from ui.views.evaluate import render

    render()


@pytest.fixture
def env(tmp_path, model_cache, monkeypatch):
    data_dir = tmp_path / "eval-corpus"
    monkeypatch.setenv("FINRAG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FINRAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("FINRAG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("FINRAG_INGEST__WORKERS", "1")  # no spawned parse processes in the test
    monkeypatch.setenv("FINRAG_INGEST__ISOLATE", "false")
    # The page's plumbing is under test here; eval_retrieval with MiniLM is tested in
    # tests/retrieval/test_retriever.py. The hash embedder spares the ONNX export (~15 s CPU).
    monkeypatch.setenv("FINRAG_EMBEDDER__NAME", "hash")
    from core.settings import Settings

    return Settings()


@pytest.fixture
def mini_set(tmp_path, sample_folder):
    set_dir = tmp_path / "miniset"
    write_sample_set(set_dir, sample_folder)
    return set_dir


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _frame(at, column: str):
    return next((f.value for f in at.dataframe if column in f.value.columns), None)


def _run_and_wait(at, set_dir, limit: int):
    at.text_input(key="eval_set").set_value(str(set_dir))
    at.number_input(key="eval_limit").set_value(limit)
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    if not at.success:  # still running: the page is back, with the status and Run disabled
        assert at.status[0].label.startswith("Running the retrieval evaluation"), at.status
        assert at.button(key="eval_run").disabled
    deadline = time.monotonic() + TIMEOUT_S
    while not at.success:
        assert not at.error, [e.value for e in at.error]
        assert time.monotonic() < deadline, "the evaluation did not finish in time"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    return at


def test_run_retrieval_twice_then_compare(env, mini_set):
    at = _app()
    assert any("No saved retrieval runs" in i.value for i in at.info)

    at = _run_and_wait(at, mini_set, limit=2)
    assert "saved as run" in at.success[0].value
    from ui.views.evaluate import _latest

    job = _latest(str(env.data_dir.resolve()))
    assert (job.done, job.total) == (2, 2)  # the progress bar's counts came from the evaluation
    (first,) = list_runs(env, "retrieval")
    assert first.result["n"] == 2 and first.params == {"limit": 2}
    assert first.config.embedder == "hash" and first.set_path == str(mini_set.resolve())
    assert any(first.run_id in c.value and "embedder hash" in c.value for c in at.caption)
    metrics = _frame(at, "R@5")
    assert list(metrics["index"]) == ["shared index", "filing given"]
    assert list(metrics["R@5"]) == [1.0, 1.0]  # both gold pages are found in the top 5
    assert all(metrics["p50 ms"] > 0)
    assert len(at.get("vega_lite_chart")) == 1  # the Recall@k curve

    at = _run_and_wait(at, mini_set, limit=3)
    runs = list_runs(env, "retrieval")
    assert [r.result["n"] for r in runs] == [3, 2]
    assert at.selectbox(key="eval_show_retrieval").value == runs[0].run_id  # the new run is shown

    at.multiselect(key="eval_compare_retrieval").set_value([runs[1].run_id, runs[0].run_id]).run()
    assert not at.exception, at.exception
    table = _frame(at, "Δ #2")
    assert table is not None, [f.value.columns for f in at.dataframe]
    questions = table[table["metric"] == "questions"].iloc[0]
    assert (questions["#1"], questions["#2"], questions["Δ #2"]) == ("2", "3", "+1")
    r5 = table[table["metric"] == "recall@5"].iloc[0]
    assert (
        r5["#1"] == f"{runs[1].result['recall@5']:.3f}"
        and r5["#2"] == f"{runs[0].result['recall@5']:.3f}"
    )
    assert len(at.get("vega_lite_chart")) == 2  # the run's curve and the overlaid curves


def test_bad_folders_are_error_messages(env, tmp_path):
    at = _app()
    at.text_input(key="eval_set").set_value(str(tmp_path / "nowhere"))
    at.button(key="eval_run").click().run()
    assert not at.exception
    assert "does not exist" in at.error[0].value

    (tmp_path / "notaset").mkdir()
    at.text_input(key="eval_set").set_value(str(tmp_path / "notaset"))
    at.button(key="eval_run").click().run()
    assert not at.exception
    assert "is not an evaluation set: questions.jsonl is missing" in at.error[0].value
    assert list_runs(env) == []


def test_answers_runs_show_their_metrics_and_misses(env, tmp_path):
    rows = [
        {
            "id": "a1",
            "question": "Revenue 2023?",
            "answer": "2,255.4 [1]",
            "gold": "$2,255.4 million",
            "abstained": False,
            "numeric": True,
            "cited_pages": [6],
            "gold_pages": [6],
            "recall": 1.0,
            "unsupported": 0,
            "ms": 101.2,
        },
        {
            "id": "a2",
            "question": "CEO of Globex?",
            "answer": "I could not determine it.",
            "gold": "Not stated.",
            "abstained": True,
            "numeric": None,
            "cited_pages": [],
            "gold_pages": [2],
            "recall": 0.0,
            "unsupported": 0,
            "ms": 55.7,
        },
    ]
    result = {
        "set": "mini",
        "llm": "extractive",
        "n": 2,
        "n_numeric": 1,
        "numeric_correct": 1.0,
        "citation_precision": 1.0,
        "citation_recall": 0.5,
        "abstention_rate": 0.5,
        "unsupported_figure_rate": 0.0,
        "p50_ms": 78.45,
        "p95_ms": 98.9,
        "questions": rows,
    }
    older = save_run(env, "answers", tmp_path / "mini", {**result, "citation_recall": 0.25})
    newer = save_run(env, "answers", tmp_path / "mini", result)
    at = _app()
    at.radio(key="eval_kind").set_value("answers").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="eval_show_answers").value == newer.run_id
    metrics = _frame(at, "citation recall").iloc[0]
    assert (metrics["numeric correct"], metrics["citation recall"], metrics["p50 ms"]) == (
        1.0,
        0.5,
        78,
    )
    misses = _frame(at, "abstained")
    assert list(misses["id"]) == ["a2"] and list(misses["numeric"]) == ["-"]
    assert len(at.get("vega_lite_chart")) == 0  # answers have no Recall@k curve

    at.multiselect(key="eval_compare_answers").set_value([older.run_id, newer.run_id]).run()
    table = _frame(at, "Δ #2")
    recall = table[table["metric"] == "citation recall"].iloc[0]
    assert (recall["#1"], recall["#2"], recall["Δ #2"]) == ("0.250", "0.500", "+0.250")


# --- the CLI saves its runs too ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["retrieval", "answers"])
def test_cli_eval_saves_the_run_and_keeps_json_on_stdout(kind, settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import evaluation.run_answers
    import evaluation.run_retrieval
    from ui.cli import app

    calls = []
    fake = (
        _retrieval_result(0.5, 1.0)
        if kind == "retrieval"
        else {"set": "mini", "n": 1, "numeric_correct": 1.0}
    )

    def evaluate(set_dir, settings, **kwargs):  # stands in for the real run
        calls.append((set_dir, settings.data_dir, kwargs))
        return fake

    module = evaluation.run_retrieval if kind == "retrieval" else evaluation.run_answers
    monkeypatch.setattr(module, f"eval_{kind}", evaluate)
    env = {
        "FINRAG_DATA_DIR": str(settings.data_dir),
        "FINRAG_MODEL_CACHE": str(settings.models_dir),
    }
    result = CliRunner().invoke(
        app, ["eval", kind, "--set", str(tmp_path / "mini"), "--limit", "1", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == fake  # the run id does not pollute the JSON
    (record,) = list_runs(settings, kind)
    assert result.stderr.strip() == f"run saved: {record.run_id}"
    assert record.result == fake and record.params["limit"] == 1 and record.set_name == "mini"
    assert calls[0][1] == settings.data_dir and calls[0][2]["limit"] == 1
