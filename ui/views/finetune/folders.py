"""Reading the Fine-tuning page's job folders (pure, tested without Streamlit).

Contract: the app's jobs live under :func:`runs_root` (``settings.data_dir / "finetune" /
"runs"``), one folder per job named by :func:`job_folder`; each holds ``job.json`` (the
:class:`~finetune.jobs.JobState`), and as the job goes ``run_log.jsonl``, ``report.json``,
``model/`` and, once gated, ``gate.json``. The readers here return None or an empty list for what
is not there (yet), so a job being written can be drawn at any moment.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings

log = logging.getLogger(__name__)


def runs_root(settings: Settings) -> Path:
    """The folder holding the app's job folders."""
    return settings.data_dir / "finetune" / "runs"


def job_folder(
    settings: Settings, stage: str, company: str | None, now: datetime | None = None
) -> Path:
    """``<runs root>/<stage>-<company or all>-<UTC timestamp>``; the company made a safe slug."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", company or "").strip("-").lower() or "all"
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return runs_root(settings) / f"{stage}-{slug}-{stamp}"


def list_jobs(root: Path) -> list[Any]:
    """The :class:`~finetune.jobs.JobState` of every job folder under ``root``, newest
    first; folders without a readable ``job.json`` are skipped (and logged)."""
    from finetune.jobs import read_job

    if not root.is_dir():
        return []
    jobs = []
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        try:
            job = read_job(folder)
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable fine-tuning job %s: %s", folder, exc)
            continue
        if job is not None:
            jobs.append(job)
    return sorted(jobs, key=lambda j: j.started_at, reverse=True)


def newest_general_model(jobs: list[Any]) -> Path | None:
    """The ``model/`` folder of the newest finished general-stage job (a company stage's base)."""
    for job in jobs:
        model = Path(job.spec.out) / "model"
        trained = (model / "finrag_model.json").is_file()
        if job.spec.stage == "general" and job.state == "done" and trained:
            return model
    return None


def read_run_log(out: Path) -> list[dict]:
    """``run_log.jsonl`` as dicts (a line being written right now is skipped)."""
    path = Path(out) / "run_log.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def read_report(out: Path) -> dict | None:
    path = Path(out) / "report.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def read_gate(out: Path) -> Any:
    """The job's :class:`~finetune.gate.GateDecision` (``out/gate.json``), or None."""
    from finetune.gate import GATE_FILE, GateDecision

    path = Path(out) / GATE_FILE
    if not path.exists():
        return None
    try:
        return GateDecision.model_validate_json(path.read_text())
    except ValueError as exc:
        log.warning("unreadable gate decision %s: %s", path, exc)
        return None


def default_scope(job: Any) -> str:
    """What a job's model would serve: its company's questions (ticker), or every question."""
    return (job.spec.company or "*").upper() if job.spec.stage == "company" else "*"
