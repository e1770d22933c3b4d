"""The metric catalogue (``agent/metrics.toml``: data, not code), loaded and validated at import.

Contract: :data:`CATALOG` holds every concept (its id, instant/duration kind and the words for it),
every metric (name, aliases, formula over concepts and other metrics, unit, the direction that is
"better", an optional judgement rule) and every template over a line item ("change in X",
"X growth", "X CAGR"). A malformed file fails at import naming the entry; every formula parses and
names only known concepts and metrics.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

from agent.figures.formulas import RESERVED, FormulaError, expand, names, parse, snake

CATALOG_FILE = Path(__file__).parent.parent / "metrics.toml"
UNITS = ("ratio", "percent", "days", "USD")
KINDS = ("instant", "duration")
OPS = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class Judgement:
    op: str  # > >= < <=
    threshold: float  # in the metric's unit (percent in percentage points)
    rule: str  # stated to the user

    def holds(self, value: float) -> bool:
        return {
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
        }[self.op]


@dataclass(frozen=True)
class Concept:
    id: str
    kind: str  # instant | duration
    aliases: tuple[str, ...]
    magnitude: bool = False  # an amount paid: used as its size whatever sign it is printed with
    derive: str = ""  # a formula over other concepts for when the filing does not print it


@dataclass(frozen=True)
class Metric:
    name: str
    aliases: tuple[str, ...]
    formula: str  # as written, may name other metrics (snake_case)
    unit: str = "ratio"
    better: str | None = None  # higher | lower
    judgement: Judgement | None = None
    template: bool = False  # formula over ``item``, the line item the question names

    @property
    def key(self) -> str:
        return snake(self.name)


@dataclass(frozen=True)
class Catalog:
    concepts: dict[str, Concept]
    metrics: dict[str, Metric]  # by name
    templates: dict[str, Metric]

    def formulas(self) -> dict[str, str]:
        """snake_case metric name -> formula, for :func:`agent.figures.formulas.expand`."""
        return {m.key: m.formula for m in self.metrics.values()}

    def concepts_of(self, formula: str) -> set[str]:
        """The concepts a formula needs once metric names are expanded."""
        return names(expand(formula, self.formulas())) - RESERVED


def _judgement(raw: dict | None) -> Judgement | None:
    if raw is None:
        return None
    if raw.get("op") not in OPS:
        raise ValueError(f"judgement op {raw.get('op')!r} not in {OPS}")
    return Judgement(str(raw["op"]), float(raw["threshold"]), str(raw["rule"]))


def _metric(entry: dict, template: bool) -> Metric:
    unit = entry.get("unit", "USD" if template else "ratio")
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} not in {UNITS}")
    if entry.get("better") not in (None, "higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', not {entry['better']!r}")
    aliases = tuple(a.lower() for a in entry["aliases"])
    if not aliases:
        raise ValueError("a metric needs at least one alias")
    return Metric(
        name=str(entry["name"]),
        aliases=aliases,
        formula=str(entry["formula"]),
        unit=unit,
        better=entry.get("better"),
        judgement=_judgement(entry.get("judgement")),
        template=template,
    )


def load(path: Path = CATALOG_FILE) -> Catalog:
    """The catalogue in ``path``; raises ValueError naming the entry that is malformed."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    concepts: dict[str, Concept] = {}
    for cid, entry in raw.get("concept", {}).items():
        if entry.get("kind") not in KINDS:
            raise ValueError(f"{path.name}: concept {cid!r}: kind must be one of {KINDS}")
        concepts[cid] = Concept(
            cid,
            entry["kind"],
            tuple(a.lower() for a in entry["aliases"]),
            magnitude=bool(entry.get("magnitude", False)),
            derive=str(entry.get("derive", "")),
        )
    for concept in concepts.values():
        if not concept.derive:
            continue
        tree = parse(concept.derive)  # FormulaError names what is not allowed
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        if not names <= set(concepts) - {concept.id}:
            raise ValueError(
                f"{path.name}: concept {concept.id!r}: derive may name only other concepts, "
                f"not {sorted(names - set(concepts)) or [concept.id]}"
            )
    metrics: dict[str, Metric] = {}
    templates: dict[str, Metric] = {}
    for table, template in (("metric", False), ("template", True)):
        for n, entry in enumerate(raw.get(table, []), start=1):
            try:
                metric = _metric(entry, template)
                parse(metric.formula)
            except (KeyError, ValueError, FormulaError) as exc:
                raise ValueError(
                    f"{path.name}: {table} {n} ({entry.get('name')!r}): {exc}"
                ) from exc
            (templates if template else metrics)[metric.name] = metric
    catalog = Catalog(concepts, metrics, templates)
    known = set(concepts) | RESERVED
    for metric in [*metrics.values(), *templates.values()]:
        try:
            used = catalog.concepts_of(metric.formula) - ({"item"} if metric.template else set())
        except FormulaError as exc:
            raise ValueError(f"{path.name}: metric {metric.name!r}: {exc}") from exc
        if used - known:
            raise ValueError(
                f"{path.name}: metric {metric.name!r} names unknown concepts "
                f"{sorted(used - known)}; known: {sorted(concepts)}"
            )
    return catalog


CATALOG = load()
