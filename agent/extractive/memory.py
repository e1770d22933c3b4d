"""Memory-bank statements: the best approved, current entry, stated first with its provenance.

Contract: :func:`memory_statements` adds at most one statement to the draft, from the highest
ranked memory hit that is approved, not retired and not stale, prefixed with who approved it and
its source page (cited when it has one); it returns the entry ids it used.
"""

from __future__ import annotations

from agent.extractive.draft import Draft
from agent.verify import Evidence
from core.records import RetrievalResult


def memory_statements(draft: Draft, result: RetrievalResult) -> list[str]:
    ids: list[str] = []
    for hit in result.memory:
        entry = getattr(hit, "entry", hit)
        if not getattr(entry, "approved", False) or getattr(entry, "retired", False):
            continue
        if getattr(hit, "stale", False):
            continue
        source = entry.source
        where = f"{source.file_name} p.{source.page_no}" if source else "no source recorded"
        who = entry.approved_by or entry.author or "an expert"
        refs = ""
        if source is not None:
            n = draft.cite(source)
            refs = f" [{n}]" if n else ""
        prefix = f"From the memory bank (approved by {who}, source: {where}):"
        # The provenance is quoted metadata: digits in a file name are not figures to check.
        evidence = [
            Evidence(id=f"memory:{entry.entry_id}", text=entry.answer),
            Evidence(id=f"provenance:{entry.entry_id}", text=prefix),
        ]
        answer = entry.answer.strip().rstrip(".")
        draft.statements.append((f"{prefix} {answer}{refs}.", evidence))
        ids.append(entry.entry_id)
        break  # the best approved entry; the rest are paraphrases of other questions
    return ids
