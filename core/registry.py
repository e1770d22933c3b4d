"""Backends chosen by name.

A :class:`Registry` maps a name from settings to a factory. Factories are registered lazily by
import path so that choosing ``sentence-transformers`` never imports torch for a user who picked
``onnx``; an unknown name raises :class:`UnknownBackendError` listing the known names.

Example:
    >>> EMBEDDERS = Registry("embedder")
    >>> EMBEDDERS.register_lazy("hash", "retrieval.embedders.hashing:HashEmbedder")
    >>> EMBEDDERS.create("hash", dim=64)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from core.errors import UnknownBackendError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> factory, for one kind of backend (embedder, reranker, llm, parser...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T] | str] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a factory (class or function) under ``name``."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            return factory

        return decorate

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"package.module:attribute"``, imported only when ``name`` is created."""
        self._factories[name] = target

    def names(self) -> list[str]:
        return sorted(self._factories)

    def factory(self, name: str) -> Callable[..., T]:
        try:
            entry = self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise UnknownBackendError(
                f"unknown {self.kind} {name!r}; known {self.kind}s: {known}"
            ) from None
        if isinstance(entry, str):
            module_name, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module_name), attribute)
            self._factories[name] = entry
        return entry

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        """Build the backend registered as ``name``."""
        return self.factory(name)(*args, **kwargs)
