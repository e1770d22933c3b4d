"""What every :class:`retrieval.embedders.base.Embedder` backend must do.

A backend's test module subclasses :class:`EmbedderConformance` and provides an ``embedder``
fixture (and, for a multimodal backend, an ``image_paths`` fixture of a few small PNG files).
The checks are about the contract: shapes, dtypes, unit norms, token counts, determinism, and
that a text-only embedder refuses images with a message instead of returning garbage.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError

TEXTS = [
    "Total revenue was $2,255.4 million in fiscal 2023.",
    "The company leases its headquarters in Austin, Texas.",
    "",
]


def _unit_rows(matrix: np.ndarray) -> bool:
    norms = np.linalg.norm(matrix, axis=1)
    return bool(np.all((np.abs(norms - 1) < 1e-3) | (norms == 0)))


class EmbedderConformance:
    """Subclass and provide an ``embedder`` fixture."""

    @pytest.fixture
    def embedder(self):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @pytest.fixture
    def image_paths(self) -> list[str]:
        return []

    def test_describes_itself(self, embedder):
        assert isinstance(embedder.name, str) and embedder.name
        assert embedder.dim > 0 and embedder.max_tokens > 0
        assert embedder.image_dim is None or embedder.image_dim > 0

    def test_documents_are_unit_float32_rows(self, embedder):
        vectors = embedder.embed_documents(TEXTS[:2])
        assert vectors.shape == (2, embedder.dim) and vectors.dtype == np.float32
        assert _unit_rows(vectors)
        assert embedder.embed_documents([]).shape[0] == 0

    def test_a_query_is_a_unit_vector(self, embedder):
        vector = embedder.embed_query(TEXTS[0])
        assert vector.shape == (embedder.dim,) and vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1) < 1e-3

    def test_is_deterministic(self, embedder):
        a = embedder.embed_documents(TEXTS[:2])
        b = embedder.embed_documents(TEXTS[:2])
        assert np.allclose(a, b, atol=1e-5)

    def test_counts_tokens_per_text(self, embedder):
        counts = embedder.count_tokens(TEXTS)
        assert len(counts) == len(TEXTS) and counts[-1] == 0
        assert all(isinstance(n, int) and n >= 0 for n in counts) and counts[0] > 0

    def test_images_are_embedded_or_refused_with_a_message(self, embedder, image_paths):
        if embedder.image_dim is None:
            with pytest.raises(ConfigError, match="text only"):
                embedder.embed_images(["page.png"])
            return
        assert image_paths, "a multimodal backend's tests provide image_paths"
        vectors = embedder.embed_images(image_paths)
        assert vectors.shape == (len(image_paths), embedder.image_dim)
        assert _unit_rows(vectors)
