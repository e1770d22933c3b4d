"""The ``qwen3-vl-lora`` reranker: Qwen3-VL-Reranker with a LoRA adapter merged into its base model.

Contract: ``settings.model`` names the adapter folder a LoRA training run wrote (its ``model/``,
see :mod:`finetune.lora`); ``finrag_model.json`` there (:class:`LoraModelInfo`) names the base
model. The adapter is merged into a private copy of the base model once per (folder, device,
dtype) per process, and scoring is exactly :class:`rerank.pointwise.Qwen3VLReranker`'s: the
fine-tuned scorer needs no other code. The model is loaded fresh, not from the process-wide cache
of :func:`core.models.load_vl_model`, because peft rewrites modules in place.

Example:
    >>> reranker = load_lora_reranker("runs/s1/model")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import ConfigError, MissingDependencyError, ModelNotAvailableError
from core.models import (
    LoadedModel,
    how_to_provide,
    load_processor,
    resolve_device,
    resolve_dtype,
    resolve_model_path,
)
from core.options import LoraRerankerOptions
from rerank.pointwise import Qwen3VLReranker

logger = logging.getLogger(__name__)

BACKEND = "qwen3-vl-lora"
MODEL_INFO_FILE = "finrag_model.json"
BASE_SETTING = "the training option base_model"


class LoraModelInfo(BaseModel):
    """``finrag_model.json`` of a LoRA model folder."""

    model_config = ConfigDict(extra="ignore")  # jobs add dataset_path/dataset_version

    backend: Literal["qwen3-vl-lora"] = BACKEND
    base: str
    stage: int
    max_length: int
    created_at: str
    metrics: dict[str, float] = Field(default_factory=dict)
    lora: dict[str, Any] = Field(default_factory=dict)


def read_model_info(folder: str | Path) -> LoraModelInfo | None:
    """The folder's ``finrag_model.json`` when it describes a ``qwen3-vl-lora`` model, else None."""
    path = Path(folder).expanduser() / MODEL_INFO_FILE
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    if raw.get("backend") != BACKEND:
        return None
    return LoraModelInfo.model_validate(raw)


def require_torch_peft() -> None:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"LoRA fine-tuning needs torch, transformers and peft ({exc}); install finrag with its "
            "default dependencies (pip install -e .)."
        ) from exc


def load_fresh_model(path: Path, *, device: str, dtype: str | None) -> LoadedModel:
    """A private (uncached) copy of the reranker model with its processor.

    peft injects modules in place, so training and merged adapters must never touch the shared
    model of :func:`core.models.load_vl_model`.
    """
    require_torch_peft()
    from transformers import AutoModelForImageTextToText

    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    logger.info("loading %s on %s as %s for LoRA", path, torch_device, torch_dtype)
    try:
        model = AutoModelForImageTextToText.from_pretrained(
            str(path), dtype=torch_dtype, local_files_only=True
        )
    except OSError as exc:
        raise ModelNotAvailableError(
            f"could not load model weights from {path}: {exc}. {how_to_provide(BASE_SETTING)}"
        ) from exc
    model.to(torch_device)
    processor = load_processor(path, setting=BASE_SETTING)
    return LoadedModel(model, processor, path, torch_device, torch_dtype)


_MERGED: dict[tuple[str, str, str], LoadedModel] = {}
_MERGED_LOCK = threading.Lock()


def load_merged_model(
    model_dir: str | Path, *, device: str = "auto", dtype: str | None = None
) -> LoadedModel:
    """The base model with ``model_dir``'s adapter merged in (loaded once per process)."""
    require_torch_peft()
    from peft import PeftModel

    folder = Path(model_dir).expanduser().resolve()
    info = read_model_info(folder)
    if info is None:
        raise ModelNotAvailableError(
            f"{folder} has no {MODEL_INFO_FILE} with backend {BACKEND!r}; point it at the model/ "
            "folder written by a qwen3-vl-lora training run."
        )
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    key = (str(folder), str(torch_device), str(torch_dtype))
    with _MERGED_LOCK:
        cached = _MERGED.get(key)
        if cached is not None:
            return cached
        base = resolve_model_path(info.base, setting=BASE_SETTING)
        loaded = load_fresh_model(base, device=str(torch_device), dtype=dtype)
        merged = PeftModel.from_pretrained(loaded.model, str(folder)).merge_and_unload().eval()
        result = LoadedModel(merged, loaded.processor, base, loaded.device, loaded.dtype)
        _MERGED[key] = result
        return result


class LoraReranker(Qwen3VLReranker):
    """The ``qwen3-vl`` pointwise reranker with a LoRA adapter merged into its base model.

    ``settings.model`` names the adapter folder (a training run's ``model/``); the base model
    comes from its ``finrag_model.json``.
    """

    name = BACKEND

    def __init__(self, settings: LoraRerankerOptions | None = None, **kwargs: Any) -> None:
        settings = settings or LoraRerankerOptions()
        if not settings.model:
            raise ConfigError(
                "the qwen3-vl-lora reranker needs FINRAG_RERANK__MODEL set to the model/ folder of "
                "a LoRA training run."
            )
        self.adapter_dir = Path(settings.model).expanduser().resolve()
        info = read_model_info(self.adapter_dir)
        if info is None:
            raise ModelNotAvailableError(
                f"{self.adapter_dir} has no {MODEL_INFO_FILE} with backend {BACKEND!r}; set "
                "FINRAG_RERANK__MODEL to the model/ folder written by a qwen3-vl-lora run."
            )
        self.info = info
        super().__init__(settings.model_copy(update={"model": info.base}), **kwargs)

    def loaded(self) -> LoadedModel:
        return load_merged_model(
            self.adapter_dir, device=self.settings.device, dtype=self.settings.dtype
        )


def load_lora_reranker(
    model_dir: str | Path, settings: LoraRerankerOptions | None = None
) -> LoraReranker:
    """A pointwise reranker using the adapter in ``model_dir`` (a run's ``model/`` folder)."""
    base = settings or LoraRerankerOptions()
    return LoraReranker(base.model_copy(update={"name": BACKEND, "model": str(model_dir)}))


def clear_cache() -> None:
    """Forget merged models (tests; freeing GPU memory)."""
    with _MERGED_LOCK:
        _MERGED.clear()
