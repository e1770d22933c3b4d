"""The Library page through AppTest: ingest a folder in the background, then manage the catalog."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from core.errors import FinragError
from core.records import sha256_file
from ui.views.library import parse_overrides, save_uploads

TIMEOUT_S = 50


def _page() -> None:
    from ui.views.library import render

    render()


@pytest.fixture
def corpus(tmp_path, model_cache, monkeypatch):
    data_dir = tmp_path / "library-corpus"
    monkeypatch.setenv("FINRAG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FINRAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("FINRAG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("FINRAG_INGEST__WORKERS", "1")  # no spawned parse processes in the test
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
    (saved,) = save_uploads([upload], tmp_path / "uploads")
    assert saved == tmp_path / "uploads" / "evil.pdf" and saved.read_bytes() == b"%PDF-1.4"


def test_missing_folder_is_an_error_message(corpus, tmp_path):
    at = _app()
    at.text_input(key="library_folder").set_value(str(tmp_path / "nowhere"))
    next(b for b in at.button if b.label == "Ingest").click().run()
    assert not at.exception
    assert "does not exist" in at.error[0].value
