"""all-MiniLM-L6-v2 through onnxruntime on CPU (backend name ``minilm-onnx``, the default).

Contract: the :class:`~retrieval.embedders.base.Embedder` protocol, giving the same vectors as
:class:`~retrieval.embedders.minilm.SentenceTransformerEmbedder` (cosine > 0.999 in fp32) without
torch at query time.

- **Export, once.** On first use the local sentence-transformers folder (``settings.model``,
  default the packaged all-MiniLM-L6-v2) is exported with ``torch.onnx.export`` to
  ``<models_dir>/minilm-onnx/<model>/model.onnx``. The graph includes the model's pooling (mean
  over the attention mask, as the folder's Pooling config says) and the L2 normalisation, so it
  outputs finished sentence vectors. A ``manifest.json`` records a fingerprint of the source
  folder (file names, sizes, mtimes) and the export recipe; a changed source is re-exported.
  Exports run under a file lock, so two processes starting together export once. Optimum is
  deliberately not used (it pins transformers to an older major version).
- **int8.** With ``settings.quantize`` (the default) the exported graph is quantised once with
  ``onnxruntime.quantization.quantize_dynamic`` (int8 weights with per-channel scales,
  activations quantised at run time) to ``model.int8.onnx``: a quarter of the size, cosine to
  fp32 about 0.99 on filing text (see ``evaluation/bench_embed.py`` for speed and recall).
- **Inference.** ``CPUExecutionProvider`` with ``settings.threads`` intra-op threads (default: all
  cores). Texts are tokenised with the folder's Rust fast tokenizer (truncation at the model's
  256-token window, [CLS]/[SEP] included), sorted by length and batched so padding is minimal,
  then put back in input order. ``count_tokens`` uses the same tokenizer without special tokens
  and without truncation.

Only the export needs torch and transformers; an already exported cache needs neither. Loading is
lazy and thread-safe; an onnxruntime session may be shared by threads.

Example:
    >>> from core.options import MiniLMOnnxOptions
    >>> e = OnnxMiniLMEmbedder(MiniLMOnnxOptions(), models_dir="/tmp/finrag-models")
    >>> e.embed_query("What was Boeing's FY2022 revenue?").shape  # doctest: +SKIP
    (384,)
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ConfigError, MissingDependencyError
from core.models import cpu_onnx_session, quantize_int8, usable_cores
from core.options import MiniLMOnnxOptions
from core.settings import Settings
from retrieval.embedders.base import TextOnlyEmbedder
from retrieval.embedders.packaged import (
    PACKAGED_MODEL_NAME,
    embedding_dim,
    load_fast_tokenizer,
    max_seq_length,
    pooling_config,
    resolve_model_dir,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

CACHE_SUBDIR = "minilm-onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
MANIFEST_FILE = "manifest.json"
# Bump when the exported graph or quantisation recipe changes, so old caches are rebuilt.
EXPORT_RECIPE = "pooled-normalised/opset17/eager-attention/v1"
QUANT_RECIPE = "quantize_dynamic/QInt8/per_channel/v1"
_OPSET = 17
_LOCK_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class _Runtime:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Tokenizer  # truncating at the model window, special tokens added
    pad_id: int


class OnnxMiniLMEmbedder(TextOnlyEmbedder):
    """A sentence-transformers text model exported to ONNX and run with onnxruntime on CPU."""

    name = "minilm-onnx"

    def __init__(
        self, settings: MiniLMOnnxOptions | None = None, models_dir: str | None = None
    ) -> None:
        self.settings = settings or MiniLMOnnxOptions()
        self.model_dir = resolve_model_dir(self.settings.model)
        self.max_tokens = max_seq_length(self.model_dir)
        self.dim = embedding_dim(self.model_dir)
        root = (
            Path(models_dir) if models_dir else Settings.model_fields["data_dir"].default / "models"
        )
        self.cache_dir = root / CACHE_SUBDIR / _cache_name(self.settings.model)
        self.quantize = self.settings.quantize
        self._lock = threading.Lock()
        self._runtime: _Runtime | None = None
        self._counter: Tokenizer | None = None

    @property
    def onnx_path(self) -> Path:
        """The graph this embedder runs (exported on first use)."""
        return self.cache_dir / (INT8_FILE if self.quantize else FP32_FILE)

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self._counter is None:
            with self._lock:
                if self._counter is None:
                    self._counter = load_fast_tokenizer(self.model_dir)
        encodings = self._counter.encode_batch_fast(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        runtime = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = [e.ids for e in runtime.tokenizer.encode_batch_fast(list(texts))]
        limit = self.settings.document_tokens
        if limit:
            # Keep [CLS] + the first `limit` tokens + [SEP]: the dense view of a long chunk.
            encodings = [
                ids if len(ids) <= limit + 2 else ids[: limit + 1] + ids[-1:] for ids in encodings
            ]
        lengths = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(texts))
        # Longest first, so each batch pads to nearly its own length.
        order = np.argsort(-lengths, kind="stable")
        batch = max(1, self.settings.batch_size)
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), runtime.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = int(lengths[i])
                ids[r, :n] = encodings[i]
                mask[r, :n] = 1
            out[rows] = self._run(runtime, ids, mask)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        runtime = self._load()
        ids = np.asarray([runtime.tokenizer.encode(text).ids], dtype=np.int64)
        return self._run(runtime, ids, np.ones_like(ids))[0]

    def _run(self, runtime: _Runtime, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (vectors,) = runtime.session.run(
            ["sentence_embedding"], {"input_ids": ids, "attention_mask": mask}
        )
        return np.asarray(vectors, dtype=np.float32)

    def _load(self) -> _Runtime:
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = self._build()
        return self._runtime

    def _build(self) -> _Runtime:
        return _load_runtime(
            self.model_dir, self.cache_dir, self.quantize, self.settings.threads, self.max_tokens
        )


@functools.cache
def _load_runtime(
    model_dir: Path, cache_dir: Path, quantize: bool, threads: int | None, max_tokens: int
) -> _Runtime:
    """The ONNX session and tokenizer, built once per (model, export, threads, window).

    Every embedder over the same model shares them (an app with its corpus and an evaluation
    corpus open, or a test session opening many corpora, loads the weights once).
    """
    try:
        import onnxruntime  # noqa: F401 - the session below needs it
    except ImportError as exc:
        raise MissingDependencyError(
            "the minilm-onnx embedder needs onnxruntime: pip install 'onnxruntime>=1.20,<2' "
            "(or set FINRAG_EMBEDDER__NAME=sentence-transformers)"
        ) from exc
    path = ensure_exported(model_dir, cache_dir, quantize=quantize)
    session = cpu_onnx_session(path, threads)
    tokenizer = load_fast_tokenizer(model_dir)
    tokenizer.enable_truncation(max_tokens)
    pad_id = tokenizer.token_to_id("[PAD]")
    logger.info("minilm-onnx: %s with %d intra-op threads", path, threads or usable_cores())
    return _Runtime(session=session, tokenizer=tokenizer, pad_id=0 if pad_id is None else pad_id)


def ensure_exported(model_dir: Path, cache_dir: Path, *, quantize: bool) -> Path:
    """The ONNX file for ``model_dir`` in ``cache_dir``, exporting/quantising it if needed.

    Args:
        model_dir: a local sentence-transformers folder.
        cache_dir: where ``model.onnx``, ``model.int8.onnx`` and ``manifest.json`` live.
        quantize: return (and build if missing) the int8 graph instead of the fp32 one.

    Returns:
        The path of the requested graph. Reuses the cache when the manifest's fingerprint
        matches the source folder; otherwise exports under ``cache_dir/.export.lock``.
    """
    fingerprint = source_fingerprint(model_dir)
    wanted = cache_dir / (INT8_FILE if quantize else FP32_FILE)
    if _cache_valid(cache_dir, fingerprint, quantize) and wanted.is_file():
        return wanted
    cache_dir.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(cache_dir / ".export.lock"), timeout=_LOCK_TIMEOUT_S):
        # Another process may have finished the export while we waited for the lock.
        manifest = _read_manifest(cache_dir)
        if manifest.get("fingerprint") != fingerprint or not (cache_dir / FP32_FILE).is_file():
            # Drop the old manifest and graphs first: a crash mid-export must not leave a
            # manifest vouching for graphs of an older source.
            for stale in (MANIFEST_FILE, FP32_FILE, INT8_FILE):
                (cache_dir / stale).unlink(missing_ok=True)
            _export_onnx(model_dir, cache_dir / FP32_FILE)
            manifest = {"fingerprint": fingerprint, "source": str(model_dir)}
        if quantize and (
            manifest.get("int8") != QUANT_RECIPE or not (cache_dir / INT8_FILE).is_file()
        ):
            logger.info("quantising %s to int8 (once)", cache_dir / FP32_FILE)
            quantize_int8(cache_dir / FP32_FILE, cache_dir / INT8_FILE)
            manifest["int8"] = QUANT_RECIPE
        _write_manifest(cache_dir, manifest)
    return wanted


def source_fingerprint(model_dir: Path) -> str:
    """A hash of the source folder's files (names, sizes, mtimes) and the export recipe.

    Stat-based rather than content-based: hashing 90 MB of weights on every start would cost
    more than the rest of loading, and any rewrite of a weight file changes its mtime.
    """
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for file in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        if file.suffix == ".md" or file.name.startswith("."):
            continue
        stat = file.stat()
        digest.update(f"{file.relative_to(model_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cache_valid(cache_dir: Path, fingerprint: str, quantize: bool) -> bool:
    manifest = _read_manifest(cache_dir)
    if manifest.get("fingerprint") != fingerprint:
        return False
    return not quantize or manifest.get("int8") == QUANT_RECIPE


def _read_manifest(cache_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((cache_dir / MANIFEST_FILE).read_text()))
    except (OSError, ValueError):
        return {}


def _write_manifest(cache_dir: Path, manifest: dict[str, Any]) -> None:
    tmp = cache_dir / f".{MANIFEST_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, cache_dir / MANIFEST_FILE)


def _export_onnx(model_dir: Path, target: Path) -> None:
    """Export transformer + pooling + normalisation to ``target`` (atomically replaced)."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingDependencyError(
            "exporting the minilm-onnx model needs torch and transformers once "
            "(pip install torch transformers); afterwards the cached ONNX file is enough"
        ) from exc

    pooling = pooling_config(model_dir)
    mode = "cls" if pooling.get("pooling_mode_cls_token") else "mean"
    if not (pooling.get("pooling_mode_mean_tokens", True) or mode == "cls"):
        raise ConfigError(
            f"{model_dir} uses a pooling mode minilm-onnx does not export ({pooling}); "
            "use FINRAG_EMBEDDER__NAME=sentence-transformers for this model"
        )
    logger.info("exporting %s to ONNX at %s (once; %s pooling)", model_dir, target, mode)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-off export should not draw bars in the CLI
    # Eager attention traces to plain MatMul/Softmax that onnxruntime fuses and quantises well.
    model = AutoModel.from_pretrained(
        str(model_dir), attn_implementation="eager", local_files_only=True
    )
    wrapper = _sentence_graph(model, mode).eval()
    ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 1037, 2936, 6251, 2182, 102]])
    mask = (torch.arange(ids.shape[1]) < torch.tensor([[4], [6]])).long()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter warnings are expected here
        torch.onnx.export(
            wrapper,
            (ids, mask),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=_OPSET,
            # The torch.export-based exporter needs onnxscript; the TorchScript one does not.
            dynamo=False,
        )
    os.replace(tmp, target)


def _sentence_graph(model: Any, mode: str) -> Any:
    """The module to export (built here so torch is imported only when exporting)."""
    import torch

    class SentenceGraph(torch.nn.Module):
        """Transformer -> pooling -> L2 normalisation, as sentence-transformers computes it."""

        def __init__(self, model: Any, mode: str) -> None:
            super().__init__()
            self.model = model
            self.mode = mode

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            if self.mode == "cls":
                pooled = hidden[:, 0]
            else:
                weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return SentenceGraph(model, mode)


def _cache_name(model: str | None) -> str:
    """A folder name for this model's exports: readable, and unique per distinct setting."""
    if not model:
        return PACKAGED_MODEL_NAME
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(model).name or model).strip("-.") or "model"
    return f"{stem}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"
