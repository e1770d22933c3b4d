"""Batch ingestion: files and folders in, searchable chunks and a per-file report out.

Contract: :meth:`Ingestor.ingest` never raises for a bad file. Each file gets a
:class:`~core.records.FileReport` (ok | partial | failed | skipped-duplicate, with a one-line
reason) and the rest of the batch lands. Pass ``raise_errors=True`` to get the first failure as an
exception instead (tests, scripts).

How a batch runs:
* Parsing, metadata and chunking run in worker processes (one per core by default); the parent
  embeds and indexes each file as soon as its chunks arrive, so parsing overlaps embedding.
* Ids come from content: a file whose sha256 is already searchable is skipped; a changed file (same
  path, new bytes) replaces the old filing's points once the new one is complete.
* Crash safety: a filing is written ``pending`` to the catalog and its points are upserted with
  ``ready=false`` (invisible to search); only when every point is in does the filing become
  searchable. A re-run finds pending filings, deletes their points and ingests them again, so an
  interrupted batch resumes without duplicates or half-written filings.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from core.errors import FinragError, IngestError
from core.records import Chunk, Fact, FileReport, Filing, IngestReport, Page, sha256_file
from core.settings import Settings
from ingest.base import EXTENSIONS, format_of, parser_for

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

ProgressCallback = Callable[[FileReport, int, int], None]  # report, files done, files total


class PreparedFile(BaseModel):
    """A file parsed, described and chunked in a worker, ready to embed and index."""

    filing: Filing
    pages: list[Page]
    chunks: list[Chunk]
    facts: list[Fact] = []
    warnings: list[str]
    timings: dict[str, float]


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileReport]]:
    """Expand folders (recursively) into supported files; report paths that cannot be used."""
    files: list[Path] = []
    problems: list[FileReport] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
            )
            if not found:
                problems.append(
                    FileReport(
                        path=str(path), status="failed", reason="folder holds no supported files"
                    )
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
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


# --- worker side -------------------------------------------------------------------------------

# The token counter of a parse worker process, set once by its initializer (each worker is a
# process of its own, started for one batch).
_WORKER_COUNTER: list[Callable[[list[str]], list[int]]] = []


def prepare_file(
    path: Path,
    doc_id: str,
    settings: Settings,
    overrides: dict[str, object],
    count_tokens: Callable[[list[str]], list[int]],
) -> PreparedFile:
    """Parse, extract metadata and chunk one file (in a worker process, or in-process).

    ``count_tokens`` is the corpus embedder's, so chunks fit its window.
    """
    from ingest.chunking import chunk_document
    from ingest.facts import facts_from_chunks, facts_from_ixbrl
    from ingest.metadata import apply_overrides, extract_metadata, load_sidecar

    timings: dict[str, float] = {}
    parser = parser_for(path, settings.ingest)
    parsed = parser.parse(
        path, doc_id, settings.renders_dir if settings.ingest.render_pages else None
    )
    timings.update(parsed.timings)
    if not parsed.elements:
        raise IngestError("no text found (the file has no text layer and OCR found nothing)")

    started = time.process_time()
    meta = extract_metadata(parsed, path.name)
    sidecar = load_sidecar(path)
    if sidecar:
        meta = apply_overrides(meta, sidecar, "sidecar")
    if overrides:
        meta = apply_overrides(meta, overrides, "override")
    acl = overrides.get("acl") or sidecar.get("acl") or settings.default_acl
    filing = Filing(
        doc_id=doc_id,
        source_path=str(path.resolve()),
        file_name=path.name,
        format=parsed.format,
        page_count=parsed.page_count,
        acl=list(acl),  # type: ignore[arg-type]
        **meta.filing_fields(),  # the metadata fields, their sources and evidence
    )
    timings["metadata"] = time.process_time() - started

    started = time.process_time()
    chunks = chunk_document(
        parsed,
        filing,
        count_tokens,
        max_tokens=settings.embedder.max_tokens,  # type: ignore[arg-type]
    )
    timings["chunk"] = time.process_time() - started
    filing.chunk_count = len(chunks)

    started = time.process_time()
    facts = facts_from_chunks(filing, chunks)
    if parsed.format == "html":
        facts += facts_from_ixbrl(filing, path)
    timings["facts"] = time.process_time() - started
    return PreparedFile(
        filing=filing,
        pages=parsed.pages,
        chunks=chunks,
        facts=facts,
        warnings=parsed.warnings,
        timings=timings,
    )


def _worker_init(threads: int, settings: Settings) -> None:
    # Workers parse; keep their numeric libraries from fighting the parent's embedder for cores.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    logging.getLogger().setLevel(logging.WARNING)
    from retrieval.embedders.base import build_embedder

    _WORKER_COUNTER.append(build_embedder(settings).count_tokens)


def _prepare_in_worker(
    path: Path, doc_id: str, settings: Settings, overrides: dict[str, object]
) -> PreparedFile:
    return prepare_file(path, doc_id, settings, overrides, _WORKER_COUNTER[0])


# --- parent side -------------------------------------------------------------------------------


class Ingestor:
    """Ingests batches into an open corpus (its index, catalog, embedder and BM25 encoder).

    Example:
        >>> with Corpus.open(Settings(data_dir="/tmp/corpus")) as corpus:  # doctest: +SKIP
        ...     report = Ingestor(corpus).ingest(["filings/"])
    """

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.settings = corpus.settings
        self.catalog = corpus.catalog
        self.embedder = corpus.embedder
        self.sparse = corpus.sparse
        self.index = corpus.index
        self._collection_ready = False

    # -- public --

    def ingest(
        self,
        paths: Iterable[str | Path],
        overrides: dict[str, object] | None = None,
        progress: ProgressCallback | None = None,
        raise_errors: bool = False,
    ) -> IngestReport:
        """Ingest files and folders; see the module docstring for the guarantees."""
        overrides = {k: v for k, v in (overrides or {}).items() if v not in (None, "", [])}
        started = time.perf_counter()
        report = IngestReport()
        stage: dict[str, float] = defaultdict(float)
        files, problems = collect_files(paths)
        report.files.extend(problems)
        total = len(files) + len(problems)
        self._recover_pending()

        todo: list[tuple[Path, str]] = []
        seen: dict[str, Path] = {}
        for path in files:
            t0 = time.perf_counter()
            try:
                self._check_readable(path)
                doc_id = sha256_file(str(path))
            except FinragError as exc:
                self._finish(
                    report,
                    FileReport(path=str(path), status="failed", reason=str(exc)),
                    progress,
                    total,
                )
                continue
            stage["hash"] += time.perf_counter() - t0
            if doc_id in seen:
                reason = f"same content as {seen[doc_id].name} in this batch"
                self._finish(
                    report,
                    FileReport(
                        path=str(path), status="skipped-duplicate", doc_id=doc_id, reason=reason
                    ),
                    progress,
                    total,
                )
                continue
            seen[doc_id] = path
            existing = (
                self.catalog.get(doc_id)
                if self.catalog.state(doc_id) in ("ok", "partial")
                else None
            )
            if existing is not None and _overrides_hold(existing, overrides):
                reason = f"already ingested as {existing.file_name}"
                pages = existing.page_count
                self._finish(
                    report,
                    FileReport(
                        path=str(path),
                        status="skipped-duplicate",
                        doc_id=doc_id,
                        pages=pages,
                        reason=reason,
                    ),
                    progress,
                    total,
                )
                continue
            todo.append((path, doc_id))

        for path, doc_id, outcome, seconds in self._prepare_all(todo, overrides):
            if isinstance(outcome, BaseException):
                if raise_errors:
                    raise outcome
                reason = (
                    str(outcome)
                    if isinstance(outcome, FinragError)
                    else f"internal error: {outcome!r}"
                )
                if not isinstance(outcome, FinragError):
                    log.error("ingest of %s failed", path, exc_info=outcome)
                self._finish(
                    report,
                    FileReport(
                        path=str(path),
                        status="failed",
                        doc_id=doc_id,
                        reason=reason,
                        seconds=seconds,
                    ),
                    progress,
                    total,
                )
                continue
            for name, value in outcome.timings.items():
                stage[name] += value
            try:
                file_report = self._store(path, outcome, stage)
            except Exception as exc:  # a storage failure loses this file only
                if raise_errors:
                    raise
                log.error("indexing %s failed", path, exc_info=True)
                self.index.delete_doc(doc_id)
                self.corpus.facts.delete(doc_id)
                self.catalog.delete(doc_id)
                file_report = FileReport(
                    path=str(path), status="failed", doc_id=doc_id, reason=f"indexing failed: {exc}"
                )
            file_report.seconds = seconds
            self._finish(report, file_report, progress, total)

        self.index.optimize_if_due()  # a background HNSW build once enough points await one
        report.seconds = time.perf_counter() - started
        report.stage_seconds = dict(stage)
        return report

    # -- internals --

    def _finish(
        self,
        report: IngestReport,
        file_report: FileReport,
        progress: ProgressCallback | None,
        total: int,
    ) -> None:
        report.files.append(file_report)
        if progress:
            progress(file_report, len(report.files), total)

    def _check_readable(self, path: Path) -> None:
        format_of(path)
        size_mb = path.stat().st_size / 2**20
        if size_mb > self.settings.ingest.max_file_mb:
            raise IngestError(
                f"file is {size_mb:.0f} MB, over the "
                f"{self.settings.ingest.max_file_mb:.0f} MB limit (FINRAG_INGEST__MAX_FILE_MB)"
            )

    def _recover_pending(self) -> None:
        """Remove what an interrupted run left half-written, so the file is ingested afresh."""
        for filing in self.catalog.pending():
            log.warning("removing half-written filing %s from an interrupted run", filing.file_name)
            self.index.delete_doc(filing.doc_id)
            self.corpus.facts.delete(filing.doc_id)
            self.catalog.delete(filing.doc_id)

    def _prepare_all(
        self, todo: list[tuple[Path, str]], overrides: dict[str, object]
    ) -> Iterable[tuple[Path, str, PreparedFile | BaseException, float]]:
        workers = self.settings.ingest.workers or os.cpu_count() or 1
        workers = min(workers, len(todo))
        if workers <= 1:
            for path, doc_id in todo:
                t0 = time.perf_counter()
                try:
                    outcome: PreparedFile | BaseException = prepare_file(
                        path, doc_id, self.settings, overrides, self.embedder.count_tokens
                    )
                except Exception as exc:
                    outcome = exc
                yield path, doc_id, outcome, time.perf_counter() - t0
            return
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_worker_init, initargs=(1, self.settings)
        ) as pool:
            futures: list[tuple[Path, str, Future, float]] = [
                (
                    path,
                    doc_id,
                    pool.submit(_prepare_in_worker, path, doc_id, self.settings, overrides),
                    time.perf_counter(),
                )
                for path, doc_id in todo
            ]
            pending = list(futures)
            while pending:
                # Take whichever file is ready first so embedding overlaps the remaining parses.
                ready = next((f for f in pending if f[2].done()), None)
                if ready is None:
                    time.sleep(0.01)
                    continue
                pending.remove(ready)
                path, doc_id, future, t0 = ready
                try:
                    outcome = future.result()
                except Exception as exc:
                    outcome = exc
                yield path, doc_id, outcome, time.perf_counter() - t0

    def _ensure_collection(self) -> None:
        if not self._collection_ready:
            image_dim = self.embedder.image_dim if self.corpus.image_pages else None
            self.index.ensure_collection(self.embedder.dim, image_dim)
            self._collection_ready = True

    def _store(self, path: Path, prepared: PreparedFile, stage: dict[str, float]) -> FileReport:
        filing = prepared.filing
        self._ensure_collection()
        replaced = [
            f for f in self.catalog.by_source(filing.source_path) if f.doc_id != filing.doc_id
        ]
        # A filing being re-ingested with new overrides replaces its own points.
        self.index.delete_doc(filing.doc_id)
        self.catalog.put(filing, "pending")

        chunks = prepared.chunks
        t0 = time.process_time()
        dense = (
            self.embedder.embed_documents([c.embed_text or c.text for c in chunks])
            if chunks
            else None
        )
        stage["embed"] += time.process_time() - t0
        t0 = time.process_time()
        sparse = self.sparse.encode_documents([c.text for c in chunks])
        stage["sparse"] += time.process_time() - t0
        t0 = time.process_time()
        if chunks:
            self.index.upsert(chunks, dense, sparse, ready=False)
        self._store_page_images(prepared)
        self.index.mark_ready(filing.doc_id)
        stage["index"] += time.process_time() - t0
        # written before the filing turns searchable: a crash before that point leaves it
        # pending, and the re-run's delete + replace never duplicates a fact
        self.corpus.facts.replace(filing.doc_id, prepared.facts)

        status = "partial" if prepared.warnings else "ok"
        filing.status = status  # type: ignore[assignment]
        filing.ingested_at = datetime.now(UTC)
        self.catalog.put(filing, status)
        for old in replaced:
            log.info("replacing %s (file changed)", old.doc_id[:12])
            self.index.delete_doc(old.doc_id)
            self.corpus.facts.delete(old.doc_id)
            self.catalog.delete(old.doc_id)
        reason = "; ".join(prepared.warnings[:3]) + (" ..." if len(prepared.warnings) > 3 else "")
        return FileReport(
            path=str(path),
            status=status,
            doc_id=filing.doc_id,
            pages=filing.page_count,
            chunks=len(chunks),
            reason=reason,
            errors=prepared.warnings,
        )

    def _store_page_images(self, prepared: PreparedFile) -> None:
        """Multimodal embedders: each rendered page becomes a ``page`` point in the image vector."""
        if not self.corpus.image_pages:
            return
        from retrieval.pages import page_chunks

        chunks = page_chunks(prepared.filing, prepared.pages, prepared.chunks)
        if not chunks:
            return
        images = self.embedder.embed_images([c.image_path for c in chunks])
        sparse = self.sparse.encode_documents([c.text for c in chunks])
        self.index.upsert(chunks, None, sparse, image_vectors=images, ready=False)


def _overrides_hold(filing: Filing, overrides: dict[str, object]) -> bool:
    """Whether an ingested filing already carries these overrides (then re-ingesting is a no-op)."""
    return all(getattr(filing, key, None) == value for key, value in overrides.items())
