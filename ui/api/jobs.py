"""Ingest jobs of the HTTP API: one batch at a time per corpus, run in a background thread.

Contract: :class:`IngestJobs` is handed the server's open corpus and keeps the jobs started through
the API in memory (the newest :data:`KEEP` of them, for the life of the server process).
:meth:`IngestJobs.start` refuses a second batch while one runs (:class:`JobBusyError`, answered
409), counts the files first (so ``total`` is known as soon as it returns) and runs
:meth:`ingest.pipeline.Ingestor.ingest` in a daemon thread; each file's
:class:`~core.records.FileReport` is appended as it lands. A :class:`~core.errors.FinragError`
becomes ``job.error`` as is; anything else is logged with its trace and becomes an "Unexpected
error" line, never a traceback for the caller.

Why not the app's registry (:mod:`ui.background`): it lives in Streamlit's resource cache, and the
API runs without Streamlit. The rules are the same: one ingest per corpus, jobs outlive requests.
:meth:`IngestJobs.stop` (the server's shutdown) lets the running batch finish the file it is on,
stops it there (``job.error`` says so) and waits for it, so the corpus is not closed under it; a
server killed outright leaves its unfinished files pending in the catalog, and the next ingest of
the same files recovers them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import FinragError
from core.records import FileReport

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

KEEP = 200  # finished jobs remembered per server process


class JobBusyError(FinragError):
    """Another ingest is still running on this corpus."""


class JobStopped(FinragError):
    """The server is stopping; the batch ended after the file it was on."""


@dataclass(kw_only=True)
class IngestJob:
    """One batch, running or finished."""

    user: str
    paths: list[str]
    overrides: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    total: int = 0
    reports: list[FileReport] = field(default_factory=list)
    finished: bool = False
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def state(self) -> str:
        if not self.finished:
            return "running"
        return "failed" if self.error else "finished"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for report in list(self.reports):
            out[report.status] = out.get(report.status, 0) + 1
        return out

    def status(self) -> dict[str, Any]:
        """What ``GET /v1/ingest/jobs/{id}`` answers: progress without the per-file report."""
        return {
            "id": self.id,
            "user": self.user,
            "state": self.state,
            "total": self.total,
            "done": len(self.reports),
            "counts": self.counts(),
            "seconds": round(
                self.seconds if self.seconds is not None else time.perf_counter() - self.started,
                2,
            ),
            "error": self.error,
            "acl": self.overrides.get("acl", []),
        }


class IngestJobs:
    """The API's ingest jobs over one open corpus."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()
        self._stopping = False

    def get(self, job_id: str) -> IngestJob | None:
        return self._jobs.get(job_id)

    def running(self) -> IngestJob | None:
        return next((j for j in list(self._jobs.values()) if not j.finished), None)

    def of(self, user: str | None) -> list[IngestJob]:
        """Jobs started by ``user`` (all jobs for None), newest first."""
        return [j for j in reversed(list(self._jobs.values())) if user is None or j.user == user]

    def start(self, user: str, paths: list[str], overrides: dict[str, Any]) -> IngestJob:
        """Start ingesting ``paths`` with ``overrides`` in a background thread.

        Raises:
            JobBusyError: another batch is still running on this corpus.
        """
        from ingest.pipeline import Ingestor, collect_files

        job = IngestJob(user=user, paths=paths, overrides=overrides)
        with self._lock:
            if self._stopping:
                raise JobBusyError("the server is stopping; submit the batch to the next one")
            busy = self.running()
            if busy is not None:
                raise JobBusyError(
                    f"another ingest ({busy.id}) is still running on this corpus; "
                    "poll its status and submit again when it has finished"
                )
            files, problems = collect_files(paths)
            job.total = len(files) + len(problems)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                oldest = next(iter(self._jobs))
                if not self._jobs[oldest].finished:
                    break
                del self._jobs[oldest]

        def progress(report: FileReport, done: int, total: int) -> None:
            job.total = max(job.total, total)
            job.reports.append(report)
            if self._stopping and done < total:
                raise JobStopped(
                    f"the server stopped during this ingest after {done} of {total} files; "
                    "submit the rest again"
                )

        def work() -> None:
            try:
                Ingestor(self.corpus).ingest(job.paths, job.overrides, progress=progress)
            except FinragError as exc:
                job.error = str(exc)
            except Exception as exc:
                log.exception("API ingest %s of %s failed", job.id, job.paths)
                job.error = f"Unexpected error ({type(exc).__name__}: {exc}); see the server log."
            finally:
                job.seconds = time.perf_counter() - job.started
                job.finished = True

        job.thread = threading.Thread(target=work, name=f"api-ingest-{job.id}", daemon=True)
        job.thread.start()
        return job

    def stop(self, timeout: float) -> IngestJob | None:
        """Refuse new batches, end the running one after its current file and wait for it (up to
        ``timeout`` seconds). Returns the job still running after that, if any."""
        with self._lock:
            self._stopping = True
        job = self.running()
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return self.running()
