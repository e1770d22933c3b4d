"""The answer under construction: numbered citations, statements with their evidence, notes.

Contract: a :class:`Draft` collects statements (text with "[n]" marks) and the evidence each
figure must be found in; :func:`say_cell` states one table cell with its row and column headers
and unit; :func:`verified` keeps only the statements whose every figure
:func:`agent.verify.verify_answer` supports, renumbers the citations to those kept, and makes a
last sentence-level pass over the whole text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from agent.extractive.tables import Cell, Table
from agent.verify import Evidence, remove_unsupported, verify_answer
from core.records import Chunk, Citation

log = logging.getLogger(__name__)

CITE = re.compile(r"\[(\d+)\]")


@dataclass
class Draft:
    citations: list[Citation] = field(default_factory=list)
    statements: list[tuple[str, list[Evidence]]] = field(default_factory=list)  # text with [n]
    tool_calls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # figure-free remarks (missing periods)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    max_citations: int = 5

    def cite(self, citation: Citation) -> int | None:
        for i, existing in enumerate(self.citations, start=1):
            if existing.chunk_id == citation.chunk_id and existing.quote == citation.quote:
                return i
        if len(self.citations) >= self.max_citations:
            return None
        self.citations.append(citation)
        return len(self.citations)

    def cite_cell(self, table: Table, cell: Cell) -> int | None:
        chunk = table.chunk
        return self.cite(
            Citation(
                doc_id=chunk.doc_id,
                file_name=chunk.file_name,
                page_no=chunk.page_no,
                chunk_id=chunk.chunk_id,
                bbox=cell.bbox or (chunk.bboxes[0] if chunk.bboxes else None),
                quote=f"{cell.row_header} | {cell.col_header}: {cell.text}",
                row_header=cell.row_header,
                col_header=cell.col_header,
            )
        )

    def chunk_evidence(self, chunk: Chunk) -> Evidence:
        if chunk.chunk_id not in self.evidence:
            item = Evidence.from_chunk(chunk)
            if chunk.table is not None:
                # The grid holds the figures even when the chunk text is a summary.
                grid = "\n".join(" | ".join(r) for r in chunk.table.rows)
                cells = "\n".join(f"{c.row_header} | {c.text}" for c in chunk.table.cells)
                item = Evidence(
                    id=item.id, text="\n".join(t for t in (item.text, grid, cells) if t)
                )
            self.evidence[chunk.chunk_id] = item
        return self.evidence[chunk.chunk_id]


def verb(label: str) -> str:
    # The head noun is before "of" / a comma: "Purchases of property" were, "Cash, net" was.
    head = re.split(r"\s+of\s+|,|\(", label, maxsplit=1)[0].split()
    last = head[-1].lower() if head else ""
    return "were" if last.endswith("s") and not last.endswith(("ss", "us", "is")) else "was"


def say_cell(draft: Draft, table: Table, cell: Cell) -> bool:
    n = draft.cite_cell(table, cell)
    if n is None:
        return False
    unit = f" {table.unit}" if table.unit else ""
    text = (
        f"{cell.row_header} {verb(cell.row_header)} {cell.text} in {cell.col_header}{unit} [{n}]."
    )
    draft.statements.append((text, [draft.chunk_evidence(table.chunk)]))
    return True


def verified(draft: Draft) -> tuple[str, list[Citation], list[str]]:
    """Statements whose every figure is supported, with the citations renumbered to those kept."""
    kept: list[str] = []
    for text, evidence in draft.statements:
        check = verify_answer(text, evidence)  # the verifier reads "[1]" as a citation
        if check.all_supported:
            kept.append(text)
        else:
            log.warning(
                "extractive: dropped a statement with unsupported figures (%s): %s",
                ", ".join(f.reason for f in check.unsupported),
                text,
            )
    used: dict[int, int] = {}
    for text in kept:
        for mark in CITE.findall(text):
            used.setdefault(int(mark), len(used) + 1)
    citations = [draft.citations[old - 1] for old in sorted(used, key=used.get)]
    body = " ".join(CITE.sub(lambda m: f"[{used[int(m[1])]}]", t) for t in kept)
    # A last pass over the whole text with all evidence: the sentence-level guard of agent.verify.
    everything = [e for _, ev in draft.statements for e in ev]
    check = verify_answer(body, everything)
    if not check.all_supported:
        body = remove_unsupported(body, check)
    return body, citations, kept
