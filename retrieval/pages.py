"""Page-level points for multimodal embedders.

A multimodal embedder indexes each rendered page as one ``page`` chunk carrying only the ``image``
vector (plus BM25 terms of the page's text, so lexical search still reaches it). Text and table
chunks keep the ``text`` vector; a query searches both and Qdrant fuses them.
"""

from __future__ import annotations

from core.records import BBox, Chunk, Filing, Page, make_chunk_id

_PAGE_TEXT_CHARS = 4000


def page_chunks(filing: Filing, pages: list[Page], chunks: list[Chunk]) -> list[Chunk]:
    """One ``page`` chunk per rendered page of ``filing``, its text the page's chunk texts."""
    texts: dict[int, list[str]] = {}
    sections: dict[int, list[str]] = {}
    for chunk in chunks:
        texts.setdefault(chunk.page_no, []).append(chunk.text)
        sections.setdefault(chunk.page_no, chunk.section_path)
    out: list[Chunk] = []
    for page in pages:
        if not page.image_path:
            continue
        out.append(
            Chunk(
                chunk_id=make_chunk_id(filing.doc_id, page.page_no, "page"),
                doc_id=filing.doc_id,
                page_no=page.page_no,
                modality="page",
                text="\n".join(texts.get(page.page_no, []))[:_PAGE_TEXT_CHARS],
                bboxes=[BBox(x0=0, y0=0, x1=page.width, y1=page.height)],
                section_path=sections.get(page.page_no, []),
                image_path=page.image_path,
                order=page.page_no * 10_000,
                **filing.chunk_fields(),
            )
        )
    return out
