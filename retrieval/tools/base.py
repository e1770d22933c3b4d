"""The tool contract: typed arguments in, a :class:`ToolResult` out, never an exception.

A :class:`Tool` has a ``name``, a ``description`` (what an LLM reads to decide whether to call it),
an ``input_model`` and an ``output_model`` (pydantic), ``configured`` (whether its provider is set
up; True for tools without one), and one method, ``run(args)``, which takes the input model or a
plain dict and returns a :class:`ToolResult`:

- ``status`` is ``"ok"``, ``"unavailable"`` (the provider is not configured, down, slow or
  rate-limited: say "live data unavailable" and answer from the filings), ``"invalid-input"`` (fix
  the arguments and call again) or ``"error"`` (nothing to retry: not found, malformed reply, bug);
- ``message`` is one sentence a person can read, also on success (it states the result);
- ``data`` is the output model dumped to JSON-ready values (``result.output(Model)`` types it
  again);
- ``source`` is the URL (secrets removed) or file the data came from, ``fetched_at`` when it was
  fetched (for a cached reply, when it was first fetched), ``cached`` whether it came from the
  cache.

:func:`build_tools` makes the :class:`ToolRegistry` for one ``Settings``;
``registry.call(name, args)`` validates the arguments with the tool's input model, so invalid
arguments come back as ``"invalid-input"`` and an unknown tool as ``"error"`` listing the known
ones. ``registry.configured()`` names the tools whose ``configured`` is true.

Example:
    >>> registry = build_tools(Settings())
    >>> registry.call("calculator", {"expression": "growth(2255.4, 1883.4)"}).message
    'growth(2255.4, 1883.4) = 19.75%'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from time import perf_counter
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from core.errors import UnknownBackendError
from core.records import ToolResult, ToolStatus, utc_now
from core.settings import Settings, ToolSettings

logger = logging.getLogger(__name__)


@runtime_checkable
class Tool(Protocol):
    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]

    @property
    def configured(self) -> bool:
        """Whether the tool's provider is set up, i.e. worth offering to an LLM (True if none)."""
        ...

    def run(self, args: BaseModel | Mapping[str, Any]) -> ToolResult:
        """Validate ``args`` with ``input_model``, do the work, and report; never raises."""
        ...


def describe_validation_error(exc: ValidationError) -> str:
    """Pydantic's errors as one line: ``symbol: String should match pattern ...; end: ...``."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        text = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {text}")
    return "; ".join(parts)


class BaseTool:
    """Shared plumbing: argument validation, timing, and the never-raise guarantee.

    Subclasses set the four class attributes of :class:`Tool`, override :attr:`configured` when
    they need a provider, and implement ``_run(args)`` returning a :class:`ToolResult` built with
    :meth:`success` or :meth:`failure`.
    """

    name: str = ""
    description: str = ""
    input_model: type[BaseModel] = BaseModel
    output_model: type[BaseModel] = BaseModel

    @property
    def configured(self) -> bool:
        """Whether the tool can work with the settings it was given (calculators always can)."""
        return True

    def run(self, args: BaseModel | Mapping[str, Any]) -> ToolResult:
        started = perf_counter()
        raw_args: dict[str, Any] = {}
        try:
            if isinstance(args, self.input_model):
                parsed = args
            else:
                if isinstance(args, BaseModel):
                    args = args.model_dump()
                if isinstance(args, Mapping):
                    raw_args = {str(k): v for k, v in args.items()}
                parsed = self.input_model.model_validate(args)
        except ValidationError as exc:
            result = self.failure(
                "invalid-input",
                f"invalid arguments for {self.name}: {describe_validation_error(exc)}",
            )
            return result.model_copy(
                update={"args": _jsonable(raw_args), "elapsed_ms": _ms(started)}
            )
        try:
            result = self._run(parsed)
        except Exception as exc:  # the contract: a tool never raises to its caller
            logger.exception("tool %s failed", self.name)
            result = self.failure(
                "error", f"{self.name} failed unexpectedly: {type(exc).__name__}: {exc}"
            )
        return result.model_copy(
            update={"args": parsed.model_dump(mode="json"), "elapsed_ms": _ms(started)}
        )

    def _run(self, args: Any) -> ToolResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def success(
        self,
        data: BaseModel,
        message: str,
        *,
        source: str | None = None,
        cached: bool = False,
        fetched_at: datetime | None = None,
    ) -> ToolResult:
        return ToolResult(
            tool=self.name,
            ok=True,
            status="ok",
            message=message,
            data=data.model_dump(mode="json"),
            source=source,
            cached=cached,
            fetched_at=fetched_at or utc_now(),
        )

    def failure(self, status: ToolStatus, message: str, *, source: str | None = None) -> ToolResult:
        return ToolResult(tool=self.name, ok=False, status=status, message=message, source=source)


def _ms(started: float) -> float:
    return round((perf_counter() - started) * 1000.0, 3)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return {k: repr(v) for k, v in value.items()}


class ToolRegistry:
    """The tools one agent run may call, by name.

    Example:
        >>> registry = ToolRegistry([CalculatorTool()])
        >>> registry.call("calculator", '{"expression": "1 + 2"}').data["value"]
        3.0
    """

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add (or replace) a tool; test fakes register the same way."""
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def configured(self) -> list[str]:
        """Names of the tools whose providers are set up (worth offering to an LLM)."""
        return [n for n in self.names() if self._tools[n].configured]

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownBackendError(
                f"unknown tool {name!r}; known tools: {', '.join(self.names()) or '(none)'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._tools)

    def call(
        self, name: str, args: Mapping[str, Any] | BaseModel | str | None = None
    ) -> ToolResult:
        """Run tool ``name`` with ``args`` (a dict, the input model, or a JSON object string).

        Never raises: an unknown name gives status ``"error"`` listing the known tools, arguments
        that fail validation give ``"invalid-input"``.
        """
        started = perf_counter()
        if name not in self._tools:
            known = ", ".join(self.names()) or "(none)"
            return ToolResult(
                tool=str(name),
                ok=False,
                status="error",
                message=f"unknown tool {name!r}; known tools: {known}",
                elapsed_ms=_ms(started),
            )
        if args is None:
            args = {}
        if isinstance(args, (str, bytes)):
            try:
                args = json.loads(args)
            except ValueError as exc:
                return ToolResult(
                    tool=name,
                    ok=False,
                    status="invalid-input",
                    message=f"arguments for {name} are not a JSON object: {exc}",
                    elapsed_ms=_ms(started),
                )
        if not isinstance(args, (Mapping, BaseModel)):
            return ToolResult(
                tool=name,
                ok=False,
                status="invalid-input",
                message=f"arguments for {name} must be an object, got {type(args).__name__}",
                elapsed_ms=_ms(started),
            )
        try:
            return self._tools[name].run(args)
        except Exception as exc:  # a foreign Tool that breaks the contract must not break the agent
            logger.exception("tool %s raised", name)
            return ToolResult(
                tool=name,
                ok=False,
                status="error",
                message=f"{name} failed unexpectedly: {type(exc).__name__}: {exc}",
                elapsed_ms=_ms(started),
            )

    def specs(self) -> list[dict[str, Any]]:
        """OpenAI-style function specs (``{"type": "function", "function": {...}}``) for the LLM."""
        return [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.input_model.model_json_schema(),
                },
            }
            for tool in self
        ]


def build_tools(settings: Settings | ToolSettings) -> ToolRegistry:
    """The calculator, market data and company facts tools for these settings.

    Live-data tools are always registered; when their provider is not configured they answer
    ``"unavailable"`` with the setting to change. The two share one HTTP fetcher, hence one cache:
    build the registry once per process and reuse it.
    """
    from retrieval.tools.calculator import CalculatorTool
    from retrieval.tools.company_facts import CompanyFactsTool
    from retrieval.tools.http import JsonFetcher
    from retrieval.tools.market import MarketDataTool

    tool_settings = settings.tools if isinstance(settings, Settings) else settings
    fetcher = JsonFetcher.from_settings(tool_settings)
    return ToolRegistry(
        [
            CalculatorTool(),
            MarketDataTool(tool_settings, fetcher=fetcher),
            CompanyFactsTool(tool_settings, fetcher=fetcher),
        ]
    )
