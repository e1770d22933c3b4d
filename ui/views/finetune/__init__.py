"""The Fine-tuning page: train the reranker, watch it learn, gate it against the serving model,
promote it.

Contract: a job is :func:`finetune.jobs.run_job` on a :class:`~finetune.jobs.JobSpec`
whose folder is ``settings.data_dir / "finetune" / "runs" / "<stage>-<company or all>-<UTC time>"``
(:func:`runs_root`). It runs in a background thread; one training job at a time per server process
(training takes every core), kept in the app's job registry (:mod:`ui.background`) like the Library
page's ingest jobs, so a rerun or a closed tab does not lose it. The company stage searches the
corpus through the app's open corpus (:func:`ui.corpus.app_corpus`): an embedded index can be
opened once per process.

The page shows, top to bottom:

* **Serving now**: the promoted reranker per scope (:func:`rerank.promoted.promoted`), or that
  questions are ranked by retrieval alone; a note when ``settings.rerank.name`` is not ``auto``
  (promotions are then not consulted).
* **Start a job**: stage, company (from the catalog the user may read), base model (the company
  stage defaults to the newest finished general job's ``model/``), a held-out set whose questions
  stay out of the data, a time budget, epochs, and optionally max steps and a trainer TOML.
* **Jobs**: every job folder under :func:`runs_root` (``job.json``), newest first. The chosen one
  shows its state and phase, a progress bar (optimizer steps while training, reported by the
  trainer's ``on_progress``), the run log (``run_log.jsonl``) as a table and a chart of dev MRR and
  train loss by step, and the report (dev MRR / accuracy@1 before and after, why it stopped,
  throughput). A job cut short (time budget, or interrupted) can be resumed from its checkpoint.
* **Compare to the current model**: :func:`finetune.gate.evaluate_candidate` on a held-out
  FinanceBench-format set, in a background thread (one at a time: it ingests the set into its own
  embedded index once); then the metrics of no reranker / the serving one / the candidate and the
  gate's decision with its reasons, read from the job's ``gate.json``.
* **Promote**: :func:`finetune.gate.promote` as the signed-in user, enabled only when that
  ``gate.json`` passed for this job's model.

While a job or an evaluation runs, a fragment redraws it every :data:`~ui.background.POLL_SECONDS`;
when it ends the whole page reruns once. Every failure is an ``st.error`` message, never a
traceback.

The sections live in this package's modules, top to bottom: :mod:`.start` (serving now and the
start form), :mod:`.job_list` (jobs, run log, report, resume), :mod:`.compare` (gate and promote);
:mod:`.work` runs the background jobs, :mod:`.folders` reads job folders and :mod:`.tables` builds
and draws the tables and the chart.
"""

from __future__ import annotations

import streamlit as st

from core.errors import FinragError
from core.settings import Settings
from ui import background
from ui.identity import current_user
from ui.views.finetune.folders import job_folder, list_jobs, newest_general_model, runs_root
from ui.views.finetune.job_list import jobs_section
from ui.views.finetune.start import serving, start_form
from ui.views.finetune.tables import curve_points, gate_table
from ui.views.finetune.work import latest_gate, latest_training

__all__ = [
    "curve_points",
    "gate_table",
    "job_folder",
    "list_jobs",
    "newest_general_model",
    "render",
    "runs_root",
]


def render() -> None:
    """Draw the Fine-tuning page."""
    try:
        settings = Settings()
        user = current_user(settings)
    except FinragError as exc:
        st.error(str(exc))
        return
    ss = st.session_state
    # this full run already draws the outcome
    background.mark_seen(latest_training(), "finetune_seen_train")
    background.mark_seen(latest_gate(), "finetune_seen_gate")

    st.title("Fine-tuning")
    st.caption(
        f"Jobs live in `{runs_root(settings)}`; `finrag finetune` jobs written there show up too."
    )
    flash = ss.pop("finetune_flash", None)
    if flash:
        st.success(flash)
    serving(settings)
    st.divider()
    try:
        jobs = list_jobs(runs_root(settings))
    except OSError as exc:
        st.error(f"Could not read the jobs in {runs_root(settings)}: {exc}")
        return
    start_form(settings, user, jobs)
    st.divider()
    jobs_section(settings, user, jobs)
