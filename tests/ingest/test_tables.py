"""The table gate, grid cleaning and continuation, on hand-placed words."""

from __future__ import annotations

import pymupdf
import pytest

from core.figures import is_numeric_cell
from core.records import BBox, TableData
from ingest.tables import (
    FoundTable,
    build_table,
    continue_table,
    extract_tables,
    group_rows,
    table_regions,
    to_markdown,
)


def _words(rows: list[tuple[float, list[tuple[float, str]]]], size: float = 10.0):
    """(y baseline, [(x, text)]) -> get_text("words") tuples; x is the word's left edge."""
    out = []
    for y, cells in rows:
        for x, text in cells:
            for k, word in enumerate(text.split()):
                x0 = x + sum(
                    pymupdf.get_text_length(w + " ", fontsize=size) for w in text.split()[:k]
                )
                x1 = x0 + pymupdf.get_text_length(word, fontsize=size)
                out.append((x0, y - size * 0.8, x1, y + size * 0.2, word, 0, 0, k))
    return out


STATEMENT = [
    (100, [(300, "Years ended December 31,")]),
    (116, [(260, "2022"), (360, "2021"), (460, "2020")]),
    (
        132,
        [
            (54, "Total revenues"),
            (240, "$"),
            (262, "66,608"),
            (340, "$"),
            (362, "62,286"),
            (440, "$"),
            (462, "58,158"),
        ],
    ),
    (
        148,
        [
            (54, "Cost of sales"),
            (258, "(54,000"),
            (292, ")"),
            (358, "(51,000"),
            (392, ")"),
            (458, "(49,000"),
            (492, ")"),
        ],
    ),
    (164, [(54, "Gross margin"), (262, "12,608"), (362, "11,286"), (466, "9,158")]),
]
PROSE = [
    (300, [(54, "Revenues were $66,608 million in 2022 compared with $62,286 million in 2021,")]),
    (314, [(54, "an increase of 7% driven by higher deliveries and services growth in 2022.")]),
]


def _grid(rows_spec):
    rows = group_rows(_words(rows_spec))
    ((first, last),) = table_regions(rows)
    from ingest.tables import _word_grid  # the grid builder behind extract_tables

    grid, col_x = _word_grid(rows[first : last + 1])
    return build_table(grid, col_x)


@pytest.mark.parametrize("text", ["66,608", "(1,234)", "12.5%", "$4", "\u2014", "2022", "(5)%"])
def test_numeric_tokens(text: str) -> None:
    assert is_numeric_cell(text)


@pytest.mark.parametrize("text", ["Revenues", "Item 7.", "10-K", "Q3"])
def test_non_numeric_tokens(text: str) -> None:
    assert not is_numeric_cell(text)


def test_gate_ignores_prose_with_numbers() -> None:
    assert table_regions(group_rows(_words(PROSE))) == []


def test_gate_finds_the_statement_with_its_header_rows() -> None:
    rows = group_rows(_words(PROSE[:1] + STATEMENT))
    regions = table_regions(rows)
    assert len(regions) == 1
    first, last = regions[0]
    assert "Years" in rows[first].segments[0].text and "Gross" in rows[last].segments[0].text


def test_dollar_and_paren_columns_are_folded_into_the_values() -> None:
    data, col_x = _grid(STATEMENT)
    assert data.rows == [
        ["Total revenues", "66,608", "62,286", "58,158"],
        ["Cost of sales", "(54,000)", "(51,000)", "(49,000)"],
        ["Gross margin", "12,608", "11,286", "9,158"],
    ]
    assert len(col_x) == 4


def test_spanning_header_names_every_column_under_it() -> None:
    data, _ = _grid(STATEMENT)
    assert data.header_rows == [
        ["", "Years ended December 31,", "Years ended December 31,", "Years ended December 31,"],
        ["", "2022", "2021", "2020"],
    ]
    by_value = {c.text: c for c in data.cells}
    assert by_value["11,286"].row_header == "Gross margin"
    assert by_value["11,286"].col_header == "Years ended December 31, 2021"
    assert by_value["Gross margin"].row_header == ""  # the label cell is its own header
    bbox = by_value["58,158"].bbox
    assert bbox is not None and bbox.x0 >= 440 and bbox.x1 < 520


def test_markdown_has_one_header_line() -> None:
    data, _ = _grid(STATEMENT)
    lines = data.markdown.splitlines()
    assert lines[0] == (
        "|  | Years ended December 31, 2022 | Years ended December 31, 2021 | "
        "Years ended December 31, 2020 |"
    )
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| Total revenues | 66,608 | 62,286 | 58,158 |"
    assert to_markdown(["a"], [["x|y"]]).splitlines()[-1] == "| x\\|y |"


def _found(data: TableData, col_x) -> FoundTable:
    return FoundTable(BBox(x0=50, y0=50, x1=520, y1=200), data, col_x, "grid")


def test_continuation_carries_the_header() -> None:
    head, head_x = _grid(STATEMENT)
    body_only = [
        (80, [(54, "Operating income"), (262, "9,608"), (362, "8,824"), (462, "7,347")]),
        (
            96,
            [
                (54, "Net income"),
                (240, "$"),
                (262, "7,118"),
                (340, "$"),
                (362, "6,482"),
                (440, "$"),
                (462, "5,301"),
            ],
        ),
    ]
    tail, tail_x = _grid(body_only)
    assert tail.header_rows == []
    nxt = _found(tail, tail_x)
    assert continue_table(_found(head, head_x), nxt)
    assert nxt.data.continued and nxt.data.header_rows == head.header_rows
    cell = next(c for c in nxt.data.cells if c.text == "6,482")
    assert (cell.row_header, cell.col_header) == ("Net income", "Years ended December 31, 2021")


def test_no_continuation_when_columns_do_not_line_up() -> None:
    head, head_x = _grid(STATEMENT)
    shifted = [
        (80, [(54, "Operating income"), (200, "9,608"), (300, "8,824"), (400, "7,347")]),
        (96, [(54, "Net income"), (200, "7,118"), (300, "6,482"), (400, "5,301")]),
    ]
    tail, tail_x = _grid(shifted)
    nxt = _found(tail, tail_x)
    assert not continue_table(_found(head, head_x), nxt)
    assert not nxt.data.continued and nxt.data.header_rows == []


def test_extract_tables_on_a_real_page_and_modes() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    for y, cells in PROSE + STATEMENT:
        for x, text in cells:
            page.insert_text((x, y + 300 if y < 200 else y - 200), text, fontsize=10)
    words = page.get_text("words")
    timings: dict[str, float] = {}
    (table,) = extract_tables(page, words, "auto", timings)
    assert table.method == "grid"
    assert table.data.rows[0] == ["Total revenues", "66,608", "62,286", "58,158"]
    assert table.bbox.y0 < 100 + 300 - 10 and table.bbox.y1 > 164 + 300
    assert timings["table_gate"] >= 0 and "table_extract" in timings
    assert extract_tables(page, words, "never") == []


# --------------------------------------------------------------------------- stacked small tables

# Two tables as the bundled samples print them: a bold title over each, the second with an empty
# top-left header cell, three body rows and value columns that do not line up with the first.
TIGHT = [
    (100, [(54, "Revenue by segment (in millions)")]),
    (118, [(58, "Segment"), (412, "2023"), (448, "2022"), (484, "2021")]),
    (133, [(58, "Industrial Automation"), (402, "1,391.7"), (438, "1,160.2"), (481.5, "948.0")]),
    (148, [(58, "Warehouse Logistics"), (409.5, "651.9"), (445.5, "537.5"), (481.5, "402.6")]),
    (163, [(58, "Divested operations"), (432, "(1,012.4)"), (480.5, "(96.3)")]),
    (178, [(58, "Total revenue"), (402, "2,255.4"), (445.5, "870.9"), (474, "1,410.0")]),
    (200, [(54, "Selected cash flow information (in millions)")]),
    (218, [(420, "2023"), (452, "2022"), (484, "2021")]),
    (
        233,
        [
            (58, "Net cash provided by operating activities"),
            (417.5, "412.6"),
            (449.5, "318.0"),
            (481.5, "201.5"),
        ],
    ),
    (
        248,
        [(58, "Capital expenditures"), (411.5, "(146.3)"), (443.5, "(121.7)"), (480.5, "(98.4)")],
    ),
    (263, [(58, "Free cash flow"), (417.5, "266.3"), (449.5, "196.3"), (481.5, "103.1")]),
]


def _tables_of(spec):
    from ingest.tables import _word_grid, caption_above

    rows = group_rows(_words(spec, size=9.0))
    out = []
    for first, last in table_regions(rows):
        data, _ = build_table(*_word_grid(rows[first : last + 1]))
        out.append((caption_above(rows, first), data))
    return out


def test_a_titled_table_under_another_starts_a_new_region() -> None:
    (seg_caption, segment), (cash_caption, cash) = _tables_of(TIGHT)
    assert seg_caption == "Revenue by segment (in millions)"
    assert cash_caption == "Selected cash flow information (in millions)"
    assert cash.header_rows == [["", "2023", "2022", "2021"]]
    assert cash.rows == [
        ["Net cash provided by operating activities", "412.6", "318.0", "201.5"],
        ["Capital expenditures", "(146.3)", "(121.7)", "(98.4)"],
        ["Free cash flow", "266.3", "196.3", "103.1"],
    ]


def test_columns_six_points_apart_stay_apart() -> None:
    (_, segment), _ = _tables_of(TIGHT)
    assert segment.header_rows == [["Segment", "2023", "2022", "2021"]]  # no caption row
    assert segment.rows[0] == ["Industrial Automation", "1,391.7", "1,160.2", "948.0"]
    assert segment.rows[2] == ["Divested operations", "", "(1,012.4)", "(96.3)"]
    cell = next(c for c in segment.cells if c.text == "1,160.2")
    assert (cell.row_header, cell.col_header) == ("Industrial Automation", "2022")


def test_an_annotation_in_a_few_rows_does_not_split_a_column() -> None:
    # "387 (13)": deliveries with intercompany ones in parentheses, in two rows of five
    spec = [
        (100, [(54, "Model"), (262, "737 MAX"), (362, "767 F")]),
        (116, [(54, "Cumulative"), (266, "8,132"), (366, "1,271")]),  # reach under "(13)"
        (132, [(54, "Deliveries"), (256, "387"), (276, "(13)"), (356, "33"), (376, "(15)")]),
        (148, [(54, "Backlog"), (266, "3,120"), (366, "1,005")]),
        (164, [(54, "Deliveries 2021"), (256, "263"), (276, "(16)"), (356, "32"), (376, "(13)")]),
    ]
    ((_, data),) = _tables_of(spec)
    assert data.header_rows == [["Model", "737 MAX", "767 F"]]
    assert data.rows[1] == ["Deliveries", "387 (13)", "33 (15)"]


def test_unit_line_above_is_a_header_row_but_a_title_is_a_caption() -> None:
    unit = [(84, [(54, "(In millions)")])] + STATEMENT
    ((caption, data),) = _tables_of(unit)
    assert data.header_rows[0][0] == "(In millions)" and caption == ""
    titled = [(84, [(54, "Revenue by segment (in millions)")])] + STATEMENT
    ((caption, data),) = _tables_of(titled)
    assert caption == "Revenue by segment (in millions)"
    assert all("segment" not in cell for row in data.header_rows for cell in row)


def test_prose_between_tables_ends_the_region() -> None:
    spec = STATEMENT + [
        (
            182,
            [
                (
                    54,
                    "The following table presents the maturities of our lease liabilities "
                    "as of the end of the fiscal year:",
                )
            ],
        ),
        (198, [(262, "2022"), (362, "2021"), (462, "2020")]),
        (214, [(54, "Operating leases"), (262, "1,118"), (362, "1,122"), (462, "1,111")]),
        (230, [(54, "Finance leases"), (262, "2,000"), (362, "1,000"), (466, "900")]),
    ]
    regions = table_regions(group_rows(_words(spec)))
    assert len(regions) == 2


def test_a_lone_currency_sign_row_does_not_break_the_page(tmp_path) -> None:
    # Regression: a "$" on a baseline of its own became a row with no cells and crashed
    # extract_tables with "list index out of range" (held-out filing).
    from core.settings import IngestSettings
    from ingest.pdf import PdfParser
    from tests.fixtures import filings

    path = filings.make_lone_dollar_row_pdf(tmp_path / "dollar.pdf")
    doc = PdfParser(IngestSettings(ocr="none", figures=False)).parse(path, "d", None)
    assert doc.warnings == []
    (table,) = [e.table for e in doc.elements if e.table is not None]
    assert [table.header_rows[0], *table.rows] == filings.LONE_DOLLAR_ROWS
