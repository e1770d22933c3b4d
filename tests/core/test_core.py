"""Settings sources, backend registry errors, content-derived ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UnknownBackendError
from core.records import Chunk, make_chunk_id, point_id, sha256_file
from core.registry import Registry
from core.settings import Settings


def test_env_prefix_and_nested_groups(monkeypatch, tmp_path):
    monkeypatch.setenv("FINRAG_DATA_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("FINRAG_QDRANT__URL", "http://qdrant:6333")
    monkeypatch.setenv("FINRAG_EMBEDDER__BATCH_SIZE", "7")
    s = Settings()
    assert s.data_dir == tmp_path / "corpus"
    assert s.qdrant.url == "http://qdrant:6333"
    assert s.embedder.batch_size == 7
    assert s.catalog_path == tmp_path / "corpus" / "catalog.sqlite"


def test_toml_file_is_read_and_env_wins(monkeypatch, tmp_path):
    config = tmp_path / "finrag.toml"
    config.write_text(
        'log_level = "INFO"\n[ingest]\nrender_dpi = 72\n[rerank]\nname = "qwen3-vl"\n'
    )
    monkeypatch.setenv("FINRAG_CONFIG", str(config))
    monkeypatch.setenv("FINRAG_INGEST__RENDER_DPI", "90")
    s = Settings()
    assert s.log_level == "INFO"
    assert s.rerank.name == "qwen3-vl"
    assert s.ingest.render_dpi == 90  # environment beats the file


def test_registry_lists_known_names_and_loads_lazily():
    reg: Registry[object] = Registry("widget")
    reg.register_lazy("ordered", "collections:OrderedDict")
    reg.register("plain")(dict)
    assert reg.create("ordered").__class__.__name__ == "OrderedDict"
    with pytest.raises(UnknownBackendError, match="known widgets: ordered, plain"):
        reg.create("fancy")


@pytest.mark.parametrize(
    ("env", "value", "known"),
    [
        ("FINRAG_EMBEDDER__NAME", "minilm", "known embedders: hash, minilm-onnx, qwen3-vl"),
        (
            "FINRAG_RERANK__NAME",
            "cohere",
            "known rerankers: auto, cross-encoder, learned, listwise-vl",
        ),
        ("FINRAG_LLM__NAME", "gpt", "known llms: extractive, openai, transformers"),
        ("FINRAG_INGEST__OCR", "easyocr", "known OCR engines: rapidocr, tesseract"),
    ],
)
def test_an_unknown_backend_fails_when_settings_load(monkeypatch, env, value, known):
    monkeypatch.setenv(env, value)
    with pytest.raises(UnknownBackendError, match=known):
        Settings()


def test_each_backend_gets_its_own_options_model(monkeypatch):
    monkeypatch.setenv("FINRAG_EMBEDDER__NAME", "qwen3-vl")
    monkeypatch.setenv("FINRAG_EMBEDDER__DIMENSION", "1024")
    monkeypatch.setenv("FINRAG_RERANK__NAME", "listwise-vl")
    monkeypatch.setenv("FINRAG_RERANK__WINDOW", "4")
    monkeypatch.setenv("FINRAG_LLM__NAME", "openai")
    monkeypatch.setenv("FINRAG_LLM__BASE_URL", "http://localhost:8000/v1")
    s = Settings()
    assert type(s.embedder).__name__ == "Qwen3VLEmbedderOptions" and s.embedder.dimension == 1024
    assert type(s.rerank).__name__ == "ListwiseRerankerOptions" and s.rerank.window == 4
    assert type(s.llm).__name__ == "OpenAIOptions" and s.llm.base_url.endswith("/v1")
    # A knob the chosen backend does not read is ignored; a wrong name on assignment is refused.
    assert not hasattr(Settings(embedder={"name": "hash", "quantize": False}).embedder, "quantize")
    with pytest.raises(ValueError, match="hash"):
        s.embedder.name = "hash"


def test_ids_are_derived_from_content(tmp_path: Path):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    assert sha256_file(str(a)) == sha256_file(str(b))
    cid = make_chunk_id("doc", 3, "el-7")
    assert cid == make_chunk_id("doc", 3, "el-7") != make_chunk_id("doc", 4, "el-7")
    chunk = Chunk(chunk_id=cid, doc_id="doc", page_no=3, modality="text", text="x")
    assert chunk.point_id == point_id(cid)
    assert len(chunk.point_id) == 36  # a UUID string, as Qdrant requires


def test_empty_model_cache_means_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("FINRAG_MODEL_CACHE", "")
    s = Settings(data_dir=tmp_path)
    assert s.models_dir == tmp_path / "models"
