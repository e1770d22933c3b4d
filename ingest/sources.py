"""Where a batch's files come from, and how much a batch may hold.

Contract:

* :func:`collect_files` expands files and folders (recursively) into supported files and a report
  of the paths it cannot use. Symbolic links are never followed in a folder walk unless
  ``follow_symlinks`` (a link in a folder is reported, not read): a link planted in a shared folder
  must not make ``/etc/passwd`` searchable. A path named directly is used as given. Before anything
  is returned it checks the batch against ``max_files`` and ``max_bytes`` and raises
  :class:`~core.errors.BatchTooLargeError` naming the setting that raises the cap; a walk stops
  counting as soon as the cap is passed, so a home directory costs a bounded walk, not 110k stats.
* :func:`save_upload` stores an upload as ``uploads/<owner>/<sha256>.<ext>``: per owner, named by
  content, never overwriting another file.
* :func:`resolve_server_path` (the app's folder input) is :func:`resolve_in_roots` over
  ``settings.allowed_roots`` that also keeps a user out of other users' upload folders.
* :func:`resolve_in_roots` turns a path typed into the app into a real path inside one of the
  allowed roots, or raises :class:`~core.errors.AccessError` (``..`` escapes, absolute paths
  elsewhere and links leading out of a root are all refused: the check runs on the resolved path).

Example:
    >>> files, problems = collect_files(["filings/"], max_files=2000, max_bytes=5 * 2**30)
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from core.errors import AccessError, BatchTooLargeError, FinragError
from core.records import FileReport
from core.settings import Settings
from ingest.base import EXTENSIONS

FILES_SETTING = "FINRAG_INGEST__MAX_BATCH_FILES"
BYTES_SETTING = "FINRAG_INGEST__MAX_BATCH_GB"


def collect_files(
    paths: Iterable[str | Path],
    *,
    follow_symlinks: bool = False,
    max_files: int | None = None,
    max_bytes: float | None = None,
) -> tuple[list[Path], list[FileReport]]:
    """Expand folders into supported files; report paths that cannot be used.

    Args:
        paths: files and folders.
        follow_symlinks: follow links met in folder walks (off: each is reported as not followed).
        max_files: the most files one batch may hold (None: no cap).
        max_bytes: the most bytes one batch may hold (None: no cap).

    Returns:
        The files, largest first except the smallest, which goes first (the embedder gets work
        within a second), and one failed report per unusable path.

    Raises:
        BatchTooLargeError: the batch is over ``max_files`` or ``max_bytes``; nothing is queued.
    """
    files: list[Path] = []
    problems: list[FileReport] = []
    total_bytes = 0

    def add(path: Path, size: int) -> None:
        nonlocal total_bytes
        files.append(path)
        total_bytes += size
        if max_files is not None and len(files) > max_files:
            raise BatchTooLargeError(
                f"this batch holds more than {max_files} files; ingest a smaller folder, or "
                f"raise the cap ({FILES_SETTING}, or --max-files on the CLI)"
            )
        if max_bytes is not None and total_bytes > max_bytes:
            raise BatchTooLargeError(
                f"this batch holds more than {max_bytes / 2**30:.1f} GB; ingest a smaller "
                f"folder, or raise the cap ({BYTES_SETTING}, or --max-gb on the CLI)"
            )

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, links = _walk(path, follow_symlinks, add)
            problems.extend(
                FileReport(
                    path=str(link),
                    status="failed",
                    reason="symbolic link, not followed (the CLI's --follow-symlinks follows it)",
                )
                for link in links
            )
            if not found and not links:
                known = ", ".join(sorted(EXTENSIONS))
                problems.append(
                    FileReport(
                        path=str(path),
                        status="failed",
                        reason=f"folder holds no supported files ({known})",
                    )
                )
        elif path.is_file():
            add(path, path.stat().st_size)
        else:
            problems.append(
                FileReport(path=str(path), status="failed", reason="no such file or folder")
            )
    # Largest first keeps workers busy until the end of the batch; the smallest goes first of all
    # so the embedder has work within a second instead of waiting for the biggest parse.
    files.sort(key=lambda p: p.stat().st_size, reverse=True)
    if len(files) > 2:
        files.insert(0, files.pop())
    return files, problems


def _walk(folder: Path, follow_symlinks: bool, add) -> tuple[int, list[Path]]:
    """Add the supported files under ``folder``; return how many, and the links not followed."""
    found = 0
    links: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=follow_symlinks):
        dirs.sort()
        base = Path(root)
        if not follow_symlinks:
            links.extend(base / d for d in dirs if (base / d).is_symlink())
            dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
        for name in sorted(names):
            path = base / name
            if path.suffix.lower() not in EXTENSIONS:
                continue
            if path.is_symlink() and not follow_symlinks:
                links.append(path)
                continue
            try:
                size = path.stat().st_size
            except OSError:  # a dangling link followed, a file removed during the walk
                continue
            if not path.is_file():
                continue
            add(path, size)
            found += 1
    return found, links


def resolve_in_roots(raw: str | Path, roots: Iterable[Path]) -> Path:
    """The real path of ``raw`` when it lies inside one of ``roots``.

    A relative path is read against the first root holding it (else the first root). The check
    runs on the resolved path, so ``..`` segments and symbolic links that lead out of a root are
    refused like any outside path.

    Raises:
        AccessError: the path is outside every root (the message lists the roots and the setting).
        FinragError: the path does not exist.
    """
    roots = [Path(r).expanduser().resolve() for r in roots]
    where = Path(str(raw).strip()).expanduser()
    if not where.is_absolute() and roots:
        where = next((r / where for r in roots if (r / where).exists()), roots[0] / where)
    real = where.resolve()
    if not any(real == root or real.is_relative_to(root) for root in roots):
        listed = ", ".join(str(r) for r in roots) or "(none)"
        raise AccessError(
            f"{raw} is outside the folders this app may read ({listed}); an administrator can "
            "add a folder to FINRAG_INGEST__ALLOWED_ROOTS"
        )
    if not real.exists():
        raise FinragError(f"{raw} does not exist on the server; check the path")
    return real


def owner_folder(name: str) -> str:
    """A folder name for a user's uploads: their name made safe for a path (no separators, no
    leading dot); a name that had to change gets a short hash so two users never share one."""
    safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", name).lstrip(".") or "_"
    if safe != name:
        safe = f"{safe[:64]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return safe


def save_upload(data: bytes, original_name: str, uploads_dir: Path, owner: str) -> Path:
    """Store an upload as ``uploads_dir/<owner>/<sha256>.<ext>`` and return its path.

    The name comes from the content, so two uploads never overwrite each other (the same bytes
    again land on the same file, unchanged); the original name is kept by the caller for the
    catalog. The file is written under a temporary name and renamed, so a half-written upload is
    never ingested.

    Raises:
        UnsupportedFormatError: the original name's extension is not a supported type.
    """
    from ingest.base import format_of

    suffix = Path(original_name).suffix.lower()
    format_of(Path(f"x{suffix}"))  # refuses unsupported types with the list of supported ones
    folder = uploads_dir / owner_folder(owner)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if target.exists() and not target.is_symlink():
        return target
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def resolve_server_path(raw: str | Path, settings: Settings, user: str) -> Path:
    """A server path typed into the app, resolved inside ``settings.allowed_roots``.

    Inside the uploads folder only the user's own uploads may be named: another user's folder
    holds files they may have deleted from the library, which must not come back under a new ACL.

    Raises:
        AccessError: outside the allowed roots, or another user's uploads.
        FinragError: the path does not exist.
    """
    real = resolve_in_roots(raw, settings.allowed_roots)
    uploads = settings.uploads_dir.expanduser().resolve()
    own = uploads / owner_folder(user)
    if real.is_relative_to(uploads) and not real.is_relative_to(own):
        raise AccessError(
            f"{raw} is in the uploads folder but not among your own uploads ({own}); "
            "upload the file instead"
        )
    return real
