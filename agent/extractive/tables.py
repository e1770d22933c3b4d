"""Table chunks read as rows of cells by period, and the row a question asks about.

Contract: :func:`read_table` keeps the cells that state a figure under a column naming one year
("2023", "Fiscal 2024", "Years ended December 31, 2022"), with the table's unit caption;
:func:`best_row` picks the row whose label the question's (or the glossary's) words account for,
preferring rows that hold more of the asked periods; :func:`operand` finds a statement row
("Total current assets") by its label for arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.extractive.terms import WEAK, YEAR, tokens
from core.figures import has_digit, unit_caption
from core.records import BBox, Chunk

MIN_ROW_SCORE = 0.5  # share of a row label's (weighted) words the question or glossary accounts for


@dataclass
class Cell:
    text: str
    row_header: str
    col_header: str
    year: int
    bbox: BBox | None


@dataclass
class Row:
    label: str
    cells: dict[int, Cell]  # year -> cell


@dataclass
class Table:
    chunk: Chunk
    rank: int
    unit: str
    rows: list[Row]


def column_year(header: str) -> int | None:
    years = {int(y) for y in YEAR.findall(header)}
    return years.pop() if len(years) == 1 else None


def table_unit(chunk: Chunk) -> str:
    table = chunk.table
    sources = [
        table.caption if table else "",
        *(" ".join(r) for r in (table.header_rows if table else [])),
    ]
    sources.append(chunk.text[:300])
    for text in sources:
        caption = unit_caption(text or "", bounded=False)
        if caption is not None:
            return f"(in {caption.word})"
    return ""


def read_table(chunk: Chunk, rank: int) -> Table | None:
    table = chunk.table
    if table is None:
        return None
    rows: dict[str, Row] = {}
    order: list[str] = []

    def add(label: str, text: str, col_header: str, bbox: BBox | None) -> None:
        year = column_year(col_header)
        label = " ".join(label.split())
        if not label or year is None or not has_digit(text):
            return
        if label not in rows:
            rows[label] = Row(label, {})
            order.append(label)
        rows[label].cells.setdefault(
            year, Cell(text.strip(), label, col_header.strip(), year, bbox)
        )

    if table.cells:
        for cell in table.cells:
            add(cell.row_header, cell.text, cell.col_header, cell.bbox)
    else:
        for body in table.rows:
            if not body:
                continue
            for col in range(1, len(body)):
                header = " ".join(h[col] for h in table.header_rows if col < len(h) and h[col])
                add(body[0], body[col], header, None)
    if not rows:
        return None
    return Table(chunk, rank, table_unit(chunk), [rows[k] for k in order])


def row_score(label: str, question_terms: set[str], glossary_terms: set[str]) -> float:
    words = tokens(label, drop=frozenset({"of", "and", "the", "in", "for", "to", "from", "by"}))
    if not words:
        return 0.0
    total = matched = 0.0
    strong = False
    for word in words:
        weight = 0.3 if word in WEAK else 1.0
        total += weight
        if word in question_terms:
            matched += weight
            strong = strong or word not in WEAK
        elif word in glossary_terms:
            matched += 0.8 * weight
            strong = strong or word not in WEAK
    return matched / total if strong else 0.0


@dataclass
class Found:
    table: Table
    row: Row
    score: float


def best_row(
    tables: list[Table], question_terms: set[str], glossary_terms: set[str], years: list[int]
) -> Found | None:
    best: tuple[float, int, int] | None = None
    found: Found | None = None
    for table in tables:
        for row in table.rows:
            score = row_score(row.label, question_terms, glossary_terms)
            if score < MIN_ROW_SCORE:
                continue
            have = sum(1 for y in years if y in row.cells) if years else len(row.cells)
            # The row holding more of the asked periods wins, then the label, then retrieval rank.
            key = (have, score, -table.rank)
            if best is None or key > (best[0], best[1], best[2]):
                best = key
                found = Found(table, row, score)
    return found


def operand(tables: list[Table], pattern: re.Pattern[str], year: int) -> tuple[Table, Cell] | None:
    for table in tables:
        matches = [r for r in table.rows if pattern.search(r.label.lower()) and year in r.cells]
        if matches:
            # "Total net sales" over a product line's "Net sales" when a table has both.
            matches.sort(key=lambda r: not r.label.lower().startswith("total"))
            return table, matches[0].cells[year]
    return None
