"""The Fine-tuning page's jobs list: every job folder, and the chosen one as it runs.

Contract: the jobs are every job folder under :func:`~ui.views.finetune.folders.runs_root`
(``job.json``), newest first. The chosen one shows its state and phase, a progress bar (optimizer
steps while training, reported by the trainer's ``on_progress``), the run log (``run_log.jsonl``)
as a table and a chart of dev MRR and train loss by step, and the report (dev MRR / accuracy@1
before and after, why it stopped, throughput), in a fragment redrawn every
:data:`~ui.background.POLL_SECONDS` while the job runs; when this process's training job ends the
whole page reruns once. A job cut short (time budget, or interrupted) can be resumed from its
checkpoint. Below it comes the comparison with the serving model (:mod:`ui.views.finetune.compare`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import FinragError
from core.roles import require
from core.settings import Settings
from ui import background
from ui.corpus import app_corpus
from ui.identity import User
from ui.views.finetune.compare import compare
from ui.views.finetune.folders import read_report, read_run_log
from ui.views.finetune.tables import curve_chart, curve_points, run_log_table, show_table
from ui.views.finetune.work import TRAIN, TrainJob, job_status, latest_training, start_training


def jobs_section(settings: Settings, user: User, jobs: list[Any]) -> None:
    """Draw the Jobs section for ``jobs`` (newest first), then the chosen job's comparison."""
    st.subheader("Jobs")
    if not jobs:
        st.info("No fine-tuning jobs yet: start one above.")
        return
    by_out = {str(j.spec.out): j for j in jobs}
    ss = st.session_state
    if ss.get("finetune_job") not in by_out:
        ss["finetune_job"] = next(iter(by_out))
    training = latest_training()

    def label(out: str) -> str:  # stable while the job runs: a select box sends its label
        return f"{Path(out).name} (started {by_out[out].started_at:%Y-%m-%d %H:%M} UTC)"

    chosen = st.selectbox("Job", list(by_out), key="finetune_job", format_func=label)
    job = by_out[chosen]
    background.poll(_show_job, chosen, running=job_status(job, training) == "running")
    _resume(settings, user, job, training)
    st.divider()
    compare(settings, user, job)


def _show_job(out: str) -> None:
    from finetune.jobs import read_job

    training = latest_training()
    # the job list, compare and promote are outside this fragment
    background.rerun_once_ended(training, "finetune_seen_train")
    job = read_job(Path(out))
    if job is None:
        return
    status = job_status(job, training)
    spec = job.spec
    who = "the synthetic corpus" if spec.stage == "general" else spec.company or "every filing"
    st.caption(
        f"{spec.stage} stage on {who} · base `{spec.base or 'packaged MiniLM'}` · backend "
        f"{spec.backend} · folder `{spec.out}`"
    )
    ours = training if training is not None and Path(training.out) == Path(out) else None
    if status == "running":
        if job.phase == "training" and ours is not None and ours.total:
            loss = ours.metrics.get("loss")
            text = f"training: step {ours.step} of {ours.total}"
            text += f", loss {loss:.4f}" if loss is not None else ""
            st.progress(min(ours.step / ours.total, 1.0), text=f"{text}, {ours.elapsed:.0f} s")
        else:
            phase = {
                "starting": "starting",
                "corpus": "writing and ingesting the general corpus",
                "dataset": "building the training set (query mining and hard negatives)",
                "training": "training (started in another process: steps show in the run log)",
            }.get(job.phase, job.phase)
            elapsed = (datetime.now(UTC) - job.started_at).total_seconds()
            st.progress(0.0, text=f"{phase}… {elapsed:.0f} s")
    elif status == "failed":
        st.error(f"The job failed: {job.message}")
    elif status == "interrupted":
        st.warning(
            f"The job stopped during {job.phase} without finishing (its process {job.pid} is "
            "gone); resume it below to continue from its last checkpoint."
        )
    else:
        took = sum(job.seconds.values())
        st.success(
            f"Done in {took:.0f} s (data {job.seconds.get('data', 0):.0f} s, training "
            f"{job.seconds.get('training', 0):.0f} s): model in `{Path(out) / 'model'}`"
        )
    if job.examples:
        st.caption(
            f"dataset {job.dataset_version[:12]}: {job.examples.get('train', 0)} train / "
            f"{job.examples.get('dev', 0)} dev examples"
        )
    entries = read_run_log(Path(out))
    if entries:
        show_table(run_log_table(entries))
        curve_chart(curve_points(entries))
    report = read_report(Path(out))
    if report:
        _report(report)


def _report(report: dict) -> None:
    before, after = report.get("initial_dev") or {}, report.get("final_dev") or {}
    cols = st.columns(4)
    shown = ((cols[0], "mrr", "dev MRR"), (cols[1], "accuracy_at_1", "dev accuracy@1"))
    for col, key, name in shown:
        if after.get(key) is not None:
            delta = after[key] - before[key] if before.get(key) is not None else None
            col.metric(
                name,
                f"{after[key]:.3f}",
                None if delta is None else f"{delta:+.3f}",
                help=f"before training: {before[key]:.3f}" if before.get(key) is not None else None,
            )
    cols[2].metric("steps", f"{report.get('steps', 0)} of {report.get('total_steps', 0)}")
    cols[3].metric("pairs / s", f"{report.get('pairs_per_second', 0):.1f}")
    stopped = {
        "completed": "completed its epochs",
        "max_steps": "reached max steps",
        "time_budget": "stopped by the time budget (resume to continue)",
    }.get(report.get("stopped"), report.get("stopped"))
    text = (
        f"Report: {stopped}; {report.get('epochs_completed', 0):g} epochs, "
        f"{report.get('elapsed_s', 0):.0f} s wall, {report.get('cpu_s', 0):.0f} s CPU on "
        f"{report.get('threads', '?')} threads"
    )
    if before.get("mrr") is not None and after.get("mrr") is not None:
        text += (
            f"; dev MRR {before['mrr']:.3f} → {after['mrr']:.3f}, accuracy@1 "
            f"{before['accuracy_at_1']:.3f} → {after['accuracy_at_1']:.3f}"
        )
    st.caption(text)


def _resume(settings: Settings, user: User, job: Any, training: TrainJob | None) -> None:
    status = job_status(job, training)
    report = read_report(Path(job.spec.out)) or {}
    budget = status == "done" and report.get("stopped") == "time_budget"
    cut_short = status == "interrupted" or budget
    if not cut_short:
        return
    busy = background.running(TRAIN, background.PROCESS) is not None
    admin = user.can("finetune.start")
    if not st.button(
        "Resume",
        icon=":material/play_arrow:",
        disabled=busy,
        key="finetune_resume",
        help="Continue from the last checkpoint on the same dataset"
        if admin
        else "Resuming a fine-tuning job needs the admin role",
    ):
        return
    try:
        corpus = app_corpus(settings)
        with corpus.audit.attempt(user, "finetune.start", f"resume {job.spec.out}"):
            require(user, "finetune.start", "resuming a fine-tuning job")
            start_training(corpus, job.spec.model_copy(update={"resume": True}), user=user.name)
    except FinragError as exc:
        st.error(str(exc))
        return
    st.rerun()
