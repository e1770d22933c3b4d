"""The Fine-tuning page's background work: a training job and a gate evaluation.

Contract: :func:`start_training` runs :func:`finetune.jobs.run_job` and :func:`start_gate` runs
:func:`finetune.gate.evaluate_candidate`, each in a background thread of the app's job registry
(:mod:`ui.background`) under the key :data:`~ui.background.PROCESS`: one training job at a time per
server process (training takes every core) and one gate evaluation (it ingests the set into its
own embedded index once). :func:`latest_training` and :func:`latest_gate` are the latest of each
in this process; :func:`job_status` tells a job folder's state from its ``job.json`` and that
training job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import FinragError
from core.settings import Settings
from ui import background

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

TRAIN = "finetune"  # the job registry's kinds of these jobs (key: background.PROCESS)
GATE = "gate"


@dataclass
class TrainJob(background.Job):
    """One fine-tuning job running (or finished) in a background thread; read by every session."""

    out: Path
    step: int = 0
    total: int = 0
    metrics: dict[str, float] = field(default_factory=dict)  # the trainer's last on_progress values

    def advance(self, step: int, total: int, metrics: dict) -> None:
        self.step, self.total, self.metrics = step, total, dict(metrics)


@dataclass
class GateJob(background.Job):
    """One gate evaluation running (or finished) in a background thread."""

    model_dir: Path
    set_dir: Path
    scope: str
    limit: int | None
    passed: bool | None = None


def latest_training() -> TrainJob | None:
    """The latest fine-tuning job of this server process."""
    job = background.latest(TRAIN, background.PROCESS)
    return job if isinstance(job, TrainJob) else None


def latest_gate() -> GateJob | None:
    """The latest gate evaluation of this server process."""
    job = background.latest(GATE, background.PROCESS)
    return job if isinstance(job, GateJob) else None


def start_training(corpus: Corpus, spec: Any, user: str = "") -> TrainJob:
    """Run ``spec`` (a :class:`~finetune.jobs.JobSpec`) on ``corpus`` in a background thread.

    Raises:
        FinragError: another fine-tuning job is still running in this server.
    """
    from finetune.jobs import JOB_FILE, JobState, run_job

    job = TrainJob(out=Path(spec.out), user=user)

    def list_it() -> None:
        # run_job writes the same first state as its thread starts; written here too so that the
        # page drawn right after this call already lists the job.
        try:
            Path(spec.out).mkdir(parents=True, exist_ok=True)
            if not (Path(spec.out) / JOB_FILE).exists():
                state = JobState(spec=spec).model_dump_json(indent=2)
                (Path(spec.out) / JOB_FILE).write_text(state)
        except OSError as exc:  # e.g. a read-only data dir: a message on the page, not a trace
            raise FinragError(f"cannot write the job folder {spec.out}: {exc}") from exc

    return background.start(
        TRAIN,
        background.PROCESS,
        job,
        lambda: run_job(corpus, spec, on_progress=job.advance),
        what=f"fine-tuning job {job.out}",
        busy="another fine-tuning job is still running on this server; wait for it "
        "to finish (it uses every CPU core)",
        prepare=list_it,
    )


def start_gate(
    settings: Settings, model_dir: Path, set_dir: Path, scope: str, limit: int | None
) -> GateJob:
    """Check the set, then gate ``model_dir`` on it in a background thread (writes ``gate.json``).

    Raises:
        FinragError: not a trained model, not an evaluation set, or another evaluation running.
    """
    from evaluation.sets import load_set
    from finetune.gate import evaluate_candidate, model_info

    model_info(model_dir)  # ConfigError naming the problem, before any thread starts
    if not set_dir.exists():
        raise FinragError(f"{set_dir} does not exist on the server; check the path")
    if not load_set(set_dir).questions:
        raise FinragError(f"{set_dir / 'questions.jsonl'} has no questions")
    job = GateJob(model_dir=model_dir, set_dir=set_dir, scope=scope, limit=limit)

    def work() -> None:
        decision, _ = evaluate_candidate(
            settings, job.model_dir, job.set_dir, scope=job.scope, limit=job.limit
        )
        job.passed = decision.passed

    return background.start(
        GATE,
        background.PROCESS,
        job,
        work,
        what=f"gate evaluation of {job.model_dir}",
        busy="another gate evaluation is still running; wait for it to finish",
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def job_status(job: Any, training: TrainJob | None) -> str:
    """running / done / failed, or interrupted: marked running but nobody runs it any more."""
    from finetune.jobs import read_job

    if job.state != "running":
        return job.state
    ours = training is not None and Path(training.out) == Path(job.spec.out)
    if ours and training.finished:  # it ended after ``job`` was read: the file has the outcome
        job = read_job(Path(job.spec.out)) or job
        return job.state if job.state != "running" else "interrupted"
    if ours or (job.pid != os.getpid() and _alive(job.pid)):
        return "running"
    return "interrupted"
