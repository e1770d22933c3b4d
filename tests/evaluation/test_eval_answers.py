"""`finrag eval answers` scoring on a small generated FinanceBench-format set."""

from __future__ import annotations

import json
import shutil

from core.settings import Settings
from evaluation.run_answers import eval_answers, numeric_match


def test_numeric_match_rules():
    assert numeric_match("Total revenue was 2,255.4 in 2023 [1].", "$2,255.4 million") is True
    assert (
        numeric_match("Revenue grew 19.75% [1].", "Revenue grew about 20%.") is True
    )  # gold precision
    assert numeric_match("Revenue grew 12.0% [1].", "Revenue grew 19.8%.") is False
    assert numeric_match("Yes, it is cyclical [1].", "Yes, the business is cyclical.") is None


def test_eval_answers_on_generated_set(tmp_path, model_cache, sample_folder):
    set_dir = tmp_path / "miniset"
    shutil.copytree(sample_folder, set_dir / "pdfs")
    questions = [
        {
            "id": "a1",
            "question": "What was Northwind Robotics' total revenue in fiscal 2023?",
            "answer": "$2,255.4 million",
            "doc": "northwind_2023_10k.pdf",
            "evidence_pages": [6],
        },
        {
            "id": "a2",
            "question": "What was Northwind Robotics' net income in fiscal 2022?",
            "answer": "$143.1 million",
            "doc": "northwind_2023_10k.pdf",
            "evidence_pages": [6],
        },
        {
            "id": "a3",
            "question": "What is the name of the chief executive officer of Globex?",
            "answer": "Not stated.",
            "doc": "contoso_fy2024_10k.pdf",
            "evidence_pages": [2],
        },
    ]
    (set_dir / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    settings = Settings(data_dir=tmp_path / "data", model_cache=model_cache)
    settings.ingest.workers = 1
    result = eval_answers(set_dir, settings)
    assert result["n"] == 3 and result["n_numeric"] == 2
    assert result["numeric_correct"] == 1.0
    assert result["citation_precision"] > 0 and result["unsupported_figure_rate"] == 0.0
    by_id = {q["id"]: q for q in result["questions"]}
    assert by_id["a1"]["cited_pages"] == [6] and by_id["a3"]["abstained"]
    assert result["p50_ms"] > 0
