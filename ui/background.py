"""Work the app runs off the UI thread (ingest, evaluation, fine-tuning, the gate).

Contract: a job object has ``started`` (``time.perf_counter()``), ``error``, ``seconds`` and
``finished``; :func:`finish` runs its work and records the outcome there, so the page's polling
fragment can show a readable message (never a traceback) once ``finished`` is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from core.errors import FinragError

log = logging.getLogger(__name__)


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
