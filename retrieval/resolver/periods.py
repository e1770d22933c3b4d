"""What a question's words say: periods, dates and forms, and the companies it names.

Contract: :func:`_parse` reads one question into a :class:`_Parsed`: the companies the catalog's
:class:`~retrieval.resolver.companies.CompanyIndex` finds, the fiscal periods it names
(:class:`_Period`), the dates (:class:`_Date`), the relative periods (:class:`_Rel`, made concrete
per company against its filings by :mod:`retrieval.resolver.filings`), year over year, the forms,
whether it starts like a follow-up, and the text span of each reading, in text order. A span read
by a stricter pattern is not read again by a looser one. Apart from the company index nothing here
looks at the catalog. The form sets (:data:`ANNUAL_FORMS`, :data:`QUARTERLY_FORMS`,
:data:`EVENT_FORMS`) are families :func:`retrieval.resolver.filings.form_family` reduces forms to.

Periods it reads (what each selects is applied by :mod:`retrieval.resolver.filings`):

* fiscal years: "FY2022", "FY 2022", "FY22", "FY'22", "fiscal 2022", "fiscal year 2022", and a
  plain "2022" / "in 2022" (read as the fiscal year; for a company whose year does not end in
  December a note says so). ``fiscal_year`` is the year in which the fiscal year ends, as
  :mod:`ingest.metadata` records it (Best Buy's year ending 28 Jan 2023 is FY2023).
* quarters: "Q2 2023", "Q2 FY2024", "Q2 of FY2024", "Q22023", "Q2'23", "2Q23", "FY2024 Q2",
  "second quarter of (fiscal) 2023"; a quarter with no year ("what about Q3?") takes the year of
  the conversation, else the company's newest fiscal year.
* halves: "H1 2023", "first half of 2023" -> Q1 and Q2 (the Q2 10-Q holds six-month totals);
  H2 -> Q3, Q4.
* calendar years: "calendar 2022", "CY2022". For a company whose fiscal year ends in December (or
  in the first week of January) that is the fiscal year; otherwise every fiscal year overlapping
  the calendar year by at least a month is searched and the split is reported as an ambiguity.
* dates: "June 30, 2023", "1st July 2022", "2022-07-01" select filings whose period end (or filing
  date) lies within 10 days; "June 2023" within that month; unmatched dates fall back to their
  calendar year.
* ranges and lists: "between 2019 and 2021", "from FY2019 to FY2021", "FY2019-FY2021" (inclusive,
  at most 12 years); "FY2023, FY2022 and FY2021"; "2022 vs 2021"; "compared to FY2021".
* year over year ("year-over-year", "YoY", "y/y"): with one named period, adds the same period a
  year earlier; with none, the newest fiscal year and the one before.
* relative, anchored on the catalog, never the wall clock: "most recent / latest / last / this /
  current (fiscal) year" -> the newest fiscal year among the company's annual filings (any filing
  when it has none); "latest / last / this quarter" -> its newest quarterly filing; a bare "latest"
  / "most recent" -> its newest filing; "last N years" -> the N newest fiscal years; "the year
  before / prior year / previous year" -> a year before the periods named in the question, else
  before the conversation's last period, else before the newest; "the year after" likewise;
  "previous quarter" shifts a quarter. ``today`` anchors these only when no filing has a year.

Forms: "10-K" / "annual report" -> 10-K (an annual report also accepts 20-F/40-F), "10-Q" /
"quarterly report" -> 10-Q, "8-K" / "current report" -> 8-K, "earnings release" / "press release" /
"earnings call" -> earnings-release (falling back to 8-K, which is how releases are furnished, when
the company has no separate release). A quarter implies 10-Q or earnings release unless a form is
named (Q4 falls back to the year's 10-K, as there is no Q4 10-Q).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from core.figures import MONTHS
from core.records import MatchedSpan, SpanKind
from retrieval.resolver.companies import CompanyIndex, CompanyMatch

ANNUAL_FORMS = frozenset({"10-K", "20-F", "40-F"})
QUARTERLY_FORMS = frozenset({"10-Q", "earnings-release"})
EVENT_FORMS = frozenset({"8-K", "6-K"})
MAX_RANGE_YEARS = 12


@dataclass(frozen=True)
class _Period:
    year: int
    quarters: tuple[int, ...] = ()  # () = the whole year
    calendar: bool = False
    bare: bool = False  # written as a plain "2022", not "FY2022"

    @property
    def label(self) -> str:
        if self.calendar:
            return f"calendar {self.year}"
        if not self.quarters:
            return f"FY{self.year}"
        if self.quarters == (1, 2):
            return f"H1 FY{self.year}"
        if self.quarters == (3, 4):
            return f"H2 FY{self.year}"
        return "+".join(f"Q{q}" for q in self.quarters) + f" FY{self.year}"

    def shifted(self, years: int) -> _Period:
        return replace(self, year=self.year + years)


@dataclass(frozen=True)
class _Date:
    day: date
    month_only: bool
    text: str


@dataclass(frozen=True)
class _Rel:
    kind: str  # latest-year | latest-quarter | latest | prev-year | next-year | prev-quarter
    #            | quarter (no year) | last-n
    n: int = 0


@dataclass
class _Parsed:
    """What one question says; the companies come from the catalog's :class:`CompanyIndex`."""

    matches: list[CompanyMatch] = field(default_factory=list)
    company_notes: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    periods: list[_Period] = field(default_factory=list)
    dates: list[_Date] = field(default_factory=list)
    rels: list[_Rel] = field(default_factory=list)
    yoy: bool = False
    followup: bool = False
    spans: list[MatchedSpan] = field(default_factory=list)


_MONTHS = MONTHS
_MONTH_RE = (
    r"(january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_ORD = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_Y = r"(?:['\u2019]?((?:19|20)\d{2})|['\u2019](\d{2}))"  # a 4-digit year, or '22
# After FY/Q a bare "22" is a year, but not the "10" of "Q3 10-Q".
_YFY = r"(?:['\u2019]?((?:19|20)\d{2})|['\u2019]?(\d{2})(?!-))"
_FYP = r"(?:(?:the\s+)?(?:fiscal\s+(?:year\s+)?|FY\s*-?\s*))"
_I = re.IGNORECASE

_P_DATE_MDY = re.compile(
    rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})\b", _I
)
_P_DATE_DMY = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE},?\s+((?:19|20)\d{{2}})\b", _I
)
_P_DATE_ISO = re.compile(r"\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b")
_P_MONTH_YEAR = re.compile(rf"\b{_MONTH_RE}\s+((?:19|20)\d{{2}})\b", _I)
_P_Q_YEAR = re.compile(rf"\bQ([1-4])\s*(?:['\u2019]|-|/)?\s*(?:of\s+|in\s+)?{_FYP}?{_YFY}\b", _I)
_P_YEAR_Q = re.compile(rf"\b(?:FY\s*)?{_YFY}\s*[-/ ]?\s*Q([1-4])\b", _I)
_P_NQ_YEAR = re.compile(rf"\b([1-4])Q\s*(?:FY\s*)?{_YFY}\b", _I)
_P_ORD_Q = re.compile(
    rf"\b(first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+(?:fiscal\s+)?quarter\b"
    rf"(?:\s+(?:of|in|for|ended)\s+{_FYP}?(?:{_YFY}))?",
    _I,
)
_P_HALF = re.compile(rf"\bH([12])\s*(?:FY\s*)?{_YFY}\b|\b([12])H\s*(?:FY\s*)?{_YFY}\b", _I)
_P_ORD_HALF = re.compile(
    rf"\b(first|second)\s+half\s+(?:of\s+)?{_FYP}?(?:{_Y}|(?<=FY)(\d{{2}}))\b", _I
)
_P_CAL = re.compile(rf"\b(?:calendar\s+(?:year\s+)?|CY\s*){_YFY}\b", _I)
_P_FY = re.compile(rf"\bFY\s*-?\s*{_YFY}\b|\bfiscal\s+(?:year\s+)?{_Y}\b", _I)
_P_BARE = re.compile(
    r"(?<![\w$.,/-])((?:19|20)\d{2})(?![\w%/]|,\d|\.\d|\s*(?:million|billion|bn|mm|k)\b)", _I
)
_P_Q_ONLY = re.compile(r"\bQ([1-4])\b")

_REL_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b(?:last|past|previous|prior)\s+(two|three|four|five|2|3|4|5)\s+(?:fiscal\s+)?years\b",
            _I,
        ),
        "last-n",
    ),
    (
        re.compile(
            r"\b(?:(?:the\s+)?(?:fiscal\s+)?year\s+(?:before|earlier|prior)|(?:the\s+)?(?:previous|prior|preceding)\s+(?:fiscal\s+)?year|a\s+year\s+(?:earlier|before|ago))\b",
            _I,
        ),
        "prev-year",
    ),
    (
        re.compile(
            r"\b(?:(?:the\s+)?(?:fiscal\s+)?year\s+after|(?:the\s+)?following\s+(?:fiscal\s+)?year|a\s+year\s+later)\b",
            _I,
        ),
        "next-year",
    ),
    (
        re.compile(
            r"\b(?:the\s+)?(?:previous|prior|preceding)\s+quarter\b|\bquarter\s+before\b", _I
        ),
        "prev-quarter",
    ),
    (
        re.compile(
            r"\b(?:the\s+)?(?:most\s+recent(?:ly\s+reported)?|latest|last|current|this)\s+(?:fiscal\s+)?quarter\b",
            _I,
        ),
        "latest-quarter",
    ),
    (
        re.compile(
            r"\b(?:the\s+)?(?:most\s+recent(?:ly\s+reported)?|latest|last|current|this)\s+(?:fiscal\s+)?(?:year|FY|annual\s+report|10-?K)\b",
            _I,
        ),
        "latest-year",
    ),
    (re.compile(r"\b(?:latest|most\s+recent(?:ly)?|newest)\b", _I), "latest"),
]
_YOY = re.compile(r"\byear[-\s]+(?:over|on)[-\s]+year\b|\bYoY\b|\by/y\b", _I)
_FOLLOWUP = re.compile(
    r"^\s*(?:and\b|what\s+about\b|how\s+about\b|what\s+of\b|same\s+(?:for|question)\b|now\s+for\b)",
    _I,
)
_RANGE_GAP = re.compile(r"^\s*(?:-|\u2013|\u2014|to|through|thru|until)\s*$", _I)
_BETWEEN_GAP = re.compile(r"^\s*and\s*$", _I)
_BETWEEN_BEFORE = re.compile(r"\b(?:between|from)\s+$", _I)

_FORM_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b10[-\s]?K\b", _I), "10-K"),
    (re.compile(r"\bannual\s+(?:report|filing)s?\b", _I), "annual"),
    (re.compile(r"\b10[-\s]?Q\b", _I), "10-Q"),
    (re.compile(r"\bquarterly\s+(?:report|filing)s?\b", _I), "10-Q"),
    (re.compile(r"\b8[-\s]?K\b|\bcurrent\s+report\b", _I), "8-K"),
    (re.compile(r"\b20[-\s]?F\b", _I), "20-F"),
    (
        re.compile(
            r"\b(?:earnings|results)\s+(?:release|report|call|announcement)s?\b|\bpress\s+releases?\b",
            _I,
        ),
        "earnings-release",
    ),
]
_FORM_FAMILIES = {
    "10-K": {"10-K"},
    "annual": set(ANNUAL_FORMS),
    "10-Q": {"10-Q"},
    "8-K": {"8-K"},
    "20-F": {"20-F"},
    "earnings-release": {"earnings-release"},
}
_FORM_SHOWN = {"annual": "10-K", "earnings-release": "earnings-release"}


def _two_digit(y: str) -> int:
    return 2000 + int(y) if int(y) < 70 else 1900 + int(y)


def _year(four: str | None, two: str | None) -> int | None:
    if four:
        return int(four)
    if two:
        return _two_digit(two)
    return None


class _Spans:
    """Character ranges already read, so a later, looser pattern does not read them again."""

    def __init__(self) -> None:
        self.taken: list[tuple[int, int]] = []

    def free(self, m: re.Match[str]) -> bool:
        return not any(m.start() < e and s < m.end() for s, e in self.taken)

    def take(self, m: re.Match[str]) -> None:
        self.taken.append((m.start(), m.end()))


def _parse_periods(q: str, out: _Parsed) -> None:
    spans = _Spans()
    found: list[tuple[int, int, _Period]] = []

    def add(m: re.Match[str], p: _Period, kind: SpanKind = "period") -> None:
        spans.take(m)
        found.append((m.start(), m.end(), p))
        out.spans.append(
            MatchedSpan(start=m.start(), end=m.end(), text=m.group(0), kind=kind, value=p.label)
        )

    def add_date(m: re.Match[str], d: date, month_only: bool) -> None:
        spans.take(m)
        out.dates.append(_Date(d, month_only, m.group(0)))
        out.spans.append(
            MatchedSpan(
                start=m.start(),
                end=m.end(),
                text=m.group(0),
                kind="date",
                value=d.strftime("%Y-%m") if month_only else d.isoformat(),
            )
        )

    def safe_date(y: int, mo: int, d: int) -> date | None:
        try:
            return date(y, mo, d)
        except ValueError:
            return None

    for m in _P_DATE_MDY.finditer(q):
        d = safe_date(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
        if d and spans.free(m):
            add_date(m, d, False)
    for m in _P_DATE_DMY.finditer(q):
        d = safe_date(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
        if d and spans.free(m):
            add_date(m, d, False)
    for m in _P_DATE_ISO.finditer(q):
        d = safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d and spans.free(m):
            add_date(m, d, False)
    for m in _P_MONTH_YEAR.finditer(q):
        # "may 2023" could be the verb; only a capitalised month counts as a month.
        if spans.free(m) and m.group(1)[0].isupper():
            add_date(m, date(int(m.group(2)), _MONTHS[m.group(1).lower()], 1), True)
    for m in _P_Q_YEAR.finditer(q):
        y = _year(m.group(2), m.group(3))
        if y and spans.free(m):
            add(m, _Period(y, (int(m.group(1)),)))
    for m in _P_YEAR_Q.finditer(q):
        y = _year(m.group(1), m.group(2))
        two_digit_bare = m.group(2) and not m.group(0).upper().startswith("FY")
        if y and spans.free(m) and not two_digit_bare:
            add(m, _Period(y, (int(m.group(3)),)))
    for m in _P_NQ_YEAR.finditer(q):
        y = _year(m.group(2), m.group(3))
        if y and spans.free(m):
            add(m, _Period(y, (int(m.group(1)),)))
    for m in _P_ORD_Q.finditer(q):
        y = _year(m.group(2), m.group(3))
        if spans.free(m):
            if y:
                add(m, _Period(y, (_ORD[m.group(1).lower()],)))
            else:
                spans.take(m)
                out.rels.append(_Rel("quarter", _ORD[m.group(1).lower()]))
                out.spans.append(
                    MatchedSpan(
                        start=m.start(),
                        end=m.end(),
                        text=m.group(0),
                        kind="relative",
                        value=f"Q{_ORD[m.group(1).lower()]}",
                    )
                )
    for m in _P_HALF.finditer(q):
        h = m.group(1) or m.group(4)
        y = _year(m.group(2), m.group(3)) or _year(m.group(5), m.group(6))
        if y and spans.free(m):
            add(m, _Period(y, (1, 2) if h == "1" else (3, 4)))
    for m in _P_ORD_HALF.finditer(q):
        y = _year(m.group(2), m.group(3)) or (_two_digit(m.group(4)) if m.group(4) else None)
        if y and spans.free(m):
            add(m, _Period(y, (1, 2) if m.group(1).lower() == "first" else (3, 4)))
    for m in _P_CAL.finditer(q):
        y = _year(m.group(1), m.group(2))
        if y and spans.free(m):
            add(m, _Period(y, calendar=True))
    for m in _P_FY.finditer(q):
        y = _year(m.group(1), m.group(2)) or _year(m.group(3), m.group(4))
        if y and spans.free(m):
            add(m, _Period(y))
    for m in _P_BARE.finditer(q):
        if spans.free(m):
            add(m, _Period(int(m.group(1)), bare=True))
    for m in _P_Q_ONLY.finditer(q):
        if spans.free(m):
            spans.take(m)
            out.rels.append(_Rel("quarter", int(m.group(1))))
            out.spans.append(
                MatchedSpan(
                    start=m.start(),
                    end=m.end(),
                    text=m.group(0),
                    kind="relative",
                    value=f"Q{m.group(1)}",
                )
            )

    # Ranges: "FY2019-FY2021", "from 2019 to 2021", "between 2019 and 2021".
    found.sort(key=lambda t: t[0])
    periods = [p for _, _, p in found]
    for (s1, e1, p1), (s2, _e2, p2) in zip(found, found[1:], strict=False):
        gap = q[e1:s2]
        is_range = _RANGE_GAP.match(gap) or (
            _BETWEEN_GAP.match(gap) and _BETWEEN_BEFORE.search(q[:s1])
        )
        if is_range and p1.quarters == p2.quarters and p1.calendar == p2.calendar:
            lo, hi = sorted((p1.year, p2.year))
            if hi - lo < MAX_RANGE_YEARS:
                periods.extend(replace(p1, year=y) for y in range(lo + 1, hi))
    out.periods = list(dict.fromkeys(periods))

    for pattern, kind in _REL_PATTERNS:
        for m in pattern.finditer(q):
            if not spans.free(m):
                continue
            spans.take(m)
            n = 0
            if kind == "last-n":
                word = m.group(1).lower()
                n = {"two": 2, "three": 3, "four": 4, "five": 5}.get(word) or int(word)
            out.rels.append(_Rel(kind, n))
            out.spans.append(
                MatchedSpan(
                    start=m.start(), end=m.end(), text=m.group(0), kind="relative", value=kind
                )
            )
    m = _YOY.search(q)
    if m:
        out.yoy = True
        out.spans.append(
            MatchedSpan(
                start=m.start(),
                end=m.end(),
                text=m.group(0),
                kind="relative",
                value="year-over-year",
            )
        )


def _parse_forms(q: str, out: _Parsed) -> None:
    for pattern, form in _FORM_PATTERNS:
        for m in pattern.finditer(q):
            if form not in out.forms:
                out.forms.append(form)
            out.spans.append(
                MatchedSpan(
                    start=m.start(),
                    end=m.end(),
                    text=m.group(0),
                    kind="form",
                    value=_FORM_SHOWN.get(form, form),
                )
            )


def _parse(q: str, companies: CompanyIndex) -> _Parsed:
    """Everything :func:`retrieval.resolver.resolution.resolve` reads in one question."""
    out = _Parsed()
    out.matches, out.company_notes = companies.find(q)
    # One span per mention; a mention that fits several companies names them all.
    by_span: dict[tuple[int, int], list[CompanyMatch]] = {}
    for cm in out.matches:
        by_span.setdefault((cm.start, cm.end), []).append(cm)
    for (start, end), cms in by_span.items():
        kind: SpanKind = "ticker" if cms[0].how.startswith("ticker") else "company"
        shown = " or ".join(dict.fromkeys(cm.entity.display for cm in cms))
        out.spans.append(
            MatchedSpan(start=start, end=end, text=cms[0].text, kind=kind, value=shown)
        )
    _parse_forms(q, out)
    _parse_periods(q, out)
    out.followup = bool(_FOLLOWUP.match(q))
    out.spans.sort(key=lambda s: s.start)
    return out


def _forms_set(forms: list[str]) -> set[str] | None:
    if not forms:
        return None
    out: set[str] = set()
    for f in forms:
        out |= _FORM_FAMILIES.get(f, {f})
    return out


def _period_order(p: _Period) -> tuple:
    return (p.year, p.quarters or (9,), p.calendar)
