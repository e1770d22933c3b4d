"""The verify step's number checker: every figure in an answer must come from the evidence.

Contract:
    * :func:`extract_numbers` finds every number-like token in a text and says what it is. Figures
      (``kind`` ``amount``, ``percent`` or ``number``) carry a value; years, dates, fiscal periods
      ("Q2", "FY2023"), form names ("10-K"), item / note numbers ("Item 7", "Note 21") and
      ordinals ("3rd") are returned with their kind but are never checked.
    * :func:`verify_answer` checks each figure of an answer against a list of :class:`Evidence`
      (a chunk's text, or a tool result's text and value). A figure is supported when some
      evidence figure equals it after scaling, within the rounding the *answer* states:
      "$66.6 billion" is supported by "66,608" in a table "(in millions)", but "$66,608 million"
      is not supported by "$66.6 billion" (more precision than the evidence holds), and 66,680 is
      not supported by 66,608. Accounting negatives, minus signs and loss/decline wording are one
      sign; a calculator result flagged as a percentage (0.1975) supports "19.75%" and "19.8%".
      Derived figures are only supported through tool results the agent passes in as evidence:
      nothing here does arithmetic across evidence figures.
    * :func:`remove_unsupported` drops the sentences holding unsupported figures, so the agent can
      revise instead of abstaining when most of an answer is supported.

Percent values are kept in percentage points (``12.5%`` has ``value`` 12.5); amounts are in units
(``$1.2 billion`` has ``value`` 1.2e9).

Example:
    >>> ev = [Evidence(id="c1", text="(in millions)\\nTotal revenue 66,608 54,263")]
    >>> verify_answer("Revenue was $66.6 billion in 2023.", ev).all_supported
    True
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import FinragError
from core.figures import DATE_MENTIONS, PERIOD, Figure, find_figures, scale_of, unit_caption
from core.records import Chunk

logger = logging.getLogger(__name__)

MentionKind = Literal[
    "amount", "percent", "number", "year", "date", "period", "form", "item", "ordinal", "citation"
]
FIGURE_KINDS = frozenset({"amount", "percent", "number"})

# Tokens that contain digits but are not figures; matched before figures and masked.
_NON_FIGURES: list[tuple[MentionKind, re.Pattern[str]]] = [
    # An answer's citation markers ("[2]", "[1][3]") refer to sources; they are not figures.
    ("citation", re.compile(r"\[\d{1,3}\]")),
    *(("date", pattern) for pattern in DATE_MENTIONS),
    (
        "form",
        re.compile(
            r"\b(?:10-K(?:405|T)?|10-Q|8-K|20-F|40-F|6-K|11-K|S-[1-4]|F-[1-4]|DEF\s*14A)(?:/A)?(?![\w-])",
            re.I,
        ),
    ),
    (
        "item",
        re.compile(
            r"\b(?:Items?|Notes?|Parts?|Sections?|Exhibits?|Schedules?|Rules?|Pages?|Articles?|"
            r"Footnotes?|Topic|ASC|ASU|Regulation|Form|No\.|Level)\s+"
            r"(?:[IVX]+\b|\d+[A-Z]?(?:[.\-]\d+[A-Z]?)*(?:\([a-z0-9]+\))*)"
            r"(?:(?:\s*(?:,|and|or|through|to|-)\s*)\d+[A-Z]?(?:\.\d+)*\b)*",
            re.I,
        ),
    ),
    ("period", PERIOD),
    ("ordinal", re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I)),
]

_NEGATIVE_CUE = re.compile(
    r"\b(?:loss(?:es)?|deficit|decline[sd]?|decrease[sd]?|declining|decreasing|drop(?:ped)?|"
    r"fell|fall(?:ing)?|down|negative|lower|reduction|outflow|shortfall|contracted|shrank)"
    r"(?:\s+(?:of|by|was|were|to|at|is|about|approximately|roughly|nearly|some))*\s*$",
    re.I,
)


class VerifyError(FinragError):
    """The verification does not belong to this answer text; re-run verify_answer on it."""


class NumberMention(BaseModel):
    """One number-like token in a text, with how it was written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    start: int
    end: int
    kind: MentionKind
    value: float | None = None  # signed; scaled amounts in units; percents in percentage points
    number: float | None = None  # the numeral as written, unsigned and unscaled
    decimals: int = 0  # digits written after the decimal point: the stated precision
    scale: float = 1.0
    scale_source: Literal["word", "header", "hint"] | None = None
    percent: bool = False
    negative: bool = False  # a minus sign or accounting parentheses
    negative_cue: bool = False  # "a loss of", "declined", ... just before it
    currency: str = ""

    @property
    def is_figure(self) -> bool:
        return self.kind in FIGURE_KINDS


class Evidence(BaseModel):
    """Text an answer may take figures from.

    ``scale`` (e.g. 1e6) applies to bare numbers when the text has no "(in millions)" header of its
    own; ``percent`` marks a result whose bare numbers are fractions (a calculator's 0.1975).
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    scale: float | None = None
    percent: bool = False

    @classmethod
    def from_chunk(cls, chunk: Chunk, scale: float | None = None) -> Evidence:
        """A retrieved chunk; the table caption and header rows are searched for a scale too."""
        text = chunk.text
        if chunk.table is not None:
            extra = [chunk.table.caption, *(" ".join(r) for r in chunk.table.header_rows)]
            head = " ".join(e for e in extra if e and e not in text)
            if head:
                text = f"{head}\n{text}"
        return cls(id=chunk.chunk_id, text=text, scale=scale)

    @classmethod
    def from_tool_result(cls, result: Any, id: str | None = None) -> Evidence:
        """A :class:`retrieval.tools.base.ToolResult`: its message plus its scalar data fields."""
        data = result.data or {}
        scalars = [f"{k}: {v}" for k, v in data.items() if isinstance(v, (int, float, str))]
        text = "\n".join([result.message, *scalars])
        return cls(id=id or f"tool:{result.tool}", text=text, percent=data.get("percent") is True)


def _plain_number(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"


def calculation_evidence(calculation: Any, id: str | None = None) -> Evidence:
    """A :class:`core.records.Calculation`: its result, its rule and every input it used.

    The result is written as stated ("24.26", "22.9%") and as a number in its unit; inputs are
    written in full units (a fact of $6,489 million as 6489000000), so an answer may state them
    at any coarser scale. Figures in the formula and the judgement rule (365, 1.0) count too.
    """
    lines = [f"{calculation.metric}: {calculation.text}", f"formula: {calculation.formula}"]
    if calculation.rule:
        lines.append(f"rule: {calculation.rule}")
    if calculation.result is not None:
        suffix = "%" if calculation.unit == "percent" else ""
        lines.append(f"result: {_plain_number(calculation.result)}{suffix}")
    for item in calculation.inputs:
        lines.append(f"{item.name} {item.period}: {_plain_number(item.value)}")
    return Evidence(id=id or f"calc:{calculation.metric}", text="\n".join(lines))


class FigureCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mention: NumberMention
    supported: bool
    evidence_id: str | None = None
    evidence_text: str = ""  # the evidence figure as written
    basis: str = ""  # how it matched: "scaled", "as written", "fraction as percent", ...
    reason: str = ""  # why not, when unsupported


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_text: str
    figures: list[FigureCheck] = Field(default_factory=list)
    unsupported: list[FigureCheck] = Field(default_factory=list)
    ignored: list[NumberMention] = Field(default_factory=list)  # years, dates, forms, items

    @property
    def all_supported(self) -> bool:
        return not self.unsupported


# -- extraction -----------------------------------------------------------------------------------


def _header_scale(text: str) -> tuple[int, float] | None:
    caption = unit_caption(text, qualified=True)
    return None if caption is None else (caption.start, caption.scale)


def extract_numbers(text: str, scale_hint: float | None = None) -> list[NumberMention]:
    """Every number-like token in ``text``, in order.

    Args:
        text: prose, a table's markdown or a tool's output.
        scale_hint: the scale of bare numbers when the text has no "(in millions)"-style header.

    Returns:
        Mentions with spans into ``text``; see :class:`NumberMention`.

    Example:
        >>> text = "In Q2 2023 revenue rose 12.5% to $1.2 billion (10-K)."
        >>> [m.kind for m in extract_numbers(text)]
        ['period', 'percent', 'amount', 'form']
    """
    mentions: list[NumberMention] = []
    taken = [False] * len(text)
    for kind, pattern in _NON_FIGURES:
        for match in pattern.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            for i in range(match.start(), match.end()):
                taken[i] = True
            mentions.append(
                NumberMention(text=match.group(0), start=match.start(), end=match.end(), kind=kind)
            )
    header = _header_scale(text)
    for figure in find_figures(text):
        if not taken[figure.num_start]:
            mentions.append(_mention(text, figure, header, scale_hint))
    mentions.sort(key=lambda m: m.start)
    return mentions


def _mention(
    text: str, figure: Figure, header: tuple[int, float] | None, scale_hint: float | None
) -> NumberMention:
    number, currency, percent = figure.number, figure.currency, figure.percent
    is_year = (
        not currency
        and not figure.scale_word
        and not percent
        and figure.decimals == 0
        and "," not in figure.numeral
        and len(figure.numeral) == 4
        and 1900 <= number <= 2099
        and not figure.leading_minus
    )
    if is_year:
        return NumberMention(
            text=figure.numeral,
            start=figure.num_start,
            end=figure.num_end,
            kind="year",
            value=number,
            number=number,
        )
    scale, source = 1.0, None
    if figure.scale_word:
        scale, source = scale_of(figure.scale_word), "word"
    elif not percent:
        if header is not None and header[0] <= figure.num_start:
            scale, source = header[1], "header"
        elif scale_hint:
            scale, source = scale_hint, "hint"
    kind: MentionKind = (
        "percent" if percent else "amount" if (currency or figure.scale_word) else "number"
    )
    value = number if percent else number * scale
    cue = bool(_NEGATIVE_CUE.search(text[max(0, figure.start - 40) : figure.start]))
    return NumberMention(
        text=figure.text,
        start=figure.start,
        end=figure.end,
        kind=kind,
        value=-value if figure.negative else value,
        number=number,
        decimals=figure.decimals,
        scale=scale,
        scale_source=source,
        percent=percent,
        negative=figure.negative,
        negative_cue=cue,
        currency=currency,
    )


# -- verification ---------------------------------------------------------------------------------


def _candidates(
    answer: NumberMention, found: NumberMention, percent_evidence: bool
) -> list[tuple[float, float, str]]:
    """(answer value, evidence value, basis) pairs to compare, both on the answer's footing."""
    a_num = answer.number or 0.0
    e_num = found.number or 0.0
    pairs: list[tuple[float, float, str]] = []
    if answer.percent:
        if found.percent:
            pairs.append((a_num, e_num, "percent"))
        elif found.kind == "number" and found.scale_source != "word":
            if percent_evidence:
                pairs.append((a_num, e_num * 100.0, "fraction as percent"))
            pairs.append((a_num, e_num, "bare number as percent"))
        return pairs
    if found.percent:
        return pairs
    a_scaled = a_num * answer.scale
    if found.scale_source is not None:
        pairs.append((a_scaled, e_num * found.scale, "scaled"))
    else:
        # The evidence's scale is unknown (a table with no header): any usual scale may apply.
        for scale in (1.0, 1e3, 1e6, 1e9):
            pairs.append((a_scaled, e_num * scale, "scaled (evidence scale assumed)"))
    if answer.scale_source is None:
        pairs.append((a_num, e_num, "as written"))  # "$0.83" per share under "(in millions)"
    return pairs


def _unit(answer: NumberMention, basis: str, found: NumberMention | None = None) -> float:
    step = 10.0**-answer.decimals
    if answer.percent or basis == "as written":
        return step
    unit = step * answer.scale
    if found is not None and answer.decimals == 0 and answer.number:
        # An amount written in full ("$4,200,000,000") claims no precision in its trailing zeros
        # beyond what the evidence holds ("4,200" in millions, "4.2 billion"): round to the
        # coarser of the two, but never coarser than the answer's own last non-zero digit.
        zeros = len(str(int(answer.number))) - len(str(int(answer.number)).rstrip("0"))
        evidence_unit = 10.0**-found.decimals * (found.scale or 1.0)
        unit = max(unit, min(10.0**zeros * answer.scale, evidence_unit))
    return unit


def _rounds_to(answer: float, evidence: float, unit: float) -> bool:
    """Whether ``evidence`` rounded (half away from zero) to ``unit`` gives ``answer``."""
    gap = abs(abs(answer) - abs(evidence))
    half = 0.5 * unit
    # Float noise (19.75 - 19.7 = 0.0500000000000007) grows with the magnitude, but must stay
    # well below half a unit: at 4.2e9 with unit 1, 1e-9 * 4.2e9 = 4.2 > 0.5 rejected even an
    # exact match ("no evidence figure rounds to '$4,200,000,000'; nearest is '$4,200,000,000'").
    eps = min(1e-9 * max(unit, abs(evidence)), 0.01 * unit)
    if gap < half - eps:
        return True
    # A tie (19.75 at one decimal) rounds away from zero: to 19.8, not 19.7.
    return abs(gap - half) <= eps and abs(answer) > abs(evidence)


def _sign_conflict(answer: NumberMention, found: NumberMention) -> bool:
    # Only an explicit sign on one side, with no sign or loss wording on the other, is a conflict:
    # "a loss of 231" and "(231)" agree; "income of 231" and "(231)" do not.
    a_neg = answer.negative or answer.negative_cue
    e_neg = found.negative or found.negative_cue
    if answer.negative and not e_neg:
        return True
    return found.negative and not a_neg


def _check(
    answer: NumberMention, evidence: list[tuple[Evidence, list[NumberMention]]]
) -> FigureCheck:
    nearest: tuple[float, str, str] | None = None  # (relative gap, evidence text, id)
    sign_miss: tuple[str, str] | None = None
    for item, found_list in evidence:
        for found in found_list:
            if not found.is_figure:
                continue
            for a_val, e_val, basis in _candidates(answer, found, item.percent):
                gap = abs(a_val - e_val)
                if _rounds_to(a_val, e_val, _unit(answer, basis, found)):
                    if _sign_conflict(answer, found):
                        sign_miss = sign_miss or (found.text, item.id)
                        continue
                    return FigureCheck(
                        mention=answer,
                        supported=True,
                        evidence_id=item.id,
                        evidence_text=found.text,
                        basis=basis,
                    )
                if a_val and e_val:
                    rel = gap / max(abs(a_val), abs(e_val))
                    if nearest is None or rel < nearest[0]:
                        nearest = (rel, found.text, item.id)
    if sign_miss is not None:
        reason = f"{answer.text!r} has the opposite sign of {sign_miss[0]!r} in {sign_miss[1]}"
    elif nearest is not None and nearest[0] < 0.2:
        reason = (
            f"no evidence figure rounds to {answer.text!r}; nearest is {nearest[1]!r} "
            f"in {nearest[2]}"
        )
    else:
        reason = f"no evidence figure matches {answer.text!r}"
    return FigureCheck(mention=answer, supported=False, reason=reason)


def verify_answer(answer_text: str, evidence: list[Evidence]) -> Verification:
    """Check every figure of ``answer_text`` against ``evidence``.

    Args:
        answer_text: the drafted answer.
        evidence: the cited chunks and tool results (see :meth:`Evidence.from_chunk`,
            :meth:`Evidence.from_tool_result`).

    Returns:
        A :class:`Verification`: one :class:`FigureCheck` per figure (supported, by which evidence
        id, or why not), the unsupported ones, and the ignored years / dates / form names.
    """
    parsed = [(item, extract_numbers(item.text, scale_hint=item.scale)) for item in evidence]
    figures: list[FigureCheck] = []
    ignored: list[NumberMention] = []
    for mention in extract_numbers(answer_text):
        if mention.is_figure:
            figures.append(_check(mention, parsed))
        else:
            ignored.append(mention)
    unsupported = [f for f in figures if not f.supported]
    if unsupported:
        logger.info(
            "verify: %d of %d figures unsupported: %s",
            len(unsupported),
            len(figures),
            ", ".join(f.mention.text for f in unsupported),
        )
    return Verification(
        answer_text=answer_text, figures=figures, unsupported=unsupported, ignored=ignored
    )


# -- revision -------------------------------------------------------------------------------------

_ABBREVIATIONS = re.compile(
    r"(?:\b(?:Inc|Corp|Co|Ltd|No|approx|vs|e\.g|i\.e|U\.S|Mr|Ms|Dr|St|etc|Jan|Feb|Mar|Apr|Jun|Jul|"
    r"Aug|Sep|Sept|Oct|Nov|Dec)\.)$",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?](?=[\"')\]]*(?:\s+|$))|\n\s*")


def _sentences(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group(0).startswith(".") and _ABBREVIATIONS.search(text[start : match.end()]):
            continue
        end = match.end()
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def remove_unsupported(answer_text: str, verification: Verification) -> str:
    """``answer_text`` without the sentences (or lines) that hold an unsupported figure.

    Raises:
        VerifyError: ``verification`` was made for another text.
    """
    if verification.answer_text != answer_text:
        raise VerifyError(
            "this verification was made for a different answer text; call verify_answer on the "
            "text you want to trim"
        )
    bad = [(f.mention.start, f.mention.end) for f in verification.unsupported]
    kept: list[str] = []
    for start, end in _sentences(answer_text):
        if any(s < end and e > start for s, e in bad):
            continue
        kept.append(answer_text[start:end])
    out = "".join(kept)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


__all__ = [
    "Evidence",
    "FigureCheck",
    "calculation_evidence",
    "NumberMention",
    "Verification",
    "VerifyError",
    "extract_numbers",
    "remove_unsupported",
    "verify_answer",
]
