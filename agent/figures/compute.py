"""Evaluating an :class:`~agent.figures.questions.Ask` over reported facts.

Contract: :func:`calculate` returns the :class:`~core.records.Calculation` list for one question:
one per evaluated year, plus the average when the question averages over years; the last one is
the answer (it carries the judgement and its rule for yes/no questions). Each formula is turned
into a numeric expression by substituting the facts :class:`~agent.figures.facts.FactFinder`
finds, and evaluated by :func:`retrieval.tools.calculator.evaluate` (the one safe evaluator).
Every operand is a :class:`~core.records.CalculationInput` with its fact id, file, page, box and
quote. When an operand is missing the result is ``None`` and ``missing`` names the concept, the
period and where it was looked for.

Units: ``percent`` results are percentage points (the formula gives a fraction, times 100);
``USD`` in dollars; ``ratio`` and ``days`` as computed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from agent.figures.catalog import CATALOG, Catalog
from agent.figures.facts import FactFinder, Found
from agent.figures.formulas import expand
from agent.figures.questions import Ask
from agent.figures.wording import figure, quote, result_text
from core.records import Calculation, CalculationInput
from retrieval.tools.calculator import CalculatorError, evaluate

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass
class _Year:
    """One evaluation of the formula for one year: the numeric expression and what it used."""

    year: int
    first: int  # the year prior() reads
    expression: str = ""
    words: str = ""  # the formula with the figures written in, for the answer text
    used: list[Found] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _number(value: float) -> str:
    text = f"{abs(value):.10f}".rstrip("0").rstrip(".") or "0"
    return f"(0 - {text})" if value < 0 else text


class _Substitution:
    def __init__(self, finder: FactFinder, ask: Ask, catalog: Catalog) -> None:
        self.finder, self.ask, self.catalog = finder, ask, catalog

    def operand(self, concept: str, year: int, state: _Year) -> tuple[str, str]:
        found = self.finder.find(concept, year, self.ask.quarter)
        period = f"{self.ask.quarter} FY{year}" if self.ask.quarter else f"FY{year}"
        label = (
            self.catalog.concepts[concept].aliases[0]
            if concept in self.catalog.concepts
            else concept
        )
        known = self.catalog.concepts.get(concept)
        if found is None and known is not None and known.derive:
            # a line item the filing does not print, from the ones it does (gross profit as
            # revenue - cost of revenue); each of those is cited
            missing_before = len(state.missing)
            expr, words = self.walk(ast.parse(known.derive, mode="eval"), state, year)
            if len(state.missing) == missing_before:
                return expr, f"{label} {period} = {words}"
            del state.missing[missing_before:]
        if found is None:
            state.missing.append(f"{concept} {period} (looked in {self.finder.where()})")
            return "0", f"{label} {period} (missing)"
        state.used.append(found)
        unit = found.facts[0].unit
        # an amount paid (capex, dividends) counts at its size, however the statement signs it;
        # the words quote it as printed
        value = abs(found.value) if known is not None and known.magnitude else found.value
        parts = " + ".join(f"{figure(f.value, unit)} [{f.fact_id}]" for f in found.facts)
        if len(found.facts) > 1:
            parts = f"({parts})"
        return _number(value), f"{label} {period} {parts}"

    def walk(self, node: ast.AST, state: _Year, year: int | None = None) -> tuple[str, str]:
        """The expression and words of ``node`` at ``year`` (default the state's)."""
        if isinstance(node, ast.Expression):
            return self.walk(node.body, state, year)
        if isinstance(node, ast.Constant):
            return _number(float(node.value)), f"{node.value:g}"
        if isinstance(node, ast.Name):
            if node.id == "years":  # said as the span, so no bare count needs evidence
                n = state.year - state.first
                return str(n), f"the years from FY{state.first} to FY{state.year}"
            return self.operand(node.id, year or state.year, state)
        if isinstance(node, ast.UnaryOp):
            expr, words = self.walk(node.operand, state, year)
            return (
                (f"(0 - {expr})", f"-{words}") if isinstance(node.op, ast.USub) else (expr, words)
            )
        if isinstance(node, ast.BinOp):
            (le, lw), (re_, rw) = (
                self.walk(node.left, state, year),
                self.walk(node.right, state, year),
            )
            op = _OPS[type(node.op)]
            return f"({le} {op} {re_})", f"({lw} {op} {rw})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in ("avg", "prior", "change"):
                concept = node.args[0].id  # type: ignore[attr-defined]
                if name == "prior":
                    return self.operand(concept, state.first, state)
                now_e, now_w = self.operand(concept, state.year, state)
                before = state.year - 1 if name == "avg" else state.first
                old_e, old_w = self.operand(concept, before, state)
                if name == "avg":
                    return f"avg({now_e}, {old_e})", f"the average of {now_w} and {old_w}"
                return f"({now_e} - {old_e})", f"the change from {old_w} to {now_w}"
            args = [self.walk(a, state) for a in node.args]
            return (
                f"{name}({', '.join(a[0] for a in args)})",
                f"{name}({', '.join(a[1] for a in args)})",
            )
        raise CalculatorError(f"cannot evaluate {ast.dump(node)}")


def _inputs(state: _Year) -> list[CalculationInput]:
    out = []
    for found in state.used:
        for fact in found.facts:
            out.append(
                CalculationInput(
                    name=found.concept,
                    period=found.period
                    if len(found.facts) == 1
                    else f"{fact.fiscal_period} FY{fact.fiscal_year}",
                    value=fact.value,
                    unit=fact.unit,
                    fact_id=fact.fact_id,
                    doc_id=fact.doc_id,
                    file_name=fact.file_name,
                    page_no=fact.page_no,
                    bbox=fact.bbox,
                    quote=quote(fact),
                )
            )
    return out


def _scaled(value: float, unit: str) -> float:
    return value * 100.0 if unit == "percent" else value


@dataclass
class Worked:
    """The calculations (the last answers the question) and, per year, the formula in words."""

    calculations: list[Calculation]
    words: list[str]  # "revenue FY2019 $6,489 million [fact-id] / (...)", one per evaluated year


def calculate(ask: Ask, finder: FactFinder, catalog: Catalog = CATALOG) -> Worked:
    """The calculations that answer ``ask`` (see the module contract)."""
    formula = expand(ask.formula, {**catalog.formulas(), **ask.definitions})
    tree = ast.parse(formula, mode="eval")
    unit = ask.metric.unit
    # a growth or change already spans the asked years: it is computed once, at the last
    spans = any(f"{name}(" in formula for name in ("growth", "change", "cagr"))
    compare = ask.judgement in ("better", "worse", "up", "down") and not spans
    years = ask.years if (ask.average or compare) else ask.years[-1:]
    first = ask.years[0] if len(ask.years) > 1 and not ask.average else None
    calcs: list[Calculation] = []
    states: list[_Year] = []
    sub = _Substitution(finder, ask, catalog)
    for year in years:
        state = _Year(year, first if first is not None and first < year else year - 1)
        state.expression, state.words = sub.walk(tree, state)
        states.append(state)
        calc = Calculation(
            metric=f"{ask.metric.name} FY{year}" if len(years) > 1 else ask.metric.name,
            formula=formula,
            inputs=_inputs(state),
            unit=unit,
            missing=state.missing,
        )
        if not state.missing:
            try:
                calc.result = _scaled(evaluate(state.expression).value, unit)
                calc.text = result_text(calc.result, unit, ask.format)
            except CalculatorError as exc:
                calc.missing = [f"cannot compute {formula} for FY{year}: {exc}"]
        calcs.append(calc)
    if ask.average:
        results = [c.result for c in calcs]
        average = Calculation(
            metric=f"average {ask.metric.name} FY{years[0]}-FY{years[-1]}",
            formula=f"avg({', '.join(f'{ask.metric.key}(FY{y})' for y in years)})",
            inputs=[i for c in calcs for i in c.inputs],
            unit=unit,
            missing=[m for c in calcs for m in c.missing],
        )
        if all(r is not None for r in results):
            average.result = evaluate(f"avg({', '.join(_number(r) for r in results)})").value
            average.text = result_text(average.result, unit, ask.format)
        calcs.append(average)
    _judge(ask, calcs)
    return Worked(calcs, [state.words for state in states])


def _judge(ask: Ask, calcs: list[Calculation]) -> None:
    last = calcs[-1]
    if ask.judgement is None or any(c.result is None for c in calcs):
        return
    if ask.judgement == "threshold" and ask.rule is not None:
        last.judgement = "Yes" if ask.rule.holds(last.result) else "No"
        last.rule = ask.rule.rule
        return
    if ask.judgement == "reported":  # an amount paid in the period: yes when it is not zero
        last.judgement = "Yes" if last.result else "No"
        last.rule = f"{ask.metric.name} reported and not zero"
        return
    if len(calcs) == 1 and ask.judgement in ("up", "down"):  # a growth or change: its sign
        yes = last.result > 0 if ask.judgement == "up" else last.result < 0
        last.judgement = "Yes" if yes else "No"
        last.rule = f"{last.metric} {'above' if ask.judgement == 'up' else 'below'} zero"
        return
    if len(calcs) < 2:
        return
    before, after = calcs[0], calcs[-1]
    rising = after.result > before.result
    if ask.judgement in ("better", "worse"):
        better = rising if ask.metric.better != "lower" else after.result < before.result
        yes = better if ask.judgement == "better" else not better and after.result != before.result
        direction = "higher" if ask.metric.better != "lower" else "lower"
        last.rule = (
            f"{ask.metric.name} is better when {direction}: {after.metric} vs {before.metric}"
        )
    else:
        yes = rising if ask.judgement == "up" else after.result < before.result
        last.rule = f"{after.metric} compared with {before.metric}"
    last.judgement = "Yes" if yes else "No"
