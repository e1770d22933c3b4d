"""What every collection facade shares: the engine choice and the collection's lifecycle.

Contract: :class:`Collection` opens one collection on the engine ``settings.qdrant`` names, built
through :data:`core.backends.INDEX_ENGINES` (:func:`engine_name` is the one place that chooses:
``server`` when ``qdrant.url`` is set, else ``qdrant.engine`` with ``auto`` meaning the registry's
default, ``edge``). It answers :meth:`~Collection.exists`, ``engine`` and ``location``, reads and
caches the stored dense vector sizes (a collection without the named vector ``text`` is not
finrag's and is refused), and flushes, closes and works as a context manager. Subclasses
(:class:`~retrieval.index.chunks.Index`, :class:`~retrieval.index.memory.MemoryIndex`) own their
schema, writes and reads, and word the missing / not-ours errors for their users.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from core.backends import INDEX_ENGINES
from core.errors import IndexBackendError, RetrievalError
from core.settings import Settings
from retrieval.index.requests import TEXT, Engine

__all__ = ["Collection", "engine_name", "query_vector", "vectors_matrix"]


def engine_name(settings: Settings) -> str:
    """The :data:`~core.backends.INDEX_ENGINES` name ``settings.qdrant`` chooses."""
    q = settings.qdrant
    if q.url:
        return "server"
    name = INDEX_ENGINES.default if q.engine == "auto" else q.engine
    # Settings restrict the literal already; this catches settings built with construct(), and
    # "server" without a url (which would open local mode under the wrong name).
    embedded = [n for n in INDEX_ENGINES.names() if n != "server"]
    if name not in embedded:
        known = ", ".join(["auto", *embedded])
        raise IndexBackendError(f"unknown qdrant engine {q.engine!r}; known: {known}")
    return name


class Collection:
    """One Qdrant collection on the engine the settings choose (see the module docstring).

    Args:
        settings: ``settings.qdrant`` picks the engine; ``settings.index_dir`` holds embedded
            storage.
        collection: the collection's name (subclasses default it from ``settings.qdrant``).
        own_folder: storage no other collection of this process shares, so this one can be open
            beside it (qdrant-client local mode locks its folder per client).

    Construction opens the engine (and an existing collection); it loads no model. Close it (or
    use ``with``): embedded engines lock their folder.
    """

    def __init__(self, settings: Settings, collection: str, *, own_folder: bool = False) -> None:
        self.settings = settings
        self.collection = collection
        self._engine: Engine = INDEX_ENGINES.create(
            engine_name(settings), settings, collection, own_folder=own_folder
        )
        self._dims: dict[str, int] | None = None  # named dense vector -> size, once known

    @property
    def engine(self) -> str:
        """``edge``, ``local`` or ``server``."""
        return self._engine.name

    @property
    def location(self) -> str:
        """The folder (embedded) or URL (server) holding the collection."""
        return self._engine.location

    def exists(self) -> bool:
        """Whether the collection has been created."""
        return self._dims is not None or self._engine.exists()

    def _missing(self) -> str:
        """The message for a collection that does not exist yet (what to do first)."""
        raise NotImplementedError

    def _not_ours(self) -> str:
        """The message for a collection finrag did not create (no ``text`` vector)."""
        raise NotImplementedError

    def _stored_dims(self) -> dict[str, int]:
        sizes = self._engine.vector_sizes()
        if TEXT not in sizes:
            raise IndexBackendError(self._not_ours())
        return sizes

    def _require(self) -> dict[str, int]:
        """The dense vector sizes of the existing collection; raises when there is none."""
        if self._dims is None:
            if not self._engine.exists():
                raise IndexBackendError(self._missing())
            self._dims = self._stored_dims()
        return self._dims

    def flush(self) -> None:
        """Persist segments now (edge). Writes are already crash-safe through the WAL."""
        self._engine.flush()

    def close(self) -> None:
        """Flush and release the engine (and the folder lock of an embedded engine)."""
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def vectors_matrix(a: np.ndarray, n: int, dim: int, name: str) -> np.ndarray:
    """``a`` as an (n, dim) float32 matrix of finite values, or an :class:`IndexBackendError`."""
    a = np.asarray(a, dtype=np.float32)
    if a.shape != (n, dim):
        raise IndexBackendError(f"{name} has shape {a.shape}, expected ({n}, {dim})")
    if not np.isfinite(a).all():
        raise IndexBackendError(f"{name} contains NaN or inf; check the embedder output")
    return a


def query_vector(v: np.ndarray, dim: int, name: str) -> list[float]:
    """``v`` as a flat list of ``dim`` floats, or a :class:`RetrievalError` naming the mismatch."""
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    if v.shape[0] != dim:
        raise RetrievalError(
            f"{name} query vector has {v.shape[0]} dims but the index holds {dim}: query with the "
            "embedder the index was built with (settings.embedder)"
        )
    return v.tolist()
