"""Checks that refuse a hostile file before a parser spends memory on it.

Contract: :func:`check_file` looks at a file's size and, for OOXML (DOCX, XLSX, which are zip
archives), at the zip's central directory only -- no member is decompressed -- and raises
:class:`~core.errors.FileTooLargeError` with one line naming the setting that raises the cap. It
takes milliseconds, so the pipeline runs it in the parent before anything is queued.

Why these limits: a 3 MB DOCX holding 1.1 GB of repetitive XML took a parse worker to 6.5 GB in
10 s; unstructured reads whole members and whole HTML trees into memory (~100x an HTML file's
size), so the only cheap defence is refusing the archive from its directory and HTML by its size.
What still gets through (a file under every cap that expands anyway) meets the parse worker's
memory and time limits (:mod:`ingest.pipeline`).

Example:
    >>> check_file(Path("notes.docx"), "docx", IngestSettings())  # doctest: +SKIP
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from core.errors import CorruptFileError, FileTooLargeError
from core.settings import IngestSettings

ZIP_FORMATS = ("docx", "xlsx", "pptx")


def check_file(path: Path, fmt: str, settings: IngestSettings) -> None:
    """Refuse ``path`` (of parser format ``fmt``) when it is over a size or archive limit."""
    size = path.stat().st_size
    if fmt == "html" and size > settings.max_html_mb * 2**20:
        raise FileTooLargeError(
            f"HTML file is {size / 2**20:.0f} MB, over the {settings.max_html_mb:.0f} MB limit "
            "for HTML (FINRAG_INGEST__MAX_HTML_MB); save it as PDF or split it"
        )
    if fmt in ZIP_FORMATS:
        check_archive(path, settings)


def check_archive(path: Path, settings: IngestSettings) -> None:
    """Refuse a zip whose directory announces too many members, bytes or too high a ratio."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFileError(
            f"not a valid {path.suffix.lstrip('.').upper()} file (its zip structure cannot be "
            f"read: {exc}); check that it opens in its usual application"
        ) from exc
    if len(members) > settings.max_zip_members:
        raise FileTooLargeError(
            f"archive holds {len(members)} members, over the {settings.max_zip_members} limit "
            "(FINRAG_INGEST__MAX_ZIP_MEMBERS)"
        )
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unpacked > settings.max_zip_uncompressed_mb * 2**20:
        raise FileTooLargeError(
            f"archive expands to {unpacked / 2**20:.0f} MB, over the "
            f"{settings.max_zip_uncompressed_mb:.0f} MB limit "
            "(FINRAG_INGEST__MAX_ZIP_UNCOMPRESSED_MB); this looks like a decompression bomb"
        )
    # Small archives compress plain XML 10-30x; only a large one at a huge ratio is a bomb.
    if unpacked > 2**20 and unpacked > settings.max_zip_ratio * max(packed, 1):
        raise FileTooLargeError(
            f"archive expands {unpacked / max(packed, 1):.0f}x ({packed / 2**10:.0f} KB to "
            f"{unpacked / 2**20:.0f} MB), over the {settings.max_zip_ratio:.0f}x limit "
            "(FINRAG_INGEST__MAX_ZIP_RATIO); this looks like a decompression bomb"
        )
