"""Industry profiles and shared word lists of the generated corpus, read from TOML beside this file.

Contract: :data:`PROFILES` (``industries.toml``, in file order) and :data:`VOCABULARY`
(``vocabulary.toml``) are loaded once, at import; :func:`load_profiles` and
:func:`load_vocabulary` read any other file the same way. A file that does not fit the schema
(the comment at the top of each file describes it) raises :class:`ProfileError` naming the file,
the entry and the field, so that a typo fails when the package loads rather than as a
``KeyError`` deep inside the financial model. Values come back exactly as written, in file order
and without normalisation: the generator draws from these lists by position, so the same data
gives the same corpus.

Example:
    >>> from samples.general.profiles import PROFILES
    >>> [p.key for p in PROFILES][:3]
    ['retail', 'software', 'industrials']
    >>> PROFILES[0].opex[0].label
    'Selling, general and administrative expenses'
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

ARCHETYPES = ("general", "bank", "insurer")
# Placeholders a KPI sentence may use: the keys of the figures narrative.kpis fills in.
KPI_PLACEHOLDERS = frozenset({"a", "b", "c", "fy", "k", "m", "n", "p", "q", "r", "s", "w", "x"})
# The general model reports up to 4 segments; bank and insurer models always report 3.
MIN_SEGMENTS = {"general": 4, "bank": 3, "insurer": 3}
# The geography note draws a home region plus two or three others.
MIN_REGIONS = 4
# Risk factors draw up to 5 generic risks and 2 closing sentences per risk.
MIN_GENERIC_RISKS = 5
MIN_RISK_TAILS = 2


class ProfileError(ValueError):
    """A profile or vocabulary file that does not fit the schema; the message says where."""


@dataclass(frozen=True)
class Span:
    """A range a figure is drawn from, uniformly."""

    low: float
    high: float


@dataclass(frozen=True)
class Opex:
    """An operating expense line of the income statement and its typical share of revenue."""

    label: str
    share_of_revenue: float


@dataclass(frozen=True)
class Risk:
    """A risk factor: the heading and the paragraph under it."""

    heading: str
    body: str


@dataclass(frozen=True)
class Profile:
    """What a company of one industry reports (fields as described in ``industries.toml``).

    The general-archetype fields (``revenue_line_sets`` to ``capex_share``) are empty, ``None``,
    zero or false for banks and insurers, whose statements have fixed lines.
    """

    key: str
    archetype: str  # general | bank | insurer
    name_suffixes: tuple[str, ...]
    business: str  # Item 1 opening: "<Company> {business}."
    customers: str
    competitors: str
    seasonality: str
    growth: Span
    segments: tuple[str, ...]
    drivers_up: tuple[str, ...]
    drivers_down: tuple[str, ...]
    capex_uses: tuple[str, ...]
    kpis: tuple[str, ...]  # sentences with KPI_PLACEHOLDERS filled with random figures
    risks: tuple[Risk, ...]
    revenue_line_sets: tuple[tuple[str, ...], ...] = ()
    cost_lines: tuple[str, ...] = ()
    gross_profit: str | None = None  # None: costs sit with operating expenses
    gross_margin: Span = Span(0, 0)
    opex: tuple[Opex, ...] = ()
    inventories: str | None = None  # the balance sheet label; None: no inventories
    deferred_revenue: bool = False
    capex_share: float = 0.0


@dataclass(frozen=True)
class Vocabulary:
    """Words every company draws from, whatever its industry."""

    name_prefixes: tuple[str, ...]
    name_endings: tuple[str, ...]
    states: tuple[str, ...]
    cities: tuple[str, ...]
    exchanges: tuple[str, ...]
    regions: tuple[str, ...]
    risk_tails: tuple[str, ...]
    generic_risks: tuple[Risk, ...]


class _Table:
    """Typed reads of one TOML table; every failure names the file, the entry and the field."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: expected a table, got {type(data).__name__}")
        self.data, self.where, self.read = data, where, set()

    def fail(self, name: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.where}: field {name!r} {problem}")

    def get(self, name: str, kind: type, what: str) -> Any:
        self.read.add(name)
        if name not in self.data:
            raise self.fail(name, "is missing")
        value = self.data[name]
        # bool is an int in Python, and TOML's 1 is not a float: accept ints where numbers go.
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not ok:
            raise self.fail(name, f"must be {what}, got {value!r}")
        return value

    def text(self, name: str) -> str:
        value = self.get(name, str, "a string")
        if not value.strip():
            raise self.fail(name, "is empty")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self.data else None

    def number(self, name: str) -> float:
        return self.get(name, float, "a number")

    def flag(self, name: str) -> bool:
        return self.get(name, bool, "true or false")

    def texts(self, name: str, at_least: int = 1) -> tuple[str, ...]:
        values = self.get(name, list, "a list of strings")
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(name, "must hold non-empty strings only")
        if len(values) < at_least:
            raise self.fail(name, f"needs at least {at_least} entries, has {len(values)}")
        return tuple(values)

    def span(self, name: str) -> Span:
        table = _Table(self.get(name, dict, "a table { low, high }"), f"{self.where}: {name}")
        span = Span(table.number("low"), table.number("high"))
        table.done()
        if span.low > span.high:
            raise self.fail(name, f"has low {span.low} above high {span.high}")
        return span

    def tables(self, name: str, at_least: int = 1) -> list[_Table]:
        values = self.get(name, list, "a list of tables")
        if len(values) < at_least:
            raise self.fail(name, f"needs at least {at_least} entries, has {len(values)}")
        return [_Table(v, f"{self.where}: {name}[{i}]") for i, v in enumerate(values)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise ProfileError(f"{self.where}: unknown field(s) {', '.join(map(repr, unknown))}")


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{path.name}: not valid TOML: {e}") from e


def _risks(table: _Table, name: str, at_least: int = 1) -> tuple[Risk, ...]:
    risks = []
    for t in table.tables(name, at_least):
        risks.append(Risk(t.text("heading"), t.text("body")))
        t.done()
    return tuple(risks)


_GENERAL_ONLY = (
    "revenue_line_sets",
    "cost_lines",
    "gross_profit",
    "gross_margin",
    "opex",
    "inventories",
    "deferred_revenue",
    "capex_share",
)


def _profile(t: _Table) -> Profile:
    archetype = t.text("archetype")
    if archetype not in ARCHETYPES:
        raise t.fail("archetype", f"must be one of {', '.join(ARCHETYPES)}, got {archetype!r}")
    kpis = t.texts("kpis")
    for sentence in kpis:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(sentence) if f is not None}
        except ValueError as e:  # an unmatched brace
            raise t.fail("kpis", f"has a malformed sentence {sentence!r}: {e}") from e
        if names - KPI_PLACEHOLDERS:
            raise t.fail("kpis", f"uses unknown placeholder(s) {sorted(names - KPI_PLACEHOLDERS)}")
    common: dict[str, Any] = {
        "key": t.text("key"),
        "archetype": archetype,
        "name_suffixes": t.texts("name_suffixes"),
        "business": t.text("business"),
        "customers": t.text("customers"),
        "competitors": t.text("competitors"),
        "seasonality": t.text("seasonality"),
        "growth": t.span("growth"),
        "segments": t.texts("segments", MIN_SEGMENTS[archetype]),
        "drivers_up": t.texts("drivers_up"),
        "drivers_down": t.texts("drivers_down"),
        "capex_uses": t.texts("capex_uses"),
        "kpis": kpis,
        "risks": _risks(t, "risks"),
    }
    if archetype != "general":
        given = [name for name in _GENERAL_ONLY if name in t.data]
        if given:
            raise t.fail(given[0], f"applies to the general archetype only, not {archetype}")
        t.done()
        return Profile(**common)
    revenue_line_sets = []
    for i, lines in enumerate(t.get("revenue_line_sets", list, "a list of lists of strings")):
        if not (isinstance(lines, list) and lines and all(isinstance(x, str) for x in lines)):
            raise t.fail("revenue_line_sets", f"entry {i} must be a non-empty list of strings")
        revenue_line_sets.append(tuple(lines))
    if not revenue_line_sets:
        raise t.fail("revenue_line_sets", "needs at least 1 entry")
    opex = []
    for o in t.tables("opex"):
        opex.append(Opex(o.text("label"), o.number("share_of_revenue")))
        o.done()
    profile = Profile(
        **common,
        revenue_line_sets=tuple(revenue_line_sets),
        cost_lines=t.texts("cost_lines"),
        gross_profit=t.optional_text("gross_profit"),
        gross_margin=t.span("gross_margin"),
        opex=tuple(opex),
        inventories=t.optional_text("inventories"),
        deferred_revenue=t.flag("deferred_revenue"),
        capex_share=t.number("capex_share"),
    )
    t.done()
    return profile


def load_profiles(path: Path) -> tuple[Profile, ...]:
    """The ``[[industry]]`` entries of ``path``, in file order.

    Raises:
        ProfileError: the file is not TOML, has no industry, repeats a key, or an entry misses
            a field, has one of the wrong type, or has one that its archetype does not use.
    """
    data = _load(path)
    top = _Table(data, path.name)
    entries = top.tables("industry")
    top.done()
    profiles: list[Profile] = []
    for i, entry in enumerate(entries):
        key = entry.data.get("key")
        entry.where = f"{path.name}: industry {i + 1}" + (f" ({key!r})" if key else "")
        profile = _profile(entry)
        if any(p.key == profile.key for p in profiles):
            raise entry.fail("key", f"repeats {profile.key!r}")
        profiles.append(profile)
    return tuple(profiles)


def load_vocabulary(path: Path) -> Vocabulary:
    """The word lists of ``path``.

    Raises:
        ProfileError: the file is not TOML, or a list is missing, empty, too short for the draws
            made from it, or holds something other than strings.
    """
    t = _Table(_load(path), path.name)
    vocabulary = Vocabulary(
        name_prefixes=t.texts("name_prefixes"),
        name_endings=t.texts("name_endings"),
        states=t.texts("states"),
        cities=t.texts("cities"),
        exchanges=t.texts("exchanges"),
        regions=t.texts("regions", MIN_REGIONS),
        risk_tails=t.texts("risk_tails", MIN_RISK_TAILS),
        generic_risks=_risks(t, "generic_risks", MIN_GENERIC_RISKS),
    )
    t.done()
    return vocabulary


PROFILES: tuple[Profile, ...] = load_profiles(HERE / "industries.toml")
VOCABULARY: Vocabulary = load_vocabulary(HERE / "vocabulary.toml")
