"""Which of a company's filings a period, a date or a form selects, and how filings are named.

Contract: :func:`_select` turns one company's (or the whole catalog's) periods and dates into
:class:`_Leg` s, one per period or matched date, each with the filings that answer it, appending
to the caller's ``notes`` and ``ambiguities`` what it assumed or could not find.
:func:`form_family` reduces a catalog form to the families questions name (10-K/A -> 10-K);
:func:`filing_label` names a filing for people ("10-K FY2023", "8-K 2022"). Filings are always
returned in one order: by year, the annual report first, then quarters, then event documents.

Which filings a period selects (per company, first non-empty tier wins) -- the rule that decides
between finding the evidence and flooding the search:

* a year Y: (1) full-year documents of fiscal Y (10-K / FY, Q4 earnings release); (2) the annual
  filing of Y+1, whose statements carry Y as the prior year; (3) other periodic filings of fiscal Y
  (10-Q, quarterly releases); (4) the annual filing of Y+2 (three-year income and cash-flow
  statements); (5) event filings (8-K) dated in Y. A comparative source is named in ``notes``.
  So FY2021 with only an FY2022 10-K in the index searches that 10-K; with its own 10-K it
  searches only that one.
  Between (3) and (4): the quarterly filings of Y+1, whose balance sheets carry Y's year end.
* a quarter q of Y: the q filings of fiscal Y; for Q4 then the FY10-K of Y; then the q filing of
  Y+1 (its prior-year quarter column); then the annual report of Y, which covers every quarter of
  the year (quarterly dividends, quarterly data).
* a named 8-K, or an earnings release the company has none of, for a quarter or year: its 8-Ks
  dated in that quarter and up to 75 days after it (a release is furnished on an 8-K weeks after
  the period ends; for a release only the days after count).
* a filing whose period is unknown (no fiscal year, period end or filing date) cannot be ruled out
  by a period: it is searched with the company's selection, and a note says so.
* nothing found for a period: the company stays, the period is dropped, and a note says the period
  is not in the index. With no company the period selects across all companies; with nothing
  recognised the filter is empty and the scope says everything was searched.

Fiscal calendars (:func:`on_fiscal_calendar`) come from a company's own filings: its year end is
the period end of its annual reports (without one, a quarterly filing's period end plus the
quarters left), and the way it numbers years (Best Buy's year ending January 2023 is FY2023; a
year ending in the first days of January belongs to the year before) from the annual reports'
fiscal years. A quarterly filing's fiscal year and quarter are read from its period end on that
calendar: a company whose year ends in June files its Q2 FY2023 10-Q for the quarter ended
December 2022, whatever year the catalog wrote. Without annual reports, a quarter whose year
would end in December-February keeps the catalog's year (retailers number those years both ways).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from core.records import Filing
from retrieval.resolver.companies import QUARTER_DAYS, Entity, fiscal_year_end, month_end
from retrieval.resolver.periods import (
    ANNUAL_FORMS,
    EVENT_FORMS,
    QUARTERLY_FORMS,
    _Date,
    _Parsed,
    _Period,
    _period_order,
)


def form_family(form: str | None) -> str | None:
    """A catalog form reduced to the families questions name (10-K/A -> 10-K, 10-KT -> 10-K)."""
    if not form:
        return None
    s = form.strip().upper().replace(" ", "").replace("_", "-").split("/")[0]
    for fam in ("10-K", "10-Q", "8-K", "20-F", "40-F", "6-K"):
        if s.startswith((fam, fam.replace("-", ""))):
            return fam
    if "EARNING" in s or "RELEASE" in s or "PRESS" in s:
        return "earnings-release"
    return form.strip()


def _quarter(f: Filing) -> int | None:
    p = (f.fiscal_period or "").upper()
    return int(p[1]) if len(p) == 2 and p[0] == "Q" and p[1] in "1234" else None


def _is_annual(f: Filing) -> bool:
    return form_family(f.form) in ANNUAL_FORMS or (f.fiscal_period or "").upper() == "FY"


def _is_full_year(f: Filing) -> bool:
    """Documents that report a whole fiscal year: the annual report, a Q4/full-year release."""
    return _is_annual(f) or (form_family(f.form) == "earnings-release" and _quarter(f) == 4)


def _is_event(f: Filing) -> bool:
    return form_family(f.form) in EVENT_FORMS or (
        f.fiscal_year is None and _quarter(f) is None and not _is_annual(f)
    )


def _event_year(f: Filing) -> int | None:
    d = f.period_end or f.filed_at
    return d.year if d else f.fiscal_year


def _form_shown(f: Filing) -> str:
    fam = form_family(f.form)
    if fam == "earnings-release":
        return "earnings release"
    return fam or "filing"


def _period_shown(f: Filing) -> str:
    if _is_event(f):
        y = _event_year(f)
        return str(y) if y else "undated"
    if f.fiscal_year is None:
        return "undated"
    q = _quarter(f)
    return f"Q{q} FY{f.fiscal_year}" if q else f"FY{f.fiscal_year}"


def filing_label(f: Filing) -> str:
    """'10-K FY2023', '8-K 2022', 'earnings release Q4 FY2023'."""
    return f"{_form_shown(f)} {_period_shown(f)}"


def _scope_label(f: Filing) -> str:
    """'FY2022 10-K', '2022 8-K', 'Q4 FY2023 earnings release'."""
    return f"{_period_shown(f)} {_form_shown(f)}"


def _sort_key(f: Filing) -> tuple:
    # Within a year the annual report first, then quarters, then undated/event documents.
    return (
        f.fiscal_year or _event_year(f) or 0,
        0 if _is_annual(f) else (_quarter(f) or 9),
        f.doc_id,
    )


def _allowed(pool: list[Filing], forms: set[str] | None) -> list[Filing]:
    return pool if forms is None else [f for f in pool if form_family(f.form) in forms]


# How long after a period ends its results are released (an 8-K furnishing the release).
RELEASE_DAYS = 75


def _period_end_of(pool: list[Filing], y: int, q: int) -> date | None:
    """When fiscal quarter ``q`` (4: the year) of ``y`` ends, from the company's dated filings."""
    refs = [f for f in pool if f.fiscal_year and f.period_end and not _is_event(f)]
    refs.sort(key=lambda f: (abs(f.fiscal_year - y), 0 if _is_annual(f) else 1))  # type: ignore[operator]
    for f in refs:
        if f.fiscal_year == y and (_quarter(f) or 4) == q:
            return f.period_end
    if not refs:
        return None
    f = refs[0]
    assert f.period_end is not None and f.fiscal_year is not None
    shift = (y - f.fiscal_year) * 365.25 + (q - (_quarter(f) or 4)) * QUARTER_DAYS
    return f.period_end + timedelta(days=round(shift))


def _events_for(
    pool: list[Filing], y: int, q: int, forms: set[str] | None, label: str
) -> tuple[list[Filing], str | None]:
    """8-Ks for a period when the question names 8-Ks or a release the company files as one.

    A named 8-K: those dated within the period or the release window after it; a release: those
    dated in the window after the period's end (the 8-K that furnishes the results).
    """
    if not forms or not (forms & EVENT_FORMS or "earnings-release" in forms):
        return [], None
    end = _period_end_of(pool, y, q)
    if end is None:
        return [], None
    start = end - timedelta(days=QUARTER_DAYS) if forms & EVENT_FORMS else end
    stop = end + timedelta(days=RELEASE_DAYS)
    events = [
        f
        for f in pool
        if form_family(f.form) in EVENT_FORMS
        and (d := f.period_end or f.filed_at) is not None
        and start < d <= stop
    ]
    return events, (
        f"{label}: no earnings release in the index; searched the 8-K filed after the period "
        f"ended {end.isoformat()}"
        if events and not forms & EVENT_FORMS
        else None
    )


def _match_year(
    pool: list[Filing], y: int, forms: set[str] | None
) -> tuple[list[Filing], str | None]:
    events, events_note = _events_for(pool, y, 4, forms, f"FY{y}")
    if events and forms and not forms & EVENT_FORMS and not _allowed(pool, forms):
        return events, events_note
    pool = _allowed(pool, forms)
    same = [f for f in pool if f.fiscal_year == y and not _is_event(f)]
    full = [f for f in same if _is_full_year(f)]
    if full:
        return full, None

    def comparatives(k: int) -> tuple[list[Filing], str | None]:
        later = [f for f in pool if _is_annual(f) and f.fiscal_year == y + k]
        which = "prior-year" if k == 1 else "two-years-earlier"
        return later, (
            f"FY{y} has no filing of its own in the index: its figures are the {which} "
            f"comparatives in the {', '.join(filing_label(f) for f in later)}"
        )

    later, note = comparatives(1)
    if later:
        return later, note
    if same:
        return same, None
    next_quarters = [
        f for f in pool if f.fiscal_year == y + 1 and _quarter(f) and not _is_full_year(f)
    ]
    if next_quarters:
        return next_quarters, (
            f"FY{y} has no filing of its own in the index: its year-end balance sheet is the "
            f"comparative in the {', '.join(filing_label(f) for f in next_quarters)}"
        )
    later, note = comparatives(2)
    if later:
        return later, note
    return [f for f in pool if _is_event(f) and _event_year(f) == y], None


def _match_quarters(
    pool: list[Filing], p: _Period, forms: set[str] | None
) -> tuple[list[Filing], str | None]:
    quarterly = _allowed(pool, forms if forms is not None else set(QUARTERLY_FORMS))
    hits = [f for f in quarterly if f.fiscal_year == p.year and _quarter(f) in p.quarters]
    if hits:
        return hits, None
    events: list[Filing] = []
    note = None
    for q in p.quarters:
        got, note = _events_for(pool, p.year, q, forms, p.label)
        events += got
    if events:
        return events, note
    if 4 in p.quarters:
        annual = [f for f in _allowed(pool, forms) if _is_annual(f) and f.fiscal_year == p.year]
        if annual:
            return (
                annual,
                f"Q4 FY{p.year} has no quarterly filing: "
                f"Q4 figures are in the {filing_label(annual[0])}",
            )
    later = [f for f in quarterly if f.fiscal_year == p.year + 1 and _quarter(f) in p.quarters]
    if later:
        return later, (
            f"{p.label} has no filing of its own in the index: it is the prior-year "
            f"quarter in the {', '.join(filing_label(f) for f in later)}"
        )
    annual = [f for f in _allowed(pool, forms) if _is_annual(f) and f.fiscal_year == p.year]
    if annual:
        return annual, (
            f"{p.label} has no quarterly filing in the index: the "
            f"{', '.join(filing_label(f) for f in annual)} covers the whole year"
        )
    return [], None


def _match_date(pool: list[Filing], d: _Date, forms: set[str] | None) -> list[Filing]:
    pool = _allowed(pool, forms)
    if d.month_only:
        return [
            f
            for f in pool
            if f.period_end and (f.period_end.year, f.period_end.month) == (d.day.year, d.day.month)
        ]
    near = timedelta(days=10)
    return [
        f
        for f in pool
        if any(x is not None and abs(x - d.day) <= near for x in (f.period_end, f.filed_at))
    ]


def period_unknown(f: Filing) -> bool:
    """Nothing dates the filing: no fiscal year, period end or filing date."""
    return f.fiscal_year is None and f.period_end is None and f.filed_at is None


def _fy_label(end: date) -> int:
    """The year a fiscal year ending on ``end`` is named by, by default (see module doc)."""
    return end.year - 1 if end.month == 1 and end.day <= 7 else end.year


def _year_end_on_or_after(d: date, month: int, day: int) -> date:
    """The first anniversary of (month, day) not more than ten days before ``d``."""
    for year in (d.year - 1, d.year, d.year + 1):
        try:
            end = date(year, month, day)
        except ValueError:  # 29 February
            end = date(year, month, 28)
        if end >= d - timedelta(days=10):
            return end
    return date(d.year + 1, month, min(day, 28))


def _calendar_reading(
    f: Filing, year_end: tuple[int, int] | None, offset: int
) -> tuple[int, int | None, date] | None:
    """(fiscal year, quarter, year end) of ``f`` on its company's calendar, when it can be read."""
    d = f.period_end
    if d is None or form_family(f.form) in EVENT_FORMS:
        return None
    if _is_annual(f):
        if f.fiscal_year is not None or year_end is None:
            return None
        return _fy_label(d) + offset, None, d
    q = _quarter(f)
    if year_end is not None:
        end = _year_end_on_or_after(d, *year_end)
        derived = 4 - round((end - d).days / QUARTER_DAYS)
        if not 1 <= derived <= 4 or (q is None and form_family(f.form) != "10-Q"):
            return None
        return _fy_label(end) + offset, derived, end
    if q is None:
        return None
    end = month_end(d + timedelta(days=QUARTER_DAYS * (4 - q)))
    if end.month in (12, 1, 2) and f.fiscal_year is not None:
        return None
    return _fy_label(end), q, end


def on_fiscal_calendar(
    filings: list[Filing], company: str = "the company"
) -> tuple[list[Filing], dict[str, str]]:
    """One company's filings with fiscal year and quarter read on its own fiscal calendar.

    Returns the filings (a copy where the reading differs from the catalog's fields) and, per
    changed doc id, a note for the user. See the module doc for the rule.

    Example:
        >>> fixed, notes = on_fiscal_calendar(amcor_filings, "Amcor")  # doctest: +SKIP
        >>> notes  # doctest: +SKIP
        {'9f2c...': "Amcor's 10-Q Q2 FY2022 for the period ended 2022-12-31 is its 10-Q Q2 ..."}
    """
    annual = [f for f in filings if _is_annual(f) and f.period_end]
    ends = Counter((f.period_end.month, f.period_end.day) for f in annual if f.period_end)
    year_end = ends.most_common(1)[0][0] if ends else None
    offsets = Counter(
        f.fiscal_year - _fy_label(f.period_end) for f in annual if f.fiscal_year and f.period_end
    )
    offset = offsets.most_common(1)[0][0] if offsets else 0
    out: list[Filing] = []
    notes: dict[str, str] = {}
    for f in filings:
        reading = _calendar_reading(f, year_end, offset)
        if reading is None or reading[:2] == (f.fiscal_year, _quarter(f) or None):
            out.append(f)
            continue
        fy, q, end = reading
        update: dict = {"fiscal_year": fy}
        if q is not None:
            update["fiscal_period"] = f"Q{q}"
        fixed = f.model_copy(update=update)
        out.append(fixed)
        notes[f.doc_id] = (
            f"{company}'s {filing_label(f)} for the period ended {f.period_end} is its "
            f"{filing_label(fixed)}: {company}'s fiscal year ends in {end:%B}"
        )
    return out, notes


def _calendar_years(ent: Entity | None, y: int) -> tuple[list[int], str | None]:
    """Fiscal years overlapping calendar year ``y`` by at least a month, with a note when split."""
    end = fiscal_year_end(ent) if ent else None
    if end is None or end[0] == 12 or (end[0] == 1 and end[1] <= 7):
        return [y], None
    month, day = end
    fy_end = date(y, month, min(day, 28))
    first = (fy_end - date(y, 1, 1)).days + 1
    second = (date(y, 12, 31) - fy_end).days
    years = [fy for fy, days in ((y, first), (y + 1, second)) if days >= 31]
    ends = date(2000, month, min(day, 28)).strftime("%B")
    if len(years) == 2:
        return years, (
            f"calendar {y} spans {ent.display} fiscal {y} (ends {ends} {y}) and fiscal {y + 1} "
            f"(ends {ends} {y + 1}); searched both"
        )
    return (
        years,
        f"calendar {y} is {ent.display} fiscal {years[0]} (its fiscal year ends in {ends})",
    )


def _latest(pool: list[Filing], kind: str, today: date | None) -> _Period | None:
    """The newest period of ``kind`` among the filings; ``today`` only when none has a year."""
    annual = [f.fiscal_year for f in pool if _is_annual(f) and f.fiscal_year]
    quarterly = [(f.fiscal_year, _quarter(f)) for f in pool if f.fiscal_year and _quarter(f)]
    any_year = [f.fiscal_year for f in pool if f.fiscal_year]
    if kind == "latest-year":
        if annual or any_year:
            return _Period(max(annual or any_year))
    elif kind == "latest-quarter":
        if quarterly:
            y, q = max(quarterly)
            return _Period(y, (q,))
        if annual:
            return _Period(max(annual), (4,))
    else:  # newest filing of any kind
        cands = [(y, 5) for y in annual] + list(quarterly)
        if cands:
            y, q = max(cands)
            return _Period(y, () if q == 5 else (q,))
    if today is not None:
        return (
            _Period(today.year)
            if kind != "latest-quarter"
            else _Period(today.year, ((today.month - 1) // 3 + 1,))
        )
    return None


def _concretise(
    parsed: _Parsed,
    pool: list[Filing],
    forms: set[str] | None,
    base: list[_Period],
    today: date | None,
) -> tuple[list[_Period], bool]:
    """The concrete periods for one company; the bool says whether they shift the inherited ones."""
    pool = _allowed(pool, forms) or pool
    explicit = list(parsed.periods)
    periods = list(explicit)
    anchor = explicit or base
    shifted_base = False
    for rel in parsed.rels:
        if rel.kind in ("latest-year", "latest-quarter", "latest"):
            p = _latest(pool, rel.kind, today)
            if p:
                periods.append(p)
        elif rel.kind == "last-n":
            p = _latest(pool, "latest-year", today)
            if p:
                periods.extend(_Period(y) for y in range(p.year - rel.n + 1, p.year + 1))
        elif rel.kind in ("prev-year", "next-year"):
            step = -1 if rel.kind == "prev-year" else 1
            src = anchor or [p for p in [_latest(pool, "latest-year", today)] if p]
            periods.extend(p.shifted(step) for p in src)
            shifted_base = not explicit and bool(base)
        elif rel.kind == "prev-quarter":
            src = [p for p in anchor if len(p.quarters) == 1] or [
                p for p in [_latest(pool, "latest-quarter", today)] if p
            ]
            for p in src:
                q = p.quarters[0] - 1
                periods.append(_Period(p.year - 1, (4,)) if q == 0 else _Period(p.year, (q,)))
            shifted_base = not explicit and bool(base)
        elif rel.kind == "quarter":
            years = [p.year for p in anchor]
            if not years:
                latest = _latest(pool, "latest", today)
                years = [latest.year] if latest else []
            periods.extend(_Period(y, (rel.n,)) for y in dict.fromkeys(years))
            shifted_base = not explicit and bool(base)
    if parsed.yoy:
        years = {p.year for p in periods}
        if not periods:
            p = _latest(pool, "latest-year", today)
            if p:
                periods = [p, p.shifted(-1)]
        elif len(years) == 1:
            periods.extend(p.shifted(-1) for p in list(periods))
    return sorted(dict.fromkeys(periods), key=_period_order), shifted_base


@dataclass
class _Leg:
    """One company's period (or matched date) and its filings: a sub-question of a comparison."""

    entity: Entity | None
    period: _Period | None
    filings: list[Filing]
    dated: bool = False  # selected by a date in the question


def _filing_period(f: Filing) -> _Period | None:
    if f.fiscal_year is None or _is_event(f):
        return None
    q = _quarter(f)
    return _Period(f.fiscal_year, (q,) if q else ())


def _select(
    entity: Entity | None,
    pool: list[Filing],
    periods: list[_Period],
    dates: list[_Date],
    forms: set[str] | None,
    notes: list[str],
    ambiguities: list[str],
) -> list[_Leg]:
    name = entity.display if entity else "the index"
    legs: list[_Leg] = []
    for d in dates:
        hits = _match_date(pool, d, forms)
        if hits:
            legs.append(_Leg(entity, None, _unique(hits), dated=True))
        else:
            periods = periods + [_Period(d.day.year, calendar=True)]
    for p in dict.fromkeys(periods):
        if p.calendar:
            years, note = _calendar_years(entity, p.year)
            if note and len(years) > 1:
                ambiguities.append(note)
            elif note:
                notes.append(note)
            hits = []
            for y in years:
                got, n = _match_year(pool, y, forms)
                hits += got
                if n:
                    notes.append(n)
        elif p.quarters:
            hits, n = _match_quarters(pool, p, forms)
            if n:
                notes.append(n)
            if p.quarters == (1, 2) and hits:
                notes.append(
                    f"{p.label} read as Q1+Q2 FY{p.year}; the Q2 10-Q also reports six-month totals"
                )
        else:
            hits, n = _match_year(pool, p.year, forms)
            if n:
                notes.append(n)
            if p.bare and entity:
                end = fiscal_year_end(entity)
                if end and not (end[0] == 12 or (end[0] == 1 and end[1] <= 7)):
                    month = date(2000, end[0], 1).strftime("%B")
                    notes.append(
                        f"'{p.year}' read as {entity.display} fiscal {p.year} (its fiscal year "
                        f"ends in {month}); say 'calendar {p.year}' for the calendar year"
                    )
        if not hits:
            have = ", ".join(filing_label(f) for f in sorted(pool, key=_sort_key)) or "no filings"
            notes.append(f"{p.label} is not in the index for {name} (it has: {have})")
        legs.append(_Leg(entity, p, _unique(hits)))
    return legs


def _unique(filings: list[Filing]) -> list[Filing]:
    seen: dict[str, Filing] = {}
    for f in filings:
        seen.setdefault(f.doc_id, f)
    return sorted(seen.values(), key=_sort_key)
