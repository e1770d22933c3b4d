"""HTML, DOCX and XLSX through ``unstructured``, into the same records as the PDF parser.

Contract (the :class:`~ingest.base.Parser` protocol):
``UnstructuredParser(settings, fmt).parse(path, doc_id, renders_dir)`` returns a
:class:`~core.records.ParsedDocument` whose elements are in reading order: ``title``/``heading``
(with ``level``, 1 = top), ``text``, ``list`` and ``table`` (with a
:class:`~core.records.TableData`: header rows, body rows, cells carrying their row and column
headers, markdown). Nothing is rendered (``renders_dir`` is ignored) and elements have no boxes.
A file that cannot be read raises :class:`~core.errors.IngestError`; it never touches the network
(see :mod:`ingest.nlp_data`).

Pages: ``page_no`` is unstructured's ``metadata.page_number`` when it has one, else 1. For HTML,
finrag numbers pages itself from CSS page breaks (``page-break-before/after: always``,
``break-before/after: page``), which is how EDGAR filings mark printed pages. For DOCX, unstructured
numbers pages only from the rendered page breaks Word saves. For XLSX, each sheet is a page and
its name is a level-1 heading. Lines that are only a printed page number ("23", "Page 23", "iv")
are dropped from HTML and DOCX. ``pages`` holds one :class:`~core.records.Page` per page number from
1 to the last one seen, with a nominal US-letter size and no render.

Headings: HTML ``<h1>``-``<h6>`` and Word heading styles (``Title`` becomes a ``title``) as
unstructured reports them, plus finrag's rules for filings that style headings inline: a block that
reads "PART II" / "Item 7. ..." is a heading (levels 1 / 2), and a short block that is bold from
end to end is a level-3 heading.

Tables: HTML tables are read from the source (unstructured drops ``colspan``) and cleaned of
EDGAR's layout before unstructured sees them: spans are expanded, cells holding only "$" are
dropped, cells holding only ")" or "%" are glued to the figure on their left and spacer columns
are removed, so a row reads ``["Total revenues", "66,608", "62,286"]``; a header that spans
several columns is repeated over each. Layout tables (one row, one column, or bullet + text rows)
become paragraphs. Header rows are ``<th>``/``<thead>`` rows, else the leading rows with no figure
in them (years such as "2023" are not figures). DOCX and XLSX tables come from unstructured's
``text_as_html`` and get the same cleaning; spreadsheet numbers lose pandas' ".0".

Example:
    >>> parser = UnstructuredParser(IngestSettings(), "html")
    >>> doc = parser.parse(Path("aapl-10k.htm"), sha256_file("aapl-10k.htm"), None)
    >>> [e.text for e in doc.elements if e.kind == "heading"][:2]
    ['PART II', "Item 7. Management's Discussion and Analysis ..."]
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import FinragError, IngestError, UnsupportedFormatError
from core.records import Element, Page, ParsedDocument, TableCell, TableData
from core.settings import IngestSettings
from ingest.nlp_data import prepare_unstructured

log = logging.getLogger(__name__)

FORMATS = ("html", "docx", "xlsx")
LETTER_WIDTH, LETTER_HEIGHT = 612.0, 792.0  # points: a nominal page for formats without pages

_MAX_SPAN = 200  # a colspan/rowspan beyond this is malformed markup, not layout
_HEADING_MAX_WORDS = 12
_ITEM_RE = re.compile(r"^(?:(PART)\s+[IVX]+|(ITEM)\s+\d{1,2}[A-Z]?)(?=$|[\s.:\u2014\u2013-])", re.I)
_ITEM_MAX_WORDS = 25
_CURRENCY_RE = re.compile(r"^(?:US)?[$€£¥]$")
_CLOSER_RE = re.compile(r"^(?:\)|%|\)%|%\)|pts\.?|bps)$", re.I)
_FIGURE_RE = re.compile(
    r"^[(\-–—]?\s*(?:US)?[$€£¥]?\s*\(?\d[\d,]*(?:\.\d+)?\)?\s*(?:%|x)?\)?$"
    r"|^[\-–—]+$",
    re.I,
)
_YEAR_RE = re.compile(r"^(?:19|20)\d{2}$")
_BULLET_RE = re.compile(r"^(?:[•●◦▪■□·*–-]|\(?[0-9a-zA-Z]{1,3}[.)])$")
_XLSX_FLOAT_RE = re.compile(r"^(-?\d+)\.0$")
_FOLIO_RE = re.compile(r"^(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,6})$", re.I)
_BOLD_RE = re.compile(r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)", re.I)
_HIDDEN_RE = re.compile(r"display\s*:\s*none", re.I)
_BREAK_BEFORE_RE = re.compile(r"(?:page-)?break-before\s*:\s*(?:always|page)", re.I)
_BREAK_AFTER_RE = re.compile(r"(?:page-)?break-after\s*:\s*(?:always|page)", re.I)
_INLINE_TAGS = {"span", "font", "a", "i", "em", "u", "small", "big", "sup", "sub"}
_SKIPPED_CATEGORIES = {"PageBreak", "Header", "Footer", "Image", "PageNumber"}


class UnstructuredParser:
    """Parse HTML, DOCX or XLSX files with ``unstructured`` (no network, no NLP download).

    Args:
        settings: ingest settings; ``tables="never"`` turns tables into plain text elements.
        fmt: ``html``, ``docx`` or ``xlsx``.
    """

    def __init__(self, settings: IngestSettings, fmt: str) -> None:
        if fmt not in FORMATS:
            raise UnsupportedFormatError(
                f"UnstructuredParser handles {', '.join(FORMATS)}, not {fmt!r}"
            )
        self.settings = settings
        self.fmt = fmt

    def parse(self, path: Path, doc_id: str, renders_dir: Path | None) -> ParsedDocument:
        """Parse ``path`` (whose sha256 is ``doc_id``); ``renders_dir`` is unused (no renders)."""
        path = Path(path)
        timings: dict[str, float] = {}
        prepare_unstructured()
        raw = self._partition(path, timings)
        start = time.perf_counter()
        elements, warnings = self._convert(raw)
        timings["convert"] = time.perf_counter() - start
        last_page = max((e.page_no for e in elements), default=1)
        pages = [
            Page(doc_id=doc_id, page_no=n, width=LETTER_WIDTH, height=LETTER_HEIGHT)
            for n in range(1, last_page + 1)
        ]
        if not elements:
            warnings.append(f"no text found in {path.name}: it is empty, hidden or images only")
        log.debug(
            "%s: %d elements on %d pages in %s", path.name, len(elements), len(pages), timings
        )
        return ParsedDocument(
            doc_id=doc_id,
            path=str(path),
            format=self.fmt,
            page_count=len(pages),
            pages=pages,
            elements=elements,
            warnings=warnings,
            timings=timings,
        )

    # -- unstructured ----------------------------------------------------------------------------

    def _partition(self, path: Path, timings: dict[str, float]) -> list[Any]:
        try:
            if self.fmt == "html":
                start = time.perf_counter()
                html = prepare_html(path.read_bytes())
                timings["prepare_html"] = time.perf_counter() - start
                from unstructured.partition.html import partition_html

                start = time.perf_counter()
                # languages=[""] is unstructured's documented switch for "no language detection".
                raw = partition_html(text=html, languages=[""])
            elif self.fmt == "docx":
                from unstructured.partition.docx import partition_docx

                start = time.perf_counter()
                raw = partition_docx(filename=str(path), languages=[""])
            else:
                from unstructured.partition.xlsx import partition_xlsx

                start = time.perf_counter()
                raw = partition_xlsx(filename=str(path), languages=[""])
        except FinragError:
            raise
        except ImportError as exc:
            raise IngestError(
                f"{path.name}: a library for {self.fmt} files is missing ({exc}); "
                "reinstall finrag's dependencies"
            ) from exc
        except Exception as exc:  # unstructured raises many types for unreadable files
            raise IngestError(
                f"{path.name}: cannot read this {self.fmt} file ({type(exc).__name__}: {exc}); "
                "check that it opens in its usual application, or convert it to PDF"
            ) from exc
        timings["partition"] = time.perf_counter() - start
        return raw

    def _convert(self, raw: list[Any]) -> tuple[list[Element], list[str]]:
        elements: list[Element] = []
        warnings: list[str] = []
        sheet_seen: set[int] = set()
        for item in raw:
            category = item.category
            if category in _SKIPPED_CATEGORIES:
                continue
            meta = item.metadata
            page_no = meta.page_number or 1
            if self.fmt == "xlsx" and page_no not in sheet_seen:
                sheet_seen.add(page_no)
                name = getattr(meta, "page_name", None) or f"Sheet {page_no}"
                elements.append(Element(kind="heading", level=1, page_no=page_no, text=name))
            text = " ".join((item.text or "").split())
            if category == "Table":
                element = self._table_element(item, text, page_no, warnings)
                if element is not None:
                    elements.append(element)
                continue
            if not text:
                continue
            if category == "Title":
                elements.append(self._title_element(meta, text, page_no))
            elif category == "ListItem":
                elements.append(Element(kind="list", page_no=page_no, text=text))
            elif self.fmt != "xlsx" and _FOLIO_RE.match(text):
                continue  # a printed page number ("23", "Page 23", "iv"), not content
            else:
                elements.append(_text_or_heading(text, meta, page_no))
        return elements, warnings

    def _title_element(self, meta: Any, text: str, page_no: int) -> Element:
        depth = meta.category_depth or 0
        if self.fmt == "xlsx":
            return Element(kind="heading", level=2, page_no=page_no, text=text)
        if getattr(meta, "style_name", None) == "Title":
            return Element(kind="title", level=1, page_no=page_no, text=text)
        return Element(kind="heading", level=depth + 1, page_no=page_no, text=text)

    def _table_element(
        self, item: Any, text: str, page_no: int, warnings: list[str]
    ) -> Element | None:
        html = item.metadata.text_as_html
        table = table_from_html(html, spreadsheet=self.fmt == "xlsx") if html else None
        if table is None:
            if not text:
                return None
            if html is None:
                warnings.append(f"page {page_no}: a table without structure was kept as text")
            return Element(kind="text", page_no=page_no, text=text)
        if self.settings.tables == "never":
            lines = table.header_rows + table.rows
            plain = "\n".join(" ".join(c for c in row if c) for row in lines)
            return Element(kind="text", page_no=page_no, text=plain)
        return Element(kind="table", page_no=page_no, text=table.markdown, table=table)


def _text_or_heading(text: str, meta: Any, page_no: int) -> Element:
    """A text element, or a heading when finrag's rules for inline-styled headings say so."""
    match = _ITEM_RE.match(text)
    if match and len(text.split()) <= _ITEM_MAX_WORDS:
        return Element(kind="heading", level=1 if match.group(1) else 2, page_no=page_no, text=text)
    emphasized = " ".join(" ".join(getattr(meta, "emphasized_text_contents", None) or []).split())
    bold_tags = {"b", "strong"} & set(getattr(meta, "emphasized_text_tags", None) or [])
    if (
        bold_tags
        and emphasized == text
        and len(text.split()) <= _HEADING_MAX_WORDS
        and not text.endswith((".", ":", ";", ","))
    ):
        return Element(kind="heading", level=3, page_no=page_no, text=text)
    return Element(kind="text", page_no=page_no, text=text)


# -- tables ----------------------------------------------------------------------------------------


@dataclass
class _Cell:
    """One grid position. ``span`` is shared by every position a ``colspan`` cell covers."""

    text: str
    span: int | None = None
    header: bool = False


def _cell_text(node: Any) -> str:
    return " ".join("".join(node.itertext()).replace("\u200b", "").split())


def _span(node: Any, name: str) -> int:
    try:
        return max(1, min(_MAX_SPAN, int(str(node.get(name, "1")).strip() or 1)))
    except ValueError:
        return 1


def grid_from_table(table: Any) -> list[list[_Cell]]:
    """The layout grid of an lxml ``<table>``: spans expanded, nested tables read as cell text."""
    rows = table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
    grid: list[list[_Cell]] = []
    carried: dict[tuple[int, int], _Cell] = {}  # (row, col) filled by a rowspan from above
    span_ids = 0
    for r, tr in enumerate(rows):
        in_thead = tr.getparent().tag == "thead"
        row: list[_Cell] = []
        col = 0
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            while (r, col) in carried:
                row.append(carried.pop((r, col)))
                col += 1
            colspan, rowspan = _span(td, "colspan"), _span(td, "rowspan")
            span = None
            if colspan > 1:
                span_ids += 1
                span = span_ids
            text = _cell_text(td)
            header = in_thead or td.tag == "th"
            for dc in range(colspan):
                cell = _Cell(text, span, header)
                row.append(cell)
                for dr in range(1, rowspan):
                    carried[(r + dr, col + dc)] = _Cell(text, span, header)
            col += colspan
        while (r, col) in carried:
            row.append(carried.pop((r, col)))
            col += 1
        grid.append(row)
    width = max((len(row) for row in grid), default=0)
    for row in grid:
        row.extend(_Cell("") for _ in range(width - len(row)))
    return grid


def clean_grid(grid: list[list[_Cell]], spreadsheet: bool = False) -> list[list[_Cell]]:
    """Remove EDGAR layout: "$" cells, ")"/"%" cells glued left, spacer columns, empty rows."""
    for row in grid:
        for j, cell in enumerate(row):
            if spreadsheet and (m := _XLSX_FLOAT_RE.match(cell.text)):
                cell.text = m.group(1)
            if j == 0 or cell.span is not None or not cell.text:
                continue
            if _CURRENCY_RE.match(cell.text):
                cell.text = ""
            elif _CLOSER_RE.match(cell.text):
                left = next((c for c in reversed(row[:j]) if c.text), None)
                if left is not None and left.span is None:
                    left.text += cell.text
                    cell.text = ""
    width = max((len(row) for row in grid), default=0)
    keep = [any(row[j].text and row[j].span is None for row in grid) for j in range(width)]
    # A spanning cell whose columns were all dropped keeps its first column, so no text is lost.
    for row in grid:
        seen: set[int] = set()
        for cell in row:
            if cell.span is None or cell.span in seen or not cell.text:
                continue
            seen.add(cell.span)
            covered = [k for k, c in enumerate(row) if c.span == cell.span]
            if not any(keep[k] for k in covered):
                keep[covered[0]] = True
    cleaned = [[cell for j, cell in enumerate(row) if keep[j]] for row in grid]
    return [row for row in cleaned if any(cell.text for cell in row)]


def _is_header_candidate(row: list[_Cell]) -> bool:
    """A row with no figure after its first column (a year is a label here, not a figure)."""
    return not any(
        _FIGURE_RE.match(cell.text) and not _YEAR_RE.match(cell.text)
        for cell in row[1:]
        if cell.text
    )


def count_header_rows(grid: list[list[_Cell]]) -> int:
    """Leading ``<th>``/``<thead>`` rows; else leading rows without figures (at most 4)."""
    if len(grid) < 2:
        return 0
    marked = 0
    for row in grid:
        if not all(cell.header for cell in row if cell.text):
            break
        marked += 1
    if marked:
        return min(marked, len(grid) - 1)
    limit = min(4, len(grid) - 1)
    for i, row in enumerate(grid[: limit + 1]):
        if not _is_header_candidate(row):
            return i
    # No figure anywhere in the top rows: a text table; its first row names the columns.
    return 1


def _body_texts(row: list[_Cell]) -> list[str]:
    """A body row's texts with a spanning cell shown once (in the first column it covers)."""
    seen: set[int] = set()
    texts = []
    for cell in row:
        if cell.span is not None and cell.span in seen:
            texts.append("")
            continue
        if cell.span is not None:
            seen.add(cell.span)
        texts.append(cell.text)
    return texts


def _join_unique(parts: Iterable[str]) -> str:
    out: list[str] = []
    for part in parts:
        if part and (not out or out[-1] != part):
            out.append(part)
    return " ".join(out)


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header)] + [line(r) for r in rows])


def table_data(grid: list[list[_Cell]]) -> TableData | None:
    """A cleaned grid as :class:`TableData` (cells with row/column headers, markdown)."""
    if not grid or not grid[0]:
        return None
    n_header = count_header_rows(grid)
    header_rows = [[cell.text for cell in row] for row in grid[:n_header]]
    rows = [_body_texts(row) for row in grid[n_header:]]
    width = len(grid[0])
    col_headers = [_join_unique(h[j] for h in header_rows) for j in range(width)]
    cells = [
        TableCell(
            row=i,
            col=j,
            text=text,
            row_header=row[0] if j > 0 else "",
            col_header=col_headers[j],
        )
        for i, row in enumerate(rows)
        for j, text in enumerate(row)
        if text
    ]
    return TableData(
        header_rows=header_rows,
        rows=rows,
        cells=cells,
        markdown=_markdown(col_headers, rows),
    )


def table_from_html(html: str, spreadsheet: bool = False) -> TableData | None:
    """Parse one ``<table>`` (unstructured's ``text_as_html``) into cleaned :class:`TableData`."""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml raises ParserError/ValueError on malformed fragments
        return None
    table = next(iter(root.iter("table")), None)
    if table is None:
        return None
    return table_data(clean_grid(grid_from_table(table), spreadsheet=spreadsheet))


# -- HTML preparation ------------------------------------------------------------------------------


def prepare_html(data: bytes) -> str:
    """The HTML that unstructured sees: hidden parts removed, bold spans as ``<b>``, page numbers
    as ``data-page-number``, and each table rewritten as its cleaned grid (or as paragraphs when it
    only lays out text)."""
    import lxml.html

    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    root = lxml.html.document_fromstring(data, parser=parser) if data.strip() else None
    if root is None:
        return "<html><body></body></html>"
    for node in list(root.iter()):
        if not isinstance(node.tag, str):
            continue
        style = node.get("style") or ""
        if _HIDDEN_RE.search(style) or node.tag in ("script", "style", "noscript"):
            node.drop_tree()
        elif _BOLD_RE.search(style) and node.tag in _INLINE_TAGS:
            node.tag = "b"
    _number_pages(root)
    for table in list(root.iter("table")):
        if any(a.tag == "table" for a in table.iterancestors()):
            continue  # nested: read as the text of its parent's cell
        _rewrite_table(table)
    return lxml.html.tostring(root, encoding="unicode")


def _number_pages(root: Any) -> None:
    """Stamp ``data-page-number`` on every element, counting CSS page breaks in document order.

    Nothing is stamped when the document has no page break or already carries page numbers. A
    break before any text (a cover sheet's leading break, two breaks in a row) starts no page.
    """
    from lxml import etree

    styles = [n.get("style") or "" for n in root.iter() if isinstance(n.tag, str)]
    has_breaks = any(_BREAK_BEFORE_RE.search(s) or _BREAK_AFTER_RE.search(s) for s in styles)
    if not has_breaks or root.xpath("//*[@data-page-number]"):
        return
    page, text_on_page, pending = 1, False, False
    for event, node in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(node.tag, str):
            continue
        style = node.get("style") or ""
        if event == "start":
            if (pending or _BREAK_BEFORE_RE.search(style)) and text_on_page:
                page, text_on_page = page + 1, False
            pending = False
            node.set("data-page-number", str(page))
            if node.text and node.text.strip():
                text_on_page = True
        else:
            if _BREAK_AFTER_RE.search(style):
                pending = True
            if node.tail and node.tail.strip():
                text_on_page = True


def _rewrite_table(table: Any) -> None:
    """Replace a source table by its cleaned grid, or by paragraphs when it only lays out text."""
    import lxml.html

    grid = clean_grid(grid_from_table(table))
    page = table.get("data-page-number")
    if not grid:
        table.drop_tree()
        return
    bullets = all(
        _BULLET_RE.match(row[0].text) and sum(1 for c in row if c.text) <= 2 for row in grid
    )
    if len(grid) == 1 or len(grid[0]) == 1 or bullets:
        # Layout, not data: EDGAR sets bullets, footnotes and single lines in tables.
        replacement = lxml.html.Element("div")
        for row in grid:
            p = lxml.html.Element("p")
            p.text = " ".join(_join_unique(c.text for c in row).split())
            replacement.append(p)
    else:
        n_header = count_header_rows(grid)
        replacement = lxml.html.Element("table")
        for i, row in enumerate(grid):
            tr = lxml.html.Element("tr")
            texts = [c.text for c in row] if i < n_header else _body_texts(row)
            for text in texts:
                cell = lxml.html.Element("th" if i < n_header else "td")
                cell.text = text
                tr.append(cell)
            replacement.append(tr)
    if page is not None:
        for node in replacement.iter():
            node.set("data-page-number", page)
    replacement.tail = table.tail
    table.getparent().replace(table, replacement)
