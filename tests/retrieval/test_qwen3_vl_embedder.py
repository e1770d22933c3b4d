"""Qwen3VLEmbedder on the tiny random Qwen3-VL: prompt, pooling, padding, batching, Matryoshka.

Also covers core.models: offline resolution errors, the processor check, and lazy imports.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError, ModelNotAvailableError
from core.options import Qwen3VLEmbedderOptions
from tests.conformance.embedders import EmbedderConformance
from tests.fixtures import tiny_qwen
from tests.fixtures.tiny_qwen import write_test_image

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

tiny_qwen_copy = tiny_qwen.tiny_qwen_copy  # the pytest fixture, registered in this module
tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the pytest fixture, registered in this module


@pytest.fixture
def embedder(tiny_qwen_dir: Path):
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    return Qwen3VLEmbedder(
        Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir), device="cpu", batch_size=2)
    )


@pytest.fixture
def images(tmp_path: Path) -> list[str]:
    return [
        str(write_test_image(tmp_path / "a.png", seed=1)),
        str(write_test_image(tmp_path / "b.png", size=(320, 256), seed=2)),
    ]


TEXTS = [
    "Net income increased 12% to $4.2 billion.",
    "yes",
    "Total assets, total liabilities and shareholders' equity at December 31 were reported.",
]


def _manual_single(embedder, item) -> np.ndarray:
    """The reference computation: one unpadded sequence, last position, L2-normalised."""
    loaded = embedder.loaded()
    encoded = embedder.encode([item])
    assert bool(encoded["attention_mask"].all())  # a single sequence has no padding
    with torch.inference_mode():
        hidden = loaded.model(**encoded).last_hidden_state[0, -1].float()
    vector = hidden[: embedder.dim]
    return (vector / vector.norm()).numpy()


def test_prompt_ends_with_the_assistant_turn_and_pools_its_newline(embedder) -> None:
    from retrieval.embedders.qwen3_vl import EmbedInput

    doc = embedder.render(EmbedInput(text="net revenue"))
    assert doc == (
        "<|im_start|>system\nRepresent the user's input.<|im_end|>\n"
        "<|im_start|>user\nnet revenue<|im_end|>\n<|im_start|>assistant\n"
    )
    query = embedder.render(
        EmbedInput(text="What was revenue?", instruction=embedder.query_instruction)
    )
    assert query.startswith(
        "<|im_start|>system\nRetrieve pages of financial filings that answer the question."
        "<|im_end|>"
    )
    # an instruction without final punctuation gets a full stop, as in the reference code
    assert "<|im_start|>system\nFind it.<|im_end|>" in embedder.render(
        EmbedInput(text="x", instruction="Find it")
    )
    encoded = embedder.encode([EmbedInput(text="a"), EmbedInput(text=TEXTS[2])])
    tokenizer = embedder.loaded().tokenizer
    newline = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("\n"))
    im_start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    for row, mask in zip(encoded["input_ids"].tolist(), encoded["attention_mask"], strict=True):
        last = int(mask.nonzero().max())
        assert [row[last]] == newline
        turn = max(i for i in range(last + 1) if row[i] == im_start)
        assert tokenizer.decode(row[turn : last + 1]) == "<|im_start|>assistant\n"


def test_pooling_matches_a_manual_forward_on_the_unpadded_sequence(embedder) -> None:
    from retrieval.embedders.qwen3_vl import EmbedInput

    batch = embedder.embed_documents(TEXTS)  # lengths differ: rows 0 and 1 are padded
    for row, text in zip(batch, TEXTS, strict=True):
        np.testing.assert_allclose(row, _manual_single(embedder, EmbedInput(text=text)), atol=2e-5)


def test_left_and_right_padding_give_the_same_embeddings(embedder, images) -> None:
    from retrieval.embedders.qwen3_vl import EmbedInput, pool_last_token

    items = [EmbedInput(text=TEXTS[0]), EmbedInput(image=images[1], text="balance sheet")]
    model = embedder.loaded().model
    pooled = {}
    for side in ("left", "right"):
        encoded = embedder.encode(items, padding_side=side)
        first_mask = encoded["attention_mask"][0]
        assert (first_mask[0] == 0) if side == "left" else (first_mask[-1] == 0)
        with torch.inference_mode():
            hidden = model(**encoded).last_hidden_state
        pooled[side] = pool_last_token(hidden, encoded["attention_mask"]).numpy()
    np.testing.assert_allclose(pooled["left"], pooled["right"], atol=2e-5)


def test_batch_equals_single_for_text_images_and_mixtures(embedder, images) -> None:
    from retrieval.embedders.qwen3_vl import EmbedInput

    items = [
        EmbedInput(text=TEXTS[0]),
        EmbedInput(image=images[0]),
        EmbedInput(text=TEXTS[2]),
        EmbedInput(image=images[1], text="figure caption"),
    ]
    batched = embedder.embed(items)  # batch_size=2: two mixed text/image batches
    singles = np.stack([embedder.embed([item])[0] for item in items])
    np.testing.assert_allclose(batched, singles, atol=2e-5)
    np.testing.assert_allclose(embedder.embed_images(images)[0], singles[1], atol=2e-5)


def test_vectors_are_normalised_and_matryoshka_truncation_renormalises(
    tiny_qwen_dir, embedder
) -> None:
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    full = embedder.embed_documents(TEXTS)
    assert full.dtype == np.float32 and full.shape == (3, 64) and embedder.dim == 64
    np.testing.assert_allclose(np.linalg.norm(full, axis=1), 1.0, atol=1e-6)

    short = Qwen3VLEmbedder(
        Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir), device="cpu", dimension=16)
    )
    assert short.dim == short.image_dim == 16
    cut = short.embed_documents(TEXTS)
    expected = full[:, :16] / np.linalg.norm(full[:, :16], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-6)
    assert short.embed_query("revenue").shape == (16,)

    with pytest.raises(ConfigError, match="FINRAG_EMBEDDER__DIMENSION"):
        Qwen3VLEmbedder(Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir), dimension=65))


def test_images_change_the_vector_and_text_only_needs_no_pixels(embedder, images) -> None:
    from retrieval.embedders.qwen3_vl import EmbedInput

    text_only = embedder.encode([EmbedInput(text="revenue")])
    assert "pixel_values" not in text_only
    with_image = embedder.encode([EmbedInput(text="revenue", image=images[0])])
    assert tuple(with_image["image_grid_thw"][0].tolist()) == (1, 10, 14)  # 224x160: 35 tokens
    image_pad = embedder.loaded().tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((with_image["input_ids"] == image_pad).sum()) == 35

    plain, mixed, image_a, image_b = embedder.embed(
        [
            EmbedInput(text="revenue"),
            EmbedInput(text="revenue", image=images[0]),
            EmbedInput(image=images[0]),
            EmbedInput(image=images[1]),
        ]
    )
    assert float(plain @ mixed) < 0.999
    assert float(image_a @ image_b) < 0.999
    query = embedder.embed_query("revenue")
    assert float(query @ plain) < 0.999  # the instruction changes the query vector


def test_long_text_is_cut_at_a_token_boundary(embedder, monkeypatch) -> None:
    import retrieval.embedders.qwen3_vl as module

    monkeypatch.setattr(module, "MAX_TEXT_TOKENS", 3)
    text = "Net income increased 12% to $4.2 billion."
    cut = embedder.messages(module.EmbedInput(text=text))[1]["content"][0]["text"]
    assert text.startswith(cut) and len(cut) < len(text)
    assert embedder.count_tokens([cut]) == [3]


def test_count_tokens_excludes_special_tokens(embedder) -> None:
    tokenizer = embedder.loaded().tokenizer
    counts = embedder.count_tokens(["yes", TEXTS[2], ""])
    assert counts == [1, len(tokenizer(TEXTS[2], add_special_tokens=False)["input_ids"]), 0]


def test_registry_builds_the_backend(tiny_qwen_dir) -> None:
    from retrieval.embedders.base import EMBEDDERS
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    built = EMBEDDERS.create(
        "qwen3-vl",
        settings=Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir)),
        models_dir=None,
    )
    assert isinstance(built, Qwen3VLEmbedder) and built.image_dim == built.dim


def test_models_dir_is_searched_by_name(tiny_qwen_dir) -> None:
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    built = Qwen3VLEmbedder(
        Qwen3VLEmbedderOptions(model=tiny_qwen_dir.name),
        models_dir=str(tiny_qwen_dir.parent),
    )
    assert built.model_path == tiny_qwen_dir.resolve()


def test_a_missing_model_fails_fast_naming_the_setting(tmp_path, monkeypatch) -> None:
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    hub_constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # an empty cache
    started = time.monotonic()
    for model in ("Qwen/Qwen3-VL-Embedding-2B", str(tmp_path / "nowhere"), None):
        with pytest.raises(ModelNotAvailableError, match="FINRAG_EMBEDDER__MODEL") as caught:
            Qwen3VLEmbedder(Qwen3VLEmbedderOptions(model=model))
        assert "download them on a machine with network access" in str(caught.value)
    assert time.monotonic() - started < 5


def test_a_folder_without_config_is_refused(tmp_path) -> None:
    from core.models import resolve_model_path

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotAvailableError, match="no config.json"):
        resolve_model_path(str(tmp_path / "empty"), setting="FINRAG_RERANK__MODEL")


def test_a_processor_without_images_is_refused(tiny_qwen_copy: Path, monkeypatch) -> None:
    import transformers

    from core.models import load_processor

    assert load_processor(tiny_qwen_copy, setting="X").image_processor is not None
    # Without torchvision, AutoProcessor quietly hands back the bare tokenizer: simulate that.
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_qwen_copy))
    with monkeypatch.context() as patch:
        patch.setattr(transformers.AutoProcessor, "from_pretrained", lambda *a, **k: tokenizer)
        with pytest.raises(ModelNotAvailableError, match="not a multimodal processor"):
            load_processor(tiny_qwen_copy, setting="FINRAG_LLM__MODEL")
    (tiny_qwen_copy / "processor_config.json").unlink()
    with pytest.raises(ModelNotAvailableError, match="FINRAG_LLM__MODEL"):
        load_processor(tiny_qwen_copy, setting="FINRAG_LLM__MODEL")


def test_importing_the_backends_does_not_import_torch() -> None:
    code = (
        "import sys, core.models, rerank.base, agent.llm.base, retrieval.embedders.base, "
        "retrieval.embedders.qwen3_vl, rerank.pointwise, rerank.listwise, "
        "agent.llm.transformers_vl; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _cuda_available() -> bool:
    return bool(torch.cuda.is_available())


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="needs CUDA")
def test_cuda_bf16_embeddings_match_cpu_fp32(tiny_qwen_dir, images) -> None:
    from retrieval.embedders.qwen3_vl import EmbedInput, Qwen3VLEmbedder

    items = [
        EmbedInput(text=TEXTS[0]),
        EmbedInput(image=images[0]),
        EmbedInput(image=images[1], text="x"),
    ]
    vectors = {}
    for device in ("cpu", "cuda"):
        settings = Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir), device=device, batch_size=3)
        embedder = Qwen3VLEmbedder(settings)
        assert str(embedder.loaded().dtype) == (
            "torch.bfloat16" if device == "cuda" else "torch.float32"
        )
        vectors[device] = embedder.embed(items)
        singles = np.stack([embedder.embed([item])[0] for item in items])
        np.testing.assert_allclose(
            vectors[device], singles, atol=2e-2 if device == "cuda" else 2e-5
        )
    cosines = (vectors["cpu"] * vectors["cuda"]).sum(axis=1)
    assert cosines.min() > 0.98


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="needs CUDA")
def test_gpu_check_script_reports_throughput_and_memory() -> None:
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "scripts/gpu_check.py", "--pages", "4", "--device", "cuda"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result = next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))
    import json

    report = json.loads(result[len("RESULT ") :])
    assert report["embedder"]["pages_per_s"] > 0 and report["reranker"]["pairs_per_s"] > 0
    assert report["peak_gpu_memory_gib"] > 0


def test_gpu_check_script_runs_on_cpu_with_synthetic_pages() -> None:
    """End to end on CPU: PIL-drawn pages, the tiny model, every stage in the table."""
    import json

    root = Path(__file__).resolve().parents[2]
    args = ["--pages", "2", "--dpi", "20", "--queries", "2", "--batches", "2,1"]
    out = subprocess.run(
        [
            sys.executable,
            "scripts/gpu_check.py",
            *args,
            "--listwise-tokens",
            "3",
            "--device",
            "cpu",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    lines = out.stdout.splitlines()
    assert lines[-1].startswith("RESULT ")
    report = json.loads(lines[-1][len("RESULT ") :])
    assert report["note"] == "cpu, tiny model: not a GPU figure"
    assert report["embedder"]["attention"] == "sdpa" and report["reranker"]["pairs_per_s"] > 0
    assert report["listwise"]["decode_ms_per_token"] > 0
    for figure in ("pages/s at batch 2", "queries/s batched", "pairs/s at batch 16", "prefill s"):
        assert any(figure in line for line in lines), figure
    assert "pymupdf" not in out.stderr.lower()


class TestQwen3VLEmbedderConformance(EmbedderConformance):
    @pytest.fixture
    def embedder(self, embedder):
        return embedder

    @pytest.fixture
    def image_paths(self, images):
        return images


def test_prefetched_batches_equal_one_by_one(tiny_qwen_dir, images) -> None:
    """Batches prepared in a worker thread give the vectors of serial one-by-one embedding."""
    from retrieval.embedders.qwen3_vl import EmbedInput, Qwen3VLEmbedder

    items = [EmbedInput(image=images[i % 2]) for i in range(5)] + [EmbedInput(text=TEXTS[0])]
    batched = Qwen3VLEmbedder(
        Qwen3VLEmbedderOptions(
            model=str(tiny_qwen_dir), device="cpu", batch_size=2, preprocess_workers=2
        )
    ).embed(items)
    serial = Qwen3VLEmbedder(
        Qwen3VLEmbedderOptions(
            model=str(tiny_qwen_dir), device="cpu", batch_size=1, preprocess_workers=0
        )
    )
    singles = np.stack([serial.embed([item])[0] for item in items])
    assert (batched * singles).sum(axis=1).min() >= 0.999
    queries = ["What was revenue?", "yes", "Net income in fiscal 2023"]
    together = serial.embed_queries(queries)
    one_by_one = np.stack([serial.embed_query(q) for q in queries])
    assert (together * one_by_one).sum(axis=1).min() >= 0.999
