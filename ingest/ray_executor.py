"""Ray executor: the parse stage of a batch as Ray tasks across a cluster.

Contract: :func:`ray_prepare` is a drop-in for ``Ingestor._prepare_all``. It takes the batch's
``(path, doc_id)`` list and yields ``(path, doc_id, PreparedFile | BaseException, seconds)`` once
per file, in the order the files finish, so the driver embeds and indexes each file as soon as it is
parsed and the progress bar and per-file report work as with the local pool. It never raises for
a bad file: the file's exception is yielded (a corrupt PDF keeps its one-line reason).

What runs where:
* Workers run :func:`~ingest.pipeline.prepare_file`: parse, tables, OCR, metadata, chunking,
  statement facts. One task per file, ``num_cpus`` from ``FINRAG_INGEST__RAY_CPUS_PER_TASK``.
* The driver embeds, encodes BM25 terms and writes points, facts and catalog rows (embedded engine
  or the Qdrant server of ``FINRAG_QDRANT__URL``). Why the embedder stays here: one model load per
  batch instead of one per worker, vectors bit-identical to a local run whatever CPUs the workers
  have, and no model weights to ship to the nodes; the README's throughput model says when that
  becomes the limit.
* A worker killed mid-task (OOM killer, a lost node) is retried by Ray up to
  ``FINRAG_INGEST__RAY_MAX_RETRIES`` times; a task's own exceptions (a corrupt file) are returned,
  never retried. Point ids come from content, so a retried task writes the same points.

Files are read by path on the workers, and page renders are written under ``data_dir`` there: on a
multi-machine cluster both must be on a filesystem every node mounts at the same path, and finrag
(``pip install 'finrag[cluster]'``) must be installed on every node.

Example:
    >>> outcomes = ray_prepare(todo, settings, {}, address=None)  # doctest: +SKIP
    >>> for path, doc_id, outcome, seconds in outcomes:  # doctest: +SKIP
    ...     print(path.name, type(outcome).__name__, round(seconds, 1))
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from core.errors import IngestError, MissingDependencyError
from core.settings import Settings
from ingest import pipeline

Outcome = tuple[Path, str, "pipeline.PreparedFile | BaseException", float]

# Token counters of this worker process, one per embedder configuration (a Ray worker outlives a
# task and may serve batches of corpora with different embedders).
_COUNTERS: dict[str, Callable[[list[str]], list[int]]] = {}


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            "the Ray executor needs Ray: pip install 'finrag[cluster]' "
            "(or set FINRAG_INGEST__EXECUTOR=local)"
        ) from exc
    return ray


def _prepare_task(
    path: Path, doc_id: str, settings: Settings, overrides: dict[str, object]
) -> pipeline.PreparedFile | BaseException:
    """The body of one Ray task (runs in a worker). Errors come back as values, never retried."""
    key = settings.embedder.model_dump_json()
    if key not in _COUNTERS:
        from retrieval.embedders.base import build_embedder

        logging.getLogger().setLevel(logging.WARNING)
        _COUNTERS[key] = build_embedder(settings).count_tokens
    try:
        return pipeline.prepare_file(path, doc_id, settings, overrides, _COUNTERS[key])
    except Exception as exc:
        return exc


def _start(ray: ModuleType, address: str | None, settings: Settings) -> bool:
    """Connect to ``address`` or start a local instance; True when this call started Ray."""
    if ray.is_initialized():  # a caller's session (a notebook, the tests): use it, leave it up
        return False
    if address:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        return True
    # A local instance: its workers must import the driver's finrag, not another install.
    root = str(Path(pipeline.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=settings.ingest.workers or None,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    return True


def ray_prepare(
    todo: list[tuple[Path, str]] | list[tuple[Path, str, dict[str, object]]],
    settings: Settings,
    overrides: dict[str, object],
    address: str | None,
) -> Iterator[Outcome]:
    """Prepare ``todo`` as Ray tasks; yield each file's outcome as it finishes (module docstring).

    Args:
        todo: ``(path, doc_id)`` of each file to prepare, or ``(path, doc_id, overrides)`` when
            a file has overrides of its own.
        settings: the corpus settings (sent once to the object store).
        overrides: metadata overrides for the files that bring none of their own.
        address: a Ray cluster (``ray://host:10001`` or ``host:6379``); None starts a local
            instance with ``FINRAG_INGEST__WORKERS`` CPUs (0: all cores), shut down at the end.

    Raises:
        MissingDependencyError: Ray is not installed.
    """
    if not todo:
        return
    ray = _import_ray()
    started = _start(ray, address, settings)
    running: dict[object, tuple[Path, str, float]] = {}
    try:
        task = ray.remote(_prepare_task).options(
            num_cpus=settings.ingest.ray_cpus_per_task,
            max_retries=settings.ingest.ray_max_retries,
            retry_exceptions=False,
        )
        if address:  # remote workers have their own working directory: send absolute paths
            settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
        settings_ref = ray.put(settings)
        # A bounded window of tasks in flight: parsed files wait in the object store only while
        # the driver is busy embedding, not the whole batch at once.
        window = settings.ingest.ray_max_in_flight or max(
            2, 2 * int(ray.cluster_resources().get("CPU", 1))
        )
        queue = deque(todo)
        while queue or running:
            while queue and len(running) < window:
                path, doc_id, *own = queue.popleft()
                file_overrides = own[0] if own else overrides
                ref = task.remote(path.resolve(), doc_id, settings_ref, file_overrides)
                running[ref] = (path, doc_id, time.perf_counter())
            [ready], _ = ray.wait(list(running), num_returns=1)
            path, doc_id, t0 = running.pop(ready)
            try:
                outcome = ray.get(ready)
            except Exception as exc:  # the task never finished: its worker died every try
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                outcome = IngestError(
                    f"the Ray worker parsing this file died "
                    f"{settings.ingest.ray_max_retries + 1} times ({first_line}); "
                    "raise FINRAG_INGEST__RAY_MAX_RETRIES or check the node's memory"
                )
            yield path, doc_id, outcome, time.perf_counter() - t0
    finally:
        for ref in running:  # the caller stopped early (raise_errors): drop the rest
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
