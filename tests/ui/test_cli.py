"""The `finrag` command end to end on a generated folder."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ui.cli import app

runner = CliRunner()


def _env(settings) -> dict[str, str]:
    return {
        "FINRAG_DATA_DIR": str(settings.data_dir),
        "FINRAG_MODEL_CACHE": str(settings.models_dir),
        "FINRAG_INGEST__WORKERS": "1",
        "FINRAG_INGEST__ISOLATE": "false",  # parse in the test process (no worker pool to start)
    }


def test_ingest_search_filings_json(settings, sample_folder):
    env = _env(settings)
    result = runner.invoke(app, ["ingest", str(sample_folder), "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(f["status"] for f in report["files"]) == ["ok", "ok", "ok"]

    result = runner.invoke(
        app, ["search", "capital expenditures fiscal 2024", "--json", "--limit", "3"], env=env
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    for key in ("file", "doc_id", "page", "modality", "score", "text"):
        assert key in hits[0]
    assert hits[0]["file"] == "contoso_fy2024_10k.pdf"
    assert isinstance(hits[0]["page"], int) and hits[0]["page"] >= 1

    result = runner.invoke(
        app, ["search", "revenue", "--json", "--company", "Northwind Robotics, Inc."], env=env
    )
    assert {h["file"] for h in json.loads(result.stdout)} <= {
        "northwind_2023_10k.pdf",
        "northwind_2024q2_10q.pdf",
    }

    result = runner.invoke(app, ["filings", "--json"], env=env)
    rows = json.loads(result.stdout)
    assert {(r["ticker"], r["form"], r["fiscal_year"]) for r in rows} == {
        ("NWRB", "10-K", 2023),
        ("NWRB", "10-Q", 2024),
        ("CFCO", "10-K", 2024),
    }


def test_ingest_caps_links_and_records_the_os_user(settings, sample_folder, tmp_path):
    import getpass
    import shutil

    folder = tmp_path / "filings"
    folder.mkdir()
    shutil.copy(sample_folder / "northwind_2024q2_10q.pdf", folder)
    (folder / "linked.pdf").symlink_to(sample_folder / "contoso_fy2024_10k.pdf")
    env = _env(settings)

    over = runner.invoke(app, ["ingest", str(folder), "--max-files", "0"], env=env)
    assert over.exit_code == 2
    assert "more than 0 files" in over.output and "--max-files" in over.output

    result = runner.invoke(app, ["ingest", str(folder), "--json"], env=env)
    assert result.exit_code == 0, result.output
    files = {f["path"].rsplit("/", 1)[-1]: f for f in json.loads(result.stdout)["files"]}
    assert files["northwind_2024q2_10q.pdf"]["status"] == "ok"
    assert files["linked.pdf"]["status"] == "failed"
    assert "--follow-symlinks" in files["linked.pdf"]["reason"]
    rows = json.loads(runner.invoke(app, ["filings", "--json"], env=env).stdout)
    assert [r["added_by"] for r in rows] == [getpass.getuser()]

    followed = runner.invoke(app, ["ingest", str(folder), "--follow-symlinks", "--json"], env=env)
    statuses = sorted(f["status"] for f in json.loads(followed.stdout)["files"])
    assert statuses == ["ok", "skipped-duplicate"]


def test_nothing_landed_exits_nonzero_with_reason(settings, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    result = runner.invoke(app, ["ingest", str(bad)], env=_env(settings))
    assert result.exit_code == 1
    assert "failed" in result.output


def test_unknown_backend_is_one_readable_line(settings, sample_folder):
    env = {**_env(settings), "FINRAG_EMBEDDER__NAME": "word2vec"}
    result = runner.invoke(app, ["search", "revenue"], env=env)
    assert result.exit_code == 2
    assert "unknown embedder 'word2vec'" in result.output and "minilm-onnx" in result.output
    assert "Traceback" not in result.output


def test_demo_answers_the_sample_questions_with_citations(settings):
    result = runner.invoke(app, ["demo", "--no-interactive"], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "3 ok" in result.output
    # figures through the agent: read from the statement facts, each cited to its cell
    assert "A: The FY2023 total revenue is $2,255.4 million [1]." in result.output
    assert "[1] northwind_2023_10k.pdf p.6: Total revenue | 2023: 2,255.4" in result.output
    assert "capital expenditures is $418 million [1]" in result.output
    assert "contoso_fy2024_10k.pdf p.5: Purchases of land, buildings and equipment" in result.output
    assert "Supply chain disruptions could harm our business." in result.output


def test_facts_command_honours_acl_groups(settings):
    from datetime import date

    from core.records import Fact
    from retrieval.facts import FactStore

    store = FactStore(settings.facts_path)
    fact = Fact(
        fact_id="f1",
        doc_id="d1",
        page_no=4,
        line_item="Total net sales",
        concept="revenue",
        period_type="duration",
        period_end=date(2024, 6, 30),
        months=12,
        fiscal_year=2024,
        fiscal_period="FY",
        value=1.65e9,
        company="Tailspin Outdoor Gear, Inc.",
        form="10-K",
        file_name="tsog.pdf",
        acl=["analysts"],
    )
    store.replace("d1", [fact])
    store.close()
    env = _env(settings)
    args = ["facts", "--company", "tailspin", "--concept", "revenue", "--year", "2024"]
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # default groups cannot read it
    result = runner.invoke(app, [*args, "--groups", "analysts", "--json"], env=env)
    rows = json.loads(result.stdout)
    assert [(r["concept"], r["value"], r["page_no"]) for r in rows] == [("revenue", 1.65e9, 4)]
    result = runner.invoke(app, [*args, "--groups", "analysts", "--form", "10-K"], env=env)
    assert result.exit_code == 0 and "Facts for tailspin (1)" in result.stdout
