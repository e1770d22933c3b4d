"""Work the app runs off the UI thread (ingest, evaluation, fine-tuning, the gate), in one registry.

Contract: a page's job is a :class:`Job` (id, user, label, ``started`` as
``time.perf_counter()``, ``seconds``, ``finished``, ``error``) extended with its own progress
fields. :func:`start` runs the job's work in a daemon thread and keeps the job in a process-wide
registry (``st.cache_resource``) under ``(kind, key)``, so every session sees it and a rerun (or a
closed tab) does not lose it; :func:`latest` is the newest job under a key. At most one job per
``(kind, key)`` runs: :func:`start` raises :class:`~core.errors.FinragError` with the page's own
message while one does (or, with ``across_keys``, while any job of that kind runs). A job whose
key is the whole server process, whatever the corpus, uses :data:`PROCESS`.

:func:`finish` runs the work and records the outcome on the job: a ``FinragError`` becomes
``job.error`` as is, anything else is logged with its trace and becomes an "Unexpected error"
message, so the page shows a readable message (never a traceback) once ``finished`` is set.

While a job runs, the page draws it in a fragment (:func:`poll`) that redraws itself every
:data:`POLL_SECONDS`; when the job ends the fragment reruns the whole page once
(:func:`rerun_once_ended`), because what the job changed is drawn outside it. The full run marks
the ended job seen (:func:`mark_seen`), so that rerun happens once per session.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st

from core.errors import FinragError

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
PROCESS = "process"  # the key of a job that is one per server process, whatever the corpus


@dataclass(kw_only=True)
class Job:
    """One piece of background work running (or finished); read by every session."""

    label: str = ""
    user: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    finished: bool = False
    error: str | None = None

    @property
    def elapsed(self) -> float:
        return self.seconds if self.seconds is not None else time.perf_counter() - self.started


J = TypeVar("J", bound=Job)


@st.cache_resource
def _registry() -> dict[tuple[str, str], Job]:
    """The latest job per (kind, key), shared by all sessions of this server process."""
    return {}


_START_LOCK = threading.Lock()


def latest(kind: str, key: str) -> Job | None:
    """The newest job started under ``(kind, key)`` in this process, finished or not."""
    return _registry().get((kind, key))


def running(kind: str, key: str | None = None) -> Job | None:
    """The unfinished job under ``(kind, key)``, or of any key of ``kind`` when ``key`` is None."""
    for (k, job_key), job in list(_registry().items()):
        if k == kind and (key is None or job_key == key) and not job.finished:
            return job
    return None


def start(
    kind: str,
    key: str,
    job: J,
    work: Callable[[], None],
    *,
    what: str,
    busy: str,
    across_keys: bool = False,
    prepare: Callable[[], None] | None = None,
) -> J:
    """Register ``job`` under ``(kind, key)`` and run ``work`` for it in a daemon thread.

    ``prepare`` runs under the start lock before the job is registered (what the page must see as
    soon as this returns); if it raises, nothing is registered. ``what`` names the work in the log.

    Raises:
        FinragError: ``busy``, while a job under ``(kind, key)`` (any key of ``kind`` with
            ``across_keys``) is still running.
    """
    with _START_LOCK:
        if running(kind, None if across_keys else key) is not None:
            raise FinragError(busy)
        if prepare is not None:
            prepare()
        _registry()[(kind, key)] = job
    threading.Thread(
        target=finish, args=(job, work, what), name=f"{kind}-{job.id}", daemon=True
    ).start()
    return job


def finish(job: Any, work: Callable[[], None], what: str) -> None:
    """Run ``work`` for ``job``; a failure becomes ``job.error``, the log keeps the trace."""
    try:
        work()
    except FinragError as exc:
        job.error = str(exc)
    except Exception as exc:
        log.exception("%s failed", what)
        job.error = f"Unexpected error ({type(exc).__name__}: {exc}); see the server log."
    finally:
        job.seconds = time.perf_counter() - job.started
        job.finished = True


# --- polling fragments ---------------------------------------------------------------------------


def poll(draw: Callable[..., None], *args: Any, running: bool) -> None:
    """Draw ``draw(*args)`` as a fragment, redrawn every :data:`POLL_SECONDS` while ``running``."""
    st.fragment(draw, run_every=POLL_SECONDS if running else None)(*args)


def rerun_once_ended(job: Job | None, seen_key: str) -> None:
    """Inside a fragment: rerun the whole page when ``job`` has ended and this session has not
    drawn it ended yet (``session_state[seen_key]``, set by :func:`mark_seen`)."""
    if job is not None and job.finished and st.session_state.get(seen_key) != job.id:
        st.rerun(scope="app")


def mark_seen(job: Job | None, seen_key: str) -> bool:
    """At the top of a full run: remember that this run draws ``job`` ended. True when it had not
    been drawn ended before (the run right after the job ended)."""
    if job is None or not job.finished or st.session_state.get(seen_key) == job.id:
        return False
    st.session_state[seen_key] = job.id
    return True
