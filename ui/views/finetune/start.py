"""The top of the Fine-tuning page: the reranker serving now, and the form that starts a job.

Contract: **Serving now** shows the promoted reranker per scope (:func:`rerank.promoted.promoted`),
or that questions are ranked by retrieval alone, with a note when ``settings.rerank.name`` is not
``auto`` (promotions are then not consulted). **Start a job** takes the stage, the company (from
the catalog the user may read, through :func:`ui.corpus.app_corpus`), the kind of model (the
cross-encoder, or ``learned``: the LightGBM page ranker over retrieval's signals, which needs no
base model), the base model (the company
stage defaults to the newest finished general job's ``model/``), a held-out set whose questions
stay out of the data, a time budget, epochs, and optionally max steps and a trainer TOML; it starts
the job with :func:`~ui.views.finetune.work.start_training` and selects it in the jobs list below.
Starting a job is for admins (:mod:`core.roles`; checked again when Start is pressed), and each
attempt is recorded in the corpus's audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import AccessError, FinragError
from core.roles import require
from core.settings import Settings
from evaluation.sets import default_set_dir
from ui import background
from ui.corpus import app_corpus
from ui.identity import User
from ui.views.finetune.folders import job_folder, newest_general_model
from ui.views.finetune.tables import serving_table, show_table
from ui.views.finetune.work import TRAIN, start_training

DEFAULT_MINUTES = 14.0
ALL = ""  # the company choice meaning "every filing of the corpus"


def serving(settings: Settings) -> None:
    """Draw the Serving now section."""
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
    show_table(serving_table(current))


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


def start_form(settings: Settings, user: User, jobs: list[Any]) -> None:
    """Draw the Start a job form; ``jobs`` (newest first) give the company stage's base."""
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
    backend = st.radio(
        "Model",
        ["cross-encoder", "learned"],
        key="finetune_backend",
        horizontal=True,
        format_func={
            "cross-encoder": "Cross-encoder (MiniLM, reads the text)",
            "learned": "Page ranker (LightGBM over retrieval's signals, minutes)",
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
    held_out = st.text_input(
        "Held-out set to keep out of the data (its questions never train)",
        value=default_set_dir(),
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
    busy = background.running(TRAIN, background.PROCESS) is not None
    if busy:
        st.caption("A fine-tuning job is running on this server: the next one starts when it ends.")
    admin = user.can("finetune.start")
    if not st.button(
        "Start",
        type="primary",
        icon=":material/model_training:",
        disabled=busy,
        key="finetune_start",
        help=None if admin else "Starting a fine-tuning job needs the admin role",
    ):
        return
    audit = app_corpus(settings).audit
    try:
        require(user, "finetune.start", "starting a fine-tuning job")
        from finetune.jobs import JobSpec

        spec = JobSpec(
            stage=stage,
            out=job_folder(settings, stage, company or None),
            company=company or None,
            backend=backend,
            base=str(_existing(base, "base model")) if base.strip() else None,
            config=_existing(config, "trainer options file") if config.strip() else None,
            exclude_set=_existing(held_out, "held-out set") if held_out.strip() else None,
            max_minutes=float(minutes),
            overrides={
                "epochs": int(epochs),
                **({"max_steps": int(max_steps)} if max_steps else {}),
            },
        )
        if stage == "company" and spec.base is None and backend != "learned":
            raise FinragError(
                "the company stage starts from a general job's model: run the general "
                "stage first, or name its model/ folder as the base model"
            )
        if spec.exclude_set is not None and not (spec.exclude_set / "questions.jsonl").exists():
            raise FinragError(f"{spec.exclude_set} is not an evaluation set (no questions.jsonl)")
        start_training(app_corpus(settings), spec, user=user.name)
    except FinragError as exc:
        outcome = "refused" if isinstance(exc, AccessError) else "failed"
        audit.record(user, "finetune.start", f"{stage} {company or ''}".strip(), outcome, str(exc))
        st.error(str(exc))
        return
    except ValueError as exc:  # pydantic: a value the spec refuses
        audit.record(user, "finetune.start", stage, "failed", str(exc))
        st.error(f"Invalid job options: {exc}")
        return
    audit.record(user, "finetune.start", str(spec.out), "ok", f"stage {stage}")
    ss["finetune_job"] = str(spec.out)  # show the new job below
    st.rerun()


def _existing(text: str, what: str) -> Path:
    path = Path(text.strip()).expanduser()
    if not path.exists():
        raise FinragError(f"the {what} {path} does not exist on the server; check the path")
    return path
