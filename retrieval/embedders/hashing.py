"""A deterministic hashed bag-of-words embedder for logic tests (backend name ``hash``).

Contract: the :class:`~retrieval.embedders.base.Embedder` protocol with no model at all. A text is
split into lower-cased word tokens; every word, and every character 3-gram of the word framed by
spaces, is hashed (blake2b, so vectors are identical across processes and machines, unlike
Python's salted ``hash``) to a bucket and a sign; counts are damped with ``log1p`` and the vector
is L2-normalised. Texts sharing words or word pieces therefore get a high cosine, unrelated texts
a cosine near zero. Queries and documents are encoded alike. A text with no word characters maps
to the zero vector (nothing to normalise).

Example:
    >>> from core.options import HashEmbedderOptions
    >>> e = HashEmbedder(HashEmbedderOptions(dimension=64))
    >>> e.embed_query("Revenue grew").shape
    (64,)
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np

from core.options import HashEmbedderOptions
from retrieval.embedders.base import TextOnlyEmbedder

_WORD = re.compile(r"\w+", re.UNICODE)
_NGRAM = 3
_NGRAM_WEIGHT = 0.5  # words carry more meaning than their pieces


@lru_cache(maxsize=200_000)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


class HashEmbedder(TextOnlyEmbedder):
    """Hashed words + character 3-grams; numpy only, instant, deterministic."""

    name = "hash"

    def __init__(
        self, settings: HashEmbedderOptions | None = None, models_dir: str | None = None
    ) -> None:
        settings = settings or HashEmbedderOptions()
        self.dim = settings.dimension or 256
        self.max_tokens = settings.max_tokens

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(_WORD.findall(text)) for text in texts]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._embed(text)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed(text)

    def _embed(self, text: str) -> np.ndarray:
        counts = np.zeros(self.dim, dtype=np.float64)
        for word in _WORD.findall(text.lower()):
            index, sign = _bucket("w:" + word, self.dim)
            counts[index] += sign
            framed = f" {word} "
            for start in range(len(framed) - _NGRAM + 1):
                index, sign = _bucket("c:" + framed[start : start + _NGRAM], self.dim)
                counts[index] += sign * _NGRAM_WEIGHT
        vector = np.sign(counts) * np.log1p(np.abs(counts))
        norm = np.linalg.norm(vector)
        if norm > 0:
            vector /= norm
        return vector.astype(np.float32)
