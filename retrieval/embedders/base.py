"""The embedding stage's contract.

An :class:`Embedder` maps text (and, for multimodal backends, images) to L2-normalised float32
vectors. Documents and queries may be encoded differently (instruction-tuned models prefix queries),
so the two calls are separate. ``count_tokens`` lets the chunker respect ``max_tokens``.

Backends are chosen by name from ``settings.embedder.name`` through :data:`EMBEDDERS`
(:mod:`core.backends`); constructors are cheap, models load on first use (:func:`build_embedder`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from core.backends import EMBEDDERS
from core.errors import ConfigError

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["EMBEDDERS", "Embedder", "TextOnlyEmbedder", "build_embedder"]


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int  # text vector size
    image_dim: int | None  # image vector size; None for a text-only embedder
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

    def embed_images(self, paths: list[str]) -> np.ndarray:
        """(n, image_dim) float32, rows L2-normalised, one per image file.

        Raises:
            ConfigError: the embedder reads text only (``image_dim`` is None).
        """
        ...


class TextOnlyEmbedder:
    """The image half of :class:`Embedder` for backends that read text only."""

    name: str
    image_dim: int | None = None

    def embed_images(self, paths: list[str]) -> np.ndarray:
        raise ConfigError(
            f"the {self.name} embedder reads text only; choose a multimodal embedder "
            "(FINRAG_EMBEDDER__NAME=qwen3-vl) to embed page images"
        )


def build_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.embedder`` names (cheap: weights load on first use).

    One per open corpus (:class:`~retrieval.corpus.Corpus`); the weights themselves are cached by
    each backend's keyed loader, so two corpora with the same model share them.
    """
    options = settings.embedder
    return EMBEDDERS.create(options.name, settings=options, models_dir=str(settings.models_dir))
