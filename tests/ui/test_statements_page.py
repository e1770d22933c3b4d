"""The Statements page: a filing's standardised statements, and a figure's cell on selection."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from core.settings import Settings
from tests.fixtures.corpora import ingest_into
from ui.views.statements import standardised

ROOT = str(Path(__file__).resolve().parents[2])
SCRIPT = f"""
import sys
sys.path.insert(0, {ROOT!r})
from ui.views import statements
statements.render()
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    data_dir = tmp_path_factory.mktemp("statements-page")
    settings = Settings(data_dir=data_dir, model_cache=model_cache)
    settings.ingest.workers = 1
    assert ingest_into([sample_folder], settings).count("ok") == 3
    from retrieval.corpus import Corpus

    with Corpus.open(settings) as opened:
        doc = next(f for f in opened.filings() if f.file_name == "northwind_2023_10k.pdf")
        facts = opened.facts.query(acl_groups=["public"], doc_ids=[doc.doc_id])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_DATA_DIR", str(data_dir))
        mp.setenv("FINRAG_MODEL_CACHE", str(model_cache))
        mp.setenv("FINRAG_CONFIG", str(data_dir / "absent.toml"))
        yield SimpleNamespace(settings=settings, doc_id=doc.doc_id, facts=facts)


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_grid_is_concepts_by_period_newest_first(corpus):
    grid = standardised(corpus.facts, "income")
    assert grid.columns[:2] == ["FY2023", "FY2022"]
    assert grid.cells[("revenue", "FY2023")].text == "2,255.4"
    assert {"line item": "Revenue", "FY2023": "2,255.4", "FY2022": "1,883.4"}.items() <= (
        grid.table()[grid.rows.index("revenue")].items()
    )


def test_page_shows_the_statement_and_a_selected_figures_cell(corpus):
    at = _app()
    filing = next(o for o in at.selectbox[0].options if "northwind_2023_10k.pdf" in o)
    at.selectbox[0].set_value(filing).run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    revenue = frame[frame["line item"] == "Revenue"].iloc[0]
    assert revenue["FY2023"] == "2,255.4"
    key = f"grid-{corpus.doc_id}-income"
    row = list(frame["line item"]).index("Revenue")
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": [[row, "FY2023"]]}}
    at.run()
    assert not at.exception, at.exception
    assert any("2,255.4" in m.value and "page 6" in m.value for m in at.markdown)
    assert len(at.image) == 1
