"""PDF parser (PyMuPDF): text blocks, headings, tables, figures, page renders, OCR fallback.

Contract (:class:`~ingest.base.Parser`): ``PdfParser(settings).parse(path, doc_id, renders_dir)``
returns a :class:`~core.records.ParsedDocument` whose ``elements`` are in reading order per page
(top to bottom; PyMuPDF's block sort, so two-column pages read row-wise) with boxes in PDF points:

* ``title`` / ``heading`` (with ``level``: 1 >= 1.5x the page's body font, 2 >= 1.2x, 3 bold or
  slightly larger) / ``text`` / ``list`` from the text layer;
* ``table`` (see :mod:`ingest.tables`): text inside a table's box is not repeated as text; a table
  at the top of a page that lines up with the previous page's last table and has no header is
  marked ``continued`` and carries the previous header rows;
* ``figure`` (see :mod:`ingest.figures`);
* OCR'd ``text`` lines (``ocr=True``, with ``words``) for pages with no text layer but an image.

All extracted text (lines, table words, OCR lines and words) goes through
:func:`normalize_text`: Unicode NFKC (ligatures such as "\ufb01" become "fi", full-width forms
and odd spaces become plain ones), zero-width characters and soft hyphens dropped, hyphen and
minus variants made "-", curly quotes made straight; en and em dashes are kept (an em dash is a
nil amount in a table) and superscript digits stay superscripts (NFKC would glue a footnote
mark onto a number: "1,234\u00b9" -> "1,2341").

Running headers/footers (the same text, digits ignored, at the same end of the page -- top or
bottom 10%, or first/last two lines -- on at least 30% of the pages, min 3) and bare page numbers
there are dropped here, so the chunker never sees them.

Pages are rendered to ``renders_dir/<doc_id>/p<page_no>.png`` at ``render_dpi``: greyscale unless
the page has raster images or saturated vector fills (charts), because PNG encoding dominates
render cost and a grey 100-dpi page costs about half the CPU and bytes of an RGB one while reading
the same (tinted table shading and blue link text survive in grey).

Whole-file problems raise :class:`~core.errors.IngestError` subclasses with one actionable line;
page problems (enormous page, a page that fails to parse) become ``warnings``. ``timings`` holds
CPU seconds per stage: text, table_gate (row grouping + gate), table_extract (clipped
find_tables or the word grid on gated regions), tables (their sum), figures, render, ocr.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pymupdf

from core.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    FileTooLargeError,
    IngestError,
    TruncatedFileError,
    WrongFormatError,
)
from core.records import BBox, Element, Page, ParsedDocument
from core.settings import IngestSettings
from ingest import figures as figures_mod
from ingest import ocr as ocr_mod
from ingest.tables import FoundTable, continue_table, extract_tables

logger = logging.getLogger(__name__)

_TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_WHITESPACE
    | pymupdf.TEXT_PRESERVE_LIGATURES
    | pymupdf.TEXT_MEDIABOX_CLIP
    | pymupdf.TEXT_DEHYPHENATE
)
_BULLET = re.compile(
    r"^\s*([\u2022\u25cf\u25aa\u25e6\u2023\u2043\u2219\u00b7\u27a2\u2013\-*]|"
    r"\(?[a-z0-9]{1,2}\)|\d{1,2}\.)\s+\S",
    re.I,
)
_PAGE_NUMBER = re.compile(r"^\W*(page\s+)?([0-9]{1,4}|[ivxlc]{1,6})(\s+of\s+\d+)?\W*$", re.I)
# Applied before NFKC, which leaves these alone (quotes, dashes, zero-width) or would map them
# to another odd character (U+2011 -> U+2010).
_PUNCTUATION = str.maketrans(
    {
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2212": "-",
        "\u2015": "\u2014",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)
# Superscript/subscript digits and signs are footnote marks: hide them from NFKC in the private
# use area (which NFKC leaves alone) and put them back afterwards.
_SCRIPTS = "\u00b9\u00b2\u00b3" + "".join(map(chr, range(0x2070, 0x209D)))
_HIDE = str.maketrans({ch: chr(0xF0000 + i) for i, ch in enumerate(_SCRIPTS)})
_SHOW = str.maketrans({chr(0xF0000 + i): ch for i, ch in enumerate(_SCRIPTS)})
_MIN_TEXT_CHARS = 10  # fewer extractable characters than this = no text layer
_BAND = 0.10  # top/bottom share of the page where running headers live


def normalize_text(text: str) -> str:
    """NFKC plus house rules for spaces, dashes and quotes (see the module docstring).

    Cheap enough per line or word: ASCII text (most of a filing) returns at once.

    Example:
        >>> normalize_text("\ufb01scal\u00a0year \u2212 \u201cnet\u201d \u2014")
        'fiscal year - "net" \u2014'
    """
    if text.isascii():
        return text
    text = text.translate(_PUNCTUATION)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text.translate(_HIDE)).translate(_SHOW)
    return text


class PdfParser:
    """Parse PDFs with PyMuPDF. Cheap to build; the OCR engine loads on first scanned page.

    Example:
        >>> parser = PdfParser(IngestSettings(tables="auto"))
        >>> doc = parser.parse(Path("10k.pdf"), "<sha256>", Path("renders"))  # doctest: +SKIP
    """

    def __init__(self, settings: IngestSettings, fmt: str = "pdf") -> None:
        self.settings = settings
        self._max_pixels = settings.max_render_megapixels * 1e6
        self.fmt = fmt

    # ------------------------------------------------------------------ public

    def parse(self, path: Path, doc_id: str, renders_dir: Path | None) -> ParsedDocument:
        path = Path(path)
        doc = self._open(path)
        stages = ("text", "table_gate", "table_extract", "figures", "render", "ocr")
        timings = dict.fromkeys(stages, 0.0)
        out_dir = renders_dir / doc_id if renders_dir is not None else None
        pages: list[Page] = []
        per_page: list[list[Element]] = []
        margins: list[list[tuple[Element, str]]] = []  # band elements per page, for header removal
        warnings: list[str] = []
        previous_table: FoundTable | None = None
        enormous = 0
        try:
            for index in range(doc.page_count):
                page_no = index + 1
                try:
                    page = doc[index]
                    w, h = page.rect.width, page.rect.height
                    if max(w, h) > self.settings.max_page_points:
                        enormous += 1
                        warnings.append(
                            f"page {page_no}: skipped, {w:.0f}x{h:.0f} pt is larger "
                            f"than max_page_points={self.settings.max_page_points:.0f}"
                        )
                        per_page.append([])
                        margins.append([])
                        continue
                    record, elements, band, previous_table = self._parse_page(
                        page, page_no, doc_id, out_dir, timings, previous_table, warnings
                    )
                except IngestError:
                    raise
                except Exception as exc:  # one bad page must not lose the filing
                    logger.warning("page %d of %s failed: %s", page_no, path.name, exc)
                    warnings.append(f"page {page_no}: could not be parsed ({exc})")
                    per_page.append([])
                    margins.append([])
                    previous_table = None
                    continue
                pages.append(record)
                per_page.append(elements)
                margins.append(band)
            if enormous and enormous == doc.page_count:
                raise FileTooLargeError(
                    f"{path.name}: every page is larger than "
                    f"{self.settings.max_page_points:.0f} pt "
                    "on a side; this is not a filing page size (raise ingest.max_page_points if "
                    "it really is one)"
                )
            page_count = doc.page_count
        finally:
            doc.close()
        dropped = _drop_running_text(per_page, margins)
        elements = [e for page_elements in per_page for e in page_elements]
        timings["tables"] = timings["table_gate"] + timings["table_extract"]
        logger.debug(
            "%s: %d pages, %d elements, %d running header/footer lines dropped",
            path.name,
            page_count,
            len(elements),
            dropped,
        )
        return ParsedDocument(
            doc_id=doc_id,
            path=str(path),
            format=self.fmt,
            page_count=page_count,
            pages=pages,
            elements=elements,
            warnings=warnings,
            timings=timings,
        )

    # ------------------------------------------------------------------ file checks

    def _open(self, path: Path) -> pymupdf.Document:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise IngestError(f"{path}: cannot read the file ({exc.strerror})") from exc
        if size == 0:
            raise EmptyFileError(
                f"{path.name}: the file is empty (0 bytes); re-download or re-export it"
            )
        if size > self.settings.max_file_mb * 1024 * 1024:
            raise FileTooLargeError(
                f"{path.name}: {size / 2**20:.0f} MB is over ingest.max_file_mb="
                f"{self.settings.max_file_mb:.0f}; split the file or raise the limit"
            )
        with path.open("rb") as handle:
            head = handle.read(1024)
            handle.seek(max(0, size - 2048))
            tail = handle.read()
        if b"%PDF-" not in head:
            raise WrongFormatError(
                f"{path.name}: not a PDF (content looks like "
                f"{_sniff(head)}); rename it to its real extension"
            )
        try:
            doc = pymupdf.open(path, filetype="pdf")
        except Exception as exc:
            if b"%%EOF" not in tail:
                raise TruncatedFileError(
                    f"{path.name}: the PDF is truncated (no end-of-file "
                    "marker); re-download the complete file"
                ) from exc
            raise CorruptFileError(
                f"{path.name}: the PDF is damaged and cannot be parsed; re-download or re-export it"
            ) from exc
        if doc.needs_pass:
            doc.close()
            raise EncryptedFileError(
                f"{path.name}: the PDF is password-protected; remove the "
                "password (e.g. qpdf --decrypt) and retry"
            )
        if b"%%EOF" not in tail and doc.is_repaired:
            # MuPDF can rebuild a cut file from what is left, but a filing missing its tail
            # (usually the financial statements) would answer questions wrongly, so refuse it.
            doc.close()
            raise TruncatedFileError(
                f"{path.name}: the PDF is truncated (it ends early and "
                "had to be repaired); re-download the complete file"
            )
        if doc.page_count == 0:
            doc.close()
            raise EmptyFileError(f"{path.name}: the PDF has no pages; re-export it")
        return doc

    # ------------------------------------------------------------------ one page

    def _parse_page(
        self,
        page: pymupdf.Page,
        page_no: int,
        doc_id: str,
        out_dir: Path | None,
        timings: dict[str, float],
        previous_table: FoundTable | None,
        warnings: list[str],
    ):
        t0 = time.process_time()
        textpage = page.get_textpage(flags=_TEXT_FLAGS)
        blocks = page.get_text("dict", textpage=textpage, sort=True)["blocks"]
        words = _normalize_words(page.get_text("words", textpage=textpage))
        n_chars = sum(len(w[4]) for w in words)
        images = page.get_image_info()
        timings["text"] += time.process_time() - t0

        record = Page(
            doc_id=doc_id,
            page_no=page_no,
            width=page.rect.width,
            height=page.rect.height,
            has_text_layer=n_chars >= _MIN_TEXT_CHARS,
        )
        elements: list[Element] = []
        band: list[tuple[Element, str]] = []

        if not record.has_text_layer:
            if images and self.settings.ocr != "none":
                t = time.process_time()
                try:
                    engine = ocr_mod.get_engine(self.settings.ocr)
                    ocr_dpi = capped_dpi(
                        record.width, record.height, ocr_mod.OCR_DPI, self._max_pixels
                    )
                    elements = _normalize_ocr(ocr_mod.ocr_page(page, engine, page_no, dpi=ocr_dpi))
                    record.ocr_used = True
                except IngestError as exc:  # a missing engine: say so once per page, go on
                    warnings.append(f"page {page_no}: no text layer and OCR failed ({exc})")
                timings["ocr"] += time.process_time() - t
            elif images:
                warnings.append(
                    f"page {page_no}: no text layer and OCR is off "
                    "(ingest.ocr=none); the page is only searchable as an image"
                )
            previous_table = None
        else:
            tables = extract_tables(page, words, self.settings.tables, timings)
            if tables and previous_table is not None:
                continue_table(previous_table, tables[0])
            previous_table = tables[-1] if tables else None
            t = time.process_time()
            text_elements, lines = _text_elements(
                blocks, page_no, [tb.bbox for tb in tables], first_page=page_no == 1
            )
            timings["text"] += time.process_time() - t
            t = time.process_time()
            figure_elements: list[Element] = []
            if self.settings.figures and images:
                figure_elements = figures_mod.extract_figures(
                    page,
                    page_no,
                    lines,
                    out_dir,
                    dpi=self.settings.render_dpi,
                    max_pixels=self._max_pixels,
                )
            timings["figures"] += time.process_time() - t
            table_elements = [
                Element(
                    kind="table",
                    page_no=page_no,
                    text=tb.data.markdown,
                    bbox=tb.bbox,
                    table=tb.data,
                )
                for tb in tables
            ]
            elements = _merge_in_order(text_elements, table_elements + figure_elements)
            band = _band(text_elements, record.height)

        if out_dir is not None and self.settings.render_pages:
            t = time.process_time()
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"p{page_no}.png"
            colour = bool(images) or _has_colour_drawings(page)
            dpi = capped_dpi(
                record.width, record.height, self.settings.render_dpi, self._max_pixels
            )
            _save_png(
                page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB if colour else pymupdf.csGRAY),
                target,
                dpi,
            )
            record.image_path = str(target)
            timings["render"] += time.process_time() - t
        return record, elements, band, previous_table


def capped_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: float) -> int:
    """``dpi``, lowered so a ``width_pt`` x ``height_pt`` page renders to at most ``max_pixels``.

    A 14,000-pt page at 100 dpi would be 378 megapixels (and a DecompressionBombError where the
    app opens it); at the default 25 MP cap it renders at ~26 dpi instead.
    """
    pixels = (width_pt / 72.0 * dpi) * (height_pt / 72.0 * dpi)
    if pixels <= max_pixels or pixels <= 0:
        return dpi
    return max(1, int(dpi * (max_pixels / pixels) ** 0.5))


def _save_png(pix: pymupdf.Pixmap, target: Path, dpi: int) -> None:
    """Write a render as PNG with light compression and its resolution (the PNG's ``pHYs``),
    which the app reads back to place boxes on a page rendered below ``render_dpi``.

    MuPDF's PNG writer compresses hard: 24 ms of a 100-dpi page's 34 ms went to it (Boeing 10-K,
    measured). zlib level 3 through Pillow takes 16 ms for files ~18% larger.
    """
    from PIL import Image

    mode = "L" if pix.n == 1 else "RGB"
    Image.frombytes(mode, (pix.width, pix.height), pix.samples).save(
        target, format="PNG", compress_level=3, dpi=(dpi, dpi)
    )


# ---------------------------------------------------------------------- text


def _normalize_words(words: list[tuple]) -> list[tuple]:
    """Words with normalised text; a word that normalises to nothing (a lone zero-width
    character) is dropped."""
    if all(w[4].isascii() for w in words):
        return words
    out = []
    for w in words:
        text = w[4] if w[4].isascii() else normalize_text(w[4]).strip()
        if text:
            out.append(w if text is w[4] else (*w[:4], text, *w[5:]))
    return out


def _normalize_ocr(elements: list[Element]) -> list[Element]:
    for element in elements:
        element.text = normalize_text(element.text)
        for word in element.words:
            word.text = normalize_text(word.text)
    return elements


def _is_bold(span: dict) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 16) or any(
        k in font for k in ("Bold", "Black", "Heavy", "bold", ",B")
    )


def _text_elements(
    blocks: list[dict], page_no: int, table_boxes: list[BBox], first_page: bool
) -> tuple[list[Element], list[tuple[pymupdf.Rect, str]]]:
    """Paragraphs and headings from the page dict, skipping lines inside tables."""
    sizes: Counter[float] = Counter()
    lines: list[tuple[int, pymupdf.Rect, str, float, bool]] = []
    for b_index, block in enumerate(blocks):
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            spans = [s for s in line["spans"] if s["text"].strip()]
            if not spans:
                continue
            rect = pymupdf.Rect(line["bbox"])
            text = normalize_text("".join(s["text"] for s in line["spans"])).strip()
            for s in spans:
                sizes[round(s["size"] * 2) / 2] += len(s["text"])
            if any(_inside(rect, box) for box in table_boxes):
                continue
            size = max(s["size"] for s in spans)
            bold = all(_is_bold(s) for s in spans)
            lines.append((b_index, rect, text, size, bold))
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    all_lines = [(rect, text) for _, rect, text, _, _ in lines]

    elements: list[Element] = []
    title_done = False
    current: dict | None = None

    def flush() -> None:
        if current is None:
            return
        text = re.sub(r"\s+", " ", " ".join(current["texts"])).strip()
        kind = current["kind"]
        if kind == "text" and _BULLET.match(text):
            kind = "list"
        elements.append(
            Element(
                kind=kind,
                page_no=page_no,
                text=text,
                bbox=_bbox(current["rect"]),
                level=current["level"],
            )
        )

    for b_index, rect, text, size, bold in lines:
        ratio = size / body if body else 1.0
        heading = (
            (ratio >= 1.15 or (bold and ratio >= 0.95))
            and len(text.split()) <= 20
            and any(ch.isalpha() for ch in text)
        )
        if heading:
            level = 1 if ratio >= 1.5 else 2 if ratio >= 1.2 else 3
            kind = "heading"
            if first_page and not title_done and ratio >= 1.5:
                kind = "title"
        else:
            level, kind = None, "text"
        same = (
            current is not None
            and current["block"] == b_index
            and current["kind"] == kind
            and current["level"] == level
            and rect.y0 - current["rect"].y1 < 0.8 * max(size, 1.0)
        )
        if same:
            current["texts"].append(text)
            current["rect"] |= rect
            continue
        flush()
        if kind == "title":
            title_done = True
        current = {
            "block": b_index,
            "kind": kind,
            "level": level,
            "texts": [text],
            "rect": pymupdf.Rect(rect),
        }
    flush()
    # a run-on title across two lines keeps kind title; headings get their text only
    return elements, all_lines


def _inside(rect: pymupdf.Rect, box: BBox) -> bool:
    xc, yc = (rect.x0 + rect.x1) / 2, (rect.y0 + rect.y1) / 2
    return box.x0 - 1 <= xc <= box.x1 + 1 and box.y0 - 1 <= yc <= box.y1 + 1


def _bbox(r: pymupdf.Rect) -> BBox:
    return BBox(x0=r.x0, y0=r.y0, x1=r.x1, y1=r.y1)


def _merge_in_order(text: list[Element], others: list[Element]) -> list[Element]:
    """Insert tables and figures before the first text element that starts below them."""
    out: list[Element] = []
    pending = sorted(others, key=lambda e: (e.bbox.y0, e.bbox.x0) if e.bbox else (0, 0))
    for element in text:
        while (
            pending and element.bbox and pending[0].bbox and pending[0].bbox.y0 <= element.bbox.y0
        ):
            out.append(pending.pop(0))
        out.append(element)
    return out + pending


def _band(elements: list[Element], height: float) -> list[tuple[Element, str]]:
    """Header/footer candidates: the top/bottom 10% of the page and the first/last two lines.

    EDGAR's HTML-to-PDF output puts the folio right under the last paragraph, not at a fixed
    height, so position alone misses it; the key is the text with digits masked and which end of
    the page it sits at.
    """
    out = []
    n = len(elements)
    for i, e in enumerate(elements):
        if e.bbox is None:
            continue
        if e.bbox.y1 <= _BAND * height or i < 2:
            where = "top"
        elif e.bbox.y0 >= (1 - _BAND) * height or i >= n - 2:
            where = "bottom"
        else:
            continue
        text = re.sub(r"\s+", " ", re.sub(r"\d+", "#", e.text.lower())).strip()
        text = re.sub(r"^(#\s*\W?\s*)+|(\s*\W?\s*#)+$", "", text)  # a folio before/after it
        out.append((e, f"{where}:{text}"))
    return out


def _drop_running_text(
    per_page: list[list[Element]], margins: list[list[tuple[Element, str]]]
) -> int:
    """Remove repeated header/footer lines and bare page numbers from the page bands."""
    pages_with_text = sum(1 for band in margins if band) or 1
    counts: Counter[str] = Counter()
    for band in margins:
        counts.update({key for _, key in band})
    threshold = max(3, int(0.3 * pages_with_text))
    frequent = sorted(
        (k for k, n in counts.items() if n >= threshold and len(k) > 12), key=len, reverse=True
    )

    def running(key: str) -> bool:
        if counts[key] >= threshold:
            return True
        # pieces the renderer sometimes puts on one line ("Pfizer Inc. 2021 Form 10-K")
        where, _, rest = key.partition(":")
        for other in frequent:
            o_where, _, o_text = other.partition(":")
            if o_where == where and o_text and o_text in rest:
                rest = rest.replace(o_text, " ")
        return rest != key.partition(":")[2] and not re.search(r"[a-z]", rest)

    dropped = 0
    for elements, band in zip(per_page, margins, strict=True):
        doomed = {id(e) for e, key in band if running(key) or _PAGE_NUMBER.match(e.text)}
        if doomed:
            before = len(elements)
            elements[:] = [e for e in elements if id(e) not in doomed]
            dropped += before - len(elements)
    return dropped


# ---------------------------------------------------------------------- render helpers


def _has_colour_drawings(page: pymupdf.Page) -> bool:
    """Saturated vector fills over >= 1% of the page: a chart whose colours carry meaning.

    Tinted table shading and blue link text read the same in grey, so they do not count.
    """
    area = 0.0
    for path in page.get_cdrawings():
        c = path.get("fill")
        if c and len(c) == 3 and max(c) - min(c) > 0.3:
            r = path["rect"]
            area += max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])
    return area >= 0.01 * page.rect.width * page.rect.height


def _sniff(head: bytes) -> str:
    h = head.lstrip().lower()
    if h.startswith((b"<!doctype html", b"<html")) or b"<html" in h[:512]:
        return "HTML"
    if h.startswith(b"pk\x03\x04"):
        return "a ZIP/Office file (docx/xlsx)"
    if h.startswith(b"<?xml"):
        return "XML"
    if h.startswith((b"\x89png", b"\xff\xd8\xff", b"gif8")):
        return "an image"
    try:
        head.decode("utf-8")
        return "plain text"
    except UnicodeDecodeError:
        return "unknown binary data"
