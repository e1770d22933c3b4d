"""The embedding stage's contract.

An :class:`Embedder` maps text (and, for multimodal backends, images) to L2-normalised float32
vectors. Documents and queries may be encoded differently (instruction-tuned models prefix queries),
so the two calls are separate. ``count_tokens`` lets the chunker respect ``max_tokens``.

Backends are chosen by name from ``settings.embedder.name`` through :data:`EMBEDDERS`; constructors
are cheap and models load on first use, once per process (see :func:`get_embedder`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from core.registry import Registry
from core.settings import EmbedderSettings


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int  # text vector size
    max_tokens: int

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens each text occupies in this model's window (special tokens excluded)."""
        ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""
        ...


@runtime_checkable
class ImageEmbedder(Embedder, Protocol):
    """A multimodal embedder: page renders and crops go into the ``image`` named vector."""

    image_dim: int

    def embed_images(self, paths: list[str]) -> np.ndarray:
        """(n, image_dim) float32, rows L2-normalised, one per image file."""
        ...


EMBEDDERS: Registry[Embedder] = Registry("embedder")
EMBEDDERS.register_lazy("hash", "retrieval.embedders.hashing:HashEmbedder")
EMBEDDERS.register_lazy(
    "sentence-transformers", "retrieval.embedders.minilm:SentenceTransformerEmbedder"
)
EMBEDDERS.register_lazy("minilm-onnx", "retrieval.embedders.onnx:OnnxMiniLMEmbedder")
EMBEDDERS.register_lazy("qwen3-vl", "retrieval.embedders.qwen3_vl:Qwen3VLEmbedder")

_CACHE: dict[tuple, Embedder] = {}


def get_embedder(settings: EmbedderSettings, models_dir: str | None = None) -> Embedder:
    """The process-wide embedder for these settings (built once, shared by CLI, agent and UI)."""
    key = (settings.model_dump_json(), models_dir)
    if key not in _CACHE:
        _CACHE[key] = EMBEDDERS.create(settings.name, settings=settings, models_dir=models_dir)
    return _CACHE[key]
