"""PdfParser on a generated 10-K and on broken inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    FileTooLargeError,
    IngestError,
    TruncatedFileError,
    WrongFormatError,
)
from core.records import Element, ParsedDocument
from core.settings import IngestSettings
from ingest.base import parser_for
from ingest.pdf import PdfParser, normalize_text
from tests.fixtures import filings

COMPANY, FY = "Acme Widgets, Inc.", 2023


@pytest.fixture(scope="module")
def tenk(tmp_path_factory: pytest.TempPathFactory) -> tuple[ParsedDocument, Path]:
    root = tmp_path_factory.mktemp("tenk")
    path = filings.make_10k_pdf(root / "acme-10k.pdf", company=COMPANY, fiscal_year=FY)
    renders = root / "renders"
    return PdfParser(IngestSettings()).parse(path, "doc-acme", renders), renders


def _index(doc: ParsedDocument, needle: str, kind: str | None = None) -> int:
    for i, e in enumerate(doc.elements):
        if needle in e.text and (kind is None or e.kind == kind):
            return i
    raise AssertionError(f"{needle!r} not found in {[e.text[:40] for e in doc.elements]}")


def _tables(doc: ParsedDocument, page_no: int) -> list[Element]:
    return [e for e in doc.elements if e.kind == "table" and e.page_no == page_no]


def test_registry_builds_the_pdf_parser(tmp_path: Path) -> None:
    assert isinstance(parser_for(tmp_path / "x.pdf", IngestSettings()), PdfParser)


def test_reading_order_follows_the_filing(tenk) -> None:
    doc, _ = tenk
    order = [
        _index(doc, "FORM 10-K"),
        _index(doc, "For the fiscal year ended December 31, 2023"),
        _index(doc, "Item 1. Business", "heading"),
        _index(doc, "designs and manufactures precision widgets"),
        _index(doc, "Item 1A. Risk Factors", "heading"),
        _index(doc, "Item 7. Management", "heading"),
        _index(doc, filings.MDNA_SENTENCE.format(fy=FY)),
        _index(doc, "Industrial", "table"),
        _index(doc, "Item 8. Financial Statements", "heading"),
        _index(doc, "Product revenues", "table"),
        _index(doc, "Net income", "table"),
        _index(doc, filings.CLOSING_SENTENCE),
    ]
    assert order == sorted(order)
    assert [e.page_no for e in doc.elements] == sorted(e.page_no for e in doc.elements)


def test_headings_title_lists_and_levels(tenk) -> None:
    doc, _ = tenk
    by_text = {e.text: e for e in doc.elements}
    assert by_text["FORM 10-K"].kind == "title"
    assert by_text["Item 1. Business"].kind == "heading"
    assert by_text["PART I"].kind == "heading"
    assert by_text["Item 1. Business"].level == by_text["Item 1A. Risk Factors"].level
    business = doc.elements[_index(doc, "designs and manufactures precision widgets")]
    assert business.kind == "text" and business.level is None
    assert business.text.startswith(filings.BUSINESS_SENTENCE.format(company=COMPANY))
    bullets = [e for e in doc.elements if e.kind == "list"]
    assert [b.text[2:] for b in bullets] == filings.RISK_BULLETS


def test_running_headers_and_page_numbers_are_dropped(tenk) -> None:
    doc, _ = tenk
    header = filings.running_header(COMPANY, FY)
    assert not [e for e in doc.elements if header in e.text]
    assert not [e for e in doc.elements if e.text.strip() in {"2", "3", "4", "5"}]


def test_income_statement_grid_and_headers(tenk) -> None:
    doc, _ = tenk
    statement = [t for t in _tables(doc, 4) if "Product revenues" in t.text][0].table
    assert statement.rows == [list(r) for r in filings.INCOME_ROWS_PAGE4]
    assert statement.header_rows[-1] == ["", "2023", "2022", "2021"]
    cell = next(c for c in statement.cells if c.text == "62,286")
    assert cell.row_header == "Total revenues"
    assert cell.col_header == "Years ended December 31, 2022"
    assert cell.bbox is not None and 400 < cell.bbox.x1 < 490
    assert statement.caption == "CONSOLIDATED STATEMENTS OF OPERATIONS"
    assert "| Total revenues | 66,608 | 62,286 | 58,158 |" in statement.markdown
    assert not statement.continued


def test_statement_continued_on_next_page_carries_the_header(tenk) -> None:
    doc, _ = tenk
    first = [t for t in _tables(doc, 4) if "Product revenues" in t.text][0].table
    (nxt,) = _tables(doc, 5)
    assert nxt.table.continued
    assert nxt.table.header_rows == first.header_rows
    assert nxt.table.rows == [list(r) for r in filings.INCOME_ROWS_PAGE5]
    cell = next(c for c in nxt.table.cells if c.text == "7,118")
    assert (cell.row_header, cell.col_header) == ("Net income", "Years ended December 31, 2023")


def test_borderless_segment_table(tenk) -> None:
    doc, _ = tenk
    segment = [t for t in _tables(doc, 4) if "Aerospace" in t.text][0].table
    assert segment.header_rows == [["Segment revenues (in millions)", "2023", "2022"]]
    assert segment.rows == [list(r) for r in filings.SEGMENT_ROWS]


def test_table_text_is_not_repeated_as_text(tenk) -> None:
    doc, _ = tenk
    text = " ".join(e.text for e in doc.elements if e.kind != "table")
    for value in ("58,412", "41,220", "(6,410)", "Cost of services"):
        assert value not in text


def test_figure_is_cropped_with_caption(tenk) -> None:
    doc, renders = tenk
    (figure,) = [e for e in doc.elements if e.kind == "figure"]  # the 16 pt logo is skipped
    assert figure.page_no == 2 and figure.text == filings.FIGURE_CAPTION
    assert figure.bbox is not None and figure.bbox.x1 - figure.bbox.x0 == pytest.approx(320, abs=1)
    crop = Image.open(figure.image_path)
    assert crop.size[0] == pytest.approx(320 * 100 / 72, abs=2)
    assert Path(figure.image_path).parent == renders / "doc-acme"


def test_pages_are_rendered_at_the_configured_dpi(tenk) -> None:
    doc, renders = tenk
    assert [p.page_no for p in doc.pages] == [1, 2, 3, 4, 5]
    for page in doc.pages:
        assert page.image_path == str(renders / "doc-acme" / f"p{page.page_no}.png")
        assert Image.open(page.image_path).size == (850, 1100)  # 612x792 pt at 100 dpi
    assert Image.open(doc.pages[0].image_path).mode == "L"  # text-only page: grey
    assert Image.open(doc.pages[1].image_path).mode == "RGB"  # has a figure: colour


def test_timings_per_stage(tenk) -> None:
    doc, _ = tenk
    assert {"text", "tables", "table_extract", "table_gate", "render", "figures", "ocr"} <= set(
        doc.timings
    )
    assert doc.timings["render"] > 0 and doc.timings["text"] > 0 and doc.timings["ocr"] == 0


def test_no_renders_without_a_directory(tmp_path: Path) -> None:
    path = filings.make_10k_pdf(tmp_path / "a.pdf")
    doc = PdfParser(IngestSettings()).parse(path, "d", None)
    assert all(p.image_path is None for p in doc.pages)
    assert [e.image_path for e in doc.elements if e.kind == "figure"] == [None]
    assert not list(tmp_path.glob("**/*.png"))


def _table_pages(doc: ParsedDocument) -> list[int]:
    return sorted({e.page_no for e in doc.elements if e.kind == "table"})


def test_tables_never(tmp_path: Path) -> None:
    path = filings.make_10k_pdf(tmp_path / "a.pdf")
    never = PdfParser(IngestSettings(tables="never")).parse(path, "d", None)
    assert not _table_pages(never)
    assert "58,412" in " ".join(e.text for e in never.elements)
    assert never.timings["table_extract"] == 0


@pytest.mark.slow
def test_gated_tables_match_blind_find_tables(tmp_path: Path) -> None:
    """``always`` runs find_tables (with the layout model) on every page: ~20 s here."""
    path = filings.make_10k_pdf(tmp_path / "a.pdf")
    auto = PdfParser(IngestSettings(tables="auto")).parse(path, "d", None)
    always = PdfParser(IngestSettings(tables="always")).parse(path, "d", None)
    assert _table_pages(auto) == [4, 5]
    # the layout model also calls the cover's securities block a table
    assert {4, 5} <= set(_table_pages(always))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (filings.make_encrypted_pdf, EncryptedFileError, "password"),
        (filings.make_corrupt_pdf, CorruptFileError, "damaged"),
        (filings.make_truncated_pdf, TruncatedFileError, "truncated"),
        (filings.make_empty_file, EmptyFileError, "empty"),
        (filings.make_zero_page_pdf, EmptyFileError, "no pages"),
        (filings.make_not_a_pdf, WrongFormatError, "HTML"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path: Path, make, error, words) -> None:
    path = make(tmp_path / "bad.pdf")
    with pytest.raises(error) as info:
        PdfParser(IngestSettings()).parse(path, "d", tmp_path / "renders")
    message = str(info.value)
    assert words in message and "\n" not in message and "bad.pdf" in message
    assert isinstance(info.value, IngestError)


def test_enormous_page_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = filings.make_huge_page_pdf(tmp_path / "huge.pdf")
    doc = PdfParser(IngestSettings()).parse(path, "d", tmp_path / "r")
    assert [p.page_no for p in doc.pages] == [1, 3]
    assert len(doc.warnings) == 1 and doc.warnings[0].startswith("page 2:")
    assert [e.text for e in doc.elements] == ["Ordinary page 1", "Ordinary page 3"]
    assert doc.page_count == 3


def test_all_pages_enormous_is_rejected(tmp_path: Path) -> None:
    path = filings.make_huge_page_pdf(tmp_path / "huge.pdf", all_huge=True)
    with pytest.raises(FileTooLargeError, match="max_page_points"):
        PdfParser(IngestSettings()).parse(path, "d", None)


def test_file_over_the_size_limit_is_rejected(tmp_path: Path) -> None:
    path = filings.make_10k_pdf(tmp_path / "a.pdf")
    with pytest.raises(FileTooLargeError, match="max_file_mb"):
        PdfParser(IngestSettings(max_file_mb=0.001)).parse(path, "d", None)


def test_fixture_generators_are_fast(tmp_path: Path) -> None:
    import time

    for make in (
        filings.make_10k_pdf,
        filings.make_scanned_pdf,
        filings.make_encrypted_pdf,
        filings.make_truncated_pdf,
        filings.make_huge_page_pdf,
        filings.make_tight_tables_pdf,
    ):
        start = time.process_time()
        make(tmp_path / f"{make.__name__}.pdf")
        assert time.process_time() - start < 0.5, make.__name__


# --------------------------------------------------------------------------- tight tables, text


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> ParsedDocument:
    path = filings.make_tight_tables_pdf(tmp_path_factory.mktemp("tight") / "tight.pdf")
    return PdfParser(IngestSettings()).parse(path, "doc-tight", None)


def _normalised(rows) -> list[list[str]]:
    return [[normalize_text(c) for c in row] for row in rows]


def test_ligatures_and_odd_characters_are_normalised(tight) -> None:
    texts = [e.text for e in tight.elements if e.kind != "table"]
    assert filings.LIGATURE_SENTENCE_NORMALISED in texts
    everything = " ".join(texts + [e.text for e in tight.elements if e.kind == "table"])
    for odd in ("\ufb01", "\ufb00", "\ufb02", "\u00a0", "\u2212", "\u200b", "\u201c"):
        assert odd not in everything


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ufb01scal a\ufb00ect \ufb02ow", "fiscal affect flow"),
        ("$\u00a01,234\u2009m", "$ 1,234 m"),  # no-break and thin spaces
        ("\u2212 5 \u2010 x \u2011 y", "- 5 - x - y"),  # minus, hyphen, non-breaking hyphen
        ("2021\u20132023 \u2014", "2021\u20132023 \u2014"),  # en and em dashes keep their meaning
        ("Company\u2019s \u201cnet\u201d", 'Company\'s "net"'),
        ("1,234\u00b9 Revenue\u00b2", "1,234\u00b9 Revenue\u00b2"),  # footnote marks stay marks
        ("\uff11\uff12\uff13 soft\u00adhyphen zero\u200bwidth", "123 softhyphen zerowidth"),
        ("plain ASCII stays", "plain ASCII stays"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def _tight_table(doc: ParsedDocument, caption: str):
    (element,) = [
        e for e in doc.elements if e.kind == "table" and e.table.caption == normalize_text(caption)
    ]
    return element.table


def test_tight_numeric_columns_are_split_and_the_caption_is_not_a_header(tight) -> None:
    table = _tight_table(tight, filings.SEGMENT_CAPTION)
    assert table.header_rows == [["Segment", *filings.TIGHT_YEARS]]
    assert table.rows == [list(r) for r in filings.TIGHT_SEGMENT_ROWS]
    divested = next(c for c in table.cells if c.text == "(1,012.4)")  # wide value, blank neighbour
    assert (divested.row_header, divested.col_header) == ("Divested operations", "2022")


def test_total_revenue_cell_has_its_row_and_column_headers(tight) -> None:
    table = _tight_table(tight, filings.SEGMENT_CAPTION)
    by_key = {(c.row_header, c.col_header): c.text for c in table.cells}
    assert by_key[("Total revenue", "2023")] == "2,255.4"
    assert by_key[("Total revenue", "2022")] == "870.9"
    assert by_key[("Industrial Automation", "2021")] == "948.0"
    assert "| Total revenue | 2,255.4 | 870.9 | 1,410.0 |" in table.markdown
    assert table.markdown.splitlines()[0] == "| Segment | 2023 | 2022 | 2021 |"


def test_small_cash_flow_table_with_parentheses_is_found(tight) -> None:
    tables = [e for e in tight.elements if e.kind == "table"]
    assert len(tables) == 2
    table = _tight_table(tight, filings.CASH_FLOW_CAPTION)
    assert table.caption == "Selected cash flow information (in millions)"
    assert table.header_rows == [["", *filings.TIGHT_YEARS]]
    assert table.rows == _normalised(filings.CASH_FLOW_ROWS)
    capex = next(c for c in table.cells if c.text == "(121.7)")
    assert (capex.row_header, capex.col_header) == ("Capital expenditures", "2022")
    # the caption lines stay in the text flow, the table words do not
    text = " ".join(e.text for e in tight.elements if e.kind != "table")
    assert "Selected cash flow information" in text and "(146.3)" not in text


def test_ocr_lines_and_words_are_normalised() -> None:
    from core.records import BBox, Word
    from ingest.pdf import _normalize_ocr

    box = BBox(x0=0, y0=0, x1=10, y1=10)
    line = Element(
        kind="text",
        page_no=1,
        text="\ufb01scal\u00a0year",
        ocr=True,
        words=[Word(text="\ufb01scal", bbox=box), Word(text="year", bbox=box)],
    )
    (out,) = _normalize_ocr([line])
    assert out.text == "fiscal year" and [w.text for w in out.words] == ["fiscal", "year"]
