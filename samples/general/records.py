"""Filings and their statements as numbers: what the generator builds and the layout prints.

Contract: a :class:`Statement` is a table whose rows hold integers in the statement's minor
display unit, newest period first; a total row names the (row, sign) parts it must equal.
:meth:`Statement.check` and :meth:`GeneratedFiling.check` return every inconsistency found (a
total that is not the sum of its parts, a cross-statement tie that does not hold) and an empty
list when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Line:
    """One printed row. ``values`` are integers in the statement's minor display unit (tenths of
    a million when the table prints one decimal), newest period first; ``parts`` are (row index,
    sign) pairs whose signed sum this row must equal."""

    label: str
    values: list[int] | None = None  # None: a caption row ("Current assets:")
    parts: list[tuple[int, int]] = field(default_factory=list)
    dollar: bool = False
    kind: str = "amount"  # amount | eps | shares | ratio


@dataclass
class Statement:
    """A table of the filing: title, period headers and rows (values newest first)."""

    kind: str  # income | balance | cash-flow | segments | geography | debt | eps | ...
    title: str
    periods: list[str]
    lines: list[Line] = field(default_factory=list)

    def add(
        self, label: str, values: list[int] | None, *, dollar: bool = False, kind: str = "amount"
    ) -> int:
        self.lines.append(
            Line(label, None if values is None else list(values), dollar=dollar, kind=kind)
        )
        return len(self.lines) - 1

    def total(self, label: str, parts: list[int | tuple[int, int]], *, dollar: bool = False) -> int:
        """Add a row equal to the signed sum of ``parts`` (row indexes, or (index, sign))."""
        signed = [(p, 1) if isinstance(p, int) else p for p in parts]
        n = len(self.lines[signed[0][0]].values or [])
        values = [
            sum(s * (self.lines[i].values or [0] * n)[k] for i, s in signed) for k in range(n)
        ]
        self.lines.append(Line(label, values, signed, dollar=dollar))
        return len(self.lines) - 1

    def value(self, label: str, period: int = 0) -> int:
        for line in self.lines:
            if line.label == label and line.values is not None:
                return line.values[period]
        raise KeyError(label)

    def check(self) -> list[str]:
        """Rows whose value differs from the signed sum of their parts (empty when consistent)."""
        problems = []
        for line in self.lines:
            for k, v in enumerate(line.values or []):
                if line.parts and v != sum(
                    s * (self.lines[i].values or [])[k] for i, s in line.parts
                ):
                    problems.append(f"{self.title}: {line.label!r} column {k}")
        return problems


@dataclass
class GeneratedFiling:
    """One filing before layout: what :func:`write_general_corpus` turns into a PDF."""

    file_name: str
    company: str
    ticker: str
    industry: str
    form: str  # 10-K | 10-Q
    fiscal_year: int
    fiscal_period: str  # FY | Q1..Q3
    period_end: date
    running_header: str
    html: str
    statements: list[Statement]
    ties: list[tuple[str, int, int]] = field(default_factory=list)  # (what, a, b): must be equal

    def check(self) -> list[str]:
        """Every inconsistency: a total that is not its sum, or a cross-statement tie broken."""
        problems = [p for s in self.statements for p in s.check()]
        problems += [f"{self.file_name}: {what} {a} != {b}" for what, a, b in self.ties if a != b]
        return problems
