"""Figures as filings write them: one reading for ingest, the calculator, the verifier, the
extractive answerer and synthetic training data.

Contract:
    * **Scale words.** :data:`SCALES` maps every scale word and abbreviation ("million",
      "millions", "mm", "mil", "bn", "k", ...) to its multiplier; :func:`scale_of` reads one.
    * **Amounts.** :func:`parse_amount` reads one amount as written ("$1.2 billion", "(3,400)",
      "-$2.5m", "12%") as a float: a percent is a fraction (0.12), accounting parentheses and a
      leading minus make it negative; :class:`AmountError` says what it cannot read.
      :func:`match_amount` is the same grammar at one position of a formula (the calculator's
      tokenizer). :func:`find_figures` finds the figures of prose ("US$1.2 billion", "(12.5)%",
      "12 percent") with how each was written (the verifier). The two grammars differ on purpose:
      a formula separates arguments with ", " and may write ``1e3`` or ``3.``; prose has currency
      codes, percent words and sign rules of its own.
    * **Unit captions.** :func:`unit_caption` finds "(in millions)", "$ in thousands",
      "(Dollars in billions, except per share data)" and gives the word and its multiplier;
      :func:`is_unit_line` says whether a line states nothing but the unit;
      :func:`drop_unit_notes` removes such notes (and "(unaudited)") from a heading.
    * **Numeric cells.** :func:`is_numeric_cell` is a table cell holding one figure, a nil marker
      ("—", "n/a") or a year; :func:`is_amount_cell` the same but not a bare year;
      :func:`has_digit` a text that states some figure at all.
    * **Months, dates and periods.** :data:`MONTHS` (name -> number), :data:`MONTH` (one month
      name as a pattern), :func:`month_number`, :data:`DATE` and :func:`parse_date` /
      :func:`dates_in` for "June 30, 2023" as cover pages write it, :data:`DATE_MENTIONS` for the
      dates of prose ("30 June 2023", "June 30th", "6/30/2023", "2023-06-30") and :data:`PERIOD`
      for fiscal periods ("Q2 2023", "FY2023", "fiscal 23").

Where callers read a thing differently the difference is a named parameter (``unit_caption``'s
``qualified`` / ``bounded`` / ``bare``, ``is_numeric_cell``'s ``strict``), so that each keeps its
reading and the differences are written down in one place.

Example:
    >>> parse_amount("$1.2 billion"), parse_amount("(3,400)"), parse_amount("12%")
    (1200000000.0, -3400.0, 0.12)
    >>> unit_caption("(Dollars in millions, except per share data)").scale
    1000000.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

from core.errors import FinragError

MAX_AMOUNT = 1e18  # larger than any amount in a filing; bounds every literal a formula may hold


class AmountError(FinragError, ValueError):
    """Text that is not an amount, or an amount too large to be one; the message says which."""


# -- scale words ----------------------------------------------------------------------------------

SCALES: dict[str, float] = {
    "thousand": 1e3,
    "thousands": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "mil": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "trillions": 1e12,
    "tn": 1e12,
    "t": 1e12,
}


def scale_of(word: str) -> float:
    """The multiplier of a scale word (" Millions" -> 1e6); KeyError for anything else."""
    return SCALES[word.strip().lower()]


# -- amounts in a formula -------------------------------------------------------------------------

# "1,234" groups only when no further digit follows (so "1,234,5" is three numbers in a formula).
_LITERAL_NUMBER = (
    r"\d{1,3}(?:,\d{3})+(?!\d|,\d)(?:\.\d+)?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"
)
_LITERAL_SCALE = (
    r"(?:\s*(?:thousand|million|billion|trillion)s?|(?:bn|mn|mm|tn|k|m|b|t))(?![A-Za-z0-9_])"
)
# "(3.4)" is an accounting negative only when "(" cannot be a call's ("abs(3.4)") and closes.
_LITERAL = re.compile(
    r"(?P<cur1>[$€£]\s*)?"
    r"(?P<open>(?<![A-Za-z0-9_)\]])\(\s*)?"
    r"(?P<cur2>[$€£]\s*)?"
    rf"(?P<num>{_LITERAL_NUMBER})"
    rf"(?P<scale>{_LITERAL_SCALE})?"
    r"(?P<pct>\s*%)?"
    r"(?(open)\s*\))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Amount:
    """One amount of a formula or a cell."""

    value: float  # signed and scaled; a percent as a fraction (12% -> 0.12)
    magnitude: float  # the numeral times its scale word: unsigned, before the percent
    percent: bool
    negative: bool  # accounting parentheses
    end: int  # where it ends in the text it was read from


def _amount(match: re.Match[str]) -> Amount:
    magnitude = float(match["num"].replace(",", ""))
    if match["scale"]:
        magnitude *= scale_of(match["scale"])
    if not math.isfinite(magnitude) or abs(magnitude) > MAX_AMOUNT:
        raise AmountError(f"number {match.group(0).strip()!r} is too large (limit {MAX_AMOUNT:g})")
    percent = bool(match["pct"])
    negative = bool(match["open"])
    value = magnitude / 100.0 if percent else magnitude
    return Amount(-value if negative else value, magnitude, percent, negative, match.end())


def match_amount(text: str, pos: int = 0) -> Amount | None:
    """The amount written at ``pos`` of a formula, or None; AmountError when it is too large."""
    match = _LITERAL.match(text, pos)
    if match is None or match.end() <= pos:
        return None
    return _amount(match)


def parse_amount(text: str) -> float:
    """One amount as written in a filing or a question, as a float.

    Handles currency signs, thousands separators, accounting negatives, a leading minus, percent
    signs and scale words.

    Raises:
        AmountError: ``text`` is not one amount, or is larger than :data:`MAX_AMOUNT`.
    """
    cleaned = text.strip()
    sign = 1.0
    if cleaned[:1] in "-−–":
        sign, cleaned = -1.0, cleaned[1:].lstrip()
    match = _LITERAL.fullmatch(cleaned)
    if match is None:
        raise AmountError(
            f"cannot read {text!r} as an amount; write it like 1,234.5, $2.1 billion, (3.4) or 12%"
        )
    return sign * _amount(match).value


# -- figures in prose -----------------------------------------------------------------------------

_FIGURE = re.compile(
    r"(?P<sign>(?:(?<=^)|(?<=[\s(:=\[/]))[-−](?=\s?[$€£\d.]))?"
    r"(?P<cur0>US\$|[$€£](?=\())?"
    r"(?P<open>\((?=\s*(?:US\$|USD|EUR|[$€£])?\s*[\d.]))?\s*"
    r"(?P<cur>US\$|USD\s?|EUR\s?|GBP\s?|[$€£])?\s*"
    r"(?P<sign2>[-−](?=[\d.]))?"
    r"(?<![\w.,])(?P<num>\d{1,3}(?:,\d{3})+(?![\d,]\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<scale>\s?(?:thousands?|millions?|billions?|trillions?|mm|mn|bn|tn|mil)(?![\w])"
    r"|(?:k|m|b|t)(?![\w]))?"
    r"(?P<pct>\s?%|\s(?:percent|per\s?cent|pct)\b)?"
    r"(?P<close>(?(open)\s*\)))"
    r"(?P<pct2>(?(pct)|(?(open)\s?%)))?",
    re.I,
)


@dataclass(frozen=True)
class Figure:
    """A figure of prose as written: where it is and what its parts say."""

    text: str  # the figure's span, stripped
    start: int
    end: int
    num_start: int  # the numeral's own span
    num_end: int
    numeral: str  # "1,234.5"
    number: float  # unsigned and unscaled
    decimals: int  # digits written after the decimal point
    scale_word: str  # lower case ("million", "bn"), "" when none
    percent: bool
    negative: bool  # a minus sign or accounting parentheses
    leading_minus: bool  # a minus before any currency sign or parenthesis
    currency: str  # "$", "US$", "EUR", ... or ""


def find_figures(text: str) -> Iterator[Figure]:
    """The figures of ``text`` in order; years and dates among them too (tell them apart after)."""
    for match in _FIGURE.finditer(text):
        numeral = match["num"]
        open_paren = bool(match["open"]) and bool(match["close"])
        # "(1" without a closing parenthesis is no accounting negative: the "(" is not its own.
        start = match.start()
        if match["open"] and not open_paren:
            start = match.start("cur") if match["cur"] else match.start("num")
            if match["sign2"]:
                start = match.start("sign2")
        yield Figure(
            text=text[start : match.end()].strip(),
            start=start,
            end=match.end(),
            num_start=match.start("num"),
            num_end=match.end("num"),
            numeral=numeral,
            number=float(numeral.replace(",", "")),
            decimals=len(numeral.split(".", 1)[1]) if "." in numeral else 0,
            scale_word=(match["scale"] or "").strip().lower(),
            percent=bool(match["pct"] or match["pct2"]),
            negative=bool(match["sign"] or match["sign2"]) or open_paren,
            leading_minus=bool(match["sign"]),
            currency=(match["cur0"] or match["cur"] or "").strip(),
        )


# -- unit captions --------------------------------------------------------------------------------

_UNIT_WORD = r"(?P<word>thousands|millions|billions)"
# "(Dollars in", "shares in", "$ in" or up to 30 letters before "in": the caption's qualifier.
_QUALIFIER = r"(?:\(|\[|\b)(?:(?:amounts?|dollars?|U\.?S\.?\s*dollars|\$|shares?|[a-z ]{0,30})\s+)?"
_BARE_UNIT = r"|\(\s*(?:\$|dollars)?\s*(?P<bare>million|thousand|billion)s?\s*(?:,[^)]*)?\)"


@dataclass(frozen=True)
class UnitCaption:
    start: int  # where the caption starts (its qualifier, when asked for)
    word: str  # "thousands", "millions" or "billions"
    scale: float


@cache
def _caption_pattern(qualified: bool, bounded: bool, bare: bool) -> re.Pattern[str]:
    lead = _QUALIFIER if qualified else r"\b" if bounded else ""
    tail = r"\b" if bounded else ""
    return re.compile(rf"{lead}in\s+{_UNIT_WORD}{tail}{_BARE_UNIT if bare else ''}", re.I)


def unit_caption(
    text: str, *, qualified: bool = False, bounded: bool = True, bare: bool = False
) -> UnitCaption | None:
    """The first unit caption in ``text`` ("in millions"), or None.

    Args:
        qualified: the caption starts at its qualifier ("(Dollars in millions" starts at "(";
            a qualifier is a currency word, "shares", "$" or up to 30 letters and spaces before
            "in", so of two captions that close the later one is read). The verifier's reading:
            figures from the start on are in that unit.
        bounded: "in" and the unit are whole words; False also reads "in millionsexcept" as a
            PDF may glue it (and "within millions"): the extractive answerer's reading.
        bare: also "($ million)", "(Thousand, except ...)", "(MILLIONS)" with no "in": the
            synthetic-query reading.
    """
    match = _caption_pattern(qualified, bounded, bare).search(text)
    if match is None:
        return None
    word = (match["word"] or match["bare"] + "s").lower()
    return UnitCaption(match.start(), word, SCALES[word])


# a line that only states the unit ("(In millions, except per share data)", "($ in millions)"):
# a header row of a table's label column, unlike a title that merely ends with the unit
_UNIT_LINE = re.compile(
    r"^\(?\s*((u\.?s\.?\s*)?(\$|dollars|amounts|\u20ac|\u00a3)[^()]{0,30}?)?"
    r"\b(in\s+)?(millions|thousands|billions)\b[^()]*\)?$",
    re.I,
)
_UNIT_NOTE = re.compile(
    r"\s*\((?:[^()]*\b(?:in|except)\s+(?:millions|thousands|billions|per share)[^()]*|unaudited)\)",
    re.IGNORECASE,
)


def is_unit_line(text: str) -> bool:
    """Whether ``text`` (one line, stripped) says nothing but the unit of a table's figures."""
    return bool(_UNIT_LINE.match(text))


def drop_unit_notes(text: str) -> str:
    """``text`` without "(in millions, except per share data)" / "(unaudited)" notes."""
    return _UNIT_NOTE.sub("", text)


# -- numeric cells --------------------------------------------------------------------------------

# One figure in a table cell: brackets, a dash as minus, a currency sign, "%", a footnote "*".
_CELL = re.compile(r"^[(\[]?[-\u2013\u2014]?[$\u20ac\u00a3]?\(?\d[\d,]*(\.\d+)?\)?%?[)\]]?\*?$")
_NIL = {"-", "\u2013", "\u2014", "\u2012", "n/a", "N/A", "NM", "nm", "\u2014%", "\u2014 %"}
_NIL_WORDS = ("flat", "nm", "n/a", "n.m.")
_CELL_SUFFIX = re.compile(r"(?<=[\d)%])\s*(pts?|bps|bp|x)\.?$", re.I)
_CELL_SPACE = re.compile(r"(?<=[$(\u20ac\u00a3])\s+|\s+(?=[)%])")
# A value a question can quote: "$" only, thousands grouped by threes, no nil markers.
_STRICT_CELL = re.compile(
    r"^\(?-?\$?\s*\(?\d{1,3}(?:,\d{3})*(?:\.\d+)?\)?\s*%?\)?$|^\(?-?\$?\s*\d+(?:\.\d+)?\)?\s*%?$"
)
_YEAR = re.compile(r"^(19|20)\d\d$")
_DIGIT = re.compile(r"\d")


def is_numeric_cell(text: str, strict: bool = False) -> bool:
    """True for a cell holding one amount, percentage or year, or a nil marker ("—", "n/a").

    Args:
        strict: only a value a question can be answered with: digits grouped by threes, "$" as
            the only currency, an ASCII minus, no nil markers, unit suffixes or footnote marks
            (synthetic table facts). The default is the table parser's generous reading, where
            "8 pts", "1.2x", "—" and "[12]*" make a row tabular too.
    """
    if strict:
        cell = " ".join(text.split())
        return bool(cell) and bool(_STRICT_CELL.match(cell)) and any(ch.isdigit() for ch in cell)
    t = _CELL_SPACE.sub("", text.strip())
    t = _CELL_SUFFIX.sub("", t)  # "8 pts", "(1)pt", "25 bps", "1.2x"
    if t.lower() in _NIL_WORDS:
        return True
    if " " in t:  # two values in one cell ("2023 2022") are not one number
        return False
    return bool(_CELL.match(t)) or t in _NIL


def is_year(text: str) -> bool:
    """A bare year ("2023", "(2023)*"): a column's period, not an amount."""
    return bool(_YEAR.match(text.strip().strip("*()")))


def is_amount_cell(text: str) -> bool:
    """Numeric but not a bare year: what makes a table row a body row rather than a header."""
    return is_numeric_cell(text) and not is_year(text)


def has_digit(text: str) -> bool:
    """Whether ``text`` states any figure at all: a cell worth quoting, a sentence with a number."""
    return bool(_DIGIT.search(text))


# -- months, dates and periods --------------------------------------------------------------------

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Exactly the names of MONTHS, longest first; compile with re.I to ignore case.
MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# "June 30, 2023", "Sept. 30 , 2023": the form of cover pages ("for the fiscal year ended ...").
DATE = rf"{MONTH}\.?\s+\d{{1,2}}\s*,\s*\d{{4}}"
_DATE = re.compile(rf"({MONTH}\.?)\s+(\d{{1,2}})\s*,\s*(\d{{4}})", re.I)

_MONTH_DOT = rf"{MONTH}\.?"
# Dates as prose writes them, most specific first.
DATE_MENTIONS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\b{_MONTH_DOT}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,\s*|\s+)(?:19|20)\d\d\b", re.I),
    re.compile(rf"\b\d{{1,2}}\s+{_MONTH_DOT},?\s+(?:19|20)\d\d\b", re.I),
    re.compile(rf"\b{_MONTH_DOT}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?!\s*(?:%|percent))", re.I),
    re.compile(r"\b\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b|\b(?:19|20)\d\d-\d\d-\d\d\b"),
)
# Fiscal periods: "Q2", "2Q 23", "H1", "FY2023", "CY'22", "fiscal year 2023".
PERIOD = re.compile(
    r"\b(?:Q[1-4]|[1-4]Q|H[12])(?:\s?'?(?:19|20)?\d\d)?\b"
    r"|\b(?:FY|CY|fiscal(?:\s+year)?)\s?'?(?:(?:19|20)\d\d|\d\d)\b",
    re.I,
)


def month_number(name: str) -> int:
    """1-12 for a month name or abbreviation ("Sept." -> 9); KeyError for anything else."""
    return MONTHS[name.lower().rstrip(".")]


def _date(match: re.Match[str]) -> date | None:
    try:
        return date(int(match[3]), month_number(match[1]), int(match[2]))
    except ValueError:  # "February 30, 2023"
        return None


def parse_date(text: str) -> date | None:
    """The first :data:`DATE` in ``text``; None when there is none or it is no calendar date."""
    match = _DATE.search(text)
    return _date(match) if match else None


def dates_in(text: str) -> list[date]:
    """Every :data:`DATE` in ``text`` that is a calendar date, in order."""
    return [d for d in map(_date, _DATE.finditer(text)) if d]


__all__ = [
    "DATE",
    "DATE_MENTIONS",
    "MAX_AMOUNT",
    "MONTH",
    "MONTHS",
    "PERIOD",
    "SCALES",
    "Amount",
    "AmountError",
    "Figure",
    "UnitCaption",
    "dates_in",
    "drop_unit_notes",
    "find_figures",
    "has_digit",
    "is_amount_cell",
    "is_numeric_cell",
    "is_unit_line",
    "is_year",
    "match_amount",
    "month_number",
    "parse_amount",
    "parse_date",
    "scale_of",
    "unit_caption",
]
