"""Arithmetic answers through the calculator: growth, CAGR, margins and liquidity ratios.

Contract: the question's intent (:func:`ratio_intent`, :data:`CAGR`, :data:`GROWTH`) picks the
operand rows; their cells are read with :func:`core.figures.parse_amount` and the formula goes
to :func:`retrieval.tools.calculator.evaluate`, whose result is evidence for the stated figure
and whose formula is recorded in ``Answer.tool_calls``. A missing operand or period becomes a
note saying which; nothing is computed here by hand.
"""

from __future__ import annotations

import logging
import re

from agent.extractive.draft import Draft, say_cell
from agent.extractive.tables import Cell, Found, Table, operand
from agent.verify import Evidence
from core.figures import AmountError, parse_amount
from retrieval.tools.calculator import CalculatorError, evaluate

log = logging.getLogger(__name__)

# intents
CAGR = re.compile(r"\bcagr\b|compound(?:ed)? annual growth", re.I)
GROWTH = re.compile(
    r"\b(?:change[sd]?|growth|grow|grew|increase[sd]?|decrease[sd]?|decline[sd]?|rise|rose|fell|"
    r"drop(?:ped)?|year[- ]over[- ]year|yoy|vs\.?|versus|compared?)\b",
    re.I,
)
_GROSS_MARGIN = re.compile(r"\bgross (?:profit )?margin", re.I)
_OPERATING_MARGIN = re.compile(r"\boperating (?:profit |income )?margin", re.I)
_NET_MARGIN = re.compile(r"\bnet (?:profit |income )?margin|\bprofit margin", re.I)
_CURRENT_RATIO = re.compile(r"\bcurrent ratio\b", re.I)
_QUICK_RATIO = re.compile(r"\bquick ratio\b|\bacid[- ]test\b", re.I)

# operand rows, by label (lower case)
_REVENUE = re.compile(
    r"^(?:total\s+)?(?:net\s+)?(?:revenues?|sales)(?:,?\s*net)?$"
    r"|^total (?:net )?(?:revenues?|sales)\b"
)
_COST = re.compile(r"^(?:total\s+)?cost of (?:sales|revenues?|goods sold|products sold)\b")
_GROSS = re.compile(r"^gross (?:profit|margin)\b(?!.*%)")
_OPERATING = re.compile(
    r"^(?:total\s+)?(?:operating income|income from operations|operating profit|"
    r"earnings from operations)\b"
)
_NET_INCOME = re.compile(r"^net (?:income|earnings)\b(?!.*per share)")
_CURRENT_ASSETS = re.compile(r"^total current assets\b")
_CURRENT_LIABILITIES = re.compile(r"^total current liabilities\b")
_CASH = re.compile(r"^cash and cash equivalents$")
_SHORT_TERM = re.compile(r"^(?:short-term investments|marketable securities)")
_RECEIVABLES = re.compile(r"^(?:accounts |trade )?receivables?(?:,? net)?\b|^accounts receivable")


def plain(value: float) -> str:
    """A number for a calculator expression: no thousands separators, no exponent."""
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def calculate(draft: Draft, expression: str) -> tuple[float, Evidence] | None:
    try:
        result = evaluate(expression)
    except CalculatorError as exc:
        log.info("extractive: calculator refused %r: %s", expression, exc)
        draft.notes.append(f"The calculation could not be done: {exc}.")
        return None
    draft.tool_calls.append(f"calculator: {result.formula}")
    evidence = Evidence(
        id=f"calculator:{len(draft.tool_calls)}", text=result.formula, percent=result.percent
    )
    return result.value, evidence


def amount(cell: Cell) -> float | None:
    text = cell.text.replace("$ ", "$").strip()
    try:
        return parse_amount(text)
    except AmountError:
        return None


def percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def compare_periods(draft: Draft, found: Found, years: list[int], cagr: bool) -> bool:
    """Growth (or CAGR) of one row between two periods. False when a period is missing."""
    row, table = found.row, found.table
    if len(years) >= 2:
        old_year, new_year = years[0], years[-1]
    else:
        available = sorted(row.cells)
        new_year = years[0] if years else available[-1]
        earlier = [y for y in available if y < new_year]
        old_year = earlier[-1] if earlier else new_year - 1
    missing = [y for y in (old_year, new_year) if y not in row.cells]
    if missing:
        for year in (old_year, new_year):
            if year in row.cells:
                say_cell(draft, table, row.cells[year])
        shown = " and ".join(str(y) for y in missing)
        draft.notes.append(
            f"No {row.label} figure for {shown} was found in the tables searched, so the "
            f"comparison between {old_year} and {new_year} cannot be made."
        )
        return False
    old_cell, new_cell = row.cells[old_year], row.cells[new_year]
    old, new = amount(old_cell), amount(new_cell)
    if old is None or new is None:
        return False
    if cagr and new_year - old_year > 0:
        done = calculate(draft, f"cagr({plain(new)}, {plain(old)}, {new_year - old_year})")
        what = "grew at a compound annual rate of"
    else:
        done = calculate(draft, f"growth({plain(new)}, {plain(old)})")
        what = ""
    if done is None:
        return False
    value, calc = done
    n_old = draft.cite_cell(table, old_cell)
    n_new = draft.cite_cell(table, new_cell)
    refs = "".join(f"[{n}]" for n in dict.fromkeys(x for x in (n_old, n_new) if x))
    if not what:
        what = "increased" if value > 0 else "decreased" if value < 0 else "was unchanged at"
    rate = percent(abs(value)) if what != "was unchanged at" else ""
    unit = f" {table.unit}" if table.unit else ""
    text = (
        f"{row.label} {what} {rate} from {old_cell.text} ({old_year}) to {new_cell.text} "
        f"({new_year}){unit} {refs}."
    ).replace("  ", " ")
    draft.statements.append((text, [draft.chunk_evidence(table.chunk), calc]))
    return True


def ratio_intent(question: str) -> str | None:
    for name, pattern in (
        ("gross margin", _GROSS_MARGIN),
        ("operating margin", _OPERATING_MARGIN),
        ("net margin", _NET_MARGIN),
        ("current ratio", _CURRENT_RATIO),
        ("quick ratio", _QUICK_RATIO),
    ):
        if pattern.search(question):
            return name
    return None


def latest_year(tables: list[Table]) -> int | None:
    years = {y for t in tables for r in t.rows for y in r.cells}
    return max(years) if years else None


def compute_metric(draft: Draft, name: str, tables: list[Table], year: int) -> bool:
    """A margin or a liquidity ratio for one year, computed from the statement rows."""
    parts: list[tuple[str, tuple[Table, Cell]]] = []

    def need(label: str, pattern: re.Pattern[str]) -> tuple[Table, Cell] | None:
        got = operand(tables, pattern, year)
        if got is not None:
            parts.append((label, got))
        return got

    expression = ""
    shown = ""
    missing: list[str] = []
    if name.endswith("margin"):
        revenue = need("revenue", _REVENUE)
        if revenue is None:
            missing.append("revenue")
        numerator = None
        if name == "gross margin":
            numerator = need("gross profit", _GROSS)
            if numerator is None:
                cost = need("cost of sales", _COST)
                if cost is None:
                    missing.append("gross profit or cost of sales")
                elif revenue is not None:
                    r, c = amount(revenue[1]), amount(cost[1])
                    if r is not None and c is not None:
                        expression = f"margin({plain(r)} - {plain(abs(c))}, {plain(r)})"
                        shown = (
                            f"(revenue {revenue[1].text} - cost of sales {cost[1].text}) "
                            f"/ revenue {revenue[1].text}"
                        )
        else:
            pattern, label = (
                (_OPERATING, "operating income")
                if name == "operating margin"
                else (_NET_INCOME, "net income")
            )
            numerator = need(label, pattern)
            if numerator is None:
                missing.append(label)
        if numerator is not None and revenue is not None and not expression:
            a, r = amount(numerator[1]), amount(revenue[1])
            if a is not None and r is not None:
                expression = f"margin({plain(a)}, {plain(r)})"
                shown = f"{parts[-1][0]} {numerator[1].text} / revenue {revenue[1].text}"
    else:
        liabilities = operand(tables, _CURRENT_LIABILITIES, year)
        if name == "current ratio":
            assets = need("total current assets", _CURRENT_ASSETS)
            if assets is None:
                missing.append("total current assets")
            if liabilities is None:
                missing.append("total current liabilities")
            if assets and liabilities:
                a, b = amount(assets[1]), amount(liabilities[1])
                if a is not None and b is not None:
                    expression = f"ratio({plain(a)}, {plain(b)})"
                    shown = (
                        f"total current assets {assets[1].text} "
                        f"/ total current liabilities {liabilities[1].text}"
                    )
        else:
            cash = need("cash and cash equivalents", _CASH)
            quick = [
                cash,
                need("short-term investments", _SHORT_TERM),
                need("receivables", _RECEIVABLES),
            ]
            if cash is None:
                missing.append("cash and cash equivalents")
            if liabilities is None:
                missing.append("total current liabilities")
            if cash and liabilities:
                values = [amount(q[1]) for q in quick if q]
                b = amount(liabilities[1])
                if None not in values and b is not None:
                    expression = f"ratio({' + '.join(plain(v) for v in values)}, {plain(b)})"  # type: ignore[arg-type]
                    shown = " + ".join(f"{q[1].row_header} {q[1].text}" for q in quick if q)
                    shown = f"({shown}) / total current liabilities {liabilities[1].text}"
        if liabilities is not None:
            parts.append(("total current liabilities", liabilities))
    if missing:
        draft.notes.append(
            f"The {name} for {year} cannot be computed: no {', '.join(missing)} row for {year} "
            "was found in the tables searched."
        )
    if not expression:
        for _, (table, cell) in parts:
            say_cell(draft, table, cell)
        return False
    done = calculate(draft, expression)
    if done is None:
        return False
    value, calc = done
    refs = []
    for _, (table, cell) in parts:
        n = draft.cite_cell(table, cell)
        if n is not None and n not in refs:
            refs.append(n)
    figure = percent(value) if name.endswith("margin") else f"{value:.2f}"
    label = name[0].upper() + name[1:]
    evidence = [calc, *(draft.chunk_evidence(t.chunk) for _, (t, _) in parts)]
    marks = "".join(f"[{n}]" for n in refs)
    draft.statements.append((f"{label} was {figure} in {year}: {shown} {marks}.", evidence))
    return True
