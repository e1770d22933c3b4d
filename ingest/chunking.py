"""Section-aware chunking: a parsed document becomes the chunks that are embedded and cited.

Contract: :func:`chunk_document` takes a :class:`~core.records.ParsedDocument`, the
:class:`~core.records.Filing` it belongs to and the embedder's batch tokenizer, and returns
:class:`~core.records.Chunk` records in document order such that

* a chunk lives on one page and in one section (``section_path`` from PART / Item / Note
  structure and the parser's headings); headings are not chunks, they name the section;
* what is embedded (``embed_text`` when set, else ``text``) fits ``max_tokens`` of the embedder,
  assuming token counts add up when texts are joined with whitespace (exact for WordPiece,
  near-exact for byte-level BPE); paragraphs are packed greedily, long ones split at sentence
  boundaries, with no overlap (every token is embedded once; ``prev_id``/``next_id`` give context);
* tables are their own ``table`` chunks (caption + markdown), split by rows with the header rows
  repeated; each part's ``continues_id`` is the previous part, and a table marked ``continued``
  links to the last table chunk of the previous page; figures are ``figure`` chunks (caption +
  image path);
* running headers/footers (text repeated in the page margins across pages), page numbers, table of
  contents pages and near-empty elements are dropped, since they cost embedding time and match
  every query equally;
* ids are ``make_chunk_id(doc_id, page_no, "e<first element index>[.p<part>]")``: the same file
  always gives the same ids, so re-ingestion updates in place.

``count_tokens`` is called a handful of times per document on batches of texts, never per sentence.

Table ``embed_text``: by default the dense vector sees the section, caption, column headers and row
labels, not the figures (``table_embed="labels"``); the figures stay in ``text`` for display and
lexical search. Digits are most of a financial table's tokens, carry little meaning for a sentence
embedder, and are better matched by BM25; ``table_embed="full"`` embeds the markdown instead.

Example:
    >>> chunks = chunk_document(parsed, filing, embedder.count_tokens, max_tokens=256)
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.records import (
    BBox,
    Chunk,
    Element,
    Filing,
    Modality,
    ParsedDocument,
    TableData,
    make_chunk_id,
)
from ingest.statements import page_statements, statement_kind

logger = logging.getLogger(__name__)

# Bump when chunk contents or fields change, so cached corpora (evaluation) are rebuilt.
CHUNK_SCHEMA = 4

CountTokens = Callable[[list[str]], list[int]]

MARGIN = 0.10  # top/bottom fraction of a page where running headers and footers live
TOKEN_BATCH = 512  # texts per count_tokens call

_PART = re.compile(r"^PART\s+(IV|I{1,3})\b\.?\s*[-—–:.]?\s*(.*)$", re.I)
_ITEM = re.compile(r"^ITEM\s+(\d{1,2}[A-C]?)\s*[.:\-—–]?\s*(.*)$", re.I)
_NOTE = re.compile(r"^NOTE\s+(\d{1,2}[A-Z]?)\s*[.:\-—–]*\s*(.*)$", re.I)
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s+of\s+\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$", re.I
)
_TOC_ITEM = re.compile(r"\b(?:ITEM|Item)\s+(?:1[0-6]|[1-9])[A-C]?\b")  # not "line item 12"
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"“(\[]?[A-Z0-9$•●-])")
_BARE_NUMBER = re.compile(r"(?<![\d,.$(])\b\d{1,3}\b(?![\d,.%)])")
_TOC_CHARS_PER_ITEM = 200
_TOC_TITLE = re.compile(r"table\s+of\s+contents|\bindex\b", re.I)
_TOC_ENTRY = re.compile(r"^[^\d]{8,}?\s(?:\d{1,3}|[ivx]{1,4})$", re.I)
_ALNUM = re.compile(r"[A-Za-z0-9]")
_DIGITS = re.compile(r"\d")
_TEXT_KINDS = ("text", "list", "heading", "title")


@dataclass
class _Piece:
    """A unit of text that goes into a chunk: a paragraph or one part of a split paragraph."""

    index: int  # element index in doc.elements
    part: int | None  # part number when a long paragraph was split
    text: str
    tokens: int
    bbox: BBox | None


@dataclass
class _Pending:
    """Chunks before ids and neighbours are assigned."""

    page_no: int
    key: str
    modality: Modality
    text: str
    embed_text: str | None
    section: list[str]
    bboxes: list[BBox] = field(default_factory=list)
    table: TableData | None = None
    image_path: str | None = None
    continues_key: tuple[int, str] | None = None  # (page_no, key) of the chunk this continues


class _Tokens:
    """Batches count_tokens calls and memoises the answers."""

    def __init__(self, count_tokens: CountTokens) -> None:
        self._count = count_tokens
        self._cache: dict[str, int] = {}
        self.calls = 0

    def prime(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for start in range(0, len(todo), TOKEN_BATCH):
            batch = todo[start : start + TOKEN_BATCH]
            counts = self._count(batch)
            self.calls += 1
            if len(counts) != len(batch):
                raise ValueError(
                    f"count_tokens returned {len(counts)} counts for {len(batch)} texts"
                )
            self._cache.update(zip(batch, (int(c) for c in counts), strict=True))

    def __call__(self, text: str) -> int:
        if text not in self._cache:
            self.prime([text])
        return self._cache[text]


# ---------------------------------------------------------------------------------------------
# noise


def _norm(text: str) -> str:
    return " ".join(_DIGITS.sub("#", text.lower()).split())


def _page_heights(doc: ParsedDocument) -> dict[int, float]:
    heights = {p.page_no: p.height for p in doc.pages if p.height}
    lowest: dict[int, float] = {}
    for el in doc.elements:  # pages without a Page record: the lowest box seen stands in
        if el.page_no not in heights and el.bbox is not None:
            lowest[el.page_no] = max(lowest.get(el.page_no, 0.0), el.bbox.y1)
    return {**lowest, **heights}


def _in_margin(el: Element, heights: dict[int, float]) -> bool:
    height = heights.get(el.page_no)
    if el.bbox is None or not height:
        return False
    return el.bbox.y1 <= height * MARGIN or el.bbox.y0 >= height * (1 - MARGIN)


def _is_toc_page(elements: list[Element]) -> bool:
    # Parsers often merge a TOC into a few long blocks, so count across the page: a TOC is dense
    # with Item references, each followed by a bare page number. Body pages that mention a few
    # Items ("see Item 7") are long prose per mention.
    text = "\n".join(ln for el in elements if el.kind != "figure" for ln in _element_lines(el))
    mentions = [m.group(0).lower().replace(" ", "") for m in _TOC_ITEM.finditer(text)]
    numbers = len(_BARE_NUMBER.findall(text))
    titled = bool(_TOC_TITLE.search(text))
    # A titled page may be a 10-Q's shorter TOC whose entries carry long statement names.
    min_items, chars = (4, 2 * _TOC_CHARS_PER_ITEM) if titled else (6, _TOC_CHARS_PER_ITEM)
    if (
        len(set(mentions)) >= min_items
        and numbers >= 0.5 * len(mentions)
        and len(text) <= chars * len(mentions)
    ):
        return True
    # An index of statements: "Consolidated Statements of Operations 53", one number per line.
    if not titled:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip()]
    entries = sum(1 for ln in lines if _TOC_ENTRY.match(ln.strip()))
    return entries >= 5 and entries >= 0.4 * len(lines)


def _element_lines(el: Element) -> list[str]:
    if el.table is not None and (el.table.rows or el.table.header_rows):
        return [" ".join(c for c in row if c) for row in el.table.header_rows + el.table.rows]
    return [ln for ln in el.text.splitlines() if ln.strip()] or [el.text]


def _noise(doc: ParsedDocument) -> tuple[set[int], dict[str, int]]:
    """Indices of elements not worth embedding, and how many of each kind were found."""
    heights = _page_heights(doc)
    n_pages = max(doc.page_count, len({el.page_no for el in doc.elements}), 1)
    drop: set[int] = set()
    stats: Counter[str] = Counter()

    def top_of(el: Element) -> bool:
        return el.bbox is not None and el.bbox.y1 <= heights[el.page_no] * MARGIN

    # A margin text on at least 3 pages and a fifth of them (digits ignored, so "Page 7" and
    # "Page 8" are the same footer) is a running header or footer.
    seen: dict[tuple[str, bool], set[int]] = defaultdict(set)
    for el in doc.elements:
        if el.kind in _TEXT_KINDS and _in_margin(el, heights):
            seen[(_norm(el.text), top_of(el))].add(el.page_no)
    repeated = {k for k, pages in seen.items() if len(pages) >= max(3, math.ceil(0.2 * n_pages))}

    for i, el in enumerate(doc.elements):
        text = el.text.strip()
        if el.kind == "figure":
            if not text and not el.image_path:
                drop.add(i)
                stats["empty"] += 1
            continue
        if el.kind == "table":
            if el.table is None and len(_ALNUM.findall(text)) < 2:
                drop.add(i)
                stats["empty"] += 1
            continue
        if len(_ALNUM.findall(text)) < 2 and not _PAGE_NUMBER.match(text):
            drop.add(i)
            stats["empty"] += 1
        elif _PAGE_NUMBER.match(text) and _in_margin(el, heights):
            # Only in the margins: a bare "14" mid-page may be a cell of a table the parser
            # did not recognise.
            drop.add(i)
            stats["page_numbers"] += 1
        elif _in_margin(el, heights) and (_norm(el.text), top_of(el)) in repeated:
            drop.add(i)
            stats["running_headers"] += 1

    # TOC detection after the running headers are gone: a "Table of Contents" link repeated at
    # the top of every page must not make every page look like a TOC.
    by_page: dict[int, list[int]] = defaultdict(list)
    for i, el in enumerate(doc.elements):
        if i not in drop and el.kind != "figure":
            by_page[el.page_no].append(i)
    for idx in by_page.values():
        if _is_toc_page([doc.elements[i] for i in idx]):
            drop.update(idx)
            stats["toc_pages"] += 1
    return drop, dict(stats)


# ---------------------------------------------------------------------------------------------
# sections


class _Sections:
    """The current section path: PART (depth 0) > Item (1) > Note (2) > headings (3+)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []

    @property
    def path(self) -> list[str]:
        return [title for _, title in self.stack]

    def _push(self, depth: int, title: str) -> None:
        self.stack = [(d, t) for d, t in self.stack if d < depth]
        self.stack.append((depth, title))

    def feed(self, el: Element) -> bool:
        """Update the path from ``el``; true when ``el`` was a heading (and is not content)."""
        text = " ".join(el.text.split())
        heading = el.kind in ("heading", "title")
        if not text or len(text) > (200 if heading else 120):
            return False
        if (m := _PART.match(text)) and (heading or not m.group(2) or m.group(2).isupper()):
            self._push(0, text)
            return True
        # A short line "Item 7. Management's Discussion..." starts a section even when the parser
        # called it text; a sentence beginning "Item 7 describes ..." does not.
        if _ITEM.match(text) and (heading or not text.endswith((".", ",")) or len(text) < 60):
            self._push(1, text)
            return True
        if _NOTE.match(text) and (heading or len(text) < 100):
            self._push(2, text)
            return True
        if heading and re.search(r"[A-Za-z]{3}", text):
            self._push(3 + max(0, (el.level or 1) - 1), text)
            return True
        return False


# ---------------------------------------------------------------------------------------------
# tables


def _md_row(cells: Sequence[str], width: int) -> str:
    cells = [" ".join(c.split()).replace("|", "\\|") for c in cells]
    cells += [""] * (width - len(cells))
    return "| " + " | ".join(cells) + " |"


def _md_header(table: TableData, width: int) -> str:
    if table.header_rows:
        lines = [_md_row(table.header_rows[0], width), _md_row(["---"] * width, width)]
        lines += [_md_row(r, width) for r in table.header_rows[1:]]
    else:  # markdown needs a header line; an empty one keeps the body as body
        lines = [_md_row([""] * width, width), _md_row(["---"] * width, width)]
    return "\n".join(lines)


def _row_label(row: Sequence[str]) -> str:
    for cell in row:
        if re.search(r"[A-Za-z]{2}", cell):
            return " ".join(cell.split())
    return ""


def _column_labels(table: TableData) -> list[str]:
    labels: list[str] = []
    for row in table.header_rows:
        for cell in row:
            cell = " ".join(cell.split())
            if cell and cell not in labels:
                labels.append(cell)
    return labels


def _table_embed(
    section_title: str, caption: str, table: TableData, rows: Sequence[Sequence[str]]
) -> str:
    parts = [p for p in (section_title, caption) if p]
    cols = _column_labels(table)
    if cols:
        parts.append(" | ".join(cols))
    labels = [lab for lab in (_row_label(r) for r in rows) if lab]
    if labels:
        parts.append("; ".join(labels))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# text splitting


def _split_long(text: str, budget: int, tokens: _Tokens) -> list[tuple[str, int]]:
    """Split ``text`` at sentence boundaries into pieces of at most ``budget`` tokens."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    tokens.prime(sentences)
    units: list[tuple[str, int]] = []
    for sentence in sentences:
        n = tokens(sentence)
        if n <= budget:
            units.append((sentence, n))
        else:
            units.extend(_split_words(sentence, budget, tokens))
    out: list[tuple[str, int]] = []
    buf: list[str] = []
    used = 0
    for sentence, n in units:
        if buf and used + n > budget:
            out.append((" ".join(buf), used))
            buf, used = [], 0
        buf.append(sentence)
        used += n
    if buf:
        out.append((" ".join(buf), used))
    return out


def _split_words(sentence: str, budget: int, tokens: _Tokens) -> list[tuple[str, int]]:
    """A sentence longer than the window (a run-on list, a flattened table): cut by words."""
    words = sentence.split()
    total = max(tokens(sentence), 1)
    step = max(1, int(len(words) * budget / total * 0.9))
    pieces: list[tuple[str, int]] = []
    start = 0
    while start < len(words):
        size = step
        while True:
            piece = " ".join(words[start : start + size])
            n = tokens(piece)
            if n <= budget or size == 1:
                break
            size = max(1, size // 2)
        pieces.append((piece, n))
        start += size
    return pieces


# ---------------------------------------------------------------------------------------------
# the chunker


def chunk_document(
    doc: ParsedDocument,
    filing: Filing,
    count_tokens: CountTokens,
    max_tokens: int = 256,
    *,
    table_embed: Literal["labels", "full"] = "labels",
    drop_noise: bool = True,
) -> list[Chunk]:
    """Cut ``doc`` into chunks that respect pages, sections and the embedder's window.

    Args:
        doc: the parsed document, elements in reading order.
        filing: its filing record; its metadata and ACL are copied into every chunk.
        count_tokens: the embedder's batch tokenizer (``Embedder.count_tokens``).
        max_tokens: the most tokens the embedder sees per chunk.
        table_embed: ``"labels"`` embeds a table's section, caption, headers and row labels;
            ``"full"`` embeds its markdown (see the module docstring).
        drop_noise: drop running headers/footers, page numbers, TOC pages and empty elements.

    Returns:
        Chunks in document order with ids, neighbours, ``order`` and filing fields set.
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens={max_tokens} is too small to hold a sentence; use 64 or more")
    tokens = _Tokens(count_tokens)
    drop, stats = _noise(doc) if drop_noise else (set(), {})
    if stats:
        logger.debug("%s: dropped %s", filing.file_name, stats)

    sections = _Sections()
    # First pass: the section of every element, so that token counts are asked for in batches.
    plan: list[tuple[int, Element, list[str], bool]] = []
    for i, el in enumerate(doc.elements):
        if i in drop:
            continue
        heading = el.kind in ("heading", "title", "text", "list") and sections.feed(el)
        plan.append((i, el, sections.path, heading))

    def title_of(path: list[str]) -> str:
        return path[-1] if path else ""

    tokens.prime(
        [" ".join(el.text.split()) for _, el, _, h in plan if not h and el.kind in _TEXT_KINDS]
        + list({title_of(path) for _, _, path, _ in plan if path})
    )

    # Paragraphs that may need splitting: their sentences are counted in one batch too.
    tokens.prime(
        [
            sentence
            for _, el, _, h in plan
            if not h
            and el.kind in _TEXT_KINDS
            and tokens(" ".join(el.text.split())) > max_tokens * 3 // 4
            for sentence in _SENTENCE_END.split(" ".join(el.text.split()))
        ]
    )

    pending: list[_Pending] = []
    buffer: list[_Piece] = []
    buf_page = -1
    buf_section: list[str] = []

    def budget_for(path: list[str]) -> int:
        title = title_of(path)
        overhead = tokens(title) + 1 if title else 0
        # A very long heading is not worth shrinking every chunk of its section for.
        return max_tokens - overhead if overhead <= max_tokens // 4 else max_tokens

    def flush() -> None:
        nonlocal buffer
        if not buffer:
            return
        text = "\n".join(p.text for p in buffer)
        first = buffer[0]
        key = f"e{first.index}" + (f".p{first.part}" if first.part is not None else "")
        title = title_of(buf_section)
        embed = f"{title}\n{text}" if title and budget_for(buf_section) < max_tokens else None
        boxes: list[BBox] = []
        for p in buffer:
            if p.bbox is not None and p.bbox not in boxes:
                boxes.append(p.bbox)
        pending.append(
            _Pending(buf_page, key, "text", text, embed, list(buf_section), bboxes=boxes)
        )
        buffer = []

    last_table: dict[int, tuple[int, str]] = {}  # page -> (page, key) of its last table chunk
    for i, el, path, heading in plan:
        if heading or el.page_no != buf_page or path != buf_section:
            flush()
        if heading:
            continue
        buf_page = el.page_no
        buf_section = path

        if el.kind in ("text", "list", "heading", "title"):
            text = " ".join(el.text.split())
            if not text:
                continue
            budget = budget_for(path)
            n = tokens(text)
            if n <= budget:
                pieces = [_Piece(i, None, text, n, el.bbox)]
            else:
                pieces = [
                    _Piece(i, k, part, pn, el.bbox)
                    for k, (part, pn) in enumerate(_split_long(text, budget, tokens))
                ]
            for piece in pieces:
                used = sum(p.tokens for p in buffer)
                if buffer and used + piece.tokens > budget:
                    flush()
                buffer.append(piece)
                if piece.part is not None:
                    flush()  # a split paragraph's parts are whole chunks: they share the element
            continue

        flush()
        if el.kind == "table":
            parts = _table_parts(i, el, path, tokens, max_tokens, table_embed)
            if parts and el.table is not None and el.table.continued:
                prev = last_table.get(el.page_no - 1)
                if prev is not None:
                    parts[0].continues_key = prev
            for k in range(1, len(parts)):
                parts[k].continues_key = (parts[k - 1].page_no, parts[k - 1].key)
            pending.extend(parts)
            if parts:
                last_table[el.page_no] = (parts[-1].page_no, parts[-1].key)
        elif el.kind == "figure":
            caption = " ".join(el.text.split())
            title = title_of(path)
            pending.append(
                _Pending(
                    el.page_no,
                    f"e{i}",
                    "figure",
                    caption,
                    f"{title}\n{caption}" if title and caption else None,
                    list(path),
                    bboxes=[el.bbox] if el.bbox else [],
                    image_path=el.image_path,
                )
            )
    flush()
    return _finish(doc, filing, pending)


def _table_parts(
    index: int,
    el: Element,
    path: list[str],
    tokens: _Tokens,
    max_tokens: int,
    table_embed: str,
) -> list[_Pending]:
    table = el.table
    title = path[-1] if path else ""
    boxes = [el.bbox] if el.bbox else []
    if table is None or not (table.rows or table.header_rows):
        text = el.text.strip() if table is None else (table.markdown or el.text).strip()
        if not text:
            return []
        caption = table.caption if table is not None else ""
        full = "\n".join(p for p in (caption, text) if p)
        # Without a cell grid, only whole lines can be split off.
        out: list[_Pending] = []
        lines = full.splitlines()
        tokens.prime(lines)
        buf: list[str] = []
        used = 0
        for line in lines:
            n = tokens(line)
            if buf and used + n > max_tokens:
                out.append(
                    _Pending(
                        el.page_no,
                        f"e{index}.p{len(out)}",
                        "table",
                        "\n".join(buf),
                        None,
                        list(path),
                        list(boxes),
                        table,
                    )
                )
                buf, used = [], 0
            buf.append(line)
            used += n
        if buf:
            out.append(
                _Pending(
                    el.page_no,
                    f"e{index}.p{len(out)}",
                    "table",
                    "\n".join(buf),
                    None,
                    list(path),
                    list(boxes),
                    table,
                )
            )
        if len(out) == 1:
            out[0].key = f"e{index}"
        return out

    width = max(table.n_cols, 1)
    caption = " ".join(table.caption.split())
    header = _md_header(table, width)
    row_lines = [_md_row(r, width) for r in table.rows]
    head_text = "\n".join(p for p in (caption, header) if p)
    tokens.prime([head_text, title, *row_lines])
    # In "full" mode the section title is embedded too.
    window = max_tokens - (tokens(title) + 1 if table_embed == "full" and title else 0)
    budget = max(window - tokens(head_text), max_tokens // 4)

    groups: list[list[int]] = []
    used = 0
    for r, line in enumerate(row_lines):
        n = tokens(line)
        if groups and groups[-1] and used + n <= budget:
            groups[-1].append(r)
            used += n
        else:
            groups.append([r])
            used = n
    if not groups:
        groups = [[]]

    parts: list[_Pending] = []
    for k, rows_idx in enumerate(groups):
        rows = [table.rows[r] for r in rows_idx]
        body = "\n".join(row_lines[r] for r in rows_idx)
        markdown = header + ("\n" + body if body else "")
        # Cell rows count header rows first (TableCell.row is the row in the full grid).
        n_head = len(table.header_rows)
        keep = {n_head + r for r in rows_idx}
        cells = [c for c in table.cells if c.row in keep or (c.row < n_head)]
        part = table.model_copy(
            update={
                "rows": rows,
                "cells": cells,
                "markdown": markdown,
                "continued": table.continued if k == 0 else True,
            }
        )
        text = "\n".join(p for p in (caption, markdown) if p)
        if table_embed == "full":
            embed = f"{title}\n{text}" if title else None
        else:
            embed = _table_embed(title, caption, table, rows)
        part_boxes = [c.bbox for c in cells if c.bbox is not None and c.row >= n_head]
        bbox = _union(part_boxes) if len(groups) > 1 and part_boxes else None
        parts.append(
            _Pending(
                el.page_no,
                f"e{index}" if len(groups) == 1 else f"e{index}.p{k}",
                "table",
                text,
                embed or None,
                list(path),
                [bbox] if bbox else list(boxes),
                part,
            )
        )
    return parts


def _union(boxes: list[BBox]) -> BBox:
    out = boxes[0]
    for b in boxes[1:]:
        out = out.union(b)
    return out


def _finish(doc: ParsedDocument, filing: Filing, pending: list[_Pending]) -> list[Chunk]:
    page_kinds = page_statements(doc.elements)
    ids = [make_chunk_id(doc.doc_id, p.page_no, p.key) for p in pending]
    by_key = {(p.page_no, p.key): cid for p, cid in zip(pending, ids, strict=True)}
    chunks: list[Chunk] = []
    for n, (p, cid) in enumerate(zip(pending, ids, strict=True)):
        chunks.append(
            Chunk(
                chunk_id=cid,
                doc_id=doc.doc_id,
                page_no=p.page_no,
                modality=p.modality,
                text=p.text,
                embed_text=p.embed_text if p.embed_text != p.text else None,
                table=p.table,
                bboxes=p.bboxes,
                section_path=p.section,
                prev_id=ids[n - 1] if n > 0 else None,
                next_id=ids[n + 1] if n + 1 < len(ids) else None,
                continues_id=by_key.get(p.continues_key) if p.continues_key else None,
                statement=statement_kind(p.section, p.table.caption if p.table else "")
                or page_kinds.get(p.page_no),
                image_path=p.image_path,
                order=n,
                **filing.chunk_fields(),
            )
        )
    return chunks
