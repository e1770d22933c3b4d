"""Section-aware chunking on hand-built documents, with word count standing in for the tokenizer."""

from __future__ import annotations

from datetime import date

import pytest

from core.records import (
    BBox,
    Element,
    Filing,
    Page,
    ParsedDocument,
    TableCell,
    TableData,
    make_chunk_id,
)
from ingest.chunking import chunk_document

DOC_ID = "a" * 64
H = 792.0


class WordCounter:
    """The fake tokenizer: one token per word; records its batches."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, texts: list[str]) -> list[int]:
        self.batches.append(len(texts))
        return [len(t.split()) for t in texts]


def _box(n: int) -> BBox:
    return BBox(x0=72, y0=100 + 30 * n, x1=540, y1=125 + 30 * n)


def _doc(elements: list[Element], pages: int | None = None) -> ParsedDocument:
    n = pages or max(e.page_no for e in elements)
    return ParsedDocument(
        doc_id=DOC_ID,
        path="acme.pdf",
        format="pdf",
        page_count=n,
        pages=[Page(doc_id=DOC_ID, page_no=p, width=612, height=H) for p in range(1, n + 1)],
        elements=elements,
    )


def _filing() -> Filing:
    return Filing(
        doc_id=DOC_ID,
        source_path="/x/acme.pdf",
        file_name="acme.pdf",
        company="ACME INC.",
        ticker="ACME",
        form="10-K",
        fiscal_year=2023,
        fiscal_period="FY",
        period_end=date(2023, 12, 31),
        acl=["finance"],
    )


def _text(
    page: int, text: str, n: int = 0, kind: str = "text", level: int | None = None
) -> Element:
    return Element(kind=kind, page_no=page, text=text, bbox=_box(n), level=level)  # type: ignore[arg-type]


def _words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n)) + "."


def _sentences(n: int, words: int) -> str:
    return " ".join(
        "Word " + " ".join(f"w{s}x{i}" for i in range(words - 1)) + "." for s in range(n)
    )


def test_section_paths_follow_part_item_note_and_headings() -> None:
    els = [
        _text(1, "PART I", kind="heading"),
        _text(1, "Item 1A. Risk Factors", 1),  # the parser called it text: still a section
        _text(1, _words("risk", 20), 2),
        _text(2, "PART II", kind="heading"),
        _text(2, "Item 7. Management's Discussion and Analysis", 1, kind="heading"),
        _text(2, "Results of Operations", 2, kind="heading", level=2),
        _text(2, _words("ops", 10), 3),
        _text(3, "Item 8. Financial Statements and Supplementary Data", kind="heading"),
        _text(3, "Note 5 — Debt", 1, kind="heading"),
        _text(3, _words("debt", 10), 2),
        _text(3, "Note 6 — Leases", 3, kind="heading"),
        _text(3, _words("lease", 10), 4),
    ]
    chunks = chunk_document(_doc(els), _filing(), WordCounter(), max_tokens=64)
    assert [c.section_path for c in chunks] == [
        ["PART I", "Item 1A. Risk Factors"],
        ["PART II", "Item 7. Management's Discussion and Analysis", "Results of Operations"],
        ["PART II", "Item 8. Financial Statements and Supplementary Data", "Note 5 — Debt"],
        ["PART II", "Item 8. Financial Statements and Supplementary Data", "Note 6 — Leases"],
    ]
    # Headings name sections; they are not content.
    assert all("Item" not in c.text and "Note" not in c.text for c in chunks)
    assert chunks[2].text == _words("debt", 10)
    assert chunks[2].embed_text == "Note 5 — Debt\n" + _words("debt", 10)


def test_a_sentence_starting_with_item_is_not_a_section() -> None:
    long = (
        "Item 7 describes our results in detail, and it also covers liquidity, capital "
        "resources and more."
    )
    els = [_text(1, "Item 7. MD&A", kind="heading"), _text(1, long, 1)]
    chunks = chunk_document(_doc(els), _filing(), WordCounter(), max_tokens=64)
    assert [(c.section_path, c.text) for c in chunks] == [(["Item 7. MD&A"], long)]


def test_packing_respects_the_window_pages_and_sections() -> None:
    els = [_text(1, "Liquidity", kind="heading")]
    els += [_text(1, _words(f"p{k}x", 15), k + 1) for k in range(10)]  # 10 paragraphs of 15 words
    els += [_text(2, _words("next", 5))]
    counter = WordCounter()
    chunks = chunk_document(_doc(els), _filing(), counter, max_tokens=50)
    for c in chunks:
        assert len((c.embed_text or c.text).split()) <= 50
    page1 = [c for c in chunks if c.page_no == 1]
    # 49 tokens per chunk after the 1-word title: 3 paragraphs of 15 fit, a 4th does not.
    assert [c.text.count("\n") + 1 for c in page1] == [3, 3, 3, 1]
    assert "".join(c.text for c in page1).count("p9x14") == 1  # every paragraph once, no overlap
    assert chunks[-1].page_no == 2 and chunks[-1].text == _words("next", 5)
    assert page1[0].bboxes == [_box(1), _box(2), _box(3)]
    # count_tokens is asked in batches, not once per paragraph.
    assert len(counter.batches) <= 3


def test_long_paragraph_split_at_sentences() -> None:
    text = _sentences(12, 10)  # 12 sentences of 10 words
    chunks = chunk_document(_doc([_text(1, text)]), _filing(), WordCounter(), max_tokens=35)
    assert [len(c.text.split()) for c in chunks] == [30, 30, 30, 30]
    assert all(c.text.endswith(".") and c.text.startswith("Word") for c in chunks)
    assert " ".join(c.text for c in chunks) == text
    assert chunks[0].embed_text is None  # no section title: what is embedded is the text


def test_run_on_sentence_split_by_words() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_document(_doc([_text(1, text)]), _filing(), WordCounter(), max_tokens=30)
    assert all(len(c.text.split()) <= 30 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def _table(
    page: int, rows: int, *, continued: bool = False, caption: str = "Debt maturities"
) -> Element:
    header = [["", "2023", "2022"], ["", "$ million", "$ million"]]
    body = [[f"Line item {r}", f"{r},100", f"{r},200"] for r in range(rows)]
    cells = [
        TableCell(
            row=2 + r,
            col=c,
            text=body[r][c],
            row_header=body[r][0],
            col_header=header[0][c],
            bbox=BBox(x0=72 + 100 * c, y0=200 + 12 * r, x1=160 + 100 * c, y1=210 + 12 * r),
        )
        for r in range(rows)
        for c in range(3)
    ]
    table = TableData(
        header_rows=header, rows=body, cells=cells, caption=caption, continued=continued
    )
    return Element(
        kind="table",
        page_no=page,
        table=table,
        bbox=BBox(x0=72, y0=190, x1=400, y1=210 + 12 * rows),
    )


def test_table_is_its_own_chunk_with_labels_for_the_embedder() -> None:
    els = [_text(1, "Note 5 — Debt", kind="heading"), _text(1, _words("intro", 8), 1), _table(1, 3)]
    chunks = chunk_document(_doc(els), _filing(), WordCounter(), max_tokens=256)
    assert [c.modality for c in chunks] == ["text", "table"]
    table = chunks[1]
    assert table.text.splitlines()[:4] == [
        "Debt maturities",
        "|  | 2023 | 2022 |",
        "| --- | --- | --- |",
        "|  | $ million | $ million |",
    ]
    assert "| Line item 2 | 2,100 | 2,200 |" in table.text
    assert (
        table.embed_text == "Note 5 — Debt\nDebt maturities\n2023 | 2022 | $ million\n"
        "Line item 0; Line item 1; Line item 2"
    )
    assert table.section_path == ["Note 5 — Debt"]
    assert table.table is not None and table.table.rows[2] == ["Line item 2", "2,100", "2,200"]
    full = chunk_document(_doc(els), _filing(), WordCounter(), max_tokens=256, table_embed="full")[
        1
    ]
    assert full.embed_text == "Note 5 — Debt\n" + full.text


def test_large_table_split_by_rows_with_headers_repeated() -> None:
    chunks = chunk_document(_doc([_table(1, 40)]), _filing(), WordCounter(), max_tokens=60)
    assert len(chunks) > 2 and all(c.modality == "table" for c in chunks)
    rows_seen = []
    for k, c in enumerate(chunks):
        assert len(c.text.split()) <= 60
        assert c.text.splitlines()[1:4] == [
            "|  | 2023 | 2022 |",
            "| --- | --- | --- |",
            "|  | $ million | $ million |",
        ]
        assert c.table is not None and c.table.header_rows == [
            ["", "2023", "2022"],
            ["", "$ million", "$ million"],
        ]
        assert c.table.continued == (k > 0)
        assert {cell.row_header for cell in c.table.cells} == {r[0] for r in c.table.rows}
        rows_seen += [r[0] for r in c.table.rows]
        assert c.continues_id == (chunks[k - 1].chunk_id if k else None)
        # the part's box covers its rows, not the whole table
        assert len(c.bboxes) == 1 and c.bboxes[0].y1 - c.bboxes[0].y0 < 12 * 40
    assert rows_seen == [f"Line item {r}" for r in range(40)]
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    els = [_text(1, "Long-term debt by maturity", kind="heading"), _table(1, 40)]
    full = chunk_document(_doc(els), _filing(), WordCounter(), max_tokens=60, table_embed="full")
    assert len(full) > 2 and all(len(c.embed_text.split()) <= 60 for c in full if c.embed_text)


def test_continued_table_links_to_previous_page() -> None:
    els = [
        _table(1, 2),
        _text(1, _words("between", 5), 8),
        _table(2, 2, continued=True, caption=""),
        _table(3, 2, caption="Another table"),
    ]
    chunks = chunk_document(_doc(els), _filing(), WordCounter(), max_tokens=256)
    tables = [c for c in chunks if c.modality == "table"]
    assert tables[1].continues_id == tables[0].chunk_id
    assert tables[2].continues_id is None


def test_figure_chunk() -> None:
    fig = Element(
        kind="figure",
        page_no=1,
        text="Figure 1: Revenue by segment",
        bbox=_box(3),
        image_path="/r/fig1.png",
    )
    els = [_text(1, "Overview", kind="heading"), fig]
    (chunk,) = chunk_document(_doc(els), _filing(), WordCounter())
    assert (chunk.modality, chunk.text, chunk.image_path) == (
        "figure",
        "Figure 1: Revenue by segment",
        "/r/fig1.png",
    )
    assert chunk.embed_text == "Overview\nFigure 1: Revenue by segment"
    assert chunk.bboxes == [_box(3)]


def test_running_headers_page_numbers_toc_and_empty_elements_dropped() -> None:
    els: list[Element] = []
    toc = "Table of Contents\n" + "\n".join(
        f"Item {i}. Section name {i} {3 + n}"
        for n, i in enumerate(["1", "1A", "1B", "2", "3", "4", "5", "7", "8"])
    )
    els.append(_text(1, toc, 1))
    for p in range(2, 8):
        els.append(
            Element(
                kind="text",
                page_no=p,
                text="ACME INC. | 2023 Form 10-K",
                bbox=BBox(x0=72, y0=20, x1=400, y1=35),
            )
        )
        els.append(_text(p, f"Body text of page {p} about revenue.", 2))
        els.append(_text(p, "—", 3))
        els.append(
            Element(
                kind="text", page_no=p, text=str(p + 40), bbox=BBox(x0=300, y0=760, x1=320, y1=772)
            )
        )
    kept = chunk_document(_doc(els), _filing(), WordCounter())
    assert [c.text for c in kept] == [f"Body text of page {p} about revenue." for p in range(2, 8)]
    everything = chunk_document(_doc(els), _filing(), WordCounter(), drop_noise=False)
    assert len(everything) == 7 and "ACME INC." in everything[1].text


def test_item_prose_page_is_not_a_toc() -> None:
    prose = " ".join(
        f"As discussed in Item {i} of this report, our business faced many risks and "
        "uncertainties that could affect results, liquidity, capital resources and the price of "
        "our stock in ways that are difficult to predict and may be material to the company."
        for i in ["1", "1A", "2", "3", "7", "8"]
    )
    chunks = chunk_document(_doc([_text(1, prose)]), _filing(), WordCounter())
    assert len(chunks) == 1


def test_ids_neighbours_order_and_filing_fields() -> None:
    els = [
        _text(1, "Overview", kind="heading"),
        _text(1, _words("a", 5), 1),
        _table(1, 2),
        _text(2, _words("b", 5)),
    ]
    chunks = chunk_document(_doc(els), _filing(), WordCounter())
    again = chunk_document(_doc(els), _filing(), WordCounter())
    assert [c.chunk_id for c in chunks] == [c.chunk_id for c in again]
    assert [c.chunk_id for c in chunks] == [
        make_chunk_id(DOC_ID, 1, "e1"),
        make_chunk_id(DOC_ID, 1, "e2"),
        make_chunk_id(DOC_ID, 2, "e3"),
    ]
    assert [c.order for c in chunks] == [0, 1, 2]
    assert [c.prev_id for c in chunks] == [None, chunks[0].chunk_id, chunks[1].chunk_id]
    assert [c.next_id for c in chunks] == [chunks[1].chunk_id, chunks[2].chunk_id, None]
    for c in chunks:
        assert (
            c.file_name,
            c.company,
            c.ticker,
            c.form,
            c.fiscal_year,
            c.fiscal_period,
            c.period_end,
            c.acl,
        ) == ("acme.pdf", "ACME INC.", "ACME", "10-K", 2023, "FY", date(2023, 12, 31), ["finance"])


def test_count_tokens_must_answer_every_text() -> None:
    with pytest.raises(ValueError, match="count_tokens returned"):
        chunk_document(_doc([_text(1, "hello world")]), _filing(), lambda texts: [])
