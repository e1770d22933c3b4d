"""core.models and core.prefetch: device canonicalisation, dtype and attention choice, the model
cache, preprocessing overlap. CPU only; nothing here needs CUDA."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import ConfigError, MissingDependencyError
from core.prefetch import prefetched
from tests.fixtures import tiny_qwen

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the pytest fixture, registered in this module


@pytest.mark.parametrize(
    ("device", "canonical"),
    [("cpu", "cpu"), ("cuda", "cuda:0"), ("cuda:0", "cuda:0"), ("cuda:1", "cuda:1")],
)
def test_canonical_device_makes_one_spelling(device: str, canonical: str) -> None:
    from core.models import canonical_device

    assert canonical_device(device) == canonical
    assert canonical_device(torch.device(device)) == canonical


def test_cuda_and_cuda0_share_one_cache_entry(tiny_qwen_dir, monkeypatch) -> None:
    """Loading for "cuda" then "cuda:0" builds one model; the load itself is stubbed (no GPU)."""
    import transformers

    from core import models

    calls: list[dict] = []

    class FakeModel:
        def eval(self):
            return self

    def fake_from_pretrained(path, **kwargs):
        calls.append(kwargs)
        return FakeModel()

    monkeypatch.setattr(models, "_CACHE", {})
    monkeypatch.setattr(models, "resolve_attention", lambda setting, device: "sdpa")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", fake_from_pretrained)
    first = models.load_vl_model(str(tiny_qwen_dir), kind="base", setting="S", device="cuda")
    second = models.load_vl_model(str(tiny_qwen_dir), kind="base", setting="S", device="cuda:0")
    assert first is second and len(calls) == 1 and len(models.cached_models()) == 1
    # straight onto the device in bf16: no host-memory copy then .to(cuda)
    assert calls[0]["device_map"] == "cuda:0" and calls[0]["dtype"] == torch.bfloat16
    assert models.cached_models()[0][2] == "cuda:0"


def test_dtype_follows_the_device(monkeypatch) -> None:
    from core.models import resolve_dtype

    cpu, cuda = torch.device("cpu"), torch.device("cuda:0")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype(None, cpu) == torch.float32
    assert resolve_dtype("float16", cpu) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_dtype("auto", cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_dtype("auto", cuda) == torch.float16
    assert resolve_dtype("bfloat16", cuda) == torch.float16  # not supported: warned, fp16
    with pytest.raises(ConfigError):
        resolve_dtype("int8", cpu)


def test_attention_setting_resolves_as_documented(monkeypatch) -> None:
    from core import models

    cpu, cuda = torch.device("cpu"), torch.device("cuda:0")
    monkeypatch.setattr(models, "_flash_attn_importable", lambda: False)
    assert models.resolve_attention("auto", cpu) == "sdpa"
    assert models.resolve_attention("auto", cuda) == "sdpa"
    assert models.resolve_attention("eager", cpu) == "eager"
    assert models.resolve_attention("sdpa", cuda) == "sdpa"
    with pytest.raises(MissingDependencyError, match="flash-attn"):
        models.resolve_attention("flash_attention_2", cuda)
    with pytest.raises(ConfigError, match="CUDA"):
        models.resolve_attention("flash_attention_2", cpu)
    with pytest.raises(ConfigError, match="sdpa"):
        models.resolve_attention("fast", cpu)
    monkeypatch.setattr(models, "_flash_attn_importable", lambda: True)
    assert models.resolve_attention("auto", cuda) == "flash_attention_2"
    assert models.resolve_attention("auto", cpu) == "sdpa"


def test_the_loaded_model_reports_its_attention_and_fast_processor(tiny_qwen_dir) -> None:
    from core.models import load_vl_model
    from core.options import Qwen3VLEmbedderOptions
    from retrieval.embedders.qwen3_vl import Qwen3VLEmbedder

    embedder = Qwen3VLEmbedder(Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir), device="cpu"))
    assert embedder.attention == "sdpa"
    loaded = embedder.loaded()
    assert loaded.model.config._attn_implementation == "sdpa"
    assert loaded.dtype == torch.float32
    assert getattr(loaded.processor.image_processor, "backend", "torchvision") == "torchvision"
    eager = load_vl_model(
        str(tiny_qwen_dir), kind="base", setting="S", device="cpu", attention="eager"
    )
    assert eager is not loaded and eager.attention == "eager"


def test_prefetched_keeps_order_and_overlaps() -> None:
    assert list(prefetched(range(5), lambda x: x * 10, workers=0)) == [0, 10, 20, 30, 40]
    assert list(prefetched(range(5), lambda x: x * 10, workers=2)) == [0, 10, 20, 30, 40]
    started = threading.Event()

    def prepare(batch: int) -> int:
        if batch == 1:
            started.set()  # batch 1 is prepared while the consumer still holds batch 0
        return batch

    seen = []
    for batch in prefetched(range(3), prepare, workers=1):
        if batch == 0:
            assert started.wait(5)
        seen.append(batch)
    assert seen == [0, 1, 2]


def test_prefetched_raises_the_failing_batch() -> None:
    def prepare(batch: int) -> int:
        if batch == 2:
            raise ValueError("bad page")
        time.sleep(0.01)
        return batch

    batches = prefetched(range(4), prepare, workers=1)
    assert [next(batches), next(batches)] == [0, 1]
    with pytest.raises(ValueError, match="bad page"):
        next(batches)
