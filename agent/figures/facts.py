"""Where figures come from: the :class:`FactSource` protocol and the choice among duplicate facts.

Contract: a :class:`FactSource` answers ``query(...)`` with the facts the caller may see
(``acl_groups``), narrowed by filing, company, concept, fiscal year / period and statement.
:class:`FactFinder` asks it for one concept in one period: first in the question's own filings
(``doc_ids``), then, when that finds nothing (a comparison year only reported in a prior filing),
in every filing of the question's ``companies``. Among duplicates it picks deterministically: the
primary statement over other tables, the resolved filing over others (in the order given), FY
facts over quarters, then the lowest page and fact id. A missing annual flow falls back to the sum
of its four quarters. It never invents a figure: a miss is reported with where it looked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agent.figures.catalog import CATALOG, Catalog
from core.records import STATEMENTS, Fact

PRIMARY = frozenset(s for s in STATEMENTS if s != "equity")


@runtime_checkable
class FactSource(Protocol):
    """Reported facts, filtered; an empty list when nothing matches."""

    def query(
        self,
        *,
        acl_groups: list[str],
        doc_ids: list[str] | None = None,
        companies: list[str] | None = None,
        concepts: list[str] | None = None,
        fiscal_years: list[int] | None = None,
        fiscal_periods: list[str] | None = None,
        statements: list[str] | None = None,
    ) -> list[Fact]: ...


@dataclass(frozen=True)
class Found:
    """The fact(s) one operand was read from: one fact, or four quarters summed."""

    concept: str
    period: str  # "FY2019", "Q2 FY2024"
    facts: tuple[Fact, ...]

    @property
    def value(self) -> float:
        return sum(f.value for f in self.facts)


@dataclass
class FactFinder:
    """One question's look-ups, cached; see the module contract."""

    source: FactSource
    acl_groups: list[str]
    doc_ids: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    catalog: Catalog = CATALOG
    names: dict[str, str] = field(default_factory=dict)  # doc id -> file name, for messages
    _cache: dict[tuple[str, int, str], Found | None] = field(default_factory=dict)

    def where(self) -> str:
        looked = []
        if self.doc_ids:
            shown = [self.names.get(d, d) for d in self.doc_ids]
            looked.append(("filings " if len(shown) > 1 else "filing ") + ", ".join(shown))
        if self.companies:
            looked.append("all filings of " + ", ".join(self.companies))
        return " and ".join(looked) or "all visible filings"

    def find(self, concept: str, year: int, quarter: str | None = None) -> Found | None:
        key = (concept, year, quarter or "FY")
        if key not in self._cache:
            self._cache[key] = self._find(concept, year, quarter)
        return self._cache[key]

    def found(self) -> dict[str, Fact]:
        """Every fact an operand was read from so far, by fact id (the answer's citations)."""
        return {f.fact_id: f for hit in self._cache.values() if hit is not None for f in hit.facts}

    def _query(self, concept: str, year: int, periods: list[str] | None, **scope) -> list[Fact]:
        return self.source.query(
            acl_groups=self.acl_groups,
            concepts=[concept],
            fiscal_years=[year],
            fiscal_periods=periods,
            **scope,
        )

    def _scopes(self) -> list[dict]:
        scopes: list[dict] = []
        if self.doc_ids:
            scopes.append({"doc_ids": list(self.doc_ids)})
        if self.companies:
            scopes.append({"companies": list(self.companies)})
        return scopes or [{}]

    def _find(self, concept: str, year: int, quarter: str | None) -> Found | None:
        kind = self.catalog.concepts[concept].kind if concept in self.catalog.concepts else None
        label = f"{quarter} FY{year}" if quarter else f"FY{year}"
        for scope in self._scopes():
            facts = [
                f
                for f in self._query(concept, year, None, **scope)
                if f.concept == concept and f.fiscal_year == year and _fits(f, kind, quarter)
            ]
            if facts:
                return Found(concept, label, (min(facts, key=self._rank),))
            if kind == "duration" and quarter is None:
                quarters = self._quarters(concept, year, scope)
                if quarters:
                    return Found(concept, label, quarters)
        return None

    def _quarters(self, concept: str, year: int, scope: dict) -> tuple[Fact, ...] | None:
        """The four quarters of a year, when the annual figure is not reported."""
        facts = self._query(concept, year, ["Q1", "Q2", "Q3", "Q4"], **scope)
        picked = []
        for q in ("Q1", "Q2", "Q3", "Q4"):
            these = [
                f
                for f in facts
                if f.concept == concept
                and f.fiscal_period == q
                and f.months in (None, 3)
                and f.period_type != "instant"
            ]
            if not these:
                return None
            picked.append(min(these, key=self._rank))
        return tuple(picked)

    def _rank(self, fact: Fact) -> tuple:
        doc_rank = (
            self.doc_ids.index(fact.doc_id) if fact.doc_id in self.doc_ids else len(self.doc_ids)
        )
        return (
            0 if fact.statement in PRIMARY else 1,
            doc_rank,
            0 if fact.fiscal_period == "FY" else 1,
            fact.doc_id,
            fact.page_no,
            fact.fact_id,
        )


def _fits(fact: Fact, kind: str | None, quarter: str | None) -> bool:
    """Whether a fact is the asked period: an annual (or quarter) flow, or its closing balance."""
    if kind and fact.period_type and fact.period_type != kind:
        return False
    if quarter:
        if fact.fiscal_period != quarter:
            return False
        return fact.period_type == "instant" or fact.months in (None, 3)
    if fact.period_type == "instant" or kind == "instant":
        return fact.fiscal_period in (None, "FY", "Q4")
    return fact.fiscal_period in (None, "FY") and fact.months in (None, 12)
