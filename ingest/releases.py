"""What an earnings release says about itself: its headline, dateline and the period it reports.

Contract: :func:`release_clues` reads the first lines of page 1 (:class:`~ingest.front_matter.Line`
items from :func:`~ingest.front_matter.front_lines`) and returns
:class:`~ingest.front_matter.Clue` items, like the cover readers of :mod:`ingest.front_matter`:
the form (``earnings-release``), the issuer from the headline ("X Reports Fourth Quarter 2022
Results") and the dateline ("City, Date -- X (NYSE: XYZ) today reported"), the fiscal year and
quarter the headline announces, the release date and the period-ended date. Nothing is keyed to a
company.
"""

from __future__ import annotations

import re

from core.figures import DATE, parse_date
from ingest.front_matter import (
    ORDINAL,
    Clue,
    Line,
    looks_like_name,
    search_lines,
    tidy_name,
)

RELEASE_TOP = 14  # a press release's headline and dateline are among its first lines


_RELEASE_HEADLINE = re.compile(
    r"^(?:[A-Z][A-Za-z]*\.?\s+\d{1,2},\s+\d{4}\s*[-–—]+\s*)?"  # "MAY 1, 2023 - " datelines
    r"(?P<name>[A-Z][\w.&'’,\- ]{1,60}?)\s+"
    r"(?:(?:today|has)\s+)?(?:reports?|reported|announces?|announced|posts?|delivers?)\b"
    r"(?P<rest>.*\b(?:results?|earnings)\b.*)$",
    re.I,
)
_HEADLINE_YEAR = re.compile(
    r"\bFY\s?'?(?P<fy>\d{2})\b|\b(?:FY\s?)?(?P<year>(?:19|20)\d{2})\b|\bQ[1-4]\s?'(?P<qy>\d{2})\b",
    re.I,
)
_QUARTER_WORD = re.compile(
    r"\b(first|second|third|fourth)[\s-]+quarter(?:\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?"
    r"((?:19|20)\d{2}))?",
    re.I,
)
_Q_SHORT = re.compile(r"\b(?:Q([1-4])|([1-4])Q)\b")
_FULL_YEAR = re.compile(
    r"\b(?:full[\s-]+year|fiscal\s+(?:year\s+)?(?:19|20)\d{2}\s+results|annual)\b", re.I
)
_DATELINE = re.compile(
    rf"^(?P<place>[^;]{{0,80}}?)(?P<date>{DATE})\s*(?:/\s*PR\s?Newswire\s*/)?\s*[-–—]+\s*"
    r"(?:\(?[A-Z ]*WIRE\)?\s*[-–—]+\s*)?(?P<rest>.+)$",
    re.I,
)
_DATELINE_SUBJECT = re.compile(
    r"^(?P<name>[A-Z][\w.&'’,\- ]{1,60}?)\s*(?:\(|,?\s+(?:today|announced|reported|reports|posted))"
)
_RELEASE_ENDED = re.compile(
    rf"\b(?:quarter|three\s+months|year|twelve\s+months|period)\s+ended\s+({DATE})", re.I
)


def headline(lines: list[Line]) -> tuple[re.Match[str], Line] | None:
    """The release headline among the first lines of page 1 (a headline may wrap in two)."""
    top = [ln for ln in lines if ln.page == 1][:RELEASE_TOP]
    for k, line in enumerate(top):
        if m := _RELEASE_HEADLINE.match(line.text):
            return m, line
        wraps = k + 1 < len(top) and line.kind in ("title", "heading")
        if wraps and (m := _RELEASE_HEADLINE.match(f"{line.text} {top[k + 1].text}")):
            return m, line
    return None


def release_clues(lines: list[Line]) -> list[Clue]:
    """Form, issuer, period and date of an earnings release from its headline and dateline."""
    found = headline(lines)
    if found is None:
        return []
    m, line = found
    title = m.group(0)
    out = [Clue.of("form", "earnings-release", "release-headline", line, title)]
    out.append(Clue.of("company", tidy_name(m["name"]), "release-headline", line, m["name"]))
    undated = re.sub(DATE, " ", title, flags=re.I)
    if y := _HEADLINE_YEAR.search(undated):
        year = int(y["year"]) if y["year"] else 2000 + int(y["fy"] or y["qy"])
        out.append(Clue.of("fiscal_year", year, "headline-period", line, y.group(0)))
    top = [ln for ln in lines if ln.page == 1]
    opening = " ".join(ln.text for ln in top[:RELEASE_TOP])
    if q := release_quarter(title):
        out.append(Clue.of("fiscal_period", q[0], "headline-period", line, q[1]))
    elif q := release_quarter(opening):
        out.append(Clue.of("fiscal_period", q[0], "release-wording", None, q[1]))
    elif _FULL_YEAR.search(title) and re.search(
        r"three\s+months\s+ended|\bquarter\b", opening, re.I
    ):
        # A full-year release also reports the year's last quarter: it is a quarterly document
        # (the 10-K is the FY one).
        out.append(Clue.of("fiscal_period", "Q4", "release-wording", line, title))
    for ln in top[:RELEASE_TOP]:
        d = _DATELINE.match(ln.text)
        if d and (when := parse_date(d["date"])):
            out.append(Clue.of("filed_at", when, "release-date", ln, d["date"]))
            if s := _DATELINE_SUBJECT.match(d["rest"]):
                name = tidy_name(s["name"])
                if looks_like_name(name):
                    out.append(Clue.of("company", name, "release-dateline", ln, s["name"]))
            break
    for pm, ln in search_lines(top[:RELEASE_TOP], _RELEASE_ENDED, 1):
        if d := parse_date(pm[1]):
            out.append(Clue.of("period_end", d, "release-period-ended", ln, pm.group(0)))
            break
    return out


def release_quarter(text: str) -> tuple[str, str] | None:
    """("Q4", the words) from "fourth quarter", "fourth-quarter", "Q4" or "4Q" wording."""
    if m := _QUARTER_WORD.search(text):
        return f"Q{ORDINAL[m[1].lower()]}", m.group(0)
    if m := _Q_SHORT.search(text):
        return f"Q{m[1] or m[2]}", m.group(0)
    return None
