"""Batch ingestion: files and folders in, searchable chunks and a per-file report out.

Contract: :meth:`Ingestor.ingest` never raises for a bad file. Each file gets a
:class:`~core.records.FileReport` (ok | partial | failed | skipped-duplicate, with a one-line
reason) and the rest of the batch lands. Pass ``raise_errors=True`` to get the first failure as an
exception instead (tests, scripts).

How a batch runs:
* Files come from :func:`~ingest.sources.collect_files` (links in folders not followed unless
  ``ingest.follow_symlinks``; a batch over ``max_batch_files`` / ``max_batch_gb`` raises
  :class:`~core.errors.BatchTooLargeError` before anything is queued). Each file is checked
  cheaply first (:mod:`ingest.limits`: size, zip directory) and refused with a one-line reason.
* Parsing, metadata and chunking run in worker processes (one per core by default), each limited
  in memory (``worker_memory_mb``) and time per file (``file_timeout_s``); a worker that dies
  fails only its own file (the pool is rebuilt, the other files retried). The parent embeds and
  indexes each file as soon as its chunks arrive, so parsing overlaps embedding.
  ``ingest.isolate=False`` parses in the calling process instead (trusted input, tests).
* Ownership: the :class:`Requester` is recorded as ``Filing.added_by``. A duplicate (same sha256)
  of a filing the requester may not read is refused without naming its owner or groups; a
  duplicate never changes its ACL (:meth:`retrieval.corpus.Corpus.set_acl` does, consistently in
  catalog, index and facts).
* Ids come from content: a file whose sha256 is already searchable is skipped; a changed file (same
  path, new bytes) replaces the old filing's points once the new one is complete (when the
  requester may read the old one).
* Crash safety: a filing is written ``pending`` to the catalog and its points are upserted with
  ``ready=false`` (invisible to search); only when every point is in does the filing become
  searchable. A re-run finds pending filings, deletes their points and ingests them again, so an
  interrupted batch resumes without duplicates or half-written filings.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from core.errors import FileTooLargeError, FinragError, IngestError, IngestTimeoutError
from core.records import Chunk, Fact, FileReport, Filing, IngestReport, Page, sha256_file
from core.settings import Settings
from ingest.base import format_of, parser_for
from ingest.limits import check_file
from ingest.sources import collect_files

__all__ = ["Ingestor", "PreparedFile", "Requester", "collect_files", "prepare_file"]

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

ProgressCallback = Callable[[FileReport, int, int], None]  # report, files done, files total


class Requester(BaseModel):
    """Who asks for a batch: recorded as ``Filing.added_by``; ``groups`` is what they may read
    (None: everything, the operator at the CLI)."""

    name: str = "operator"
    groups: list[str] | None = None

    def may_read(self, filing: Filing) -> bool:
        return self.groups is None or bool(set(self.groups).intersection(filing.acl))


OPERATOR = Requester()

# A duplicate of a filing the requester may not read: refused without saying whose it is.
NOT_YOURS = (
    "a filing with the same content is already in the library and you may not read it; "
    "ask an administrator to share it with your group"
)


class PreparedFile(BaseModel):
    """A file parsed, described and chunked in a worker, ready to embed and index."""

    filing: Filing
    pages: list[Page]
    chunks: list[Chunk]
    facts: list[Fact] = []
    warnings: list[str]
    timings: dict[str, float]


# --- worker side -------------------------------------------------------------------------------

# The token counter of a parse worker process, set once by its initializer (each worker is a
# process of its own, started for one batch).
_WORKER_COUNTER: list[Callable[[list[str]], list[int]]] = []

# A worker over its memory limit ends with this status; the parent reports the file that did it.
_OVER_MEMORY_EXIT = 70


def prepare_file(
    path: Path,
    doc_id: str,
    settings: Settings,
    overrides: dict[str, object],
    count_tokens: Callable[[list[str]], list[int]],
) -> PreparedFile:
    """Parse, extract metadata and chunk one file (in a worker process, or in-process).

    ``count_tokens`` is the corpus embedder's, so chunks fit its window. A file over
    ``ingest.max_elements_per_file``, ``max_chars_per_file`` or ``max_chunks_per_file`` raises
    :class:`~core.errors.FileTooLargeError` (refused whole rather than indexed in part).
    """
    from ingest.chunking import chunk_document
    from ingest.facts import facts_from_chunks, facts_from_ixbrl
    from ingest.metadata import apply_overrides, extract_metadata, load_sidecar

    limits = settings.ingest
    timings: dict[str, float] = {}
    parser = parser_for(path, settings.ingest)
    parsed = parser.parse(
        path, doc_id, settings.renders_dir if settings.ingest.render_pages else None
    )
    timings.update(parsed.timings)
    if not parsed.elements:
        raise IngestError("no text found (the file has no text layer and OCR found nothing)")
    if len(parsed.elements) > limits.max_elements_per_file:
        raise FileTooLargeError(
            f"{len(parsed.elements)} elements, over the {limits.max_elements_per_file} limit "
            "(FINRAG_INGEST__MAX_ELEMENTS_PER_FILE)"
        )
    chars = sum(len(e.text) for e in parsed.elements)
    if chars > limits.max_chars_per_file:
        raise FileTooLargeError(
            f"{chars} characters of text, over the {limits.max_chars_per_file} limit "
            "(FINRAG_INGEST__MAX_CHARS_PER_FILE)"
        )

    started = time.process_time()
    meta = extract_metadata(parsed, path.name)
    sidecar = load_sidecar(path)
    if sidecar:
        meta = apply_overrides(meta, sidecar, "sidecar")
    overrides = dict(overrides)
    file_name = overrides.pop("file_name", None)  # the name an upload was given by its owner
    if overrides:
        meta = apply_overrides(meta, overrides, "override")
    acl = overrides.get("acl") or sidecar.get("acl") or settings.default_acl
    filing = Filing(
        doc_id=doc_id,
        source_path=str(path.resolve()),
        file_name=str(file_name or path.name),
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
    if len(chunks) > limits.max_chunks_per_file:
        raise FileTooLargeError(
            f"{len(chunks)} chunks, over the {limits.max_chunks_per_file} limit per file "
            "(FINRAG_INGEST__MAX_CHUNKS_PER_FILE); split the file"
        )
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


def _worker_init(threads: int, settings: Settings, formats: tuple[str, ...] = ()) -> None:
    # Workers parse; keep their numeric libraries from fighting the parent's embedder for cores.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    logging.getLogger().setLevel(logging.WARNING)
    from retrieval.embedders.base import build_embedder

    _WORKER_COUNTER.append(build_embedder(settings).count_tokens)
    # Import the parsers this batch needs before the limit is set, so the limit measures what a
    # file costs, not what the libraries cost (unstructured alone maps ~3 GB of address space).
    import ingest.pdf  # noqa: F401

    if set(formats) - {"pdf"}:
        from unstructured.partition import docx, html, xlsx  # noqa: F401
    _limit_memory(settings.ingest.worker_memory_mb)


# Address space is not memory: onnxruntime's arenas and glibc's per-thread malloc arenas reserve
# far more than they touch. Capped at the RSS limit itself, OCR of an ordinary scanned letter page
# failed with std::bad_alloc at ~1.0 GB RSS (AMERICANWATERWORKS_2021_10K, pages 151-155), so the
# cap only stops a runaway allocation the watchdog's 20 ms poll could miss; RSS is the limit.
ADDRESS_SPACE_FACTOR = 4


def _limit_memory(limit_mb: int) -> None:
    """Bound this worker: a watchdog ends the process when its RSS passes ``limit_mb``, and
    address space may grow ``ADDRESS_SPACE_FACTOR`` x ``limit_mb`` past start-up (allocations
    beyond raise MemoryError)."""
    try:
        import resource
    except ImportError:  # not on this platform: the watchdog alone
        resource = None  # type: ignore[assignment]
    page = os.sysconf("SC_PAGE_SIZE")
    limit = limit_mb * 2**20
    if resource is not None:
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * page
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = size + ADDRESS_SPACE_FACTOR * limit
        if hard == resource.RLIM_INFINITY or wanted <= hard:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))

    def watch() -> None:
        while True:
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * page
            if rss > limit:
                os._exit(_OVER_MEMORY_EXIT)
            time.sleep(0.02)

    if os.path.exists("/proc/self/statm"):
        threading.Thread(target=watch, name="rss-watchdog", daemon=True).start()


def _worker_ready() -> int:
    return os.getpid()


def _prepare_in_worker(
    path: Path,
    doc_id: str,
    settings: Settings,
    overrides: dict[str, object],
    prepare: Callable[..., PreparedFile] | None = None,
) -> PreparedFile:
    limit_s = settings.ingest.file_timeout_s

    def too_slow(signum: int, frame: object) -> None:
        raise IngestTimeoutError(
            f"parsing took longer than {limit_s:.0f} s (FINRAG_INGEST__FILE_TIMEOUT_S)"
        )

    signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        if prepare is not None:  # a stand-in parser (tests of the pool)
            return prepare(path, doc_id, settings, overrides)
        return prepare_file(path, doc_id, settings, overrides, _WORKER_COUNTER[0])
    except MemoryError:
        raise FileTooLargeError(
            f"parsing needs more than the parse worker's {settings.ingest.worker_memory_mb} MB "
            "(FINRAG_INGEST__WORKER_MEMORY_MB)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


@dataclass
class _Todo:
    """One file to prepare: its path, id, overrides and who added it."""

    path: Path
    doc_id: str
    overrides: dict[str, object]
    added_by: str | None


class _Isolated:
    """Runs :func:`prepare_file` in limited worker processes; a worker that dies (over its memory
    limit, a crash in a C library, the parent's timeout) fails only the file it was parsing.

    After a pool breaks, the files that were in flight are suspects: each is retried alone in a
    fresh pool, and one that breaks a pool alone is reported (once) as the cause. Innocent files
    therefore land; a pool is rebuilt after every break.
    """

    grace_s = 30.0  # past the worker's own timeout before the parent kills the pool

    def __init__(
        self,
        settings: Settings,
        workers: int,
        formats: tuple[str, ...],
        target: Callable[..., PreparedFile] | None = None,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.formats = formats
        self.target = target  # a stand-in for prepare_file (path, doc_id, settings, overrides)

    def _pool(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            self.workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(1, self.settings, self.formats),
        )

    @staticmethod
    def _kill(pool: ProcessPoolExecutor) -> None:
        # The executor has no public way to stop a running worker before Python 3.14.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            process.kill()
        for process in processes:
            process.join(timeout=5)  # reaped: no zombies, and their rusage is counted
        pool.shutdown(wait=False, cancel_futures=True)

    def run(self, todo: list[_Todo]) -> Iterator[tuple[_Todo, PreparedFile | BaseException, float]]:
        limits = self.settings.ingest
        queue: deque[tuple[_Todo, bool]] = deque((item, False) for item in todo)
        inflight: dict[Future, tuple[_Todo, bool, float]] = {}
        pool: ProcessPoolExecutor | None = None
        died = (
            f"the parse worker died on this file (over its {limits.worker_memory_mb} MB memory "
            "limit, FINRAG_INGEST__WORKER_MEMORY_MB, or a crash in a parsing library)"
        )
        try:
            while queue or inflight:
                if pool is None:
                    pool = self._pool()
                    # Start every worker before timing files, so a file's clock is its own.
                    try:
                        for future in [pool.submit(_worker_ready) for _ in range(self.workers)]:
                            future.result()
                    except Exception as exc:
                        error = IngestError(f"the parse workers could not start ({exc!r})")
                        for item, _ in queue:
                            yield item, error, 0.0
                        return
                alone = any(solo for _, solo, _ in inflight.values())
                while queue and len(inflight) < self.workers and not alone:
                    item, solo = queue[0]
                    if solo and inflight:
                        break
                    queue.popleft()
                    future = pool.submit(
                        _prepare_in_worker,
                        item.path,
                        item.doc_id,
                        self.settings,
                        item.overrides,
                        self.target,
                    )
                    inflight[future] = (item, solo, time.perf_counter())
                    alone = solo
                done, _ = wait(list(inflight), timeout=0.05, return_when=FIRST_COMPLETED)
                broken = False
                single = len(inflight) == 1  # a pool that breaks under one file: that file did it
                for future in done:
                    item, solo, t0 = inflight.pop(future)
                    try:
                        outcome: PreparedFile | BaseException = future.result()
                    except BrokenProcessPool:
                        broken = True
                        if solo or single:
                            yield item, IngestError(died), time.perf_counter() - t0
                        else:
                            queue.appendleft((item, True))
                        continue
                    except Exception as exc:
                        outcome = exc
                    yield item, outcome, time.perf_counter() - t0
                now = time.perf_counter()
                late = [
                    f
                    for f, (_, _, t0) in inflight.items()
                    if now - t0 > limits.file_timeout_s + self.grace_s
                ]
                for future in late:
                    item, _, t0 = inflight.pop(future)
                    error = IngestTimeoutError(
                        f"parsing took longer than {limits.file_timeout_s:.0f} s "
                        "(FINRAG_INGEST__FILE_TIMEOUT_S)"
                    )
                    yield item, error, now - t0
                if broken or late:
                    # Whatever else was in flight is retried: alone when the pool broke under
                    # it (it may be the cause), as before when the parent killed a late file.
                    for item, solo, _ in inflight.values():
                        queue.appendleft((item, solo or broken))
                    inflight.clear()
                    self._kill(pool)
                    pool = None
        finally:
            if pool is not None:
                self._kill(pool) if inflight else pool.shutdown(wait=True, cancel_futures=True)


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
        requester: Requester = OPERATOR,
        names: Mapping[str, str] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; see the module docstring for the guarantees.

        Args:
            paths: files and folders (walked without following links unless
                ``ingest.follow_symlinks``).
            overrides: metadata and ``acl`` for every new filing of the batch.
            progress: called after each file with its report, files done, files total.
            raise_errors: raise the first failure instead of reporting it.
            requester: who adds the batch (``Filing.added_by``) and what they may read: a
                duplicate of a filing they may not read is refused, and no duplicate ever changes
                its ACL (that is ``Corpus.set_acl``, an administrator's action).
            names: file path (as given or found) -> the name to catalog it under (an upload
                stored under its content hash keeps the name its owner gave it).

        Raises:
            BatchTooLargeError: the batch is over ``ingest.max_batch_files`` / ``max_batch_gb``
                (nothing is queued).
        """
        overrides = {k: v for k, v in (overrides or {}).items() if v not in (None, "", [])}
        names = {str(k): v for k, v in (names or {}).items()}
        limits = self.settings.ingest
        started = time.perf_counter()
        report = IngestReport()
        stage: dict[str, float] = defaultdict(float)
        files, problems = collect_files(
            paths,
            follow_symlinks=limits.follow_symlinks,
            max_files=limits.max_batch_files,
            max_bytes=limits.max_batch_gb * 2**30,
        )
        total = len(files) + len(problems)
        for problem in problems:
            self._finish(report, problem, progress, total)
        self._recover_pending()

        todo: list[_Todo] = []
        seen: dict[str, Path] = {}
        for path in files:
            t0 = time.perf_counter()
            try:
                self._check_readable(path)
                doc_id = sha256_file(str(path))
            except FinragError as exc:
                if raise_errors:
                    raise
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
            file_overrides = dict(overrides)
            if str(path) in names:
                file_overrides["file_name"] = names[str(path)]
            added_by = requester.name
            existing = (
                self.catalog.get(doc_id)
                if self.catalog.state(doc_id) in ("ok", "partial")
                else None
            )
            if existing is not None:
                if not requester.may_read(existing):
                    self._finish(
                        report,
                        FileReport(path=str(path), status="failed", reason=NOT_YOURS),
                        progress,
                        total,
                    )
                    continue
                # A duplicate keeps its ACL, its owner and its catalog name, whatever the batch
                # asked: re-sharing a filing is set_acl's job, not a side effect of an upload.
                asked = sorted(file_overrides.get("acl") or existing.acl)  # type: ignore[call-overload]
                file_overrides["acl"] = list(existing.acl)
                file_overrides.pop("file_name", None)
                added_by = existing.added_by
                if _overrides_hold(existing, file_overrides):
                    reason = f"already ingested as {existing.file_name}"
                    if asked != sorted(existing.acl):
                        reason += (
                            "; its access groups are unchanged (an administrator changes them)"
                        )
                    self._finish(
                        report,
                        FileReport(
                            path=str(path),
                            status="skipped-duplicate",
                            doc_id=doc_id,
                            pages=existing.page_count,
                            reason=reason,
                        ),
                        progress,
                        total,
                    )
                    continue
                file_overrides["file_name"] = existing.file_name
            todo.append(_Todo(path, doc_id, file_overrides, added_by))

        for item, outcome, seconds in self._prepare_all(todo):
            path, doc_id = item.path, item.doc_id
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
                        reason=reason.splitlines()[0] if reason else reason,
                        seconds=seconds,
                    ),
                    progress,
                    total,
                )
                continue
            for name, value in outcome.timings.items():
                stage[name] += value
            outcome.filing.added_by = item.added_by
            try:
                file_report = self._store(path, outcome, stage, requester)
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
        fmt = format_of(path)
        size_mb = path.stat().st_size / 2**20
        if size_mb > self.settings.ingest.max_file_mb:
            raise FileTooLargeError(
                f"file is {size_mb:.0f} MB, over the "
                f"{self.settings.ingest.max_file_mb:.0f} MB limit (FINRAG_INGEST__MAX_FILE_MB)"
            )
        check_file(path, fmt, self.settings.ingest)

    def _recover_pending(self) -> None:
        """Remove what an interrupted run left half-written, so the file is ingested afresh."""
        for filing in self.catalog.pending():
            log.warning("removing half-written filing %s from an interrupted run", filing.file_name)
            self.index.delete_doc(filing.doc_id)
            self.corpus.facts.delete(filing.doc_id)
            self.catalog.delete(filing.doc_id)

    def _prepare_all(
        self, todo: list[_Todo]
    ) -> Iterator[tuple[_Todo, PreparedFile | BaseException, float]]:
        if not todo:
            return
        if self.settings.ingest.executor == "ray":
            from ingest.ray_executor import ray_prepare

            items = {(item.path, item.doc_id): item for item in todo}
            jobs = [(item.path, item.doc_id, item.overrides) for item in todo]
            address = self.settings.ingest.ray_address
            for path, doc_id, outcome, seconds in ray_prepare(jobs, self.settings, {}, address):
                yield items[(path, doc_id)], outcome, seconds
            return
        if not self.settings.ingest.isolate:
            for item in todo:
                t0 = time.perf_counter()
                try:
                    outcome: PreparedFile | BaseException = prepare_file(
                        item.path,
                        item.doc_id,
                        self.settings,
                        item.overrides,
                        self.embedder.count_tokens,
                    )
                except Exception as exc:
                    outcome = exc
                yield item, outcome, time.perf_counter() - t0
            return
        workers = self.settings.ingest.workers or os.cpu_count() or 1
        workers = max(1, min(workers, len(todo)))
        formats = tuple(sorted({format_of(item.path) for item in todo}))
        yield from _Isolated(self.settings, workers, formats).run(todo)

    def _ensure_collection(self) -> None:
        if not self._collection_ready:
            image_dim = self.embedder.image_dim if self.corpus.image_pages else None
            self.index.ensure_collection(self.embedder.dim, image_dim)
            self._collection_ready = True

    def _store(
        self,
        path: Path,
        prepared: PreparedFile,
        stage: dict[str, float],
        requester: Requester = OPERATOR,
    ) -> FileReport:
        filing = prepared.filing
        self._ensure_collection()
        # A changed file at the same path replaces its old filing -- unless the requester may
        # not read that one (it is someone else's to replace).
        replaced = [
            f
            for f in self.catalog.by_source(filing.source_path)
            if f.doc_id != filing.doc_id and requester.may_read(f)
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
