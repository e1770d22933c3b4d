"""The Memory bank page through AppTest, on an empty corpus (the bank needs no ingested filings)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from retrieval.memory_bank import CSV_COLUMNS

ROOT = str(Path(__file__).resolve().parents[2])
SCRIPT = f"""
import sys
sys.path.insert(0, {ROOT!r})
from ui.views import memory
memory.render()
"""
Q = "What was Acme Corp's total revenue in fiscal 2023?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache):
    data_dir = tmp_path_factory.mktemp("memory-page")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_DATA_DIR", str(data_dir))
        mp.setenv("FINRAG_MODEL_CACHE", str(model_cache))
        mp.setenv("FINRAG_CONFIG", str(data_dir / "absent.toml"))
        mp.delenv("FINRAG_EMBEDDER__NAME", raising=False)
        yield data_dir


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at):
    """The entry list (the first dataframe) as {question: row}."""
    frame = at.dataframe[0].value
    return {row["question"]: row for row in frame.to_dict("records")}


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _pick(at, question: str, company: str, period: str):
    from retrieval.memory_bank import entry_id_for

    at.selectbox(key="memory-pick").set_value(entry_id_for(question, company, period)).run()
    assert not at.exception, at.exception
    return at


def test_add_approve_retire(corpus):
    at = _app()
    assert any("No entries yet" in i.value for i in at.info)
    at.text_input(key="add-question").set_value(Q)
    at.text_area(key="add-paraphrases").set_value("How much revenue did Acme make in 2023?\n\n")
    at.text_area(key="add-answer").set_value("$1,234.5 million")
    at.text_input(key="add-company").set_value("Acme Corp")
    at.text_input(key="add-period").set_value("fiscal 2023")
    at.text_input(key="add-source-file").set_value("acme_2023_10k.pdf")
    at.number_input(key="add-source-page").set_value(6)
    at.text_input(key="add-author").set_value("ana")
    _click(at, "Add entry")
    assert any("Added" in s.value and "pending" in s.value for s in at.success)
    row = _table(at)[Q]
    assert (row["company"], row["period"], row["approved"], row["author"]) == (
        "Acme Corp",
        "FY2023",
        False,
        "ana",
    )
    assert (row["source file"], row["source page"]) == ("acme_2023_10k.pdf", 6)
    assert row["paraphrases"] == "How much revenue did Acme make in 2023?"

    # Adding the same question again is a FinragError shown as a message.
    next(b for b in at.button if b.label == "Add entry").click().run()
    assert not at.exception
    assert any("exists" in e.value for e in at.error)

    # Approving records the signed-in user (the local user, an admin) as the approver.
    at = _pick(_app(), Q, "Acme Corp", "FY2023")
    _click(at, "Approve")
    assert any("Approved" in s.value and "by local" in s.value for s in at.success)
    row = _table(at)[Q]
    assert (row["approved"], row["approved_by"]) == (True, "local")

    # The agent's view: a paraphrase finds the approved entry.
    at.text_input(key="memory-probe").set_value("How much revenue did Acme make in 2023?").run()
    assert not at.exception
    hits = at.dataframe[1].value.to_dict("records")
    assert [h["answer"] for h in hits] == ["$1,234.5 million"]

    # Editing what an approved entry says sends it back for approval.
    eid = at.selectbox(key="memory-pick").value
    at.text_area(key=f"edit-answer-{eid}").set_value("$1,250.0 million")
    _click(at, "Save changes")
    assert any("needs approval again" in s.value for s in at.success)
    row = _table(at)[Q]
    assert (row["answer"], row["approved"], row["approved_by"]) == ("$1,250.0 million", False, "")

    # Retire: gone from the default list, back when "retired" is shown.
    _click(at, "Retire")
    assert any("Retired" in s.value for s in at.success)
    assert Q not in _table(at)
    at.multiselect(key="memory-states").set_value(["retired"]).run()
    assert _table(at)[Q]["retired"] is True


def test_import_csv_then_export(corpus, tmp_path):
    rows = [
        {
            "question": "How many employees did Globex have at the end of FY2022?",
            "answer": "12,400",
            "company": "Globex",
            "period": "FY2022",
            "author": "bo",
            "approved": "true",
            "paraphrases": "Globex headcount 2022",
        },
        {
            "question": "What was Globex's dividend per share in FY2022?",
            "answer": "$0.52",
            "company": "Globex",
            "period": "FY2022",
            "author": "bo",
        },
        {"question": "", "answer": "orphan answer"},
    ]
    path = tmp_path / "seed.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    at = _app()
    at.file_uploader(key="memory-upload").set_value(("seed.csv", path.read_bytes(), "text/csv"))
    at.run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, at.exception
    assert any(
        "Imported seed.csv: 2 added, 0 updated, 0 skipped, 1 invalid" in s.value for s in at.success
    ), [s.value for s in at.success]
    table = _table(at)
    assert table[rows[0]["question"]]["approved"] is True
    assert table[rows[1]["question"]]["approved"] is False
    report = next(d for d in at.dataframe if "line" in d.value.columns).value
    statuses = report[["line", "status"]].values.tolist()
    assert statuses == [[2, "added"], [3, "added"], [4, "invalid"]]
    assert any("line 4:" in w.value and "non-empty question" in w.value for w in at.warning)

    # Text filter narrows the list.
    at.text_input(key="memory-filter").set_value("dividend").run()
    assert list(_table(at)) == [rows[1]["question"]]

    assert at.get("download_button")[0].proto.label == "Export CSV"
    # The bytes behind the button: the page's own export of the shared (cached) bank.
    from core.settings import Settings
    from retrieval.memory_bank import MemoryBank
    from ui.corpus import app_corpus
    from ui.views import memory

    settings = Settings()
    data = memory._export(MemoryBank(app_corpus(settings)), settings.default_acl)
    exported = {r["question"]: r for r in csv.DictReader(data.decode().splitlines())}
    assert exported[rows[0]["question"]]["paraphrases"] == "Globex headcount 2022"
    assert exported[rows[1]["question"]]["approved"] == "false"
