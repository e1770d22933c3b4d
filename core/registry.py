"""Backends chosen by name, each with its own options model.

A :class:`Registry` holds one kind of backend (embedder, reranker, llm, OCR engine, index engine):
name -> factory, and name -> options model. Factories may be registered lazily by import path, so
choosing ``minilm-onnx`` never imports torch for a user who did not pick ``sentence-transformers``.
Each options model subclasses the kind's base options and fixes ``name`` to a ``Literal``;
:meth:`Registry.parse` turns what settings hold (a dict, a bare name or an options object) into the
right options model, so an unknown name fails when settings load, with a message listing the
known names (:class:`~core.errors.UnknownBackendError`).

Example:
    >>> class WidgetOptions(BaseModel):
    ...     name: str
    >>> WIDGETS = Registry("widget", WidgetOptions, default="plain")
    >>> WIDGETS.register_lazy("plain", "collections:OrderedDict")
    >>> WIDGETS.parse({}).name
    'plain'
    >>> WIDGETS.create("plain")
    OrderedDict()
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, create_model

from core.errors import UnknownBackendError

T = TypeVar("T")


class _NoOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


class Registry(Generic[T]):
    """Name -> factory and options model, for one kind of backend.

    Args:
        kind: what the backends are, for messages ("embedder", "reranker"...).
        options: the base options model of the kind; a backend registered without its own
            options model gets a subclass with only ``name`` fixed.
        default: the name used when settings name none.
    """

    def __init__(
        self, kind: str, options: type[BaseModel] = _NoOptions, default: str | None = None
    ) -> None:
        self.kind = kind
        self.base_options = options
        self.default = default
        self._factories: dict[str, Callable[..., T] | str] = {}
        self._options: dict[str, type[BaseModel]] = {}

    # -- registering ---------------------------------------------------------------------------

    def register(
        self, name: str, options: type[BaseModel] | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a factory (class or function) under ``name``."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._add(name, factory, options)
            return factory

        return decorate

    def register_lazy(self, name: str, target: str, options: type[BaseModel] | None = None) -> None:
        """Register ``"package.module:attribute"``, imported only when ``name`` is created."""
        self._add(name, target, options)

    def unregister(self, name: str) -> None:
        """Forget ``name`` (test fakes clean up after themselves)."""
        self._factories.pop(name, None)
        self._options.pop(name, None)

    def _add(self, name: str, factory: Any, options: type[BaseModel] | None) -> None:
        if options is None:
            options = create_model(
                f"{name.title().replace('-', '')}Options",
                __base__=self.base_options,
                name=(Literal[name], name),
            )
        elif options.model_fields["name"].default != name:
            raise ValueError(f"{options.__name__}.name must default to {name!r}")
        self._factories[name] = factory
        self._options[name] = options

    # -- looking up ----------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._factories)

    def _unknown(self, name: object) -> UnknownBackendError:
        known = ", ".join(self.names()) or "(none)"
        return UnknownBackendError(f"unknown {self.kind} {name!r}; known {self.kind}s: {known}")

    def factory(self, name: str) -> Callable[..., T]:
        try:
            entry = self._factories[name]
        except KeyError:
            raise self._unknown(name) from None
        if isinstance(entry, str):
            module_name, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module_name), attribute)
            self._factories[name] = entry
        return entry

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        """Build the backend registered as ``name``."""
        return self.factory(name)(*args, **kwargs)

    def options_model(self, name: str) -> type[BaseModel]:
        """The options model of ``name``."""
        try:
            return self._options[name]
        except KeyError:
            raise self._unknown(name) from None

    def parse(self, value: Any = None) -> BaseModel:
        """Options for the backend ``value`` names: a mapping with ``name`` (the default when
        missing), a bare name, or an options object (re-checked against its name's model).

        Raises:
            UnknownBackendError: the name is not registered; the message lists the known names.
        """
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True) | {"name": value.name}  # type: ignore[attr-defined]
        elif isinstance(value, str):
            value = {"name": value}
        elif value is None:
            value = {}
        elif not isinstance(value, Mapping):
            raise TypeError(f"{self.kind} options must be a mapping or a name, not {value!r}")
        name = value.get("name") or self.default
        if name is None:
            raise UnknownBackendError(
                f"no {self.kind} named; known {self.kind}s: {', '.join(self.names())}"
            )
        return self.options_model(name).model_validate({**value, "name": name})
