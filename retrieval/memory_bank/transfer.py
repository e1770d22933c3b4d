"""Memory entries in and out of files: CSV and JSONL import rows, export, the import report.

Contract: CSV has a header row (:data:`CSV_COLUMNS`; ``paraphrases`` and ``acl`` joined by
``|``; the source as ``source_doc_id``, ``source_file``, ``source_page``, ``quote``); JSONL has
one entry per line, the same flat keys or ``MemoryEntry`` JSON with a nested ``source``. The
suffix chooses the format (.csv; .jsonl, .json or .ndjson). :func:`import_entries` reports every
row as added, updated, skipped (unchanged) or invalid, with its line number, and never stops at a
bad row; storing an entry is left to the caller's ``upsert`` (the bank's own, from
:meth:`~retrieval.memory_bank.bank.MemoryBank.import_file`). :func:`write_entries` writes entries
in the same formats, so an export can be imported back.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from core.errors import AccessError, MemoryBankError
from core.records import Citation, MemoryEntry, Record
from retrieval.memory_bank.keys import make_entry

__all__ = [
    "CSV_COLUMNS",
    "ImportReport",
    "ImportRow",
    "RowStatus",
    "import_entries",
    "write_entries",
]

CSV_COLUMNS = [
    "entry_id",
    "question",
    "paraphrases",
    "answer",
    "company",
    "period",
    "source_doc_id",
    "source_file",
    "source_page",
    "quote",
    "author",
    "approved",
    "approved_by",
    "added_by",
    "valid_from",
    "valid_to",
    "acl",
    "retired",
    "created_at",
    "updated_at",
]

_TRUE = {"1", "true", "yes", "y", "approved"}
_FALSE = {"", "0", "false", "no", "n"}

RowStatus = Literal["added", "updated", "skipped", "invalid"]


class ImportRow(Record):
    """One row of an imported file: its line, what became of it and why."""

    line: int
    status: RowStatus
    entry_id: str | None = None
    question: str = ""
    reason: str = ""


class ImportReport(Record):
    """Every row of one import, in file order."""

    path: str
    rows: list[ImportRow] = Field(default_factory=list)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def summary(self) -> str:
        return ", ".join(f"{self.count(s)} {s}" for s in ("added", "updated", "skipped", "invalid"))


def import_entries(
    path: Path,
    upsert: Callable[[MemoryEntry], RowStatus],
    default_acl: list[str] | None = None,
) -> ImportReport:
    """Store each row of a CSV or JSONL file with ``upsert``; every row gets a status and line.

    Args:
        path: the file; its suffix chooses the format.
        upsert: stores one entry and says whether it was added, updated or skipped; a
            :class:`~core.errors.MemoryBankError` or :class:`~core.errors.AccessError` from it
            marks the row invalid with its message as the reason.
        default_acl: the ACL of a row that names none (else the entry default, ``public``).

    Raises:
        MemoryBankError: the file is missing or neither .csv nor .jsonl/.json.
    """
    report = ImportReport(path=str(path))
    for line, row, error in _read_rows(path):
        if error:
            report.rows.append(ImportRow(line=line, status="invalid", reason=error))
            continue
        try:
            entry = _entry_from_row(row, default_acl)
            status = upsert(entry)
        except (MemoryBankError, AccessError) as exc:
            report.rows.append(
                ImportRow(
                    line=line,
                    status="invalid",
                    question=str(row.get("question", ""))[:80],
                    reason=str(exc),
                )
            )
            continue
        report.rows.append(
            ImportRow(line=line, status=status, entry_id=entry.entry_id, question=entry.question)
        )
    return report


def write_entries(path: Path, entries: Sequence[MemoryEntry]) -> None:
    """Write ``entries`` to a CSV or JSONL file (by suffix), creating its folder."""
    kind = _file_kind(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for e in entries:
                writer.writerow(_flat_row(e))
    else:
        with path.open("w", encoding="utf-8") as handle:
            for e in entries:
                handle.write(e.model_dump_json() + "\n")


def _file_kind(path: Path) -> Literal["csv", "jsonl"]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    raise MemoryBankError(f"{path.name}: use a .csv or .jsonl file for memory entries")


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(line number, row, error) per record of a CSV or JSONL file."""
    kind = _file_kind(path)
    if not path.is_file():
        raise MemoryBankError(f"no file {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if kind == "csv":
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "question" not in reader.fieldnames:
                raise MemoryBankError(
                    f"{path.name}: the first row must be a header naming at least question and "
                    f"answer (columns: {', '.join(CSV_COLUMNS)})"
                )
            for row in reader:
                # where the record ends (= its line unless a cell spans lines)
                line = reader.line_num
                if None in row:
                    yield line, {}, f"more fields than the header has ({len(row[None])} extra)"
                elif any((v or "").strip() for v in row.values()):
                    yield line, row, ""
            return
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, {}, f"not JSON: {exc.msg} at column {exc.colno}"
                continue
            if not isinstance(row, dict):
                yield line, {}, "not a JSON object"
                continue
            yield line, row, ""


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).split("|") if p.strip()]


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise MemoryBankError(f"{name} must be true or false, not {value!r}")


def _entry_from_row(row: dict[str, Any], default_acl: list[str] | None = None) -> MemoryEntry:
    """A flat CSV/JSONL row (or MemoryEntry JSON) -> a normalised entry."""
    known = set(CSV_COLUMNS) | {"source"}
    unknown = sorted(k for k in row if k not in known)
    if unknown:
        raise MemoryBankError(
            f"unknown column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}"
        )
    text = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
    source = text.get("source")
    if not source and (
        text.get("source_file") or text.get("source_doc_id") or text.get("source_page")
    ):
        page = text.get("source_page")
        try:
            page_no = int(page) if page not in (None, "") else 0
        except (TypeError, ValueError):
            raise MemoryBankError(f"source_page must be a page number, not {page!r}") from None
        source = {
            "doc_id": text.get("source_doc_id") or "",
            "file_name": text.get("source_file") or "",
            "page_no": page_no,
            "quote": text.get("quote") or "",
        }
    fields: dict[str, Any] = {
        "paraphrases": _split(text.get("paraphrases")),
        "company": text.get("company") or None,
        "period": text.get("period") or None,
        "source": source or None,
        "author": text.get("author") or "",
        "approved": _flag(text.get("approved"), "approved"),
        "approved_by": text.get("approved_by") or "",
        "added_by": text.get("added_by") or "",
        "valid_from": text.get("valid_from") or None,
        "valid_to": text.get("valid_to") or None,
        "retired": _flag(text.get("retired"), "retired"),
    }
    acl = _split(text.get("acl")) or list(default_acl or [])
    if acl:
        fields["acl"] = acl
    for stamp in ("created_at", "updated_at"):
        if text.get(stamp):
            fields[stamp] = text[stamp]
    entry = make_entry(str(text.get("question") or ""), str(text.get("answer") or ""), **fields)
    if entry.valid_from and entry.valid_to and entry.valid_from > entry.valid_to:
        raise MemoryBankError(f"valid_from {entry.valid_from} is after valid_to {entry.valid_to}")
    return entry


def _flat_row(e: MemoryEntry) -> dict[str, str]:
    src: Citation | None = e.source
    return {
        "entry_id": e.entry_id,
        "question": e.question,
        "paraphrases": " | ".join(e.paraphrases),
        "answer": e.answer,
        "company": e.company or "",
        "period": e.period or "",
        "source_doc_id": src.doc_id if src else "",
        "source_file": src.file_name if src else "",
        "source_page": str(src.page_no) if src else "",
        "quote": src.quote if src else "",
        "author": e.author,
        "approved": "true" if e.approved else "false",
        "approved_by": e.approved_by,
        "added_by": e.added_by,
        "valid_from": e.valid_from.isoformat() if e.valid_from else "",
        "valid_to": e.valid_to.isoformat() if e.valid_to else "",
        "acl": " | ".join(e.acl),
        "retired": "true" if e.retired else "false",
        "created_at": e.created_at.isoformat() if e.created_at else "",
        "updated_at": e.updated_at.isoformat() if e.updated_at else "",
    }
