"""Tables on a PDF page: cheap detection, grid extraction, header resolution, continuation.

Contract: :func:`extract_tables` takes a PyMuPDF page and its words (``page.get_text("words")``)
and returns :class:`FoundTable` items (bbox in PDF points + a :class:`~core.records.TableData`)
in top-to-bottom order. :func:`continue_table` decides whether a table at the top of a page
continues the previous page's table and, if so, carries the header over.

Why not ``page.find_tables()`` on every page: with pymupdf-layout installed it runs a layout model
first (~0.6 s CPU per page) and even without it the line finder costs 0.1-0.2 s per page, which is
several times the whole ingest budget. So in ``auto`` mode:

1. a *gate* groups words into rows and cells (gaps wider than a line height split cells) and
   keeps runs of rows where numeric cells sit to the right of a label -- the shape of every
   financial table. Pages without such runs cost only this pass (~1 ms).
2. each candidate region with a ruled grid (vertical rules inside it) goes to
   ``find_tables(clip=region, use_layout=False)``, whose cell boxes are then filled from the words;
3. regions without inner vertical rules (the usual EDGAR statement: whitespace columns, row
   shading) get a grid built from word alignment: columns are the x-intervals of the numeric cells,
   and a column whose rows mostly hold k separate numbers (a narrow gutter that one wide value
   bridges) is split into k columns at the numbers' right edges, header cells following.

The gate ends a region where the next table visibly starts (a period/column-title row set off
from the body, a line of prose across the value columns) so stacked small tables stay apart, and
a one-line title above a table becomes ``TableData.caption`` rather than a header row (a line
that only states the unit, "(In millions)", stays a header row). Input words are expected to be
normalised text already (:func:`ingest.pdf.normalize_text`).

``always`` runs the library's own full-page ``find_tables()`` (layout model included when
installed) on every page: the slow, maximum-recall reference. ``never`` skips tables.

Cleaning, for both paths: currency-only cells ("$") are dropped, ")" and "%" fragments are glued to
their number, empty columns are removed and columns that never hold text in the same row are
merged, so a statement row reads ``["Total revenues", "66,608", "62,286", "58,158"]``. Leading rows
without amounts are header rows; a header cell spanning several columns (e.g. "Years ended
December 31,") names every column under it, and ``col_header`` joins a column's header texts with
a space.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import pymupdf

from core.figures import is_amount_cell, is_numeric_cell, is_unit_line, is_year
from core.records import BBox, TableCell, TableData

logger = logging.getLogger(__name__)

# A word as returned by page.get_text("words"): x0, y0, x1, y1, text, block, line, word.
WordTuple = tuple[float, float, float, float, str, int, int, int]

_CURRENCY = {"$", "\u20ac", "\u00a3", "US$"}
_TRAILERS = {")", "%", ")%", "%)", "pts", "bps"}
_MIN_BODY_ROWS = 2
# what the label cell of a column-header row says, if anything ("In Millions", "Years ended")
_HEADER_LABEL = re.compile(
    r"\b(millions|thousands|billions|dollars|years?|quarters?|months?|"
    r"weeks?|periods?|ended|as of)\b|\$",
    re.I,
)


@dataclass
class _Segment:
    """Adjacent words of one row that belong to one cell."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    # cached: the gate and the grid ask every segment several times, and is_numeric_cell is regexes
    @cached_property
    def numeric(self) -> bool:
        return is_numeric_cell(self.text)

    @cached_property
    def amount(self) -> bool:
        return self.numeric and not is_year(self.text)


@dataclass
class _Row:
    y0: float
    y1: float
    segments: list[_Segment] = field(default_factory=list)

    @cached_property  # asked only once the row's segments are final (after group_rows)
    def tabular(self) -> bool:
        """A label (or nothing) followed by numeric cells: a financial-table row."""
        return (
            len(self.segments) >= 2
            and sum(s.numeric for s in self.segments[1:]) >= 1
            and (all(s.numeric for s in self.segments[1:]) or len(self.segments) >= 3)
        )


def _values(row: _Row) -> list[_Segment]:
    """The value cells of a row: all but the label, or all when the row has no label (a period
    row such as ``["2023", "2022", "2021"]`` over an empty top-left cell)."""
    if row.segments and row.segments[0].numeric:
        return row.segments
    return row.segments[1:]


def _has_amount(row: _Row) -> bool:
    return any(s.amount for s in row.segments)


@dataclass
class FoundTable:
    """A table found on a page: where it is and what it says."""

    bbox: BBox
    data: TableData
    col_x: list[tuple[float, float]]  # x-interval of each final column, for continuation checks
    method: str  # "grid" (word alignment), "lines" (clipped find_tables) or "full" (always mode)


# --------------------------------------------------------------------------- rows and the gate


def group_rows(words: Sequence[WordTuple]) -> list[_Row]:
    """Words -> rows (by vertical overlap) -> cell segments (by horizontal gaps)."""
    rows: list[_Row] = []
    for w in sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0])):
        x0, y0, x1, y1, text = w[:5]
        yc = (y0 + y1) / 2
        if rows and rows[-1].y0 <= yc <= rows[-1].y1:
            row = rows[-1]
            row.y0, row.y1 = min(row.y0, y0), max(row.y1, y1)
        else:
            row = _Row(y0, y1)
            rows.append(row)
        row.segments.append(_Segment(x0, y0, x1, y1, text))  # one word for now
    for row in rows:
        row.segments = _segment(sorted(row.segments, key=lambda s: s.x0), row.y1 - row.y0)
    # A row of nothing but currency signs (a "$" set on its own baseline, above or below its
    # figure) has no segment left once the sign is glued away; every caller reads
    # ``segments[0]``, so such a row is dropped here rather than guarded everywhere.
    return [row for row in rows if row.segments]


def _segment(words: list[_Segment], height: float) -> list[_Segment]:
    gap = max(6.0, 0.9 * height)  # wider than any justified word space, narrower than a column gap
    out: list[_Segment] = []
    for w in words:
        # a currency sign or a second number always opens a new cell, however close
        joins = (
            out
            and w.x0 - out[-1].x1 < gap
            and w.text not in _CURRENCY
            and not (out[-1].numeric and w.numeric and w.x0 - out[-1].x1 > 2.5)
        )
        if joins:
            last = out[-1]
            out[-1] = _Segment(
                last.x0,
                min(last.y0, w.y0),
                max(last.x1, w.x1),
                max(last.y1, w.y1),
                f"{last.text} {w.text}",
            )
        else:
            out.append(w)
    # glue "$" to the following cell and ")" / "%" to the preceding one, whatever the gap
    glued: list[_Segment] = []
    pending: _Segment | None = None
    for s in out:
        if s.text.strip() in _CURRENCY:
            pending = s
            continue
        if pending is not None:
            s = _Segment(pending.x0, min(pending.y0, s.y0), s.x1, max(pending.y1, s.y1), s.text)
            pending = None
        if glued and s.text.strip() in _TRAILERS and glued[-1].numeric:
            last = glued[-1]
            glued[-1] = _Segment(last.x0, last.y0, s.x1, last.y1, last.text + s.text.strip())
            continue
        glued.append(s)
    return glued


def table_regions(rows: list[_Row], max_gap_rows: int = 2) -> list[tuple[int, int]]:
    """The gate: (first, last) row indices of runs of tabular rows, headers included.

    A run tolerates up to ``max_gap_rows`` non-tabular rows (sub-headings like "Operating
    expenses:") and is extended upwards over header-like rows (period rows, spanning headers,
    a unit line such as "(In millions)"; a sub-heading ending in ":" is passed over when a
    period row sits above it). A run ends where the next table visibly starts: a column-header
    row (periods or column titles, no amounts) set off from the rows above, a line of prose
    running across the value columns, or value columns that no longer line up after a gap. A
    one-line title above a table (e.g. "Revenue by segment (in millions)") is not a header row;
    :func:`caption_above` reads it as the caption.
    """
    regions: list[tuple[int, int]] = []
    i, n = 0, len(rows)
    while i < n:
        if not rows[i].tabular:
            i += 1
            continue
        start = end = i
        count = 1
        value_x0 = rows[i].segments[1].x0
        value_x1 = rows[i].segments[1].x1  # about the right edge of the first value column
        amounts = _has_amount(rows[i])
        j = i + 1
        gap = 0
        while j < n and gap <= max_gap_rows:
            row = rows[j]
            height = row.y1 - row.y0
            space = row.y0 - rows[j - 1].y1
            if space > 3.0 * max(height, 6.0):
                break
            if (
                amounts
                and (gap or space > max(4.0, 0.6 * height))
                and _column_header_row(row, value_x0)
            ):
                break  # the header of the next table
            if row.tabular:
                if gap and not _same_columns(rows[end], row):
                    break  # a caption between two tables: the next one starts here
                end, count, gap = j, count + 1, 0
                value_x0 = min(value_x0, row.segments[1].x0)
                value_x1 = min(value_x1, row.segments[1].x1)
                amounts = amounts or _has_amount(row)
            elif _prose(row, value_x0, value_x1):
                break
            else:
                gap += 1
            j += 1
        # one body row under a header block (an option-summary line) is a table too
        single = count == 1 and sum(s.amount for s in _values(rows[start])) >= 3
        if count >= _MIN_BODY_ROWS or single:
            value_x0 = min(r.segments[1].x0 for r in rows[start : end + 1] if r.tabular)
            k = start
            while k > 0 and start - k < 4:
                if not _close_above(rows, k):
                    break
                above = rows[k - 1]
                if _header_like(above, value_x0):
                    k -= 1
                elif (
                    k >= 2
                    and start - k < 3
                    and _subheading(above, value_x0)
                    and _close_above(rows, k - 1)
                    and len(rows[k - 2].segments) >= 2
                    and not _has_amount(rows[k - 2])
                ):
                    k -= 2  # "Net sales:" between the period row and the first body row
                else:
                    break
            if regions and k <= regions[-1][1]:
                k = regions[-1][1] + 1
            if count >= _MIN_BODY_ROWS or any(len(rows[h].segments) >= 2 for h in range(k, start)):
                regions.append((k, end))
        i = end + 1
    return regions


def _close_above(rows: list[_Row], k: int) -> bool:
    above = rows[k - 1]
    return rows[k].y0 - above.y1 <= 2.5 * max(above.y1 - above.y0, 6.0)


def _same_columns(a: _Row, b: _Row, tolerance: float = 3.0) -> bool:
    """Whether most numeric cells of ``b`` end where a numeric cell of ``a`` ends."""
    edges = [s.x1 for s in _values(a) if s.numeric]
    mine = [s.x1 for s in _values(b) if s.numeric]
    hits = sum(any(abs(x - e) <= tolerance for e in edges) for x in mine)
    return hits * 2 >= len(mine)


def _header_like(row: _Row, value_x0: float) -> bool:
    """A row that can head a table: several cells, text over the value columns, or a unit line.

    A single line in the label column is a title (the caption) unless it only states the unit.
    """
    if len(row.segments) >= 2:
        return True
    seg = row.segments[0]
    if seg.x0 >= value_x0 - 20:
        return True
    return is_unit_line(seg.text.strip())


def _subheading(row: _Row, value_x0: float) -> bool:
    seg = row.segments[0]
    return len(row.segments) == 1 and seg.x1 < value_x0 and seg.text.rstrip().endswith(":")


def _column_header_row(row: _Row, value_x0: float) -> bool:
    """Periods or column titles over the value columns, no amounts, no real row label."""
    if _has_amount(row):
        return False
    over = [s for s in row.segments if s.x0 >= value_x0 - 20]
    labels = [s for s in row.segments if s.x0 < value_x0 - 20]
    return (
        bool(over)
        and all(_HEADER_LABEL.search(s.text) for s in labels)
        and all(_title_like(s.text) for s in over)
    )


def _title_like(text: str) -> bool:
    """Short enough for a column title; a wrapped sentence of a text column is not one."""
    words = text.split()
    return (
        len(words) <= 6
        and not words[0][0].islower()
        and not (len(words) >= 3 and text.rstrip().endswith("."))
    )


def _prose(row: _Row, value_x0: float, value_x1: float) -> bool:
    """A sentence running from the label column across the first value column."""
    if len(row.segments) != 1:
        return False
    seg = row.segments[0]
    text = seg.text.rstrip()
    return (
        seg.x0 < value_x0 - 20
        and seg.x1 > value_x1 + 5
        and len(text.split()) >= 6
        and not text.endswith(":")
    )


def caption_above(rows: list[_Row], first: int) -> str:
    """A one-cell row just above a table (its title), or "".

    The tail of a sentence ("follows:", starting in lower case) is not a title.
    """
    if first == 0:
        return ""
    above, top = rows[first - 1], rows[first]
    height = above.y1 - above.y0
    if len(above.segments) == 1 and top.y0 - above.y1 < 2.5 * max(height, 6.0):
        text = above.segments[0].text
        if len(text) < 120 and not text.endswith(".") and not text[:1].islower():
            return text
    return ""


# --------------------------------------------------------------------------- grids


def _word_grid(rows: list[_Row]) -> tuple[list[list[list[_Segment]]], list[tuple[float, float]]]:
    """Columns from the x-intervals of body segments; returns grid[row][col] -> segments."""
    intervals: list[list[float]] = []
    body = [r for r in rows if r.tabular]
    label_right = min((r.segments[1].x0 for r in body), default=0.0)
    for row in body:
        for s in row.segments:
            if s.x0 >= label_right - 1:  # value cells only; labels form column 0
                intervals.append([s.x0, s.x1])
    intervals.sort()
    cols: list[list[float]] = []
    for x0, x1 in intervals:
        if cols and x0 <= cols[-1][1] + 1:
            cols[-1][1] = max(cols[-1][1], x1)
        else:
            cols.append([x0, x1])
    col_x = [(min(s.segments[0].x0 for s in rows), label_right)] + [(a, b) for a, b in cols]
    # a period over an empty top-left cell can sit left of the numbers it heads (centred over
    # a wide column) but right of every label: it belongs to a value column, not the labels
    label_x1 = max(
        (
            r.segments[0].x1
            for r in rows
            if not r.segments[0].numeric and r.segments[0].x0 < label_right - 1
        ),
        default=label_right,
    )
    grid: list[list[list[_Segment]]] = []
    for row in rows:
        cells: list[list[_Segment]] = [[] for _ in col_x]
        for s in row.segments:
            value = len(col_x) > 1 and s.numeric and s.x0 > label_x1 + 5
            cells[_column_of(s, col_x, label_right, value)].append(s)
        grid.append(cells)
    _split_packed_columns(grid, col_x, [i for i, r in enumerate(rows) if r.tabular])
    return grid, col_x


def _split_packed_columns(
    grid: list[list[list[_Segment]]], col_x: list[tuple[float, float]], body: list[int]
) -> None:
    """Split a column whose rows consistently hold k separate numbers into k columns (in place).

    Interval union merges two value columns as soon as one value of the right column reaches
    under the left one (a narrow gutter, a wide negative next to a blank cell, padded boxes).
    When at least two thirds of the body rows with numbers in the column hold the same number k
    >= 2 of them, those rows show the real columns: sub-column i ends at the median right edge
    of the rows' i-th number (amounts are right-aligned), and every segment of the column, header
    cells included, moves to its sub-column. A lone annotation such as "387 (13)" in a few rows
    is left alone.
    """
    c = 1
    while c < len(col_x):
        per_row = []
        for r in body:
            numbers = [s for s in grid[r][c] if s.numeric]
            if numbers:
                per_row.append(sorted(numbers, key=lambda s: s.x0))
        k = max((len(n) for n in per_row), default=0)
        full = [n for n in per_row if len(n) == k]
        if k < 2 or len(full) < 2 or 3 * len(full) < 2 * len(per_row):
            c += 1
            continue
        rights = [sorted(n[i].x1 for n in full)[len(full) // 2] for i in range(k)]
        lefts = [min(n[i].x0 for n in full) for i in range(k)]
        if any(rights[i] >= lefts[i + 1] for i in range(k - 1)):
            c += 1  # the numbers interleave: not k clean sub-columns
            continue
        for cells in grid:
            parts: list[list[_Segment]] = [[] for _ in range(k)]
            for s in cells[c]:
                parts[_sub_column(s, lefts, rights)].append(s)
            cells[c : c + 1] = parts
        extents = [
            (lefts[i], max([rights[i]] + [s.x1 for cells in grid for s in cells[c + i]]))
            for i in range(k)
        ]
        col_x[c : c + 1] = extents
        c += k


def _sub_column(s: _Segment, lefts: list[float], rights: list[float]) -> int:
    """Numbers go by their right edge; text by overlap, else by distance to its centre."""
    if s.numeric:
        return min(range(len(rights)), key=lambda i: abs(s.x1 - rights[i]))
    overlaps = [min(s.x1, rights[i]) - max(s.x0, lefts[i]) for i in range(len(rights))]
    best = max(range(len(rights)), key=lambda i: overlaps[i])
    if overlaps[best] > 0:
        return best
    centre = (s.x0 + s.x1) / 2
    return min(range(len(rights)), key=lambda i: abs(centre - (lefts[i] + rights[i]) / 2))


def _column_of(
    s: _Segment, col_x: list[tuple[float, float]], label_right: float, value: bool = False
) -> int:
    if not value and (s.x1 <= label_right + 1 or s.x0 < label_right - 1 and len(col_x) == 1):
        return 0
    best, best_overlap = 0, -1e9
    for c, (a, b) in enumerate(col_x[1:], start=1):
        overlap = min(b, s.x1) - max(a, s.x0)  # negative: distance to the column
        if overlap > best_overlap:
            best, best_overlap = c, overlap
    if s.x0 < label_right - 1 and best_overlap < 0 and not value:
        return 0
    return best


def _cells_grid(
    table: pymupdf.table.Table, words: Sequence[WordTuple]
) -> tuple[list[list[list[_Segment]]], list[tuple[float, float]]]:
    """find_tables' cell boxes filled from the page words (cheaper than Table.extract())."""
    n_cols = table.col_count
    col_x: list[list[float]] = [[1e9, -1e9] for _ in range(n_cols)]
    grid: list[list[list[_Segment]]] = []
    tb = table.bbox
    inside = [
        w
        for w in words
        if tb[0] - 1 <= (w[0] + w[2]) / 2 <= tb[2] + 1
        and tb[1] - 1 <= (w[1] + w[3]) / 2 <= tb[3] + 1
    ]
    for row in table.rows:
        cells: list[list[_Segment]] = [[] for _ in range(n_cols)]
        for c, box in enumerate(row.cells):
            if box is None:
                continue
            col_x[c][0], col_x[c][1] = min(col_x[c][0], box[0]), max(col_x[c][1], box[2])
            for w in inside:
                xc, yc = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
                if box[0] <= xc <= box[2] and box[1] <= yc <= box[3]:
                    cells[c].append(_Segment(w[0], w[1], w[2], w[3], w[4]))
        grid.append(cells)
    return grid, [(a, b) for a, b in col_x]


def _cell_text(segments: list[_Segment]) -> str:
    segments = sorted(segments, key=lambda s: (round(s.y0 / 3), s.x0))
    text = " ".join(s.text for s in segments)
    text = re.sub(r"^[$\u20ac\u00a3]\s*", "", text).strip()
    text = re.sub(r"\s+([)%])", r"\1", text)
    return "" if text in _CURRENCY else text


def build_table(
    grid: list[list[list[_Segment]]], col_x: list[tuple[float, float]]
) -> tuple[TableData, list[tuple[float, float]]]:
    """Clean a raw grid into :class:`TableData` (headers resolved, cells with their headers)."""
    texts = [[_cell_text(c) for c in row] for row in grid]
    extents = [[_extent(c) for c in row] for row in grid]
    n_cols = max((len(r) for r in texts), default=0)
    # drop empty rows and columns
    keep_rows = [i for i, r in enumerate(texts) if any(r)]
    texts = [texts[i] for i in keep_rows]
    extents = [extents[i] for i in keep_rows]
    keep_cols = [c for c in range(n_cols) if any(r[c] for r in texts)]
    texts = [[r[c] for c in keep_cols] for r in texts]
    extents = [[r[c] for c in keep_cols] for r in extents]
    col_x = [col_x[c] for c in keep_cols]
    # merge neighbouring columns that never hold text in the same row (split header cells,
    # detached signs): never merge into the label column from a numeric one
    c = 0
    while c + 1 < len(col_x):
        if not any(r[c] and r[c + 1] for r in texts) and not (c == 0 and _mostly_numeric(texts, 1)):
            for r, e in zip(texts, extents, strict=True):
                r[c] = r[c] or r[c + 1]
                e[c] = e[c] or e[c + 1]
                del r[c + 1], e[c + 1]
            col_x[c] = (min(col_x[c][0], col_x[c + 1][0]), max(col_x[c][1], col_x[c + 1][1]))
            del col_x[c + 1]
        else:
            c += 1
    n_header = _header_count(texts)
    header_rows = [list(r) for r in texts[:n_header]]
    # a header cell spanning several columns ("Years ended December 31,", a year over
    # "Level 2 | Level 3") names each empty column under it: in every header row but the last,
    # an empty value column takes the nearest header cell of that row
    for r in range(n_header - 1):
        spans = [(c, extents[r][c]) for c in range(1, len(col_x)) if texts[r][c] and extents[r][c]]
        if not spans:
            continue
        for k in range(1, len(col_x)):
            if header_rows[r][k]:
                continue
            centre = (col_x[k][0] + col_x[k][1]) / 2
            c, _ = min(spans, key=lambda s: max(0.0, s[1][0] - centre, centre - s[1][2]))
            header_rows[r][k] = texts[r][c]
    body = [list(r) for r in texts[n_header:]]
    body_extents = extents[n_header:]
    data = TableData(header_rows=header_rows, rows=body)
    cell_boxes = {(r, c): body_extents[r][c] for r in range(len(body)) for c in range(len(body[r]))}
    _fill_cells(data, cell_boxes)
    return data, col_x


def _mostly_numeric(texts: list[list[str]], c: int) -> bool:
    values = [r[c] for r in texts if c < len(r) and r[c]]
    return bool(values) and sum(is_numeric_cell(v) for v in values) >= 0.5 * len(values)


def _extent(segments: list[_Segment]) -> tuple[float, float, float, float] | None:
    if not segments:
        return None
    return (
        min(s.x0 for s in segments),
        min(s.y0 for s in segments),
        max(s.x1 for s in segments),
        max(s.y1 for s in segments),
    )


def _header_count(texts: list[list[str]]) -> int:
    """Leading rows with no amounts; the last of them must name a value column."""
    count = 0
    for i, row in enumerate(texts):
        if any(is_amount_cell(t) for t in row[1:]) or (row and row[0] and is_amount_cell(row[0])):
            break
        if any(row[1:]):
            count = i + 1
        elif i >= 4:
            break
    if count >= len(texts):  # a table of words: only the first row is a header
        return min(1, len(texts) - 1)
    return count


def _fill_cells(data: TableData, boxes: dict[tuple[int, int], tuple | None] | None = None) -> None:
    """(Re)compute cells with row/column headers, and the markdown, from header_rows and rows."""
    n_cols = data.n_cols
    col_headers = []
    for c in range(n_cols):
        parts: list[str] = []
        for hr in data.header_rows:
            if c < len(hr) and hr[c] and (not parts or parts[-1] != hr[c]):
                parts.append(hr[c])
        col_headers.append(" ".join(parts))
    old = {(cell.row, cell.col): cell.bbox for cell in data.cells}
    cells: list[TableCell] = []
    for r, row in enumerate(data.rows):
        label = next((t for t in row if t and not is_numeric_cell(t)), "")
        for c, text in enumerate(row):
            if not text:
                continue
            box = (boxes or {}).get((r, c))
            bbox = BBox(x0=box[0], y0=box[1], x1=box[2], y1=box[3]) if box else old.get((r, c))
            cells.append(
                TableCell(
                    row=r,
                    col=c,
                    text=text,
                    row_header=label if text != label else "",
                    col_header=col_headers[c],
                    bbox=bbox,
                )
            )
    data.cells = cells
    data.markdown = to_markdown(col_headers, data.rows)


def to_markdown(col_headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-style pipe table; the header line is the joined column headers."""
    n = max([len(col_headers)] + [len(r) for r in rows])

    def line(cells: list[str]) -> str:
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in cells] + [""] * (n - len(cells))
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(col_headers), "|" + "---|" * n] + [line(r) for r in rows])


# --------------------------------------------------------------------------- page level


def extract_tables(
    page: pymupdf.Page,
    words: Sequence[WordTuple],
    mode: str = "auto",
    timings: dict[str, float] | None = None,
) -> list[FoundTable]:
    """Find and extract the tables on ``page`` (see the module docstring for ``mode``)."""
    import time

    if mode == "never" or not words:
        return []
    t0 = time.process_time()
    if mode == "always":
        found = _full_page(page, words)
        if timings is not None:
            timings["table_extract"] = timings.get("table_extract", 0.0) + time.process_time() - t0
        return found
    rows = group_rows(words)
    regions = table_regions(rows)
    t1 = time.process_time()
    found: list[FoundTable] = []
    vertical = _vertical_rules(page) if regions else []
    for first, last in regions:
        region_rows = rows[first : last + 1]
        rect = pymupdf.Rect(
            min(r.segments[0].x0 for r in region_rows) - 2,
            region_rows[0].y0 - 2,
            max(r.segments[-1].x1 for r in region_rows) + 2,
            region_rows[-1].y1 + 2,
        )
        inner = [
            x
            for x, y0, y1 in vertical
            if rect.x0 + 4 < x < rect.x1 - 4
            and min(y1, rect.y1) - max(y0, rect.y0) > 0.5 * rect.height
        ]
        table: FoundTable | None = None
        if len(inner) >= 2:
            table = _lines_table(page, words, rect)
        if table is None:
            grid, col_x = _word_grid(region_rows)
            data, col_x = build_table(grid, col_x)
            table = FoundTable(_bbox(rect), data, col_x, "grid")
        if table.data.rows and table.data.n_cols >= 2:
            table.data.caption = caption_above(rows, first)
            found.append(table)
    if timings is not None:
        timings["table_gate"] = timings.get("table_gate", 0.0) + (t1 - t0)
        timings["table_extract"] = timings.get("table_extract", 0.0) + (time.process_time() - t1)
    return found


def _vertical_rules(page: pymupdf.Page) -> list[tuple[float, float, float]]:
    """x, y0, y1 of vertical strokes and of the left/right sides of filled rectangles."""
    out: list[tuple[float, float, float]] = []
    for path in page.get_cdrawings():
        r = pymupdf.Rect(path["rect"])
        if r.width < 2.0 and r.height > 4:  # a vertical line or thin bar
            out.append((r.x0, r.y0, r.y1))
        elif r.height > 4 and r.width >= 2.0 and any(item[0] == "re" for item in path["items"]):
            out.append((r.x0, r.y0, r.y1))
            out.append((r.x1, r.y0, r.y1))
    return out


def _lines_table(
    page: pymupdf.Page, words: Sequence[WordTuple], rect: pymupdf.Rect
) -> FoundTable | None:
    finder = page.find_tables(clip=rect, use_layout=False)
    best = None
    for tab in finder.tables if finder else []:
        if (
            tab.col_count >= 2
            and tab.row_count >= 2
            and (best is None or _area(tab.bbox) > _area(best.bbox))
        ):
            best = tab
    if best is None or _area(best.bbox) < 0.5 * rect.width * rect.height:
        return None
    grid, col_x = _cells_grid(best, words)
    data, col_x = build_table(grid, col_x)
    return FoundTable(_bbox(pymupdf.Rect(best.bbox)), data, col_x, "lines")


def _full_page(page: pymupdf.Page, words: Sequence[WordTuple]) -> list[FoundTable]:
    finder = page.find_tables()
    out = []
    for tab in sorted(finder.tables if finder else [], key=lambda t: (t.bbox[1], t.bbox[0])):
        grid, col_x = _cells_grid(tab, words)
        data, col_x = build_table(grid, col_x)
        if data.rows:
            out.append(FoundTable(_bbox(pymupdf.Rect(tab.bbox)), data, col_x, "full"))
    return out


def _area(b: Sequence[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _bbox(r: pymupdf.Rect) -> BBox:
    return BBox(x0=r.x0, y0=r.y0, x1=r.x1, y1=r.y1)


# --------------------------------------------------------------------------- continuation


def continue_table(previous: FoundTable, current: FoundTable, tolerance: float = 12.0) -> bool:
    """Mark ``current`` as the continuation of ``previous`` when the columns line up.

    True when ``current`` has no header of its own, the same number of columns, and each value
    column's right edge (numbers are right-aligned) within ``tolerance`` points of the previous
    table's; the previous header rows are then carried over and the cells' column headers and
    markdown recomputed. ``current`` is changed in place.
    """
    cur, prev = current.data, previous.data
    if cur.header_rows or not prev.header_rows and not prev.continued:
        return False
    if cur.n_cols != prev.n_cols or len(current.col_x) != len(previous.col_x):
        return False
    if any(
        abs(a[1] - b[1]) > tolerance
        for a, b in zip(current.col_x[1:], previous.col_x[1:], strict=True)
    ):
        return False
    cur.header_rows = [list(r) for r in prev.header_rows]
    cur.continued = True
    if not cur.caption:
        cur.caption = prev.caption
    _fill_cells(cur)
    return True
