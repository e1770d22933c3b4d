"""`finrag eval answers` end to end on a small generated FinanceBench-format set."""

from __future__ import annotations

import json
import shutil

from evaluation.scoring import ALL_NUMERIC, numeric_correct


def test_numeric_rules_on_answer_texts():
    assert numeric_correct("Total revenue was 2,255.4 in 2023 [1].", "$2,255.4 million") is True
    assert numeric_correct("Revenue grew 19.75% [1].", "Revenue grew about 20%.") is True
    assert numeric_correct("Revenue grew 12.0% [1].", "Revenue grew 19.8%.") is False
    assert numeric_correct("Yes, it is cyclical [1].", "Yes, the business is cyclical.") is None


def test_cli_eval_answers_json_on_generated_set(tmp_path, model_cache, sample_folder, monkeypatch):
    from typer.testing import CliRunner

    from ui.cli import app

    set_dir = tmp_path / "miniset"
    shutil.copytree(sample_folder, set_dir / "pdfs")
    questions = [
        {
            "id": "a1",
            "question": "What was Northwind Robotics' total revenue in fiscal 2023?",
            "answer": "$2,255.4 million",
            "question_type": "metrics-generated",
            "doc": "northwind_2023_10k.pdf",
            "evidence_pages": [6],
        },
        {
            "id": "a2",
            "question": "What was Northwind Robotics' net income in fiscal 2022?",
            "answer": "$143.1 million",
            "question_type": "metrics-generated",
            "doc": "northwind_2023_10k.pdf",
            "evidence_pages": [6],
        },
        {
            "id": "a3",
            "question": "What is the name of the chief executive officer of Globex?",
            "answer": "Not stated.",
            "question_type": "domain-relevant",
            "doc": "contoso_fy2024_10k.pdf",
            "evidence_pages": [2],
        },
        {
            "id": "a4",
            "question": "Did Northwind Robotics' total revenue grow in fiscal 2023?",
            "answer": "Yes. Revenue rose from fiscal 2022.",
            "question_type": "novel-generated",
            "doc": "northwind_2023_10k.pdf",
            "evidence_pages": [6],
        },
    ]
    (set_dir / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    monkeypatch.delenv("FINRAG_CONFIG", raising=False)
    env = {
        "FINRAG_DATA_DIR": str(tmp_path / "data"),
        "FINRAG_MODEL_CACHE": str(model_cache),
        "FINRAG_CONFIG": str(tmp_path / "absent.toml"),
        "FINRAG_INGEST__WORKERS": "1",
        "FINRAG_INGEST__ISOLATE": "false",
    }
    run = CliRunner().invoke(app, ["eval", "answers", "--set", str(set_dir), "--json"], env=env)
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)

    assert result["n"] == 4 and result["n_numeric"] == 2 and result["n_yes_no"] == 1
    assert result["numeric_correct"] == 1.0
    assert result["yes_no_agreement"] in (0.0, 1.0)
    assert result["citation_precision"] > 0 and result["unsupported_figure_rate"] == 0.0
    assert result["p50_ms"] > 0 and result["p95_ms"] >= result["p50_ms"]
    by_id = {q["id"]: q for q in result["questions"]}
    assert by_id["a1"]["cited_pages"] == [6] and by_id["a3"]["abstained"]
    assert by_id["a1"]["question_type"] == "metrics-generated"
    assert by_id["a1"]["numeric"] is True and by_id["a1"]["yes_no"] is None
    assert by_id["a4"]["numeric"] is None and by_id["a4"]["yes_no"] in (True, False)

    table = result["by_question_type"]
    assert list(table) == ["domain-relevant", "metrics-generated", "novel-generated", ALL_NUMERIC]
    assert set(table["metrics-generated"]) == {
        "n",
        "n_numeric",
        "numeric_correct",
        "n_yes_no",
        "yes_no_agreement",
        "citation_recall",
        "abstention_rate",
        "p50_ms",
        "p95_ms",
    }
    metrics = table["metrics-generated"]
    assert (metrics["n"], metrics["n_numeric"], metrics["numeric_correct"]) == (2, 2, 1.0)
    assert table["domain-relevant"]["abstention_rate"] == 1.0
    assert table["novel-generated"]["n_yes_no"] == 1
    assert table[ALL_NUMERIC]["n"] == 2 and table[ALL_NUMERIC]["numeric_correct"] == 1.0


def test_printed_table_has_yes_no_and_per_type_rows():
    from evaluation.run_answers import format_answers
    from evaluation.scoring import summarize

    rows = [
        {
            "id": "q1",
            "question_type": "metrics-generated",
            "numeric": True,
            "yes_no": None,
            "recall": 1.0,
            "abstained": False,
            "ms": 120.0,
            "cited_pages": [6],
            "gold_pages": [6],
            "answer": "Revenue was $2,255.4 million [1].",
        },
        {
            "id": "q2",
            "question_type": "domain-relevant",
            "numeric": None,
            "yes_no": False,
            "recall": 0.0,
            "abstained": True,
            "ms": 80.0,
            "cited_pages": [],
            "gold_pages": [2],
            "answer": "Not found.",
        },
    ]
    result = {
        "set": "mini",
        "date": "2026-12-05",
        "llm": "extractive",
        "n": 2,
        "n_numeric": 1,
        "numeric_correct": 1.0,
        "n_yes_no": 1,
        "yes_no_agreement": 0.0,
        "citation_precision": 1.0,
        "citation_recall": 0.5,
        "abstention_rate": 0.5,
        "figures_in_answers": 1,
        "unsupported_figure_rate": 0.0,
        "p50_ms": 100.0,
        "p95_ms": 118.0,
        "by_question_type": summarize(rows),
        "questions": rows,
    }
    text = format_answers(result)
    assert "yes/no agreement" in text and "Per question type" in text
    lines = text.splitlines()
    numeric_row = next(line for line in lines if ALL_NUMERIC in line)
    assert "1.000 of 1" in numeric_row
    domain_row = next(line for line in lines if "domain-relevant" in line and "0.000 of" in line)
    assert "0.000 of 1" in domain_row and "1.000" in domain_row  # abstained
