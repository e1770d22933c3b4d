"""A fine-tuned text cross-encoder on CPU (backend name ``cross-encoder``).

Contract: the :class:`~rerank.base.Reranker` protocol. Each (query, chunk text) pair is read
jointly by a BERT-style encoder with a one-logit head; the score is that logit (unbounded,
higher is more relevant, comparable within one call). Hits come back sorted by score (ties keep
their input order) as new :class:`~core.records.Hit` objects with ``source="rerank"`` and ranks
from 1. ``last_reasoning`` stays None: a cross-encoder gives no reasons.

The model is a folder written by ``finrag finetune`` (:mod:`finetune.trainer`):
transformers weights, the tokenizer, and ``finrag_model.json`` (:class:`CrossEncoderMetadata`),
whose ``max_length`` is the token budget of a pair ([CLS] query [SEP] passage [SEP]); longer
pairs are cut, longest side first, exactly as in training (:class:`PairEncoder`).
``settings.model`` may name that folder, the job's output folder holding it (``<out>/model``), or
any local one-logit ``*ForSequenceClassification`` folder (``max_length`` 256 then). No model
means :class:`~core.errors.ModelNotAvailableError` saying how to train one.

Inference: by default (``runtime="auto"``) the model runs as a dynamically quantised int8 ONNX
graph under onnxruntime, exported once into ``<model>/onnx/`` (the same recipe as the
``minilm-onnx`` embedder: eager attention, opset 17, per-channel QInt8) and reused while the
weights file is unchanged. int8 is what keeps 30 candidates under the 400 ms CPU target (see
``evaluation/bench_rerank.py``). ``runtime="torch"`` runs the fp32 transformers model instead
(also the fallback when onnxruntime is missing or the folder is read-only and not yet exported).

Example:
    >>> from core.options import CrossEncoderOptions
    >>> r = CrossEncoderReranker(CrossEncoderOptions(name="cross-encoder", model="runs/acme/model"))
    ... # doctest: +SKIP
    >>> [h.rank for h in r.rerank("What was FY2023 revenue?", hits, top_k=3)]  # doctest: +SKIP
    [1, 2, 3]
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from core.errors import MissingDependencyError, ModelNotAvailableError
from core.models import quantize_int8, resolve_model_path
from core.options import CrossEncoderOptions
from core.records import Hit
from rerank.base import BaseReranker, passage_text
from rerank.pointwise import reranked

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

MODEL_SETTING = "FINRAG_RERANK__MODEL"
METADATA_FILE = "finrag_model.json"
ONNX_SUBDIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
MANIFEST_FILE = "manifest.json"
# Bump when the exported graph or the quantisation changes, so old exports are rebuilt.
EXPORT_RECIPE = "seqcls-logit/opset17/eager-attention/QInt8-per-channel/v1"
DEFAULT_MAX_LENGTH = 256
_OPSET = 17
_LOCK_TIMEOUT_S = 900.0

Runtime = Literal["auto", "onnx", "torch"]

HOW_TO_TRAIN = (
    "Train one with `finrag finetune --stage general --out DIR` (then optionally "
    "`finrag finetune --stage company --company TICKER --base DIR/model --out DIR2`) and set "
    f"{MODEL_SETTING} (or [rerank] model in finrag.toml) to the output's model folder, or set "
    "FINRAG_RERANK__NAME=none to keep the retrieval order."
)


class CrossEncoderMetadata(BaseModel):
    """``finrag_model.json``: what a fine-tuned reranker folder is and how it was made."""

    model_config = ConfigDict(extra="ignore")

    backend: str = "cross-encoder"
    base: str = ""  # the folder training started from
    stage: str = ""  # general | company
    company: str | None = None
    dataset_version: str = ""
    dataset_fingerprint: str = ""
    max_length: int = DEFAULT_MAX_LENGTH  # tokens per (query, passage) pair, specials included
    num_layers: int = 0
    created_at: datetime | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    loss: str = ""
    # Weight of the reranker against the retrieval order, fused by reciprocal rank
    # (finetune.fusion): 1 = reranker only, 0 = retrieval order. Calibrated after training
    # on the dataset's held-out queries retrieved from the corpus.
    fusion_weight: float = 1.0


def read_metadata(model_dir: Path) -> CrossEncoderMetadata:
    """The folder's metadata; a plain classification folder gets defaults from its config."""
    file = model_dir / METADATA_FILE
    if file.is_file():
        return CrossEncoderMetadata.model_validate_json(file.read_text())
    config = json.loads((model_dir / "config.json").read_text())
    return CrossEncoderMetadata(
        backend="cross-encoder",
        base=str(model_dir),
        num_layers=int(config.get("num_hidden_layers", 0)),
        max_length=min(DEFAULT_MAX_LENGTH, int(config.get("max_position_embeddings", 512))),
    )


def resolve_cross_encoder(model: str | None, *, models_dir: str | Path | None = None) -> Path:
    """The local folder of a one-logit cross-encoder named by ``settings.rerank.model``.

    Accepts a model folder, a ``finrag finetune`` output folder (its ``model/`` is used), or a
    Hugging Face id already in the local cache.

    Raises:
        ModelNotAvailableError: unset, missing, or not a one-logit sequence classifier; the
            message says how to produce one.
    """
    if not model:
        raise ModelNotAvailableError(
            f"the cross-encoder reranker has no model ({MODEL_SETTING} is unset). {HOW_TO_TRAIN}"
        )
    nested = Path(model).expanduser() / "model"
    if (nested / METADATA_FILE).is_file():
        model = str(nested)
    try:
        folder = resolve_model_path(model, setting=MODEL_SETTING, models_dir=models_dir)
    except ModelNotAvailableError as exc:
        raise ModelNotAvailableError(f"cross-encoder reranker: {exc} {HOW_TO_TRAIN}") from None
    metadata_file = folder / METADATA_FILE
    if metadata_file.is_file():
        backend = read_metadata(folder).backend
        if backend != "cross-encoder":
            raise ModelNotAvailableError(
                f"{folder} holds a {backend!r} model, not a cross-encoder; use the reranker "
                f"that matches it or point {MODEL_SETTING} at a cross-encoder folder. "
                f"{HOW_TO_TRAIN}"
            )
        return folder
    config = json.loads((folder / "config.json").read_text())
    architectures = config.get("architectures") or []
    labels = len(config.get("id2label") or {}) or int(config.get("num_labels", 2))
    if not any(str(a).endswith("ForSequenceClassification") for a in architectures) or labels != 1:
        raise ModelNotAvailableError(
            f"{folder} is not a one-logit cross-encoder (architectures {architectures}, "
            f"{labels} labels). {HOW_TO_TRAIN}"
        )
    return folder


def load_pair_tokenizer(model_dir: Path) -> Tokenizer:
    """The folder's Rust tokenizer with padding/truncation baked into ``tokenizer.json`` off."""
    file = model_dir / "tokenizer.json"
    if file.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(file))
    else:
        from transformers import AutoTokenizer

        backend = getattr(
            AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True),
            "backend_tokenizer",
            None,
        )
        if backend is None:
            raise ModelNotAvailableError(
                f"{model_dir} has no fast tokenizer (tokenizer.json). {HOW_TO_TRAIN}"
            )
        tokenizer = backend
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


class PairEncoder:
    """(query, passage) pairs -> padded int64 arrays, identical in training and inference.

    A pair holds at most ``max_length`` tokens including [CLS] and two [SEP]; the longer side is
    cut first (``longest_first``), so a long question never pushes the passage out entirely.
    """

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        tokenizer.enable_truncation(max_length, strategy="longest_first")
        pad = tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad is None else pad

    def encode(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """``input_ids``, ``attention_mask``, ``token_type_ids``, padded to the longest pair."""
        return self.pad(self.tokenize(pairs))

    def tokenize(self, pairs: Sequence[tuple[str, str]]) -> list[Any]:
        """The truncated encodings (``tokenizers.Encoding``) of ``pairs``, unpadded."""
        # An empty passage would make the pair unencodable as a pair; a space encodes to nothing.
        return self.tokenizer.encode_batch_fast([(q or " ", p or " ") for q, p in pairs])

    def pad(self, encodings: Sequence[Any]) -> dict[str, np.ndarray]:
        """Model inputs for ``encodings``, padded to the longest one."""
        width = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class _TorchScorer:
    def __init__(self, model_dir: Path, device: str) -> None:
        from core.models import resolve_device

        self.device = resolve_device(device)
        self.model = load_classifier(model_dir).to(self.device).eval()

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        feed = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            logits = self.model(**feed).logits[:, 0]
        return logits.float().cpu().numpy()


class _OnnxScorer:
    def __init__(self, path: Path, threads: int | None) -> None:
        from core.models import cpu_onnx_session

        self.session = cpu_onnx_session(path, threads)
        self.inputs = {i.name for i in self.session.get_inputs()}

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in batch.items() if k in self.inputs}
        (logits,) = self.session.run(["logits"], feed)
        return np.asarray(logits, dtype=np.float32).reshape(-1)


_SCORERS: dict[tuple[str, str, str, int | None], Any] = {}
_SCORERS_LOCK = threading.Lock()


FUSION_K = 60  # the usual reciprocal-rank constant


def fuse(scores: Sequence[float], weight: float) -> list[float]:
    """Reciprocal-rank fusion of the model's order (``weight``) and the input order (the rest)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    model_rank = {i: r for r, i in enumerate(order, start=1)}
    return [
        weight / (FUSION_K + model_rank[i]) + (1 - weight) / (FUSION_K + i + 1)
        for i in range(len(scores))
    ]


class CrossEncoderReranker(BaseReranker):
    """Scores (query, chunk text) pairs with a fine-tuned cross-encoder; CPU-first."""

    name = "cross-encoder"

    def __init__(
        self,
        settings: CrossEncoderOptions | None = None,
        *,
        runtime: Runtime = "auto",
        threads: int | None = None,
        models_dir: str | None = None,
        **_: object,
    ) -> None:
        """Resolve the model folder and read its metadata (cheap; weights load on first use).

        Args:
            settings: ``model`` names the folder; ``batch_size`` pairs run per forward pass;
                ``device`` applies to the torch runtime.
            runtime: ``auto`` (int8 ONNX when possible, else torch), ``onnx`` or ``torch``.
            threads: onnxruntime intra-op threads (default: all cores).
            models_dir: an extra folder searched for ``settings.model`` by name.

        Raises:
            ModelNotAvailableError: no usable model folder; the message says how to train one.
        """
        self.settings = settings or CrossEncoderOptions()
        self.model_dir = resolve_cross_encoder(self.settings.model, models_dir=models_dir)
        self.metadata = read_metadata(self.model_dir)
        self.runtime = runtime
        self.threads = threads
        self._encoder: PairEncoder | None = None
        self._lock = threading.Lock()

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        """Hits ordered by the fused score of the model and their input (retrieval) order."""
        if not hits:
            return []
        scores = self.score(query, [passage_text(h.chunk) for h in hits])
        weight = (
            self.settings.fusion_weight
            if self.settings.fusion_weight is not None
            else self.metadata.fusion_weight
        )
        return reranked(hits, fuse(scores, weight), top_k)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """The relevance logit of each text for ``query``, in input order."""
        if not texts:
            return []
        encoder, scorer = self._pair_encoder(), self.scorer()
        batch = max(1, self.settings.batch_size)
        scores = np.zeros(len(texts), dtype=np.float32)
        encodings = encoder.tokenize([(query, t) for t in texts])
        # Longest first so each batch pads to nearly its own width.
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            scores[rows] = scorer(encoder.pad([encodings[i] for i in rows]))
        return scores.tolist()

    def scorer(self) -> Any:
        """The shared loaded model for this folder and runtime (loads on first call)."""
        runtime = self._pick_runtime()
        key = (str(self.model_dir), runtime, self.settings.device, self.threads)
        with _SCORERS_LOCK:
            scorer = _SCORERS.get(key)
            if scorer is None:
                if runtime == "onnx":
                    scorer = _OnnxScorer(ensure_onnx(self.model_dir), self.threads)
                else:
                    scorer = _TorchScorer(self.model_dir, self.settings.device)
                logger.info("cross-encoder %s loaded (%s runtime)", self.model_dir, runtime)
                _SCORERS[key] = scorer
        return scorer

    def _pick_runtime(self) -> str:
        if self.runtime != "auto":
            if self.runtime == "onnx":
                _require_onnxruntime()
            return self.runtime
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            logger.warning("onnxruntime is not installed: the cross-encoder runs on torch (slower)")
            return "torch"
        if _onnx_fresh(self.model_dir) or os.access(self.model_dir, os.W_OK):
            return "onnx"
        logger.warning(
            "%s is read-only and has no current ONNX export: the cross-encoder runs on torch "
            "(slower); run it once where the folder is writable to export it",
            self.model_dir,
        )
        return "torch"

    def _pair_encoder(self) -> PairEncoder:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = PairEncoder(
                        load_pair_tokenizer(self.model_dir), self.metadata.max_length
                    )
        return self._encoder


def load_classifier(model_dir: Path, **kwargs: Any) -> Any:
    """``AutoModelForSequenceClassification`` from a local folder, quietly and offline."""
    try:
        from transformers import AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise MissingDependencyError(
            f"the cross-encoder needs torch and transformers ({exc}); install finrag with its "
            "default dependencies (pip install -e .)."
        ) from exc
    verbosity = hf_logging.get_verbosity()
    # Loading the first N layers of a larger encoder reports the rest as unexpected: expected.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True, **kwargs
        )
    except OSError as exc:
        raise ModelNotAvailableError(
            f"could not load cross-encoder weights from {model_dir}: {exc}. {HOW_TO_TRAIN}"
        ) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def ensure_onnx(model_dir: Path) -> Path:
    """``<model_dir>/onnx/model.int8.onnx``, exported and quantised once per weights version.

    The manifest records a fingerprint of the folder's weight and config files (names, sizes,
    mtimes) and :data:`EXPORT_RECIPE`; a mismatch re-exports under a file lock, so concurrent
    processes export once.
    """
    _require_onnxruntime()
    target_dir = model_dir / ONNX_SUBDIR
    target = target_dir / INT8_FILE
    if _onnx_fresh(model_dir):
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(target_dir / ".export.lock"), timeout=_LOCK_TIMEOUT_S):
        if _onnx_fresh(model_dir):  # another process finished while we waited
            return target
        for stale in (MANIFEST_FILE, FP32_FILE, INT8_FILE):
            (target_dir / stale).unlink(missing_ok=True)
        _export(model_dir, target_dir / FP32_FILE)
        quantize_int8(target_dir / FP32_FILE, target)
        (target_dir / FP32_FILE).unlink(missing_ok=True)  # only the int8 graph is served
        manifest = {"fingerprint": weights_fingerprint(model_dir), "recipe": EXPORT_RECIPE}
        tmp = target_dir / f".{MANIFEST_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, target_dir / MANIFEST_FILE)
    return target


def weights_fingerprint(model_dir: Path) -> str:
    """A hash of the model's own files (not the export folder): names, sizes, mtimes."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for file in sorted(model_dir.iterdir()):
        if file.is_file() and file.suffix in (".safetensors", ".bin", ".json"):
            if file.name == METADATA_FILE:
                continue  # metrics may be rewritten without touching the weights
            stat = file.stat()
            digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _onnx_fresh(model_dir: Path) -> bool:
    target_dir = model_dir / ONNX_SUBDIR
    try:
        manifest = json.loads((target_dir / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return False
    return (
        manifest.get("recipe") == EXPORT_RECIPE
        and manifest.get("fingerprint") == weights_fingerprint(model_dir)
        and (target_dir / INT8_FILE).is_file()
    )


def _export(model_dir: Path, target: Path) -> None:
    import torch

    logger.info("exporting cross-encoder %s to ONNX (once)", model_dir)
    # Eager attention traces to plain MatMul/Softmax that onnxruntime fuses and quantises well.
    model = load_classifier(model_dir, attn_implementation="eager").eval()
    ids = torch.tensor([[101, 7592, 102, 2088, 102, 0], [101, 1037, 102, 6251, 2182, 102]])
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1]])
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    axes = {"batch": 0, "sequence": 1}
    inverted = {v: k for k, v in axes.items()}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings are expected here
        torch.onnx.export(
            model,
            (ids, mask, types),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": inverted,
                "attention_mask": inverted,
                "token_type_ids": inverted,
                "logits": {0: "batch"},
            },
            opset_version=_OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript
        )
    os.replace(tmp, target)


def _require_onnxruntime() -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the cross-encoder's ONNX runtime needs onnxruntime: pip install "
            "'onnxruntime>=1.20,<2' (or construct it with runtime='torch')"
        ) from exc
