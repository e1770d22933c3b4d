"""The Fine-tuning page: train the reranker, watch it learn, gate it against the serving model,
promote it.

Contract: a job is :func:`finetune.jobs.run_job` on a :class:`~finetune.jobs.JobSpec`
whose folder is ``settings.data_dir / "finetune" / "runs" / "<stage>-<company or all>-<UTC time>"``
(:func:`runs_root`). It runs in a background thread; one training job at a time per server process
(training takes every core), kept in a ``st.cache_resource`` registry like the Library page's ingest
jobs, so a rerun or a closed tab does not lose it. The company stage searches the corpus through the
app's open corpus (:func:`ui.corpus.app_corpus`): an embedded index can be opened once per process.

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

While a job or an evaluation runs, a fragment redraws it every :data:`POLL_SECONDS`; when it ends
the whole page reruns once. Every failure is an ``st.error`` message, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from core.errors import FinragError
from core.settings import Settings
from ui.background import finish
from ui.corpus import app_corpus
from ui.identity import User, current_user

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
DEFAULT_SET = Path("../shared/data/financebench-dev")
DEFAULT_MINUTES = 14.0
ALL = ""  # the company choice meaning "every filing of the corpus"
GATE_COLUMNS = {
    "R@1": "recall@1",
    "R@5": "recall@5",
    "R@10": "recall@10",
    "MRR": "mrr",
    "nDCG@10": "ndcg@10",
}
BASELINE_LABELS = {"none": "no reranker", "current": "serving now", "candidate": "this model"}


# --- jobs in this process ------------------------------------------------------------------------


@dataclass
class TrainJob:
    """One fine-tuning job running (or finished) in a background thread; read by every session."""

    out: Path
    user: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    step: int = 0
    total: int = 0
    metrics: dict[str, float] = field(default_factory=dict)  # the trainer's last on_progress values
    finished: bool = False
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None

    def advance(self, step: int, total: int, metrics: dict) -> None:
        self.step, self.total, self.metrics = step, total, dict(metrics)

    @property
    def elapsed(self) -> float:
        return self.seconds if self.seconds is not None else time.perf_counter() - self.started


@dataclass
class GateJob:
    """One gate evaluation running (or finished) in a background thread."""

    model_dir: Path
    set_dir: Path
    scope: str
    limit: int | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    finished: bool = False
    error: str | None = None
    passed: bool | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None

    @property
    def elapsed(self) -> float:
        return self.seconds if self.seconds is not None else time.perf_counter() - self.started


@st.cache_resource
def _jobs() -> dict[str, TrainJob | GateJob]:
    """The latest training job ("train") and gate evaluation ("gate") of this server process."""
    return {}


_START_LOCK = threading.Lock()


def _running(kind: str) -> TrainJob | GateJob | None:
    job = _jobs().get(kind)
    return job if job is not None and not job.finished else None


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


def start_training(corpus: Corpus, spec: Any, user: str = "") -> TrainJob:
    """Run ``spec`` (a :class:`~finetune.jobs.JobSpec`) on ``corpus`` in a background thread.

    Raises:
        FinragError: another fine-tuning job is still running in this server.
    """
    with _START_LOCK:
        if _running("train") is not None:
            raise FinragError(
                "another fine-tuning job is still running on this server; wait for it "
                "to finish (it uses every CPU core)"
            )
        job = TrainJob(out=Path(spec.out), user=user)
        _jobs()["train"] = job
    # run_job writes the same first state as its thread starts; written here too so that the
    # page drawn right after this call already lists the job.
    from finetune.jobs import JOB_FILE, JobState

    Path(spec.out).mkdir(parents=True, exist_ok=True)
    if not (Path(spec.out) / JOB_FILE).exists():
        (Path(spec.out) / JOB_FILE).write_text(JobState(spec=spec).model_dump_json(indent=2))
    threading.Thread(
        target=_train,
        args=(job, corpus, spec),
        name=f"finetune-{job.id}",
        daemon=True,
    ).start()
    return job


def _train(job: TrainJob, corpus: Corpus, spec: Any) -> None:
    from finetune.jobs import run_job

    finish(
        job,
        lambda: run_job(corpus, spec, on_progress=job.advance),
        f"fine-tuning job {job.out}",
    )


def start_gate(
    settings: Settings, model_dir: Path, set_dir: Path, scope: str, limit: int | None
) -> GateJob:
    """Check the set, then gate ``model_dir`` on it in a background thread (writes ``gate.json``).

    Raises:
        FinragError: not a trained model, not an evaluation set, or another evaluation running.
    """
    from evaluation.sets import load_set
    from finetune.gate import model_info

    model_info(model_dir)  # ConfigError naming the problem, before any thread starts
    if not set_dir.exists():
        raise FinragError(f"{set_dir} does not exist on the server; check the path")
    if not load_set(set_dir).questions:
        raise FinragError(f"{set_dir / 'questions.jsonl'} has no questions")
    with _START_LOCK:
        if _running("gate") is not None:
            raise FinragError("another gate evaluation is still running; wait for it to finish")
        job = GateJob(model_dir=model_dir, set_dir=set_dir, scope=scope, limit=limit)
        _jobs()["gate"] = job
    threading.Thread(target=_gate, args=(job, settings), name=f"gate-{job.id}", daemon=True).start()
    return job


def _gate(job: GateJob, settings: Settings) -> None:
    from finetune.gate import evaluate_candidate

    def work() -> None:
        decision, _ = evaluate_candidate(
            settings, job.model_dir, job.set_dir, scope=job.scope, limit=job.limit
        )
        job.passed = decision.passed

    finish(job, work, f"gate evaluation of {job.model_dir}")


# --- reading job folders (pure, tested without Streamlit) ----------------------------------------


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


def run_log_table(entries: list[dict]) -> list[dict]:
    return [
        {
            "event": e.get("event"),
            "step": e.get("step"),
            "epoch": _round(e.get("epoch"), 2),
            "train loss": _round(e.get("loss")),
            "dev loss": _round(e.get("dev_loss")),
            "dev MRR": _round(e.get("dev_mrr")),
            "dev acc@1": _round(e.get("dev_accuracy_at_1")),
            "lr": e.get("lr"),
            "elapsed s": _round(e.get("elapsed_s"), 1),
            "CPU s": _round(e.get("cpu_s"), 1),
        }
        for e in entries
    ]


def curve_points(entries: list[dict]) -> list[dict]:
    """Long-form (step, series, value) points of dev MRR and train loss for the chart."""
    points = []
    for e in entries:
        for series, key in (("dev MRR", "dev_mrr"), ("train loss", "loss")):
            if e.get(key) is not None:
                value = round(float(e[key]), 4)
                points.append({"step": e["step"], "series": series, "value": value})
    return points


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


def gate_table(metrics: dict[str, dict[str, float]]) -> list[dict]:
    """One row per ranking (no reranker, serving now, this model): rates to 3 decimals, ms whole."""
    rows = []
    for name in ("none", "current", "candidate"):
        if name not in metrics:
            continue
        m = metrics[name]
        row: dict[str, Any] = {"ranking": BASELINE_LABELS[name]}
        row |= {label: _round(m.get(key)) for label, key in GATE_COLUMNS.items()}
        row["p50 ms"] = None if m.get("p50_ms") is None else round(float(m["p50_ms"]))
        rows.append(row)
    return rows


def serving_table(current: dict[str, Any]) -> list[dict]:
    return [
        {
            "scope": "every question" if scope == "*" else scope,
            "backend": r.backend,
            "model": r.model,
            "MRR": _round(r.metrics.get("mrr")),
            "promoted by": r.promoted_by,
            "promoted at": r.promoted_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        for scope, r in sorted(current.items())
    ]


def default_scope(job: Any) -> str:
    """What a job's model would serve: its company's questions (ticker), or every question."""
    return (job.spec.company or "*").upper() if job.spec.stage == "company" else "*"


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


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


# --- page ----------------------------------------------------------------------------------------


def render() -> None:
    """Draw the Fine-tuning page."""
    try:
        settings = Settings()
        user = current_user(settings)
    except FinragError as exc:
        st.error(str(exc))
        return
    ss = st.session_state
    for kind in ("train", "gate"):
        job = _jobs().get(kind)
        if job is not None and job.finished:
            ss[f"finetune_seen_{kind}"] = job.id  # this full run already draws the outcome

    st.title("Fine-tuning")
    st.caption(
        f"Jobs live in `{runs_root(settings)}`; `finrag finetune` jobs written there show up too."
    )
    flash = ss.pop("finetune_flash", None)
    if flash:
        st.success(flash)
    _serving(settings)
    st.divider()
    try:
        jobs = list_jobs(runs_root(settings))
    except OSError as exc:
        st.error(f"Could not read the jobs in {runs_root(settings)}: {exc}")
        return
    _start_form(settings, user, jobs)
    st.divider()
    _jobs_section(settings, user, jobs)


def _serving(settings: Settings) -> None:
    from rerank.promoted import promoted

    st.subheader("Serving now")
    if settings.rerank.name != "auto":
        st.warning(
            f"FINRAG_RERANK__NAME={settings.rerank.name}: this server uses that reranker and "
            "does not consult promotions."
        )
    try:
        current = promoted(settings.data_dir)
    except (OSError, ValueError) as exc:
        st.error(f"Could not read the promoted models in {settings.data_dir / 'rerank'}: {exc}")
        return
    if not current:
        st.info("No promoted reranker: questions are ranked in retrieval order.")
        return
    _table(serving_table(current))


def _companies(settings: Settings, user: User) -> dict[str, str]:
    """Choice -> label of the companies of the filings the user may read."""
    choices = {ALL: "all filings"}
    try:
        filings = app_corpus(settings).filings(user.groups)
    except FinragError as exc:
        st.error(str(exc))
        return choices
    for f in sorted(filings, key=lambda f: (f.ticker or f.company or "").upper()):
        key = f.ticker or f.company
        if key and key not in choices:
            choices[key] = f"{f.ticker} ({f.company})" if f.ticker and f.company else key
    return choices


def _start_form(settings: Settings, user: User, jobs: list[Any]) -> None:
    st.subheader("Start a job")
    ss = st.session_state
    stage = st.radio(
        "Stage",
        ["general", "company"],
        key="finetune_stage",
        horizontal=True,
        format_func={
            "general": "General (synthetic financial corpus)",
            "company": "Company (its own filings, feedback, memory)",
        }.__getitem__,
    )
    companies = {ALL: "all filings"}
    company = ALL
    if stage == "company":
        companies = _companies(settings, user)
        company = st.selectbox(
            "Company", list(companies), key="finetune_company", format_func=companies.__getitem__
        )
    general = newest_general_model(jobs)
    default_base = str(general) if stage == "company" and general else ""
    if ss.get("finetune_base_stage") != stage:  # a prefill per stage, kept once edited
        ss["finetune_base_stage"], ss["finetune_base"] = stage, default_base
    base = st.text_input(
        "Base model",
        key="finetune_base",
        placeholder="the packaged all-MiniLM-L6-v2"
        if stage == "general"
        else "<general job>/model",
        help="General stage: a plain encoder folder (blank: the packaged MiniLM). Company stage: "
        "a general job's model/ folder (prefilled with the newest finished one).",
    )
    if stage == "company" and not general and not base.strip():
        st.caption(
            "No finished general job yet: run the general stage first, or name a base model."
        )
    default_set = str(DEFAULT_SET) if (DEFAULT_SET / "questions.jsonl").exists() else ""
    held_out = st.text_input(
        "Held-out set to keep out of the data (its questions never train)",
        value=default_set,
        key="finetune_exclude",
        placeholder="/data/financebench-dev",
    )
    cols = st.columns(3)
    minutes = cols[0].number_input(
        "Time budget (minutes)",
        min_value=0.5,
        value=DEFAULT_MINUTES,
        step=1.0,
        key="finetune_minutes",
    )
    epochs = cols[1].number_input("Epochs", min_value=1, value=2, step=1, key="finetune_epochs")
    max_steps = cols[2].number_input(
        "Max steps",
        min_value=0,
        value=0,
        step=1,
        key="finetune_max_steps",
        help="0 = as many as the epochs take",
    )
    config = st.text_input(
        "Trainer options (TOML file on the server, optional)",
        key="finetune_config",
        placeholder="finetune.toml",
    )
    busy = _running("train") is not None
    if busy:
        st.caption("A fine-tuning job is running on this server: the next one starts when it ends.")
    if not st.button(
        "Start",
        type="primary",
        icon=":material/model_training:",
        disabled=busy,
        key="finetune_start",
    ):
        return
    try:
        from finetune.jobs import JobSpec

        spec = JobSpec(
            stage=stage,
            out=job_folder(settings, stage, company or None),
            company=company or None,
            base=str(_existing(base, "base model")) if base.strip() else None,
            config=_existing(config, "trainer options file") if config.strip() else None,
            exclude_set=_existing(held_out, "held-out set") if held_out.strip() else None,
            max_minutes=float(minutes),
            overrides={
                "epochs": int(epochs),
                **({"max_steps": int(max_steps)} if max_steps else {}),
            },
        )
        if stage == "company" and spec.base is None:
            raise FinragError(
                "the company stage starts from a general job's model: run the general "
                "stage first, or name its model/ folder as the base model"
            )
        if spec.exclude_set is not None and not (spec.exclude_set / "questions.jsonl").exists():
            raise FinragError(f"{spec.exclude_set} is not an evaluation set (no questions.jsonl)")
        start_training(app_corpus(settings), spec, user=user.name)
    except FinragError as exc:
        st.error(str(exc))
        return
    except ValueError as exc:  # pydantic: a value the spec refuses
        st.error(f"Invalid job options: {exc}")
        return
    ss["finetune_job"] = str(spec.out)  # show the new job below
    st.rerun()


def _existing(text: str, what: str) -> Path:
    path = Path(text.strip()).expanduser()
    if not path.exists():
        raise FinragError(f"the {what} {path} does not exist on the server; check the path")
    return path


def _jobs_section(settings: Settings, user: User, jobs: list[Any]) -> None:
    st.subheader("Jobs")
    if not jobs:
        st.info("No fine-tuning jobs yet: start one above.")
        return
    by_out = {str(j.spec.out): j for j in jobs}
    ss = st.session_state
    if ss.get("finetune_job") not in by_out:
        ss["finetune_job"] = next(iter(by_out))
    training = _jobs().get("train")
    training = training if isinstance(training, TrainJob) else None

    def label(out: str) -> str:  # stable while the job runs: a select box sends its label
        return f"{Path(out).name} (started {by_out[out].started_at:%Y-%m-%d %H:%M} UTC)"

    chosen = st.selectbox("Job", list(by_out), key="finetune_job", format_func=label)
    job = by_out[chosen]
    every = POLL_SECONDS if job_status(job, training) == "running" else None
    st.fragment(_show_job, run_every=every)(chosen)
    _resume(settings, job, training)
    st.divider()
    _compare(settings, user, job)


def _show_job(out: str) -> None:
    from finetune.jobs import read_job

    ss = st.session_state
    training = _jobs().get("train")
    training = training if isinstance(training, TrainJob) else None
    if training is not None and training.finished and ss.get("finetune_seen_train") != training.id:
        st.rerun(scope="app")  # the job list, compare and promote are outside this fragment
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
        _table(run_log_table(entries))
        _curve_chart(curve_points(entries))
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


def _resume(settings: Settings, job: Any, training: TrainJob | None) -> None:
    status = job_status(job, training)
    report = read_report(Path(job.spec.out)) or {}
    budget = status == "done" and report.get("stopped") == "time_budget"
    cut_short = status == "interrupted" or budget
    if not cut_short:
        return
    busy = _running("train") is not None
    if not st.button(
        "Resume",
        icon=":material/play_arrow:",
        disabled=busy,
        key="finetune_resume",
        help="Continue from the last checkpoint on the same dataset",
    ):
        return
    try:
        start_training(app_corpus(settings), job.spec.model_copy(update={"resume": True}))
    except FinragError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _compare(settings: Settings, user: User, job: Any) -> None:
    st.subheader("Compare to the current model")
    out = Path(job.spec.out)
    model = out / "model"
    if not (model / "finrag_model.json").is_file():
        st.caption("This job has no model yet: compare and promote once it has written model/.")
        return
    left, mid, right = st.columns([4, 1, 1])
    default_set = str(DEFAULT_SET) if (DEFAULT_SET / "questions.jsonl").exists() else ""
    folder = left.text_input(
        "Held-out set (questions.jsonl and pdfs/)",
        value=default_set,
        key="finetune_set",
        placeholder="/data/financebench-dev",
    )
    limit = mid.number_input(
        "Question limit",
        min_value=0,
        value=0,
        step=1,
        key="finetune_limit",
        help="0 = every question",
    )
    scope = right.text_input(
        "Serve for",
        value=default_scope(job),
        key=f"finetune_scope_{out.name}",
        help="A ticker (that company's questions) or * (every question)",
    )
    busy = _running("gate") is not None
    if st.button("Evaluate", icon=":material/balance:", disabled=busy, key="finetune_evaluate"):
        try:
            if not folder.strip():
                raise FinragError("enter the folder of a held-out set (questions.jsonl and pdfs/)")
            start_gate(
                settings,
                model,
                Path(folder.strip()).expanduser(),
                (scope.strip() or "*").upper(),
                int(limit) or None,
            )
        except FinragError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    gate = _jobs().get("gate")
    if isinstance(gate, GateJob):
        st.fragment(_show_gate, run_every=POLL_SECONDS if not gate.finished else None)(str(model))
    decision = read_gate(out)
    if decision is None:
        st.caption(
            "Not evaluated yet: the gate compares this model with the one serving now and with "
            "no reranker on the held-out set."
        )
        _promote(settings, user, model, None)
        return
    _table(gate_table(decision.metrics))
    wins = ", ".join(
        f"{BASELINE_LABELS.get(k, k)} {v:.0%}" for k, v in decision.bootstrap_win_rate.items()
    )
    st.caption(
        f"{decision.n} questions of `{decision.held_out}` · scope {decision.scope} · evaluated "
        f"{decision.evaluated_at:%Y-%m-%d %H:%M} UTC · MRR margin {decision.margin.mrr:.3f}"
        + (f" · paired bootstrap, share of resamples this model wins: {wins}" if wins else "")
    )
    if decision.passed:
        st.success("The gate PASSED: this model beats every baseline by the margin.")
    else:
        st.error("The gate REFUSED this model: " + "; ".join(decision.reasons))
    _promote(settings, user, model, decision)


def _show_gate(model: str) -> None:
    gate = _jobs().get("gate")
    if not isinstance(gate, GateJob):
        return
    ss = st.session_state
    if gate.finished and ss.get("finetune_seen_gate") != gate.id:
        st.rerun(scope="app")  # gate.json is read outside this fragment
    what = f"gate evaluation of `{Path(gate.model_dir).parent.name}` on `{gate.set_dir}`"
    if gate.limit:
        what += f" (first {gate.limit} questions)"
    if not gate.finished:
        st.status(
            f"Running the {what}: ingesting the set (cached after the first run), then "
            f"reranking… {gate.elapsed:.0f} s",
            state="running",
        )
    elif gate.error and str(gate.model_dir) == model:
        st.error(f"The {what} stopped: {gate.error}")


def _promote(settings: Settings, user: User, model: Path, decision: Any) -> None:
    from finetune.gate import promote

    matches = decision is not None and Path(decision.candidate) == model.resolve()
    allowed = matches and decision.passed
    if decision is not None and not matches:
        st.warning(f"gate.json is about {decision.candidate}, not this model: evaluate it again.")
    help_text = None if allowed else "Enabled once the gate has passed for this model"
    if not st.button(
        "Promote",
        type="primary",
        icon=":material/rocket_launch:",
        disabled=not allowed,
        key="finetune_promote",
        help=help_text,
    ):
        return
    try:
        record = promote(settings, model, user.name)
    except FinragError as exc:
        st.error(str(exc))
        return
    scope = "every question" if record.scope == "*" else f"{record.scope}'s questions"
    st.session_state["finetune_flash"] = (
        f"Promoted {record.model} for {scope} (MRR {record.metrics.get('mrr', 0):.3f}) by "
        f"{record.promoted_by}; it replaced {record.replaced or 'no reranker'}."
    )
    st.rerun()


# --- drawing helpers -----------------------------------------------------------------------------


def _table(rows: list[dict]) -> None:
    """A dataframe whose float columns show three decimals, integer columns none."""
    floats = {k for row in rows for k, v in row.items() if isinstance(v, float)}
    ints = {
        k for row in rows for k, v in row.items() if isinstance(v, int) and not isinstance(v, bool)
    }
    config = {k: st.column_config.NumberColumn(format="%d") for k in ints - floats}
    config |= {k: st.column_config.NumberColumn(format="%.3f") for k in floats if k != "lr"}
    config |= {"lr": st.column_config.NumberColumn(format="%.2e")} if "lr" in floats else {}
    st.dataframe(rows, hide_index=True, width="stretch", column_config=config)


def _curve_chart(points: list[dict]) -> None:
    """Dev MRR and train loss by step, each on its own axis (loss is not a 0-1 rate)."""
    if not points:
        return
    import altair as alt
    import pandas as pd

    base = alt.Chart(pd.DataFrame(points)).encode(
        x=alt.X("step:Q", title="optimizer step"),
        color=alt.Color("series:N", title=None),
        tooltip=["series", "step", alt.Tooltip("value:Q", format=".4f")],
    )
    mrr = (
        base.transform_filter(alt.datum.series == "dev MRR")
        .mark_line(point=True)
        .encode(y=alt.Y("value:Q", title="dev MRR", scale=alt.Scale(domain=[0, 1])))
    )
    loss = (
        base.transform_filter(alt.datum.series == "train loss")
        .mark_line(point=True, strokeDash=[4, 3])
        .encode(y=alt.Y("value:Q", title="train loss"))
    )
    chart = alt.layer(mrr, loss, title="Dev MRR and train loss").resolve_scale(y="independent")
    st.altair_chart(chart, width="stretch")
