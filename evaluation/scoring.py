"""How ``finrag eval answers`` scores one answer against a FinanceBench-style gold answer.

Contract:
    * :func:`numeric_correct` -- for a gold answer that states a figure (and is not a Yes/No
      verdict), whether the answer states the gold's **first** figure: equal to it at the precision
      the gold prints (gold "$1,577.00" accepts 1,577.004; gold "39%" accepts 38.8 %) or within 1 %
      relative. ``None`` when there is nothing numeric to score.

      - The figures of the answer are its calculations' results when it has any
        (:attr:`core.records.Answer.calculations`), else the figures in its text (years, dates,
        periods and form names are not figures: :func:`agent.verify.extract_numbers`, which reads
        with :mod:`core.figures`).
      - Amounts compare in one scale: a gold with no scale word takes the unit the question asks
        for ("USD millions", "in billions"), so gold "$1,577.00" for "USD millions" equals
        "$1.577 billion"; an answer figure with no scale word is read in the gold's scale; a gold
        with neither scale word nor question unit may be in any usual scale (1, 10^3, 10^6, 10^9).
      - A percent gold ("24.26%") is matched by percent figures; only when the question asks for a
        percent, a margin or a rate does a bare ratio (0.2426, or a ``ratio`` calculation) count
        too, times 100. A calculation whose unit is ``percent`` holds percentage points
        (:class:`core.records.Calculation`: 24.26 = 24.26 %). The same holds the other way
        round (gold ratio "0.24", question asking for a percent, answer "24%").
      - Signs must agree, except that a positive figure after a negative cue ("a loss of",
        "declined") matches a negative gold.
    * :func:`gold_verdict` / :func:`answer_verdict` / :func:`yes_no_agrees` -- for a gold answer
      that begins with "Yes" or "No", whether the answer's first verdict (a calculation's
      ``judgement``, else a Yes/No that opens the answer or one of its sentences) is the same.
    * :func:`summarize` -- the per-``question_type`` table: counts, numeric correct, yes/no
      agreement, citation recall, abstention and latency per type, from the per-question rows of
      :func:`evaluation.run_answers.eval_answers`.

Example:
    >>> numeric_correct("Capex was $1.577 billion.", "$1,577.00",
    ...                 "What is the FY2018 capital expenditure (in USD millions)?")
    True
    >>> yes_no_agrees("No, it is not [1].", "No. The quick ratio is 0.8.")
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.figures import SCALES
from core.records import Answer

RELATIVE_TOLERANCE = 0.01
_USUAL_SCALES = (1.0, 1e3, 1e6, 1e9)
_QUESTION_SCALE = re.compile(r"\b(thousands|millions|billions)\b", re.I)
_QUESTION_PERCENT = re.compile(r"%|\bper\s?cent|\bpercentage|\bmargins?\b|\brates?\b", re.I)
_VERDICT = re.compile(r"^[\W_]*(yes|no)\b", re.I)
_SENTENCE_VERDICT = re.compile(r"(?:^|[.!?:;]\s+|\n)[\W_]*(yes|no)\b", re.I)


@dataclass(frozen=True)
class QuestionUnit:
    """What the question asks the figure in: a scale (1e6 for "USD millions") and/or a percent."""

    scale: float | None
    percent: bool


def question_unit(question: str) -> QuestionUnit:
    """The unit ``question`` asks for ("... in USD millions?" -> scale 1e6)."""
    match = _QUESTION_SCALE.search(question)
    return QuestionUnit(
        scale=SCALES[match[1].lower()] if match else None,
        percent=bool(_QUESTION_PERCENT.search(question)),
    )


@dataclass(frozen=True)
class GoldFigure:
    """The first figure of a gold answer, as printed."""

    number: float  # signed, unscaled: "$1,577.00" -> 1577.0, "24.26%" -> 24.26, "(3.4)" -> -3.4
    decimals: int  # digits printed after the decimal point
    percent: bool
    scale: float | None  # its scale word's multiplier, else the question's unit, else unknown
    money: bool  # a currency, a scale word or a question asking for an amount


def _mentions(text: str) -> list:
    from agent.verify import extract_numbers

    return [m for m in extract_numbers(text) if m.kind in ("amount", "percent", "number")]


def gold_figure(gold: str, question: str = "") -> GoldFigure | None:
    """The first figure of ``gold`` (None when it states none)."""
    mentions = _mentions(gold)
    if not mentions:
        return None
    m = mentions[0]
    unit = question_unit(question)
    number = -(m.number or 0.0) if m.negative else m.number or 0.0
    scale = m.scale if m.scale_source == "word" else unit.scale
    return GoldFigure(
        number=number,
        decimals=m.decimals,
        percent=m.percent,
        scale=None if m.percent else scale,
        money=not m.percent and (bool(m.currency) or scale is not None),
    )


@dataclass(frozen=True)
class _Stated:
    """One figure an answer states: signed value with what is known of its unit."""

    value: float  # signed; percent in points; amounts scaled when ``scale`` is known
    percent: bool  # written as a percent (points)
    fraction: bool  # a ratio that may be a percent as a fraction (bare number, ratio result)
    scaled: bool  # ``value`` is in base units (a scale word, a header, a USD calculation)
    negative_cue: bool = False


def _stated_in_text(text: str) -> list[_Stated]:
    stated = []
    for m in _mentions(text):
        number = m.number or 0.0
        value = -number if m.negative else number
        scaled = m.scale_source is not None
        stated.append(
            _Stated(
                value=value * m.scale if scaled else value,
                percent=m.percent,
                fraction=m.kind == "number" and not scaled,
                scaled=scaled,
                negative_cue=m.negative_cue,
            )
        )
    return stated


def _stated_in_calculations(answer: Answer) -> list[_Stated]:
    stated = []
    for calc in answer.calculations:
        if calc.result is None:
            continue
        unit = calc.unit.lower()
        if unit == "percent":
            stated.append(_Stated(calc.result, True, False, False))  # percentage points
        elif unit == "usd":
            stated.append(_Stated(calc.result, False, False, True))
        else:  # ratio, days, times, USD/share, ...: a number as it is
            stated.append(_Stated(calc.result, False, unit == "ratio", False))
    return stated


def stated_figures(answer: Answer | str) -> list[_Stated]:
    """The figures an answer states: its calculations' results when any, else its text's."""
    if isinstance(answer, Answer):
        return _stated_in_calculations(answer) or _stated_in_text(answer.text)
    return _stated_in_text(answer)


def _equal(ours: float, gold: float, decimals: int) -> bool:
    """``ours`` rounds to ``gold`` at ``decimals`` places, or is within 1 % of it."""
    if abs(ours - gold) <= 0.5 * 10.0 ** -max(decimals, 0) + 1e-9 * max(1.0, abs(gold)):
        return True
    return gold != 0 and abs(ours - gold) <= RELATIVE_TOLERANCE * abs(gold)


def _candidates(stated: _Stated, gold: GoldFigure, unit: QuestionUnit) -> list[float]:
    """``stated`` in the gold's printed unit, every reading the rules allow."""
    if gold.percent:
        if stated.percent:
            return [stated.value]
        if stated.fraction and unit.percent:
            return [stated.value * 100.0]
        return []
    if stated.percent:  # a ratio gold asked for as a percent: "24%" answers "0.24"
        return [stated.value / 100.0] if unit.percent and not gold.money else []
    if not gold.money:
        return [] if stated.scaled else [stated.value]
    if not stated.scaled:  # "1,577" read in the gold's scale
        return [stated.value]
    scales = [gold.scale] if gold.scale is not None else list(_USUAL_SCALES)
    return [stated.value / s for s in scales]


def _matches(stated: _Stated, gold: GoldFigure, unit: QuestionUnit) -> bool:
    for ours in _candidates(stated, gold, unit):
        if _equal(ours, gold.number, gold.decimals):
            return True
        negated = gold.number < 0 < ours and stated.negative_cue
        if negated and _equal(-ours, gold.number, gold.decimals):
            return True
    return False


def numeric_correct(answer: Answer | str, gold: str, question: str = "") -> bool | None:
    """Whether the answer states the gold's first figure; None for a verdict or figureless gold.

    Args:
        answer: the agent's answer (its calculations are preferred) or an answer text.
        gold: the gold answer as the set writes it.
        question: the question, for the unit it asks ("USD millions", "percent").
    """
    if gold_verdict(gold) is not None:
        return None
    figure = gold_figure(gold, question)
    if figure is None:
        return None
    unit = question_unit(question)
    return any(_matches(s, figure, unit) for s in stated_figures(answer))


# -- yes / no -------------------------------------------------------------------------------------


def gold_verdict(gold: str) -> str | None:
    """ "yes" or "no" when the gold answer begins with that word, else None."""
    match = _VERDICT.match(gold or "")
    return match[1].lower() if match else None


def answer_verdict(answer: Answer | str) -> str | None:
    """The answer's first verdict: a calculation's judgement, else a Yes/No opening a sentence."""
    if isinstance(answer, Answer):
        for calc in answer.calculations:
            judged = gold_verdict(calc.judgement or "")
            if judged is not None:
                return judged
        answer = answer.text
    match = _SENTENCE_VERDICT.search(answer)
    return match[1].lower() if match else None


def yes_no_agrees(answer: Answer | str, gold: str) -> bool | None:
    """Whether the answer's verdict is the gold's; None when the gold is no Yes/No verdict."""
    expected = gold_verdict(gold)
    if expected is None:
        return None
    return answer_verdict(answer) == expected


# -- aggregation ----------------------------------------------------------------------------------

ALL_NUMERIC = "all numeric"


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def group_summary(rows: Iterable[dict]) -> dict:
    """Counts and rates over per-question rows (``numeric``, ``yes_no``, ``recall``,
    ``abstained``, ``ms``); a rate is None when no row is scored for it."""
    rows = list(rows)
    numeric = [bool(r["numeric"]) for r in rows if r.get("numeric") is not None]
    yes_no = [bool(r["yes_no"]) for r in rows if r.get("yes_no") is not None]
    ms = [r["ms"] for r in rows if r.get("ms") is not None]
    return {
        "n": len(rows),
        "n_numeric": len(numeric),
        "numeric_correct": _rate(numeric),
        "n_yes_no": len(yes_no),
        "yes_no_agreement": _rate(yes_no),
        "citation_recall": round(sum(r["recall"] for r in rows) / len(rows), 4) if rows else None,
        "abstention_rate": _rate([bool(r["abstained"]) for r in rows]),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if ms else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if ms else None,
    }


def summarize(rows: list[dict]) -> dict[str, dict]:
    """One :func:`group_summary` per ``question_type`` (None -> "unknown"), sorted by name, then
    :data:`ALL_NUMERIC`: every question whose gold states a figure, whatever its type."""
    types = sorted({r.get("question_type") or "unknown" for r in rows})
    table = {
        t: group_summary(r for r in rows if (r.get("question_type") or "unknown") == t)
        for t in types
    }
    table[ALL_NUMERIC] = group_summary(r for r in rows if r.get("numeric") is not None)
    return table
