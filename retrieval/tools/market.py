"""Market prices from an Alpha Vantage-compatible HTTP provider.

Operations (argument ``operation``):

- ``quote``: ``function=GLOBAL_QUOTE`` -> one :class:`Quote` (price, change, latest trading day);
- ``history``: ``function=TIME_SERIES_DAILY`` -> :class:`PriceBar` list between ``start`` and
  ``end`` inclusive, oldest first. ``outputsize=full`` is asked for only when ``start`` is older
  than the ~100 trading days of the compact reply.

The endpoint is ``settings.tools.market_data_url`` (e.g. ``https://www.alphavantage.co/query``),
the key ``market_data_key`` (sent as ``apikey``, never shown in ``source``). Alpha Vantage reports
problems with HTTP 200 and a JSON body: ``{"Note": ...}`` and ``{"Information": ...}`` (rate limit,
premium endpoint, demo key) map to ``"unavailable"``, ``{"Error Message": ...}`` (unknown symbol,
bad call) to ``"invalid-input"``; an empty ``{"Global Quote": {}}`` means an unknown symbol.
Prices are as the provider reports them (unadjusted closes for ``TIME_SERIES_DAILY``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.records import ToolResult
from core.settings import ToolSettings
from retrieval.tools.base import BaseTool, describe_validation_error
from retrieval.tools.http import Fetched, JsonFetcher

logger = logging.getLogger(__name__)

# Tickers with an optional class or exchange suffix: IBM, BRK.B, RDS-A, TSCO.LON, 7203.T
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{1,10}(?:[.\-][A-Z0-9]{1,5})?$")
_COMPACT_CALENDAR_DAYS = 140  # the compact reply holds the latest 100 trading days
_NOT_CONFIGURED = (
    "live data unavailable: market data provider not configured (set FINRAG_TOOLS__MARKET_DATA_URL)"
)
_PROVIDER = "market data provider"


class MarketDataInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Literal["quote", "history"] = Field(
        "quote", description="quote: latest price; history: daily prices between start and end"
    )
    symbol: str = Field(description="exchange ticker, e.g. IBM, BRK.B, TSCO.LON")
    start: dt.date | None = Field(None, description="history: first day (YYYY-MM-DD)")
    end: dt.date | None = Field(None, description="history: last day (YYYY-MM-DD); default today")

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        symbol = value.strip().upper()
        if not SYMBOL_PATTERN.match(symbol):
            raise ValueError(
                f"{value!r} is not a ticker symbol (1-10 letters or digits, optionally .X or -X)"
            )
        return symbol

    @model_validator(mode="after")
    def _dates(self) -> MarketDataInput:
        if self.operation == "history":
            if self.start is None:
                raise ValueError("history needs a start date (YYYY-MM-DD)")
            if self.end is not None and self.end < self.start:
                raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Quote(BaseModel):
    symbol: str
    price: float
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: int | None = None
    latest_trading_day: dt.date | None = None
    previous_close: float | None = None
    change: float | None = None
    change_percent: float | None = None  # percentage points: 1.25 means +1.25%


class PriceBar(BaseModel):
    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int


class MarketData(BaseModel):
    operation: Literal["quote", "history"]
    symbol: str
    quote: Quote | None = None
    bars: list[PriceBar] = Field(default_factory=list)


_QUOTE_FIELDS = {
    "01. symbol": "symbol",
    "02. open": "open",
    "03. high": "high",
    "04. low": "low",
    "05. price": "price",
    "06. volume": "volume",
    "07. latest trading day": "latest_trading_day",
    "08. previous close": "previous_close",
    "09. change": "change",
    "10. change percent": "change_percent",
}
_BAR_FIELDS = {
    "1. open": "open",
    "2. high": "high",
    "3. low": "low",
    "4. close": "close",
    "5. volume": "volume",
}


def provider_problem(body: Any) -> tuple[str, str] | None:
    """(status, message) when an Alpha Vantage body is one of its error shapes, else None."""
    if not isinstance(body, dict):
        return "error", f"{_PROVIDER} returned {type(body).__name__}, not a JSON object"
    if "Error Message" in body:
        return "invalid-input", f"{_PROVIDER} rejected the request: {body['Error Message']}"
    for key in ("Note", "Information"):
        if key in body:
            return "unavailable", f"live data unavailable: {_PROVIDER} says: {body[key]}"
    return None


def _cacheable(body: Any) -> bool:
    # error shapes and empty quotes may be transient (rate limits, a symbol listed today)
    return provider_problem(body) is None and body.get("Global Quote", True) != {}


def parse_quote(body: dict[str, Any]) -> Quote | None:
    """A ``GLOBAL_QUOTE`` body as a :class:`Quote`; None when it is empty (unknown symbol)."""
    raw = body.get("Global Quote")
    if not isinstance(raw, dict) or not raw:
        return None
    values: dict[str, Any] = {}
    for key, name in _QUOTE_FIELDS.items():
        if key in raw and raw[key] not in ("", None):
            values[name] = raw[key]
    if "change_percent" in values:
        values["change_percent"] = str(values["change_percent"]).rstrip("%")
    if "volume" in values:
        values["volume"] = int(float(values["volume"]))
    return Quote.model_validate(values)


def parse_daily(body: dict[str, Any]) -> list[PriceBar]:
    """A ``TIME_SERIES_DAILY`` body as bars, oldest first. Raises TypeError without a series."""
    series = body.get("Time Series (Daily)")
    if not isinstance(series, dict):
        raise TypeError("the reply has no 'Time Series (Daily)' object")
    bars = []
    for day, raw in series.items():
        values = {name: raw[key] for key, name in _BAR_FIELDS.items()}
        values["volume"] = int(float(values["volume"]))
        bars.append(PriceBar.model_validate({"date": day, **values}))
    return sorted(bars, key=lambda bar: bar.date)


class MarketDataTool(BaseTool):
    """Latest quote and daily price history for a ticker."""

    name = "market_data"
    description = (
        "Live market prices (not in filings): operation 'quote' gives the latest price of a "
        "ticker; operation 'history' gives daily open/high/low/close/volume between start and "
        "end dates."
    )
    input_model = MarketDataInput
    output_model = MarketData

    def __init__(
        self, settings: ToolSettings | None = None, *, fetcher: JsonFetcher | None = None
    ) -> None:
        self.settings = settings or ToolSettings()
        self.fetcher = fetcher or JsonFetcher.from_settings(self.settings)

    @property
    def configured(self) -> bool:
        return bool(self.settings.market_data_url)

    def quote(self, symbol: str) -> ToolResult:
        return self.run({"operation": "quote", "symbol": symbol})

    def history(
        self, symbol: str, start: dt.date | str, end: dt.date | str | None = None
    ) -> ToolResult:
        return self.run({"operation": "history", "symbol": symbol, "start": start, "end": end})

    def _run(self, args: MarketDataInput) -> ToolResult:
        if not self.settings.market_data_url:
            return self.failure("unavailable", _NOT_CONFIGURED)
        if args.operation == "quote":
            params = {"function": "GLOBAL_QUOTE", "symbol": args.symbol}
        else:
            compact = (dt.date.today() - args.start).days <= _COMPACT_CALENDAR_DAYS
            params = {
                "function": "TIME_SERIES_DAILY",
                "symbol": args.symbol,
                "outputsize": "compact" if compact else "full",
            }
        params["apikey"] = self.settings.market_data_key
        fetched = self.fetcher.get_json(
            self.settings.market_data_url,
            params,
            provider=_PROVIDER,
            accept=_cacheable,
        )
        if not fetched.ok:
            return self.failure(fetched.status, fetched.message, source=fetched.source)
        problem = provider_problem(fetched.data)
        if problem is not None:
            status, message = problem
            return self.failure(status, message, source=fetched.source)  # type: ignore[arg-type]
        try:
            if args.operation == "quote":
                return self._quote(args, fetched)
            return self._history(args, fetched)
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            detail = (
                describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            )
            return self.failure(
                "error",
                f"{_PROVIDER} sent a reply in an unexpected shape: {detail}",
                source=fetched.source,
            )

    def _quote(self, args: MarketDataInput, fetched: Fetched) -> ToolResult:
        quote = parse_quote(fetched.data)
        if quote is None:
            return self.failure(
                "invalid-input",
                f"{_PROVIDER} has no quote for symbol {args.symbol}",
                source=fetched.source,
            )
        when = f" on {quote.latest_trading_day}" if quote.latest_trading_day else ""
        change = f" ({quote.change_percent:+.2f}%)" if quote.change_percent is not None else ""
        return self.success(
            MarketData(operation="quote", symbol=quote.symbol, quote=quote),
            f"{quote.symbol} last traded at {quote.price:,.2f}{when}{change}",
            source=fetched.source,
            cached=fetched.cached,
            fetched_at=fetched.fetched_at,
        )

    def _history(self, args: MarketDataInput, fetched: Fetched) -> ToolResult:
        assert args.start is not None  # the input model requires it for history
        end = args.end or dt.date.today()
        every = parse_daily(fetched.data)
        bars = [bar for bar in every if args.start <= bar.date <= end]
        if not bars:
            held = f"; it has {every[0].date} to {every[-1].date}" if every else ""
            return self.failure(
                "error",
                f"not found: {_PROVIDER} has no daily prices for {args.symbol} "
                f"between {args.start} and {end}{held}",
                source=fetched.source,
            )
        partial = ""
        if (every[0].date - args.start).days > 5:  # not just a weekend or holiday
            partial = f"; the provider's series starts on {every[0].date}"
        return self.success(
            MarketData(operation="history", symbol=args.symbol, bars=bars),
            f"{len(bars)} daily prices for {args.symbol} from {bars[0].date} to {bars[-1].date}: "
            f"close {bars[0].close:,.2f} -> {bars[-1].close:,.2f}{partial}",
            source=fetched.source,
            cached=fetched.cached,
            fetched_at=fetched.fetched_at,
        )
