"""Statement facts at ingest: every figure of a numeric table placed in time, scaled and named.

Contract: :func:`facts_from_chunks` turns a filing's table chunks into :class:`~core.records.Fact`
records; :func:`facts_from_ixbrl` reads the tags of an inline-XBRL HTML filing. Both are pure
(no store); the pipeline writes what they return with the filing's other records.

For a table chunk (``chunk.table``, ``chunk.statement``), each numeric body cell gives one fact:

* **line item** the row label as printed; **path** the label-only rows above it ("Current
  assets:"), closed by the row that totals them; **concept** from :mod:`core.concepts` (only on a
  primary statement: a note's or a segment table's "Revenue" keeps ``concept=None``).
* **period** from the column's headers ("Years Ended December 31," over "2019"; "Three Months
  Ended July 2, 2023"; "At December 31, 2018"; "Fiscal 2024"); instant on a balance sheet or
  under "As of"/"At", else a duration of 3/6/9/12 months. A row-split or page-continued table
  takes the headers, unit and open sections of the chunk it continues; a headerless table right
  after a statement table of the same width takes that one's columns.
* **fiscal year / period** on the filing's own calendar: its period end and fiscal period give
  the month its fiscal year closes (a 52/53-week year ending in a month's first week closes the
  month before, :func:`ingest.front_matter.closing_month`) and the offset between calendar and
  fiscal labels.
* **scale** from the header, caption or section ("(in millions, except per share data)"); per
  share rows are not scaled; **sign** from parentheses; **unit** USD, shares, USD/share, percent.

Cells that cannot be placed are skipped rather than guessed: a column whose headers give no
period, two columns of one table with the same period ("As reported" / "Restated"), a row
without a label, a cell that is no single amount.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from core.concepts import CONCEPTS, concept_of, concept_of_xbrl
from core.figures import (
    MONTH,
    AmountError,
    is_amount_cell,
    month_number,
    parse_amount,
    unit_caption,
)
from core.records import Chunk, Fact, Filing, TableData
from ingest.front_matter import closing_month

log = logging.getLogger(__name__)

__all__ = ["FiscalCalendar", "facts_from_chunks", "facts_from_ixbrl", "fact_id"]


def fact_id(doc_id: str, page_no: int, chunk_id: str, row: int, col: int) -> str:
    """A fact's id from where it was read: re-ingesting a filing gives the same ids."""
    key = f"{doc_id}:{page_no}:{chunk_id}:{row}:{col}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


# -- the fiscal calendar --------------------------------------------------------------------------


@dataclass(frozen=True)
class FiscalCalendar:
    """The month a company's fiscal year closes and how its years are labelled."""

    end_month: int  # 1..12
    offset: int = 0  # fiscal label minus the calendar year the fiscal year closes in
    end_day: int | None = None  # the day of the filing's period end (exact dates for bare years)
    annual: bool = False  # the filing is an annual report (its statements cover fiscal years)

    @classmethod
    def of(cls, filing: Filing) -> FiscalCalendar | None:
        """The calendar of the filing's period end and fiscal period; None when they are unknown."""
        end = filing.period_end
        if end is None:
            return None
        month = closing_month(end.month, end.day)
        year = end.year - 1 if month > end.month else end.year
        period = (filing.fiscal_period or "").upper()
        if not period and (filing.form or "").upper().startswith("10-K"):
            period = "FY"
        if period != "FY" and not re.fullmatch(r"Q[1-4]", period):
            return None  # an 8-K's period end is an event's date, not a fiscal period's end
        quarter = int(period[1]) if period != "FY" else 4
        ahead = 3 * (4 - quarter)  # months from the period end to the fiscal year end
        end_month = (month - 1 + ahead) % 12 + 1
        fy_close_year = year + (month - 1 + ahead) // 12
        offset = (filing.fiscal_year - fy_close_year) if filing.fiscal_year else 0
        exact = end.day == calendar.monthrange(end.year, end.month)[1]
        return cls(end_month, offset, end.day if exact else None, period == "FY")

    def place(self, end: date, months: int | None) -> tuple[int | None, str | None]:
        """(fiscal_year, fiscal_period) of a period ending ``end``; (None, None) when off-calendar.

        Durations: 12 months -> FY, 3 -> Q1..Q4, 6 -> H1, 9 -> 9M (year to date); an instant
        (``months`` None) is labelled with the period it closes (FY or Q1..Q3).
        """
        month = closing_month(end.month, end.day)
        year = end.year - 1 if month > end.month else end.year
        gap = (self.end_month - month) % 12  # months until the fiscal year closes
        if gap % 3:
            return None, None
        fiscal_year = year + (1 if month > self.end_month else 0) + self.offset
        quarter = 4 - gap // 3
        if months is None:
            return fiscal_year, "FY" if quarter == 4 else f"Q{quarter}"
        label = {12: "FY" if quarter == 4 else None, 3: f"Q{quarter}"}.get(months)
        if months == 6 and quarter == 2:
            label = "H1"
        if months == 9 and quarter == 3:
            label = "9M"
        return (fiscal_year, label) if label else (None, None)

    def year_end(self, fiscal_year: int) -> date | None:
        """The last day of a fiscal year, when the filing's period end is a month end."""
        if self.end_day is None:
            return None
        year = fiscal_year - self.offset
        return date(year, self.end_month, calendar.monthrange(year, self.end_month)[1])


# -- column periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPeriod:
    instant: bool
    end: date | None
    months: int | None
    fiscal_year: int | None
    fiscal_period: str | None
    header: str

    @property
    def key(self) -> tuple:
        return (self.instant, self.end, self.months, self.fiscal_year, self.fiscal_period)


_MONTHS_WORDS = [
    (re.compile(r"\b(three|3)[\s-]+months?\b|\b(13|thirteen)[\s-]+weeks?\b|\bquarter\b", re.I), 3),
    (re.compile(r"\b(six|6)[\s-]+months?\b|\b(26|twenty-six)[\s-]+weeks?\b", re.I), 6),
    (re.compile(r"\b(nine|9)[\s-]+months?\b|\b(39|thirty-nine)[\s-]+weeks?\b", re.I), 9),
    (
        re.compile(
            r"\b(twelve|12)[\s-]+months?\b|\b(52|53|fifty-two|fifty-three)[\s-]+weeks?\b"
            r"|\byears?\b|\bfiscal\b",
            re.I,
        ),
        12,
    ),
]
_INSTANT = re.compile(r"\b(as\s+of|at|balance\s+at)\b", re.I)
_DATE_FULL = re.compile(rf"\b({MONTH})\.?\s+(\d{{1,2}})\s*,?\s*((?:19|20)\d\d)\b", re.I)
_MONTH_DAY = re.compile(rf"\b({MONTH})\.?\s+(\d{{1,2}})\b(?!\s*,?\s*(?:19|20)\d\d)", re.I)
_YEAR = re.compile(r"(?<![\d$.,])((?:19|20)\d\d)(?![\d%])")
_FISCAL_YEAR = re.compile(r"\b(?:fiscal(?:\s+year)?|fy)\s*'?((?:19|20)\d\d)\b", re.I)
# columns that are not one period's figures
_NOT_A_PERIOD = re.compile(
    r"\b(change|vs\.?|versus|variance|increase|decrease|impact|adjust\w*|restated|reported|"
    r"pro\s*forma|level\s+\d|total|thereafter|less\s+than|more\s+than|after|percent|%)",
    re.I,
)


def _period_of(
    texts: list[str], lead: str, instant: bool, flows: bool, cal: FiscalCalendar | None
) -> ColumnPeriod | None:
    """The period a column's headers name; None when they name none, or more than one."""
    own = " ".join(t for t in texts if t).strip()
    if not own or _NOT_A_PERIOD.search(own):
        return None
    text = f"{lead} {own}" if lead else own
    if _INSTANT.search(text):
        instant = True
    months = None
    if not instant:
        for pattern, n in _MONTHS_WORDS:
            if pattern.search(text):
                months = n
                break
    full = {(m[1], int(m[2]), int(m[3])) for m in _DATE_FULL.finditer(text)}
    end: date | None = None
    fiscal_label = None
    if len(full) > 1:
        return None
    try:
        if full:
            name, day, year = full.pop()
            end = date(year, month_number(name), day)
        else:
            month_days = {(m[1].lower()[:3], int(m[2])) for m in _MONTH_DAY.finditer(text)}
            years = set(_YEAR.findall(own))
            fy = _FISCAL_YEAR.search(text)
            if len(years) != 1 or len(month_days) > 1:
                return None
            year = int(years.pop())
            if month_days:
                name, day = month_days.pop()
                end = date(year, month_number(name), day)
            elif fy or (cal is not None and months in (None, 12)):
                fiscal_label = year  # "Fiscal 2024", or a bare year on the annual calendar
            else:
                return None
    except (ValueError, KeyError):  # "February 30"
        return None
    if fiscal_label is not None:
        if instant or months is None:
            months = None if instant else 12
        if months not in (None, 12) and not instant:
            return None
        if cal is None:
            return None
        end = cal.year_end(fiscal_label)
        label = "FY"
        return ColumnPeriod(instant, end, None if instant else 12, fiscal_label, label, own)
    if end is None:
        return None
    if not instant and months is None:
        # a bare date in an annual report's statement of a duration ("December 28, 2019"): a
        # fiscal year when it is a fiscal year end; anywhere else its length is unknown
        if not flows or cal is None or not cal.annual or cal.place(end, 12)[1] != "FY":
            return None
        months = 12
    fiscal_year, fiscal_period = (None, None)
    if cal is not None:
        fiscal_year, fiscal_period = cal.place(end, None if instant else months)
    if cal is None and months == 12:  # no calendar: a year's end is its own fiscal year end
        month = closing_month(end.month, end.day)
        fiscal_year, fiscal_period = (end.year - 1 if month > end.month else end.year), "FY"
    return ColumnPeriod(instant, end, None if instant else months, fiscal_year, fiscal_period, own)


def _column_periods(
    table: TableData, statement: str | None, cal: FiscalCalendar | None
) -> dict[int, ColumnPeriod]:
    """Each value column's period, from its stacked headers and the label column's."""
    if not table.header_rows:
        return {}
    width = table.n_cols
    lead_parts = []
    for row in table.header_rows:
        first = row[0].strip() if row else ""
        if first and not unit_caption(first, bare=True):
            lead_parts.append(first)
    lead = " ".join(lead_parts)
    out: dict[int, ColumnPeriod] = {}
    for col in range(1, width):
        texts = []
        for row in table.header_rows:
            cell = row[col].strip() if col < len(row) else ""
            if cell and not unit_caption(cell, bare=True) and cell.lower() != "(unaudited)":
                texts.append(cell)
        flows = statement in ("income", "comprehensive-income", "cash-flow")
        period = _period_of(texts, lead, statement == "balance", flows, cal)
        if period is not None:
            out[col] = period
    counts: dict[tuple, int] = {}
    for p in out.values():
        counts[p.key] = counts.get(p.key, 0) + 1
    return {c: p for c, p in out.items() if counts[p.key] == 1}


_HEADER_MENTION = re.compile(
    rf"\b{MONTH}\.?\s+\d{{1,2}}\s*,?\s*(?:19|20)\d\d\b"
    r"|\b(?:fiscal(?:\s+year)?\s+|fy\s?)?(?:19|20)\d\d\b",
    re.I,
)
_HEADER_WORDS = re.compile(r"[a-z]+", re.I)
_PARENS = re.compile(r"\([^()]*\)")  # "(In millions, except per share amounts)" is no header word
TEXT_HEADER_REACH = 12  # lines above a headerless table searched for its column headers


def text_header(lines: list[str], columns: int) -> list[list[str]] | None:
    """Column headers printed as text above a table the parser found without them.

    PyMuPDF often cuts a statement's column heads ("February 2, 2019  February 3, 2018") off its
    grid into the page text, sometimes broken over lines ("December 1," / "2017 December 2," /
    "2016"). The nearest run of one to three of the last :data:`TEXT_HEADER_REACH` lines that
    names exactly ``columns`` periods and little else gives the columns, and a short line right
    above it without a year ("Years Ended December 31,") their lead. Returns one header row
    ``[lead, period, period, ...]`` or None.
    """
    stop = max(-1, len(lines) - 1 - TEXT_HEADER_REACH)
    for end in range(len(lines) - 1, stop, -1):
        for span in (1, 2, 3):
            first = end - span + 1
            if first <= stop:
                break
            text = " ".join(lines[first : end + 1])
            mentions = [m.group(0) for m in _HEADER_MENTION.finditer(text)]
            if len(mentions) != columns:
                continue
            own = _HEADER_WORDS.findall(_PARENS.sub(" ", _HEADER_MENTION.sub(" ", text)))
            if len(own) > 4:  # a sentence that happens to name years
                continue
            lead = ""
            above = lines[first - 1].strip() if first > 0 else ""
            if above and len(above) < 80 and not _YEAR.search(above):
                lead = above
            if own:
                lead = f"{lead} {' '.join(own)}".strip()
            return [[lead, *mentions]]
    return None


# how many value columns an annual report's statement has when it shows every year it must
_CONVENTIONAL_COLUMNS = {"balance": 2, "income": 3, "cash-flow": 3}
ASSUMED = "heads not printed: the filing's year first"


def conventional_header(filing: Filing, statement: str, columns: int) -> list[list[str]] | None:
    """Column heads for an annual report's statement whose heads were lost entirely.

    A 10-K's balance sheet shows the fiscal year's end and the one before, its income and cash
    flow statements the fiscal year and the two before, most recent first (the SEC's order, and
    what every filing of both dev sets does). Only that exact shape is read, and each column's
    header says it was inferred. None for anything else.
    """
    if filing.form != "10-K" or not filing.fiscal_year or filing.fiscal_period not in (None, "FY"):
        return None
    if _CONVENTIONAL_COLUMNS.get(statement) != columns:
        return None
    years = [filing.fiscal_year - k for k in range(columns)]
    return [["", *(f"Fiscal {y} ({ASSUMED})" for y in years)]]


# -- table facts ----------------------------------------------------------------------------------


@dataclass
class _TableState:
    """What a continued table carries over: columns, scale and open sections."""

    periods: dict[int, ColumnPeriod]
    scale: float | None
    width: int
    statement: str | None
    caption: str
    path: list[tuple[str, float | None]] = field(default_factory=list)
    fed: bool = False  # a figure row came after the innermost section row


_PER_SHARE = re.compile(r"per\s+(common\s+)?share|per\s+unit|\beps\b", re.I)
_SHARES = re.compile(r"\bshares\b|\bshares?\s+outstanding\b", re.I)
_TOTAL = re.compile(r"^\s*total\b", re.I)
# a label row ending mid-phrase continues on the next row, which carries the figures
_WRAPS = re.compile(r"(\b(of|to|and|for|the|in|from|on|by|with|attributable)|[,&\-])\s*$", re.I)


def _scale_of(*texts: str) -> float | None:
    for text in texts:
        if text:
            found = unit_caption(text, bare=True)
            if found:
                return found.scale
    return None


def _amount(text: str) -> tuple[float, bool] | None:
    """(value, percent) of one cell, or None when it is no single amount."""
    cell = " ".join(text.split()).replace("$ ", "$").replace("( ", "(").replace(" )", ")")
    if not is_amount_cell(cell):
        return None
    cell = cell.rstrip("*")
    if cell.startswith("(") and cell.endswith(")") and cell.count("(") > 1:
        return None
    if cell.startswith(("($", "(€")):  # "($5,053)" -> "(5,053)"
        cell = "(" + cell[2:]
    try:
        value = parse_amount(cell.replace("$", ""))
    except AmountError:
        return None
    return value, cell.endswith(("%", "%)"))


def _x0(table: TableData, row: int) -> float | None:
    for cell in table.cells:
        if cell.row == row and cell.col == 0 and cell.bbox is not None:
            return cell.bbox.x0
    return None


def _table_facts(filing: Filing, chunk: Chunk, state: _TableState) -> list[Fact]:
    table = chunk.table
    assert table is not None
    statement = state.statement
    bboxes = {(c.row, c.col): c.bbox for c in table.cells}
    out: list[Fact] = []
    wrapped = ""  # a label cut at the line's end ("Net income attributable to shareowners of")
    for r, row in enumerate(table.rows):
        label = (row[0] if row else "").strip()
        values = [(c, v.strip()) for c, v in enumerate(row) if c > 0 and v.strip()]
        x0 = _x0(table, r)
        if wrapped:
            label, wrapped = f"{wrapped} {label}".strip(), ""
        if label and not values and _WRAPS.search(label):
            wrapped = label
            continue
        if not label and values:  # an unlabelled total closes the section above it
            section = state.path[-1][0] if state.path else state.caption
            if section and len(section) <= 40 and not any(ch.isdigit() for ch in section):
                label = f"Total {section.rstrip(':').strip()}"
        if label and not values:  # a section row: "Current assets:"
            # right under another section row it nests ("Assets" / "Current assets:"); after
            # figures it replaces the sections at its indent or deeper
            while state.fed and state.path:
                top = state.path[-1][1]
                if x0 is None or top is None or top >= x0 - 1.0:
                    state.path.pop()
                else:
                    break
            state.path.append((label.rstrip(":").strip(), x0))
            state.fed = False
            continue
        if not label or not values:
            continue
        state.fed = True
        while state.path and x0 is not None and state.path[-1][1] is not None:
            if x0 < state.path[-1][1] - 1.0:  # outdented past the section: it has closed
                state.path.pop()
            else:
                break
        path = [p for p, _ in state.path]
        concept = concept_of(label, statement, path) if statement else None
        per_share = bool(_PER_SHARE.search(label)) or bool(path and _PER_SHARE.search(path[-1]))
        if concept and per_share and CONCEPTS[concept].unit != "USD/share":
            concept = None  # "Net income attributable to ..." under "Earnings per share:"
        if concept:
            unit_kind = CONCEPTS[concept].unit
        elif per_share:
            unit_kind = "USD/share"
        elif _SHARES.search(label) or (path and _SHARES.search(path[-1])):
            unit_kind = "shares"
        else:
            unit_kind = "USD"
        for col, text in values:
            period = state.periods.get(col)
            if period is None:
                continue
            amount = _amount(text)
            if amount is None:
                continue
            value, percent = amount
            if percent:
                unit, scale = "percent", 1.0
            elif unit_kind == "USD/share":
                unit, scale = unit_kind, 1.0
            else:
                unit, scale = unit_kind, state.scale or 1.0
            start = None
            if not period.instant and period.end is not None and period.months:
                start = _months_before(period.end, period.months)
            out.append(
                Fact(
                    fact_id=fact_id(filing.doc_id, chunk.page_no, chunk.chunk_id, r, col),
                    doc_id=filing.doc_id,
                    page_no=chunk.page_no,
                    chunk_id=chunk.chunk_id,
                    bbox=bboxes.get((r, col)),
                    statement=statement,
                    table_caption=state.caption,
                    line_item=label,
                    path=path,
                    concept=concept,
                    column=period.header,
                    period_type="instant" if period.instant else "duration",
                    period_start=start,
                    period_end=period.end,
                    months=period.months,
                    fiscal_year=period.fiscal_year,
                    fiscal_period=period.fiscal_period,
                    value=value * scale,
                    scale=scale,
                    unit=unit,
                    text=text,
                    source="table",
                    **_filing_fields(filing),
                )
            )
        if _TOTAL.match(label) and state.path:  # "Total current assets" closes its section
            state.path.pop()
    return out


def _months_before(end: date, months: int) -> date:
    """The first day of a period of ``months`` ending ``end`` (52/53-week ends snap to months)."""
    month = closing_month(end.month, end.day)
    year = end.year - 1 if month > end.month else end.year
    index = year * 12 + (month - 1) - months + 1
    return date(index // 12, index % 12 + 1, 1)


def _filing_fields(filing: Filing) -> dict:
    return {
        "file_name": filing.file_name,
        "company": filing.company,
        "ticker": filing.ticker,
        "form": filing.form,
        "acl": list(filing.acl),
    }


def _statement_scale(chunks: list[Chunk]) -> float | None:
    """The scale a filing's primary statements state most often ("in millions"): the fallback
    for a statement table whose own caption the parser lost. None when they state none."""
    seen: Counter[float] = Counter()
    for chunk in chunks:
        if chunk.statement is None:
            continue
        texts = [chunk.text[:400]]
        if chunk.table is not None:
            header = " ".join(" ".join(r) for r in chunk.table.header_rows)
            texts = [header, chunk.table.caption, *chunk.section_path[-2:]]
        found = _scale_of(*texts)
        if found is not None:
            seen[found] += 1
    return seen.most_common(1)[0][0] if seen else None


def facts_from_chunks(filing: Filing, chunks: list[Chunk]) -> list[Fact]:
    """The facts of a filing's numeric tables (see the module docstring for the rules).

    Args:
        filing: the filing the chunks belong to (its calendar places the columns; its company,
            form and ACL are copied onto each fact).
        chunks: the filing's chunks, any modality; tables are read in document order.

    Example:
        >>> facts = facts_from_chunks(filing, chunks)  # doctest: +SKIP
        >>> [(f.concept, f.fiscal_year, f.value) for f in facts if f.concept == "revenue"]
    """
    cal = FiscalCalendar.of(filing)
    usual_scale = _statement_scale(chunks)
    states: dict[str, _TableState] = {}
    last: _TableState | None = None
    out: list[Fact] = []
    page, lines = 0, []  # the current page's text lines so far, for headers printed as text
    for chunk in sorted(chunks, key=lambda c: (c.order, c.page_no)):
        if chunk.page_no != page:
            page, lines = chunk.page_no, []
        table = chunk.table
        if table is None:
            lines.extend(t.strip() for t in chunk.text.splitlines() if t.strip())
            continue
        if not table.rows:
            continue
        header_text = " ".join(" ".join(r) for r in table.header_rows)
        prev = states.get(chunk.continues_id) if chunk.continues_id else None
        if prev is not None and not table.header_rows:
            state = _TableState(
                prev.periods,
                prev.scale,
                prev.width,
                chunk.statement or prev.statement,
                prev.caption,
                list(prev.path),
            )
        else:
            periods = _column_periods(table, chunk.statement, cal)
            scale = _scale_of(header_text, table.caption, *reversed(chunk.section_path[-2:]))
            if prev is not None:
                scale = scale or prev.scale
            if (
                not table.header_rows
                and last is not None
                and last.width == table.n_cols
                and last.statement == chunk.statement
                and chunk.statement is not None
            ):  # a statement split into headerless tables under the first one's columns
                periods, scale = last.periods, scale or last.scale
            if not periods and not table.header_rows and chunk.statement is not None:
                header = text_header(lines, table.n_cols - 1) or conventional_header(
                    filing, chunk.statement, table.n_cols - 1
                )
                if header is not None:
                    printed = table.model_copy(update={"header_rows": header})
                    periods = _column_periods(printed, chunk.statement, cal)
                    scale = scale or _scale_of(*reversed(lines[-TEXT_HEADER_REACH:]))
            if scale is None and chunk.statement is not None:
                # the unit line printed above the statement, else the one its siblings state
                scale = _scale_of(*reversed(lines)) or usual_scale
            caption = table.caption or (chunk.section_path[-1] if chunk.section_path else "")
            state = _TableState(periods, scale, table.n_cols, chunk.statement, caption)
            if table.caption and not table.header_rows and table.caption.rstrip().endswith(":"):
                state.path.append((table.caption.rstrip(":").strip(), None))
        if state.periods:
            out.extend(_table_facts(filing, chunk, state))
        states[chunk.chunk_id] = state
        last = state if state.periods else last
    return _primary_pages_only(out)


PRIMARY_SHARE = 0.5  # a statement page needs half the concepts of its kind's fullest page


def _primary_pages_only(facts: list[Fact]) -> list[Fact]:
    """Facts of a statement kind keep it only on that kind's primary pages.

    Notes and MD&A tables that carry a statement's title or a few of its line items ("Total net
    sales" of one segment) get the same tag at ingest; the primary statement is the page with
    the most distinct concepts of its kind (a split statement's pages each hold many). Facts on
    the other pages stay, with their concept, as another table's (``statement=None``), so a
    figure the statement lacks can still be found, after the statement's own.
    """
    concepts: dict[tuple[str, int], set[str]] = {}
    for f in facts:
        if f.statement and f.concept:
            concepts.setdefault((f.statement, f.page_no), set()).add(f.concept)
    best: dict[str, int] = {}
    for (kind, _), found in concepts.items():
        best[kind] = max(best.get(kind, 0), len(found))
    keep = {key for key, found in concepts.items() if len(found) >= PRIMARY_SHARE * best[key[0]]}
    return [
        f
        if f.statement is None or (f.statement, f.page_no) in keep
        else f.model_copy(update={"statement": None})
        for f in facts
    ]


# -- inline XBRL ----------------------------------------------------------------------------------

_XBRL_UNITS = {"usd": "USD", "shares": "shares", "pure": "pure"}


def facts_from_ixbrl(filing: Filing, path: Path) -> list[Fact]:
    """The numeric tags of an inline-XBRL HTML filing, as facts (provenance: page 1, the tag).

    Tags with dimensions (segment members) are skipped: they are not the consolidated figure.
    A file without iXBRL gives an empty list.
    """
    from ixbrlparse import IXBRL

    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            doc = IXBRL(fh, raise_on_error=False)
    except Exception:  # not XHTML, no ix:header: no tags to read
        log.debug("no inline XBRL in %s", path, exc_info=True)
        return []
    cal = FiscalCalendar.of(filing)
    out: list[Fact] = []
    for n, tag in enumerate(doc.numeric):
        context = tag.context
        if tag.value is None or isinstance(context, str) or context is None or context.segments:
            continue
        concept = concept_of_xbrl(f"{tag.schema}:{tag.name}") if tag.schema == "us-gaap" else None
        unit = _xbrl_unit(tag.unit)
        if context.instant is not None:
            end, start, months, kind = context.instant, None, None, "instant"
        elif context.enddate is not None and context.startdate is not None:
            # XBRL durations end on the last day: "2023-01-01 to 2023-12-31" is 12 months
            end, start, kind = context.enddate, context.startdate, "duration"
            days = (end - start).days + 1
            months = round(days / 30.44)
            if months not in (3, 6, 9, 12):
                months = None
        else:
            continue
        fiscal_year, fiscal_period = cal.place(end, months) if cal else (None, None)
        fmt = tag.format
        scale_power = getattr(fmt, "scale", 0) or 0
        element = tag.soup_tag.get("id") if tag.soup_tag is not None else None
        out.append(
            Fact(
                fact_id=fact_id(filing.doc_id, 1, "ixbrl", n, 0),
                doc_id=filing.doc_id,
                page_no=1,
                chunk_id=None,
                statement=CONCEPTS[concept].statements[0] if concept else None,
                table_caption=f"ix:nonFraction {element}" if element else "ix:nonFraction",
                line_item=f"{tag.schema}:{tag.name}",
                concept=concept,
                column=f"{context.id}",
                period_type=kind,  # type: ignore[arg-type]
                period_start=start,
                period_end=end,
                months=months,
                fiscal_year=fiscal_year,
                fiscal_period=fiscal_period,
                value=float(tag.value),
                scale=float(10**scale_power),
                unit=unit,
                text=str(tag.text),
                source="ixbrl",
                **_filing_fields(filing),
            )
        )
    return out


def _xbrl_unit(unit: str | None) -> str:
    if not unit:
        return "pure"
    measures = [m.split(":")[-1].lower() for m in re.split(r"[\s/]+", unit) if m]
    if len(measures) == 2 and measures[0] == "usd" and measures[1] == "shares":
        return "USD/share"
    if "usdpershare" in measures:
        return "USD/share"
    return _XBRL_UNITS.get(measures[0], unit) if measures else "pure"
