"""Reported figures from SEC XBRL company facts (``companyfacts`` JSON).

Source, from settings: ``company_facts_dir`` (a folder of ``CIK##########.json`` files, 10-digit
zero-padded, as in SEC's bulk ``companyfacts.zip``) is read first; ``company_facts_url`` (a base
URL serving ``{base}/CIK##########.json``, e.g. ``https://data.sec.gov/api/xbrl/companyfacts``)
is used when the folder has no file for the company. Neither set -> ``"unavailable"``.

One operation: the value of ``concept`` for ``fiscal_year`` / ``fiscal_period`` in ``unit``.
How the period is found: in companyfacts, ``fy``/``fp`` label the *filing*, so the FY2023 10-K also
carries FY2022 and FY2021 comparatives tagged ``fy=2023``. The period asked for is therefore the
latest-ending fact among those tagged ``fy=fiscal_year, fp=fiscal_period`` whose duration fits
(about a year for ``FY``, about a quarter for ``Q1``-``Q3``; balance-sheet facts are instants);
when no filing of that year is in the data, the period is found as the prior-year comparative of
the next one or two years' filings.
Every report of that same period (start, end) from any filing is collected; facts repeated with
the same value are kept once, from the latest filing. ``value`` is the figure as reported for that
fiscal year (its own 10-K/10-Q, or an amendment of it); a different figure in a later filing is
listed in ``values`` and flagged ``restated``.

Concepts: a us-gaap name (``RevenueFromContractWithCustomerExcludingAssessedTax``), optionally
prefixed (``ifrs-full:Revenue``), or a common metric name (``revenue``, ``net income``, ``capex``,
``total assets``, ``eps diluted``...). Aliases are tried in order and the first concept with a
value for the period wins, since companies switch concepts over the years (``SalesRevenueNet``
before ASC 606, ``RevenueFromContractWithCustomerExcludingAssessedTax`` after).

Tickers: SEC keys companies by CIK. A ticker is resolved through ``company_tickers.json`` in
``company_facts_dir`` (SEC's file of that name, or a plain ``{"TICKER": cik}`` object) or a
``tickers`` mapping given to the tool.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.records import ToolResult
from core.settings import ToolSettings
from retrieval.tools.base import BaseTool
from retrieval.tools.http import Fetched, JsonFetcher

logger = logging.getLogger(__name__)

_PROVIDER = "company facts provider"
_NOT_CONFIGURED = (
    "live data unavailable: company facts source not configured "
    "(set FINRAG_TOOLS__COMPANY_FACTS_DIR to a folder of CIK##########.json files "
    "or FINRAG_TOOLS__COMPANY_FACTS_URL to a companyfacts base URL)"
)
TAXONOMIES = ("us-gaap", "ifrs-full", "srt", "dei")

# Metric -> concepts in the order they are tried, and the unit when none is asked for.
CONCEPT_ALIASES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    # name: (concepts, default unit, extra names a user may type)
    "revenue": (
        (
            "Revenues",
            "RevenueFromContractWithCustomerExcludingAssessedTax",
            "RevenueFromContractWithCustomerIncludingAssessedTax",
            "SalesRevenueNet",
        ),
        "USD",
        (
            "revenues",
            "sales",
            "net sales",
            "total revenue",
            "total revenues",
            "total net sales",
            "turnover",
        ),
    ),
    "net income": (
        ("NetIncomeLoss", "NetIncomeLossAvailableToCommonStockholdersBasic", "ProfitLoss"),
        "USD",
        ("net earnings", "net profit", "net loss", "net income loss"),
    ),
    "capex": (
        (
            "PaymentsToAcquirePropertyPlantAndEquipment",
            "PaymentsToAcquireProductiveAssets",
            "PaymentsForCapitalImprovements",
        ),
        "USD",
        (
            "capital expenditure",
            "capital expenditures",
            "capital spending",
            "purchases of property and equipment",
            "purchases of property plant and equipment",
        ),
    ),
    "operating income": (
        ("OperatingIncomeLoss",),
        "USD",
        ("operating profit", "income from operations"),
    ),
    "gross profit": (("GrossProfit",), "USD", ()),
    "cost of revenue": (
        ("CostOfRevenue", "CostOfGoodsAndServicesSold", "CostOfGoodsSold"),
        "USD",
        ("cost of sales", "cost of goods sold", "cogs"),
    ),
    "operating cash flow": (
        (
            "NetCashProvidedByUsedInOperatingActivities",
            "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations",
        ),
        "USD",
        (
            "cash from operations",
            "cash flow from operations",
            "net cash from operating activities",
            "cfo",
        ),
    ),
    "total assets": (("Assets",), "USD", ("assets",)),
    "total liabilities": (("Liabilities",), "USD", ("liabilities",)),
    "shareholders equity": (
        (
            "StockholdersEquity",
            "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
        ),
        "USD",
        ("stockholders equity", "total equity", "equity"),
    ),
    "cash": (
        (
            "CashAndCashEquivalentsAtCarryingValue",
            "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents",
        ),
        "USD",
        ("cash and cash equivalents",),
    ),
    "long term debt": (("LongTermDebt", "LongTermDebtNoncurrent"), "USD", ("long-term debt",)),
    "research and development": (("ResearchAndDevelopmentExpense",), "USD", ("r&d", "r and d")),
    "depreciation and amortization": (
        (
            "DepreciationDepletionAndAmortization",
            "DepreciationAndAmortization",
            "DepreciationAmortizationAndAccretionNet",
        ),
        "USD",
        ("d&a",),
    ),
    "dividends paid": (
        ("PaymentsOfDividends", "PaymentsOfDividendsCommonStock"),
        "USD",
        ("dividends",),
    ),
    "eps diluted": (
        ("EarningsPerShareDiluted",),
        "USD/shares",
        ("diluted eps", "diluted earnings per share"),
    ),
    "eps basic": (
        ("EarningsPerShareBasic",),
        "USD/shares",
        ("basic eps", "basic earnings per share", "eps"),
    ),
}

_DURATION_DAYS = {"FY": (340, 380), "Q": (80, 100)}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9&]", "", text.lower())


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for metric, (concepts, _unit, names) in CONCEPT_ALIASES.items():
        for key in (metric, *concepts, *names):
            index.setdefault(_norm(key), metric)
    return index


_ALIAS_INDEX = _alias_index()


def concept_candidates(concept: str) -> tuple[list[str], str | None]:
    """The concepts to try for what the user asked, and the metric's default unit (if an alias)."""
    name = concept.strip()
    if ":" in name:
        name = name.split(":", 1)[1]
    metric = _ALIAS_INDEX.get(_norm(name))
    if metric is None:
        return [name], None
    concepts, unit, _ = CONCEPT_ALIASES[metric]
    exact = [name] if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name) and name in concepts else []
    return list(dict.fromkeys([*exact, *concepts])), unit


class CompanyFactsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cik: int | None = Field(
        None, description="SEC Central Index Key, e.g. 320193 or 'CIK0000320193'"
    )
    ticker: str | None = Field(
        None, description="ticker, resolved to a CIK through the local ticker map"
    )
    concept: str = Field(
        min_length=2,
        max_length=200,
        description=(
            "us-gaap concept (Revenues, NetIncomeLoss...) or metric (revenue, net income, capex)"
        ),
    )
    fiscal_year: int | None = Field(
        None, ge=1990, le=2100, description="fiscal year; default latest"
    )
    fiscal_period: Literal["FY", "Q1", "Q2", "Q3"] = Field(
        "FY", description="FY or Q1-Q3 (Q4 is not reported separately in XBRL: FY minus Q1-Q3)"
    )
    unit: str | None = Field(None, description="USD (default), USD/shares for EPS, shares, pure")

    @field_validator("cik", mode="before")
    @classmethod
    def _cik(cls, value: Any) -> Any:
        if isinstance(value, str):
            digits = value.strip().upper().removeprefix("CIK")
            if not digits.isdigit() or len(digits) > 10:
                raise ValueError(f"{value!r} is not a CIK (up to 10 digits, e.g. 320193)")
            return int(digits)
        return value

    @field_validator("ticker")
    @classmethod
    def _ticker(cls, value: str | None) -> str | None:
        if value is None:
            return None
        ticker = value.strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{1,10}(?:[.\-][A-Z0-9]{1,5})?", ticker):
            raise ValueError(f"{value!r} is not a ticker symbol")
        return ticker

    @model_validator(mode="after")
    def _company(self) -> CompanyFactsInput:
        if self.cik is None and self.ticker is None:
            raise ValueError("give the company as cik (preferred) or ticker")
        if self.cik is not None and not 0 < self.cik < 10**10:
            raise ValueError(f"cik {self.cik} is out of range")
        return self


class FactValue(BaseModel):
    value: float
    start: dt.date | None = None  # None for balance-sheet (instant) facts
    end: dt.date
    fiscal_year: int | None = None  # of the filing that reported it
    fiscal_period: str | None = None
    form: str | None = None
    filed: dt.date | None = None
    accession: str | None = None
    frame: str | None = None


class CompanyFact(BaseModel):
    cik: int
    entity_name: str
    requested: str  # what was asked for
    concept: str  # taxonomy:Name actually used
    label: str | None = None
    unit: str
    fiscal_year: int
    fiscal_period: str
    period_start: dt.date | None = None
    period_end: dt.date
    value: float  # as reported for that fiscal year
    form: str | None = None
    filed: dt.date | None = None
    restated: bool = False  # a later filing reports a different value for the same period
    values: list[FactValue] = Field(
        default_factory=list
    )  # every distinct report, latest filed first


def _fact(raw: Mapping[str, Any]) -> FactValue | None:
    try:
        return FactValue(
            value=raw["val"],
            start=raw.get("start"),
            end=raw["end"],
            fiscal_year=raw.get("fy"),
            fiscal_period=raw.get("fp"),
            form=raw.get("form"),
            filed=raw.get("filed"),
            accession=raw.get("accn"),
            frame=raw.get("frame"),
        )
    except (KeyError, ValueError, TypeError):
        return None  # a malformed entry must not hide the good ones


def _duration_fits(fact: FactValue, period: str) -> bool:
    if fact.start is None:
        return True
    low, high = _DURATION_DAYS["FY" if period == "FY" else "Q"]
    return low <= (fact.end - fact.start).days <= high


def _filed_key(fact: FactValue) -> dt.date:
    return fact.filed or dt.date.min


def _comparatives(tagged: list[FactValue], fiscal_year: int) -> list[FactValue]:
    """The period of ``fiscal_year`` as a prior-year comparative in the next filings.

    Needed when the year's own filing is not in the data (the oldest years of a company often
    appear only as comparatives): k years after it, the same period ends about k years earlier
    than that filing's current period.
    """
    for k in (1, 2):
        later = [f for f in tagged if f.fiscal_year == fiscal_year + k]
        if not later:
            continue
        target = max(f.end for f in later) - dt.timedelta(days=round(365.25 * k))
        near = [f for f in later if abs((f.end - target).days) <= 20]
        if near:
            end = min(near, key=lambda f: abs((f.end - target).days)).end
            return [f for f in near if f.end == end]
    return []


def select_period(
    facts: list[FactValue], fiscal_year: int | None, fiscal_period: str
) -> tuple[FactValue, list[FactValue], int] | None:
    """(as reported, all distinct reports latest filed first, fiscal year) or None if absent."""
    tagged = [
        f for f in facts if f.fiscal_period == fiscal_period and _duration_fits(f, fiscal_period)
    ]
    if fiscal_year is None:
        if not tagged:
            return None
        fiscal_year = max(f.fiscal_year or 0 for f in tagged)
    anchors = [f for f in tagged if f.fiscal_year == fiscal_year]
    if anchors:
        end = max(f.end for f in anchors)
        current = [f for f in anchors if f.end == end]
    else:
        current = _comparatives(tagged, fiscal_year)
        if not current:
            return None
        end = current[0].end
    start = max((f.start for f in current if f.start), default=None)
    current = [f for f in current if f.start == start]
    reported = max(current, key=_filed_key)
    same_period = [f for f in facts if f.end == end and f.start == start]
    distinct: dict[float, FactValue] = {}
    for fact in sorted(same_period, key=_filed_key, reverse=True):
        distinct.setdefault(fact.value, fact)  # latest filing of each value wins
    values = sorted(distinct.values(), key=_filed_key, reverse=True)
    return reported, values, fiscal_year


def _parse_json_file(path: Path, mtime_ns: int) -> Any:
    """``path`` parsed as JSON; ``mtime_ns`` only keys the cache in front of it."""
    return json.loads(path.read_text(encoding="utf-8"))


def _number(value: float) -> str:
    return (
        f"{int(value):,}"
        if value == int(value) and abs(value) < 1e16
        else f"{value:,.4f}".rstrip("0")
    )


class CompanyFactsTool(BaseTool):
    """Figures companies reported to the SEC in XBRL, by concept and fiscal period."""

    name = "company_facts"
    description = (
        "A figure a company reported to the SEC in XBRL (10-K/10-Q): concept such as revenue, "
        "net income, capex, total assets, eps diluted, or a us-gaap name; fiscal_year; "
        "fiscal_period FY or Q1-Q3. Identify the company by cik (or ticker when a ticker map is "
        "installed)."
    )
    input_model = CompanyFactsInput
    output_model = CompanyFact

    def __init__(
        self,
        settings: ToolSettings | None = None,
        *,
        fetcher: JsonFetcher | None = None,
        tickers: Mapping[str, int] | None = None,
    ) -> None:
        self.settings = settings or ToolSettings()
        self.fetcher = fetcher or JsonFetcher.from_settings(self.settings)
        self._given_tickers = (
            None if tickers is None else {k.upper(): int(v) for k, v in tickers.items()}
        )
        # Companyfacts files run to tens of MB: keep a few parsed, per tool, keyed by path and
        # modification time so an updated file is read again.
        self._parse_file = lru_cache(maxsize=8)(_parse_json_file)

    @property
    def configured(self) -> bool:
        return bool(self.settings.company_facts_dir or self.settings.company_facts_url)

    def fact(
        self,
        concept: str,
        *,
        cik: int | str | None = None,
        ticker: str | None = None,
        fiscal_year: int | None = None,
        fiscal_period: str = "FY",
        unit: str | None = None,
    ) -> ToolResult:
        """Convenience wrapper around :meth:`run` with keyword arguments."""
        return self.run(
            {
                "concept": concept,
                "cik": cik,
                "ticker": ticker,
                "fiscal_year": fiscal_year,
                "fiscal_period": fiscal_period,
                "unit": unit,
            }
        )

    # -- company and document -------------------------------------------------------------------

    @cached_property
    def _ticker_map(self) -> dict[str, int]:
        """The tickers given to the tool, else the folder's ``company_tickers.json`` (read once)."""
        if self._given_tickers is not None:
            return self._given_tickers
        tickers: dict[str, int] = {}
        folder = self.settings.company_facts_dir
        path = Path(folder) / "company_tickers.json" if folder else None
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                for key, row in raw.items() if isinstance(raw, dict) else []:
                    if isinstance(row, dict):  # SEC's {"0": {"cik_str": ..., "ticker": ...}}
                        tickers[str(row["ticker"]).upper()] = int(row["cik_str"])
                    else:  # {"ACME": 42}
                        tickers[str(key).upper()] = int(row)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                logger.warning("cannot read ticker map %s: %s", path, exc)
        return tickers

    def _document(self, cik: int) -> Fetched | ToolResult:
        """The companyfacts JSON of ``cik`` (from the folder, else the URL), or the failure."""
        name = f"CIK{cik:010d}.json"
        folder = self.settings.company_facts_dir
        if folder is not None:
            path = Path(folder) / name
            if path.is_file():
                try:
                    return Fetched(True, "ok", "ok", str(path), self._read_file(path))
                except (OSError, ValueError) as exc:
                    return self.failure("error", f"cannot read {path}: {exc}", source=str(path))
        base = self.settings.company_facts_url
        if base:
            fetched = self.fetcher.get_json(
                f"{base.rstrip('/')}/{name}",
                provider=_PROVIDER,
                accept=lambda body: isinstance(body, dict) and "facts" in body,
            )
            if fetched.ok:
                return fetched
            message = fetched.message
            if fetched.http_status == 404:
                message = f"not found: {_PROVIDER} has no company facts for CIK {cik}"
            return self.failure(fetched.status, message, source=fetched.source)
        if folder is not None:
            message = f"not found: no company facts file {name} in {folder}"
            return self.failure("error", message, source=str(folder))
        return self.failure("unavailable", _NOT_CONFIGURED)

    def _read_file(self, path: Path) -> Any:
        return self._parse_file(path, path.stat().st_mtime_ns)

    # -- the operation ---------------------------------------------------------------------------

    def _run(self, args: CompanyFactsInput) -> ToolResult:
        if not self.configured:
            return self.failure("unavailable", _NOT_CONFIGURED)
        cik = args.cik
        if cik is None:
            cik = self._ticker_map.get(args.ticker or "")
            if cik is None:
                return self.failure(
                    "invalid-input",
                    f"unknown ticker {args.ticker}: pass cik instead, or put SEC's "
                    "company_tickers.json in FINRAG_TOOLS__COMPANY_FACTS_DIR",
                )
        got = self._document(cik)
        if isinstance(got, ToolResult):
            return got
        document, source = got.data, got.source
        facts_by_taxonomy = document.get("facts") if isinstance(document, dict) else None
        if not isinstance(facts_by_taxonomy, dict):
            return self.failure(
                "error",
                f"the company facts for CIK {cik} have no 'facts' object (not companyfacts JSON)",
                source=source,
            )
        entity = str(document.get("entityName") or f"CIK {cik}")
        candidates, default_unit = concept_candidates(args.concept)
        period = (
            f"{args.fiscal_period}{args.fiscal_year}"
            if args.fiscal_year
            else f"the latest {args.fiscal_period}"
        )
        seen: list[str] = []
        units_seen: set[str] = set()
        for concept in candidates:
            for taxonomy in TAXONOMIES:
                entry = facts_by_taxonomy.get(taxonomy, {}).get(concept)
                if not isinstance(entry, dict) or not isinstance(entry.get("units"), dict):
                    continue
                seen.append(f"{taxonomy}:{concept}")
                units = entry["units"]
                units_seen.update(units)
                unit = (
                    args.unit or default_unit or ("USD" if len(units) != 1 else next(iter(units)))
                )
                facts = [f for f in (_fact(raw) for raw in units.get(unit, [])) if f is not None]
                picked = select_period(facts, args.fiscal_year, args.fiscal_period)
                if picked is None:
                    continue
                reported, values, year = picked
                restated = any(
                    v.value != reported.value and _filed_key(v) > _filed_key(reported)
                    for v in values
                )
                data = CompanyFact(
                    cik=cik,
                    entity_name=entity,
                    requested=args.concept,
                    concept=f"{taxonomy}:{concept}",
                    label=entry.get("label"),
                    unit=unit,
                    fiscal_year=year,
                    fiscal_period=args.fiscal_period,
                    period_start=reported.start,
                    period_end=reported.end,
                    value=reported.value,
                    form=reported.form,
                    filed=reported.filed,
                    restated=restated,
                    values=values,
                )
                return self.success(
                    data,
                    self._sentence(data),
                    source=source,
                    cached=got.cached,
                    fetched_at=got.fetched_at,
                )
        if not seen:
            tried = ", ".join(candidates)
            return self.failure(
                "error",
                f"not found: {entity} reports none of {tried} in its company facts",
                source=source,
            )
        reported_units = ", ".join(sorted(units_seen))
        unit_note = f" in {args.unit or default_unit or 'USD'} (units reported: {reported_units})"
        return self.failure(
            "error",
            f"not found: {entity} has no {', '.join(seen)} value for {period}{unit_note}",
            source=source,
        )

    @staticmethod
    def _sentence(fact: CompanyFact) -> str:
        name = fact.label or fact.concept
        text = (
            f"{fact.entity_name} {name} for {fact.fiscal_period}{fact.fiscal_year} "
            f"(period ending {fact.period_end}): {_number(fact.value)} {fact.unit}"
        )
        if fact.form or fact.filed:
            filed = fact.filed or "on an unknown date"
            text += f", as reported in {fact.form or 'a filing'} filed {filed}"
        others = [v for v in fact.values if v.value != fact.value]
        if others:
            text += "; also reported as " + ", ".join(
                f"{_number(v.value)} ({v.form} filed {v.filed})" for v in others
            )
        return text
