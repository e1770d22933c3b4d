"""A durable store of evaluation runs, so the CLI and the Evaluate page can list and compare them.

Contract: every run of ``finrag eval retrieval`` / ``finrag eval answers`` (CLI or app) is one JSON
file, ``<data_dir>/eval/runs/<run_id>.json``, holding a :class:`RunRecord`: the run id (UTC
timestamp + kind + set name, so file names sort by time), the kind, the evaluation set, a summary
of the configuration that produced it (embedder, reranker, LLM) and the result dict exactly as
:func:`evaluation.run_retrieval.eval_retrieval` or :func:`evaluation.run_answers.eval_answers`
returned it. Files are written atomically (temporary file + rename), so a crash never leaves half
a run; a file that still does not parse is skipped by :func:`list_runs` with a warning.

Example:
    >>> record = save_run(settings, "retrieval", Path("sets/financebench-dev"), result)
    >>> [r.run_id for r in list_runs(settings, "retrieval")][0] == record.run_id
    True
    >>> recall_curve(record.result)
    {1: 0.41, 3: 0.62, 5: 0.7, 10: 0.79}
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from core.errors import ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

RunKind = Literal["retrieval", "answers"]
KINDS: tuple[RunKind, ...] = ("retrieval", "answers")
RECALL_KS = (1, 3, 5, 10)

# (label, key in the result dict; "given_filing." reads the nested diagnostic block)
METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "retrieval": (
        ("questions", "n"),
        *((f"recall@{k}", f"recall@{k}") for k in RECALL_KS),
        ("mrr", "mrr"),
        ("ndcg@10", "ndcg@10"),
        ("p50 ms", "p50_ms"),
        ("p95 ms", "p95_ms"),
        *((f"recall@{k} (filing given)", f"given_filing.recall@{k}") for k in RECALL_KS),
        ("mrr (filing given)", "given_filing.mrr"),
        ("ndcg@10 (filing given)", "given_filing.ndcg@10"),
    ),
    "answers": (
        ("questions", "n"),
        ("questions with a figure", "n_numeric"),
        ("numeric correct", "numeric_correct"),
        ("questions with a yes/no", "n_yes_no"),
        ("yes/no agreement", "yes_no_agreement"),
        ("citation precision", "citation_precision"),
        ("citation recall", "citation_recall"),
        ("abstention rate", "abstention_rate"),
        ("unsupported figure rate", "unsupported_figure_rate"),
        ("p50 ms", "p50_ms"),
        ("p95 ms", "p95_ms"),
    ),
}


class RunConfig(BaseModel):
    """What produced a run: backend names, with the model when one is set."""

    embedder: str
    reranker: str
    llm: str


class RunRecord(BaseModel):
    """One saved evaluation run."""

    run_id: str
    kind: RunKind
    set_name: str
    set_path: str
    created_at: datetime
    config: RunConfig
    params: dict[str, Any] = Field(default_factory=dict)  # e.g. limit, top_k
    result: dict[str, Any]

    @property
    def label(self) -> str:
        """A short human label: when, which set, which stack, how many questions."""
        stack = f"{self.config.embedder} / {self.config.reranker}"
        if self.kind == "answers":
            stack += f" / {self.config.llm}"
        when = self.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return f"{when} · {self.set_name} · {stack} · n={self.result.get('n', '?')}"


class ComparisonRow(BaseModel):
    """One metric across runs: its values (None where a run lacks it), deltas vs the first run."""

    metric: str
    values: list[float | None]
    deltas: list[float | None]  # deltas[0] is always None: the first run is the baseline


def runs_dir(settings: Settings) -> Path:
    return settings.data_dir / "eval" / "runs"


def _backend(name: str, model: str | None) -> str:
    return f"{name} ({model})" if model else name


def run_config(settings: Settings) -> RunConfig:
    return RunConfig(
        embedder=_backend(settings.embedder.name, settings.embedder.model),
        reranker=_backend(settings.rerank.name, settings.rerank.model),
        llm=_backend(settings.llm.name, settings.llm.model),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "set"


def save_run(
    settings: Settings,
    kind: RunKind,
    set_dir: Path,
    result: dict[str, Any],
    params: dict[str, Any] | None = None,
) -> RunRecord:
    """Write ``result`` as a new run and return its record.

    Args:
        settings: the settings the run used (its ``data_dir`` holds the store; the backend names
            are recorded).
        kind: ``"retrieval"`` or ``"answers"``.
        set_dir: the evaluation set's folder.
        result: the dict the evaluation returned (JSON-serialisable).
        params: per-run knobs worth showing beside the result (``limit``, ``top_k``).

    Raises:
        ConfigError: ``kind`` is not a known kind.
        OSError: the store cannot be written.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown evaluation kind {kind!r}; use one of {', '.join(KINDS)}")
    folder = runs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    set_name = str(result.get("set") or Path(set_dir).resolve().name)
    stem = f"{created:%Y%m%dT%H%M%S%fZ}-{kind}-{_slug(set_name)}"
    run_id, n = stem, 1
    while (folder / f"{run_id}.json").exists():  # two runs in the same microsecond
        n += 1
        run_id = f"{stem}-{n}"
    record = RunRecord(
        run_id=run_id,
        kind=kind,
        set_name=set_name,
        set_path=str(Path(set_dir).resolve()),
        created_at=created,
        config=run_config(settings),
        params=params or {},
        result=result,
    )
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(record.model_dump_json(indent=2))
        os.replace(tmp, folder / f"{run_id}.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("saved %s run %s", kind, run_id)
    return record


def _read(path: Path) -> RunRecord:
    return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))


def list_runs(settings: Settings, kind: RunKind | None = None) -> list[RunRecord]:
    """Saved runs, newest first, optionally of one kind; unreadable files are skipped (logged)."""
    folder = runs_dir(settings)
    if not folder.is_dir():
        return []
    runs = []
    for path in folder.glob("*.json"):
        try:
            record = _read(path)
        except (OSError, ValueError, ValidationError) as exc:
            log.warning("skipping unreadable evaluation run %s: %s", path, exc)
            continue
        if kind is None or record.kind == kind:
            runs.append(record)
    return sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True)


def load_run(settings: Settings, run_id: str) -> RunRecord:
    """The run saved under ``run_id``.

    Raises:
        ConfigError: no such run, or its file is unreadable.
    """
    if not run_id or Path(run_id).name != run_id or run_id.startswith("."):
        raise ConfigError(f"{run_id!r} is not a run id; list the runs to find one")
    path = runs_dir(settings) / f"{run_id}.json"
    if not path.exists():
        raise ConfigError(
            f"no evaluation run {run_id!r} in {runs_dir(settings)}; list the runs to find one"
        )
    try:
        return _read(path)
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(
            f"evaluation run file {path} is unreadable ({exc}); delete it or run again"
        ) from None


def recall_curve(result: dict[str, Any]) -> dict[int, float]:
    """k -> recall@k for the k the result has (pass ``result["given_filing"]`` for that block)."""
    return {
        k: float(result[f"recall@{k}"]) for k in RECALL_KS if result.get(f"recall@{k}") is not None
    }


def metric_value(result: dict[str, Any], key: str) -> float | None:
    """A metric from a result by its :data:`METRICS` key; None when the result lacks it."""
    node: Any = result
    for part in key.split(".", 1) if key.startswith("given_filing.") else [key]:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def compare(runs: list[RunRecord]) -> list[ComparisonRow]:
    """One row per metric of the runs' kind, values side by side, deltas against ``runs[0]``.

    Raises:
        ConfigError: the runs are of different kinds (their metrics do not line up).
    """
    if not runs:
        return []
    kinds = {r.kind for r in runs}
    if len(kinds) > 1:
        raise ConfigError(
            f"cannot compare runs of different kinds ({', '.join(sorted(kinds))}); pick one kind"
        )
    rows = []
    for label, key in METRICS[runs[0].kind]:
        values = [metric_value(r.result, key) for r in runs]
        base = values[0]
        deltas = [None] + [
            None if v is None or base is None else round(v - base, 6) for v in values[1:]
        ]
        rows.append(ComparisonRow(metric=label, values=values, deltas=deltas))
    return rows
