"""Figure questions answered from reported facts: metrics, ratios, line items, yes/no judgements.

Contract: :func:`answer_from_facts` reads a question (:mod:`~agent.figures.questions`: metric,
years, definitions the question states, judgement, output format), finds every operand in a
:class:`~agent.figures.facts.FactSource` (the question's filings first, then the company's other
filings), computes with the calculator (:mod:`~agent.figures.compute`) and writes the answer with
one citation per operand (:mod:`~agent.figures.wording`). It returns ``None`` when the question
is not a figure question, so the caller falls back to its table and sentence answers. It never
states a figure that is not a fact or a computed result: with an operand missing, the text says
which concept and period were not found and where they were looked for, and the calculation's
``result`` is ``None``.

The metrics, their aliases, formulas, units and judgement rules are data: ``agent/metrics.toml``
(:mod:`~agent.figures.catalog`).

Example:
    >>> text, calcs, cites = answer_from_facts(  # doctest: +SKIP
    ...     "What is Globex's FY2019 fixed asset turnover?", result.resolution, store, ["public"])
    >>> text  # doctest: +SKIP
    'The FY2019 fixed asset turnover is 24.26: revenue FY2019 $6,489 million [1] / (the average
     of PP&E FY2019 $253 million [2] and PP&E FY2018 $282 million [3]).'
"""

from __future__ import annotations

import re
from typing import Protocol

from agent.figures.catalog import CATALOG, Catalog
from agent.figures.compute import Worked, calculate
from agent.figures.facts import FactFinder, FactSource
from agent.figures.questions import Ask, read_question
from agent.figures.wording import citation
from core.records import Calculation, Citation, Fact

__all__ = ["FactSource", "ResolutionLike", "answer_from_facts", "read_question"]

_FACT_MARK = re.compile(r"\[([^\[\]\s]+)\]")


class ResolutionLike(Protocol):
    """What the entry point reads of a resolution (:class:`core.records.Resolution` fits)."""

    doc_ids: list[str]
    companies: list[str]
    fiscal_years: list[int]


def answer_from_facts(
    question: str,
    resolution: ResolutionLike,
    facts: FactSource,
    acl_groups: list[str],
    catalog: Catalog = CATALOG,
    names: dict[str, str] | None = None,
) -> tuple[str, list[Calculation], list[Citation]] | None:
    """Answer a figure question from reported facts, or None when it is not one.

    Args:
        question: the analyst's question.
        resolution: the question's resolved filings (``doc_ids``, searched first), companies
            (searched next, for comparison years only in prior filings) and fiscal years (used
            when the question names none).
        facts: the fact store.
        acl_groups: the caller's groups; only facts they may see are used.
        names: file names by doc id, so a missing input says where it was looked for in words.

    Returns:
        ``(text, calculations, citations)``: the answer with ``[n]`` marks, the calculations
        (the last one answers; see :func:`agent.figures.compute.calculate`) and one citation per
        ``[n]``. Pass the calculations to :meth:`agent.verify.Evidence.from_calculation` so the
        computed figures count as evidence.
    """
    ask = read_question(question, catalog, default_years=list(resolution.fiscal_years or []))
    if ask is None:
        return None
    finder = FactFinder(
        source=facts,
        acl_groups=list(acl_groups),
        doc_ids=list(resolution.doc_ids or []),
        companies=list(resolution.companies or []),
        catalog=catalog,
        names=dict(names or {}),
    )
    worked = calculate(ask, finder, catalog)
    text, citations = _write(ask, worked, finder.found())
    return text, worked.calculations, citations


def _period(ask: Ask) -> str:
    years = ask.years
    label = f"FY{years[0]}-FY{years[-1]}" if len(years) > 1 and ask.average else f"FY{years[-1]}"
    return f"{ask.quarter} {label}" if ask.quarter else label


def _write(ask: Ask, worked: Worked, facts: dict[str, Fact]) -> tuple[str, list[Citation]]:
    citations: list[Citation] = []
    numbers: dict[str, int] = {}

    def mark(match: re.Match[str]) -> str:
        fact_id = match.group(1)
        if fact_id not in facts:
            return match.group(0)
        if fact_id not in numbers:
            citations.append(citation(facts[fact_id]))
            numbers[fact_id] = len(citations)
        return f"[{numbers[fact_id]}]"

    calcs = worked.calculations
    answer = calcs[-1]
    name = ask.metric.name
    missing = [m for c in calcs for m in c.missing]
    if missing:
        found = "; ".join(_FACT_MARK.sub(mark, w) for w in worked.words)
        text = (
            f"The {_period(ask)} {name} cannot be computed: not found: {'; '.join(missing)}. "
            f"Formula: {answer.formula}."
        )
        if citations:
            text += f" Found: {found}."
        return text, citations
    per_year = [
        f"{c.metric.split()[-1] if len(calcs) > 1 else _period(ask)}: "
        f"{_FACT_MARK.sub(mark, w)} = {c.text}"
        for c, w in zip(calcs, worked.words, strict=False)
    ]
    if answer.judgement:
        lead = f"{answer.judgement}. The {_period(ask)} {name} is {answer.text}"
        if ask.judgement not in ("threshold", "reported") and len(calcs) > 1:
            lead = f"{answer.judgement}. The {name} moved from {calcs[0].text} to {answer.text}"
        text = f"{lead} (rule: {answer.rule}). " + "; ".join(per_year) + "."
    elif ask.average:
        text = f"The {_period(ask)} average {name} is {answer.text}. " + "; ".join(per_year) + "."
    elif answer.lookup and len(calcs) == 1:
        # a line item looked up, not computed: its value and where it was read
        marks = "".join(re.findall(r"\[\d+\]", per_year[0]))
        text = f"The {_period(ask)} {name} is {answer.text} {marks}."
    else:
        text = (
            f"The {_period(ask)} {name} is {answer.text}: "
            + "; ".join(per_year)[len(_period(ask)) + 2 :]
            + "."
        )
    return text, citations
