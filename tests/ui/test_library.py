"""The Library page through AppTest: ingest a folder in the background, then manage the catalog."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.errors import FinragError
from core.records import sha256_file
from ui.views.library import parse_overrides, save_uploads

TIMEOUT_S = 120  # bounds a hang; a loaded 2-core machine took 45 s to ingest the samples


def _page() -> None:
    from ui.views.library import render

    render()


@pytest.fixture
def corpus(tmp_path, model_cache, monkeypatch, sample_folder):
    data_dir = tmp_path / "library-corpus"
    monkeypatch.setenv("FINRAG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FINRAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("FINRAG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("FINRAG_INGEST__ISOLATE", "false")  # no spawned parse processes
    roots = [sample_folder, tmp_path / "allowed", data_dir / "uploads"]
    monkeypatch.setenv("FINRAG_INGEST__ALLOWED_ROOTS", json.dumps([str(r) for r in roots]))
    (tmp_path / "allowed").mkdir()
    return data_dir


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _report(at):
    """The per-file report table (the one with a status column), or None while none is drawn."""
    for frame in at.dataframe:
        if "status" in frame.value.columns:
            return frame.value
    return None


def _catalog(at):
    return next(f.value for f in at.dataframe if "ticker" in f.value.columns)


def test_ingest_a_folder_then_delete_a_filing(corpus, sample_folder):
    at = _app()
    assert any("No filings you may read yet" in i.value for i in at.info)

    at.text_input(key="library_folder").set_value(str(sample_folder))
    next(b for b in at.button if b.label == "Ingest").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("progress")) == 1  # the batch runs in the background: the page is back

    deadline = time.monotonic() + TIMEOUT_S
    while True:
        report = _report(at)
        if report is not None and list(report["status"]).count("ok") == 3 and at.success:
            break
        assert time.monotonic() < deadline, [e.value for e in at.error]
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    assert "3 ok" in at.success[0].value

    table = _catalog(at)
    assert len(table) == 3
    assert set(table["ticker"]) == {"NWRB", "CFCO"}
    assert set(table["state"]) == {"ok"}
    assert all(table["chunks"] > 0) and all(table["pages"] > 0)

    doc_id = sha256_file(str(sample_folder / "northwind_2023_10k.pdf"))
    at.selectbox(key="library_filing").set_value(doc_id).run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = _catalog(at)
    assert len(table) == 2
    assert "northwind_2023_10k.pdf" not in set(table["file"])


def test_overrides_and_uploads(tmp_path):
    assert parse_overrides(" Acme ", "", "10-K", "2023", "public, finance") == {
        "company": "Acme",
        "form": "10-K",
        "fiscal_year": 2023,
        "acl": ["public", "finance"],
    }
    assert parse_overrides("", "", "", "", " , ") == {}
    with pytest.raises(FinragError, match="not a year"):
        parse_overrides("", "", "", "FY23", "")
    upload = SimpleNamespace(name="../../evil.pdf", getbuffer=lambda: b"%PDF-1.4")
    other = SimpleNamespace(name="evil.pdf", getbuffer=lambda: b"%PDF-1.4 other")
    saved = save_uploads([upload], tmp_path / "uploads", "alice")
    (path,) = saved
    digest = hashlib.sha256(b"%PDF-1.4").hexdigest()
    assert path == str(tmp_path / "uploads" / "alice" / f"{digest}.pdf")
    assert saved[path] == "evil.pdf" and Path(path).read_bytes() == b"%PDF-1.4"
    (theirs,) = save_uploads([other], tmp_path / "uploads", "mallory")
    assert theirs != path and Path(path).read_bytes() == b"%PDF-1.4"  # nothing overwritten


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("allowed/nowhere", "does not exist"),
        ("/etc", "outside the folders this app may read"),
        ("allowed/../..", "outside the folders this app may read"),
        ("library-corpus/uploads/alice", "not among your own uploads"),
        ("allowed", "nothing to ingest (allowed: folder holds no supported files"),
    ],
)
def test_server_folder_errors_are_messages(corpus, tmp_path, where, message):
    (corpus / "uploads" / "alice").mkdir(parents=True)
    at = _app()
    path = where if where.startswith("/") else str(tmp_path / where)
    at.text_input(key="library_folder").set_value(path)
    next(b for b in at.button if b.label == "Ingest").click().run()
    assert not at.exception
    assert message in at.error[0].value, at.error[0].value
