"""UnstructuredParser on generated HTML / DOCX / XLSX files, with every network call forbidden."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.errors import IngestError, UnsupportedFormatError
from core.records import Element, ParsedDocument, sha256_file
from core.settings import IngestSettings
from ingest.base import parser_for
from ingest.office import UnstructuredParser, table_from_html

EDGAR_HTML = """<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>acme-20231231</title></head><body>
<div style="display:none"><ix:header><ix:hidden>0000123456 FY false</ix:hidden></ix:header></div>
<div style="text-align:center"><span style="font-weight:700">UNITED STATES</span></div>
<div style="text-align:center"><span style="font-weight:700">SECURITIES AND EXCHANGE COMMISSION
</span></div>
<div style="text-align:center"><span>Washington, D.C. 20549</span></div>
<div style="text-align:center"><span style="font-weight:700">FORM 10-K</span></div>
<div><span>For the fiscal year ended December 31, 2023</span></div>
<div><span style="font-weight:bold">Acme Widgets, Inc.</span></div>
<div><span>(Exact name of registrant as specified in its charter)</span></div>
<hr style="page-break-after:always"/>
<div><span style="font-weight:700">PART II</span></div>
<div><span style="font-weight:700">Item 7. Management&#8217;s Discussion and Analysis of Financial
Condition and Results of Operations</span></div>
<div><span style="font-weight:700">Results of Operations</span></div>
<div><span>Total revenues increased 7% to $66.6 billion in 2023, driven by higher widget volumes.
Net income declined because of a litigation charge.</span></div>
<table>
<tr><td style="width:50%"></td><td colspan="7" style="text-align:center">
  <span style="font-weight:700">Year Ended December 31,</span></td></tr>
<tr><td><span>(in millions)</span></td>
  <td colspan="3"><span style="font-weight:700">2023</span></td>
  <td></td><td colspan="3"><span style="font-weight:700">2022</span></td></tr>
<tr><td><span>Total revenues</span></td><td><span>$</span></td><td><span>66,608</span></td><td></td>
  <td></td><td><span>$</span></td><td><span>62,286</span></td><td></td></tr>
<tr><td colspan="8"><span>Costs and expenses:</span></td></tr>
<tr><td><span>Cost of revenues</span></td><td></td><td><span>40,100</span></td><td></td>
  <td></td><td></td><td><span>38,000</span></td><td></td></tr>
<tr><td><span>Net income (loss)</span></td><td><span>$</span></td><td><span>(1,234</span></td>
  <td><span>)</span></td><td></td><td><span>$</span></td><td><span>2,001</span></td><td></td></tr>
<tr><td><span>Gross margin</span></td><td></td><td><span>39.8</span></td><td><span>%</span></td>
  <td></td><td></td><td><span>39.0</span></td><td><span>%</span></td></tr>
</table>
<table><tr><td style="width:3%"><span>&#8226;</span></td>
  <td><span>Widget demand may fall if customers delay orders.</span></td></tr></table>
<div><span>23</span></div>
<div style="page-break-before:always"><span style="font-weight:700">Item 8. Financial Statements
</span></div>
<div><span>See the accompanying notes.</span></div>
</body></html>
"""


def _forbid_network(mp: pytest.MonkeyPatch) -> None:
    """Any DNS lookup or connection fails loudly, so a passing parse proves offline work."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] or kwargs}")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
    mp.setattr(socket, "getaddrinfo", refuse)
    mp.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    _forbid_network(monkeypatch)


def _parse(path: Path, **settings) -> ParsedDocument:
    parser = parser_for(path, IngestSettings(**settings))
    assert isinstance(parser, UnstructuredParser)
    return parser.parse(path, sha256_file(str(path)), None)


def _kinds(doc: ParsedDocument, kind: str) -> list[Element]:
    return [e for e in doc.elements if e.kind == kind]


@pytest.fixture(scope="module")
def edgar_doc(tmp_path_factory) -> ParsedDocument:
    path = tmp_path_factory.mktemp("html") / "acme-20231231.htm"
    path.write_text(EDGAR_HTML, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:  # module-scoped: runs before the autouse guard
        _forbid_network(mp)
        return _parse(path)


def test_html_headings_text_and_pages(edgar_doc):
    headings = [(e.text, e.level, e.page_no) for e in _kinds(edgar_doc, "heading")]
    assert ("PART II", 1, 2) in headings
    item7 = next(h for h in headings if h[0].startswith("Item 7."))
    assert item7[1:] == (2, 2)
    assert ("Results of Operations", 3, 2) in headings
    assert ("Item 8. Financial Statements", 2, 3) in headings
    texts = [e.text for e in _kinds(edgar_doc, "text")]
    assert texts[0] == "Washington, D.C. 20549"  # cover lines first, in reading order
    assert any(t.startswith("Total revenues increased 7%") for t in texts)
    assert not any("0000123456" in e.text for e in edgar_doc.elements)  # hidden iXBRL header
    assert "23" not in texts  # the printed page number at the foot of page 2
    assert [p.page_no for p in edgar_doc.pages] == [1, 2, 3]
    assert edgar_doc.page_count == 3 and edgar_doc.format == "html"
    assert all(p.has_text_layer and p.image_path is None for p in edgar_doc.pages)


def test_html_financial_table_is_clean(edgar_doc):
    (table_el,) = _kinds(edgar_doc, "table")
    table = table_el.table
    assert table_el.page_no == 2
    assert table.header_rows == [
        ["", "Year Ended December 31,", "Year Ended December 31,"],
        ["(in millions)", "2023", "2022"],
    ]
    assert table.rows == [
        ["Total revenues", "66,608", "62,286"],
        ["Costs and expenses:", "", ""],
        ["Cost of revenues", "40,100", "38,000"],
        ["Net income (loss)", "(1,234)", "2,001"],
        ["Gross margin", "39.8%", "39.0%"],
    ]
    cell = next(c for c in table.cells if c.text == "(1,234)")
    assert (cell.row_header, cell.col_header) == (
        "Net income (loss)",
        "Year Ended December 31, 2023",
    )
    assert table_el.text == table.markdown
    assert "| Total revenues | 66,608 | 62,286 |" in table.markdown


def test_html_layout_table_becomes_list_item(edgar_doc):
    assert [e.text for e in _kinds(edgar_doc, "list")] == [
        "Widget demand may fall if customers delay orders."
    ]


def _make_docx(path: Path) -> None:
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_paragraph("Acme Widgets, Inc. Annual Report 2023", style="Title")
    document.add_heading("Item 7. Management's Discussion and Analysis", level=1)
    document.add_heading("Results of Operations", level=2)
    document.add_paragraph("Total revenues increased 7% in 2023, driven by higher widget volumes.")
    document.add_paragraph("Higher widget volumes", style="List Bullet")
    table = document.add_table(rows=3, cols=3)
    grid = [
        ["", "2023", "2022"],
        ["Total revenues", "66,608", "62,286"],
        ["Net income", "(1,234)", "2,001"],
    ]
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    later = document.add_heading("Item 8. Financial Statements", level=1)
    # Word records where it broke pages when it last laid the document out; unstructured numbers
    # pages from these markers only.
    later.runs[0]._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))
    document.add_paragraph("See the accompanying notes.")
    document.save(str(path))


def test_docx_headings_text_table_and_pages(tmp_path):
    path = tmp_path / "annual.docx"
    _make_docx(path)
    doc = _parse(path)
    assert [(e.kind, e.level, e.text, e.page_no) for e in doc.elements if e.kind != "table"] == [
        ("title", 1, "Acme Widgets, Inc. Annual Report 2023", 1),
        ("heading", 1, "Item 7. Management's Discussion and Analysis", 1),
        ("heading", 2, "Results of Operations", 1),
        ("text", None, "Total revenues increased 7% in 2023, driven by higher widget volumes.", 1),
        ("list", None, "Higher widget volumes", 1),
        ("heading", 1, "Item 8. Financial Statements", 2),
        ("text", None, "See the accompanying notes.", 2),
    ]
    (table_el,) = _kinds(doc, "table")
    assert table_el.table.header_rows == [["", "2023", "2022"]]
    assert table_el.table.rows == [
        ["Total revenues", "66,608", "62,286"],
        ["Net income", "(1,234)", "2,001"],
    ]
    cell = next(c for c in table_el.table.cells if c.text == "62,286")
    assert (cell.row, cell.col) == (0, 2)
    assert (cell.row_header, cell.col_header) == ("Total revenues", "2022")
    assert doc.elements.index(table_el) == 5  # after the list item, before Item 8
    assert [p.page_no for p in doc.pages] == [1, 2]


def test_xlsx_one_page_per_sheet_with_sheet_heading(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Income Statement"
    sheet.append(["Consolidated Statement of Income"])
    sheet.append([])
    sheet.append(["(in millions)", "2023", "2022"])
    sheet.append(["Total revenues", 66608, 62286])
    sheet.append(["Net income", -1234, 2001.5])
    segments = workbook.create_sheet("Segments")
    segments.append(["Segment", "Revenue"])
    segments.append(["Widgets", 40000])
    segments.append(["Gadgets", 26608])
    path = tmp_path / "financials.xlsx"
    workbook.save(str(path))

    doc = _parse(path)
    assert [(e.kind, e.level, e.text, e.page_no) for e in doc.elements if e.kind != "table"] == [
        ("heading", 1, "Income Statement", 1),
        ("heading", 2, "Consolidated Statement of Income", 1),
        ("heading", 1, "Segments", 2),
    ]
    income, segs = _kinds(doc, "table")
    assert income.page_no == 1 and segs.page_no == 2
    assert income.table.header_rows == [["(in millions)", "2023", "2022"]]
    assert income.table.rows == [
        ["Total revenues", "66608", "62286"],
        ["Net income", "-1234", "2001.5"],
    ]
    assert segs.table.header_rows == [["Segment", "Revenue"]]
    cell = next(c for c in segs.table.cells if c.text == "26608")
    assert (cell.row_header, cell.col_header) == ("Gadgets", "Revenue")
    assert doc.page_count == 2 and doc.format == "xlsx"


def test_docx_rowspan_and_colspan_from_text_as_html():
    html = (
        "<table><tr><td rowspan='2'>Segment</td><td colspan='2'>Revenue</td></tr>"
        "<tr><td>2023</td><td>2022</td></tr>"
        "<tr><td>Widgets</td><td>40,000</td><td>38,000</td></tr></table>"
    )
    table = table_from_html(html)
    assert table.header_rows == [["Segment", "Revenue", "Revenue"], ["Segment", "2023", "2022"]]
    assert table.cells[1].col_header == "Revenue 2023"


def test_tables_never_gives_text(tmp_path):
    path = tmp_path / "annual.docx"
    _make_docx(path)
    doc = _parse(path, tables="never")
    assert not _kinds(doc, "table")
    (text,) = [e.text for e in doc.elements if "66,608" in e.text]
    assert text.splitlines() == [
        "2023 2022",
        "Total revenues 66,608 62,286",
        "Net income (1,234) 2,001",
    ]


def test_nlp_is_offline_and_telemetry_off():
    import os

    from ingest.nlp_data import prepare_unstructured

    prepare_unstructured()
    from unstructured.nlp.tokenize import sent_tokenize
    from unstructured.partition.text_type import is_possible_title

    assert sent_tokenize("Revenue rose. Costs fell.") == ["Revenue rose.", "Costs fell."]
    assert is_possible_title("Results of Operations")
    assert os.environ["SCARF_NO_ANALYTICS"]


def test_unreadable_and_unsupported(tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"this is not a zip file")
    with pytest.raises(IngestError, match="broken.docx: cannot read this docx file"):
        _parse(broken)
    with pytest.raises(UnsupportedFormatError):
        UnstructuredParser(IngestSettings(), "pdf")


def test_empty_html_warns(tmp_path):
    path = tmp_path / "empty.html"
    path.write_text("<html><body><div style='display:none'>x</div></body></html>")
    doc = _parse(path)
    assert doc.elements == [] and doc.page_count == 1
    assert doc.warnings and "no text found" in doc.warnings[0]
