"""The parsing stage's contract.

A :class:`Parser` turns one file into a :class:`~core.records.ParsedDocument`: elements (headings,
paragraphs, tables, figures) in reading order with page numbers and boxes, plus page records with
their renders. It raises an :class:`~core.errors.IngestError` whose message is one line a user can
act on ("encrypted PDF: remove the password and retry") when the file cannot be read at all;
problems confined to some pages go into ``ParsedDocument.warnings`` and parsing continues.

Parsers are chosen by file extension through :data:`PARSERS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from core.errors import UnsupportedFormatError
from core.records import ParsedDocument
from core.registry import Registry
from core.settings import IngestSettings


class Parser(Protocol):
    def parse(self, path: Path, doc_id: str, renders_dir: Path | None) -> ParsedDocument:
        """Parse ``path`` (whose sha256 is ``doc_id``); write page renders under ``renders_dir``."""
        ...


PARSERS: Registry[Parser] = Registry("parser")
PARSERS.register_lazy("pdf", "ingest.pdf:PdfParser")
PARSERS.register_lazy("html", "ingest.office:UnstructuredParser")
PARSERS.register_lazy("docx", "ingest.office:UnstructuredParser")
PARSERS.register_lazy("xlsx", "ingest.office:UnstructuredParser")

EXTENSIONS = {
    ".pdf": "pdf",
    ".htm": "html",
    ".html": "html",
    ".xhtml": "html",
    ".docx": "docx",
    ".xlsx": "xlsx",
}


def format_of(path: Path) -> str:
    """The parser name for a file, from its extension; raises for unsupported types."""
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(EXTENSIONS))
        raise UnsupportedFormatError(
            f"unsupported file type {path.suffix or '(none)'!r}; supported: {known}"
        ) from None


def parser_for(path: Path, settings: IngestSettings) -> Parser:
    """Build the parser for ``path`` with the ingest settings."""
    fmt = format_of(path)
    return PARSERS.create(fmt, settings=settings, fmt=fmt)
