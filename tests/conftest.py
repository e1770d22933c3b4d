"""Shared fixtures: isolated settings per test, one model cache per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the test suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """Converted models (the ONNX export of MiniLM) built once per test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path, model_cache, monkeypatch):
    """Settings for an empty corpus in a temporary folder, with the offline default stack."""
    from core.settings import Settings

    monkeypatch.delenv("FINRAG_DATA_DIR", raising=False)
    monkeypatch.setenv("FINRAG_CONFIG", str(tmp_path / "absent.toml"))
    settings = Settings(data_dir=tmp_path / "data", model_cache=model_cache)
    # Parse in the test process: a limited worker pool costs seconds per batch to start. The
    # tests of the pool itself (tests/ingest/test_hostile.py, the parallel-workers test) and the
    # hostile-file tests turn isolation back on.
    settings.ingest.isolate = False
    return settings


@pytest.fixture(scope="session")
def sample_folder(tmp_path_factory) -> Path:
    """The bundled sample filings (generated PDFs of two fictional companies)."""
    from samples.filings import write_samples

    return write_samples(tmp_path_factory.mktemp("samples"))


@pytest.fixture
def open_corpus():
    """Open corpora for one test (``open_corpus(settings)``); each is closed when it ends."""
    from retrieval.corpus import Corpus

    opened: list[Corpus] = []

    def open_(settings) -> Corpus:
        corpus = Corpus.open(settings)
        opened.append(corpus)
        return corpus

    yield open_
    for corpus in reversed(opened):
        corpus.close()
