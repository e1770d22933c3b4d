"""The Evaluate page: run the retrieval or answer evaluation on a FinanceBench-format set and
compare saved runs.

Contract: a run is :func:`evaluation.run_retrieval.eval_retrieval` or
:func:`evaluation.run_answers.eval_answers` on the folder the user names, in a background thread
(one :class:`EvalJob` at a time per server process, kept in the app's job registry
(:mod:`ui.background`) like the Library page's ingest jobs, so a rerun or a closed tab does not
lose it; one at a time because an evaluation ingests and opens the set's own embedded index, which
only one object per process may hold). While it runs, a fragment redraws its status every
:data:`~ui.background.POLL_SECONDS`; when it ends the run is saved with :mod:`evaluation.runs` (as
the CLI does) and the page reruns once to show it.

Below, any saved run of the chosen kind can be shown: its metrics (shared index and filing given
for retrieval; numeric correctness, yes/no agreement, citations, abstention, unsupported figures
and latency for answers, and the same per question type), its Recall@k curve and its per-question
misses. "Compare runs" puts several runs of one
kind side by side with deltas against the first one picked, and overlays their Recall@k curves.
Rates show three decimals, latencies whole milliseconds. Every failure is an ``st.error`` message,
never a traceback.

Who (:mod:`core.roles`): the page asks for the user first, so behind the sign-in proxy a request
without the identity header gets an error and nothing else (no form, no saved runs). Saved runs
are shown to every signed-in user; starting a run reads a folder on the server and is for admins
only (checked again when Run is pressed), and each attempt is recorded in the corpus's audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import FinragError
from core.roles import require
from core.settings import Settings
from evaluation.runs import (
    KINDS,
    RECALL_KS,
    RunKind,
    RunRecord,
    compare,
    list_runs,
    recall_curve,
    save_run,
)
from evaluation.sets import default_set_dir
from ui import background
from ui.identity import User, current_user

log = logging.getLogger(__name__)

KIND = "eval"  # the job registry's kind of these jobs; their key is the resolved data_dir
KIND_LABELS = {"retrieval": "Retrieval (page Recall@k)", "answers": "Answers (agent end to end)"}


@dataclass
class EvalJob(background.Job):
    """One evaluation running (or finished) in a background thread; read by every session."""

    kind: RunKind
    set_dir: Path
    limit: int | None
    run: RunRecord | None = None
    done: int = 0  # questions scored so far (0 while the set is being ingested)
    total: int = 0

    def advance(self, done: int, total: int) -> None:
        self.done, self.total = done, total


def _latest(key: str) -> EvalJob | None:
    job = background.latest(KIND, key)
    return job if isinstance(job, EvalJob) else None


def start_job(settings: Settings, kind: RunKind, set_dir: Path, limit: int | None) -> EvalJob:
    """Check ``set_dir`` is an evaluation set, then evaluate it in a background thread.

    Raises:
        FinragError: the folder does not exist or is not an evaluation set, or another
            evaluation is still running in this server.
    """
    from evaluation.sets import load_set

    if not set_dir.exists():
        raise FinragError(f"{set_dir} does not exist on the server; check the path")
    eval_set = load_set(set_dir)  # ConfigError with what is wrong, before any thread starts
    if not eval_set.questions:
        raise FinragError(f"{set_dir / 'questions.jsonl'} has no questions")
    job = EvalJob(kind=kind, set_dir=set_dir, limit=limit)

    def work() -> None:
        if job.kind == "retrieval":
            from evaluation.run_retrieval import eval_retrieval

            result = eval_retrieval(job.set_dir, settings, limit=job.limit, progress=job.advance)
        else:
            from evaluation.run_answers import eval_answers

            result = eval_answers(job.set_dir, settings, limit=job.limit, progress=job.advance)
        job.run = save_run(settings, job.kind, job.set_dir, result, params={"limit": job.limit})

    return background.start(
        KIND,
        str(settings.data_dir.resolve()),
        job,
        work,
        what=f"{job.kind} evaluation of {job.set_dir}",
        busy="another evaluation is still running; wait for it to finish",
        across_keys=True,  # one per server process: see the module docstring
    )


# --- tables (pure functions, tested without Streamlit) -------------------------------------------


def _rate(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _ms(value: Any) -> int | None:
    return None if value is None else round(float(value))


def retrieval_metrics(result: dict) -> list[dict]:
    """Shared index and filing given, one row each; rates to 3 decimals, latency in whole ms."""
    rows = []
    for label, block in (
        ("shared index", result),
        ("filing given", result.get("given_filing", {})),
    ):
        rows.append(
            {
                "index": label,
                **{f"R@{k}": _rate(block.get(f"recall@{k}")) for k in RECALL_KS},
                "MRR": _rate(block.get("mrr")),
                "nDCG@10": _rate(block.get("ndcg@10")),
                "p50 ms": _ms(block.get("p50_ms")),
                "p95 ms": _ms(block.get("p95_ms")),
            }
        )
    return rows


def answer_metrics(result: dict) -> list[dict]:
    return [
        {
            "questions": result.get("n"),
            "numeric correct": _rate(result.get("numeric_correct")),
            "of (with a figure)": result.get("n_numeric"),
            "yes/no agreement": _rate(result.get("yes_no_agreement")),
            "of (yes/no)": result.get("n_yes_no"),
            "citation precision": _rate(result.get("citation_precision")),
            "citation recall": _rate(result.get("citation_recall")),
            "abstention": _rate(result.get("abstention_rate")),
            "unsupported figures": _rate(result.get("unsupported_figure_rate")),
            "p50 ms": _ms(result.get("p50_ms")),
            "p95 ms": _ms(result.get("p95_ms")),
        }
    ]


def answer_types(result: dict) -> list[dict]:
    """One row per FinanceBench question type, then the "all numeric" row (runs before issue 13
    have none)."""
    return [
        {
            "question type": name,
            "questions": row.get("n"),
            "numeric correct": _rate(row.get("numeric_correct")),
            "of (with a figure)": row.get("n_numeric"),
            "yes/no agreement": _rate(row.get("yes_no_agreement")),
            "of (yes/no)": row.get("n_yes_no"),
            "citation recall": _rate(row.get("citation_recall")),
            "abstention": _rate(row.get("abstention_rate")),
            "p50 ms": _ms(row.get("p50_ms")),
            "p95 ms": _ms(row.get("p95_ms")),
        }
        for name, row in result.get("by_question_type", {}).items()
    ]


def retrieval_misses(result: dict) -> list[dict]:
    """Questions whose gold pages are not all in the shared top 5."""
    return [
        {
            "id": m["id"],
            "question": m["question"],
            "gold": f"{m['gold_file']} p.{', '.join(str(p) for p in m['gold_pages'])}",
            "gold rank": m.get("gold_rank"),
            "first instead": f"{m['first_file']} p.{m['first_page']}"
            if m.get("first_file")
            else None,
            "scope": m.get("scope"),
        }
        for m in result.get("misses", [])
    ]


def answer_misses(result: dict) -> list[dict]:
    """Questions answered wrongly, abstained on, missing a gold citation or with unsupported
    figures."""
    rows = []
    for q in result.get("questions", []):
        scored = [q.get(k) for k in ("numeric", "yes_no") if q.get(k) is not None]
        right = bool(scored) and all(scored) and not q.get("abstained")
        if right and q.get("recall", 0) >= 1 and not q.get("unsupported"):
            continue
        rows.append(
            {
                "id": q["id"],
                "question": q["question"],
                "answer": q.get("answer"),
                "gold": q.get("gold"),
                "numeric": {True: "correct", False: "wrong", None: "-"}[q.get("numeric")],
                "yes/no": {True: "agrees", False: "disagrees", None: "-"}[q.get("yes_no")],
                "abstained": bool(q.get("abstained")),
                "cited pages": ", ".join(str(p) for p in q.get("cited_pages", [])),
                "gold pages": ", ".join(str(p) for p in q.get("gold_pages", [])),
                "unsupported figures": q.get("unsupported", 0),
                "ms": _ms(q.get("ms")),
            }
        )
    return rows


def curve_rows(runs: list[tuple[str, dict]]) -> list[dict]:
    """Long-form Recall@k points, one series per (name, result) pair, for a line chart."""
    return [
        {"run": name, "k": k, "recall": round(value, 3)}
        for name, result in runs
        for k, value in recall_curve(result).items()
    ]


def run_labels(runs: list[RunRecord]) -> dict[str, str]:
    """run id -> a label for pickers. Labels must be unique: a select box sends the chosen label,
    not the id, so two runs in the same second with the same stack get their run id appended."""
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.label] = seen.get(r.label, 0) + 1
    return {r.run_id: r.label if seen[r.label] == 1 else f"{r.label} · {r.run_id}" for r in runs}


def comparison_table(runs: list[RunRecord]) -> list[dict]:
    """Metrics side by side as display text: a column per run (#1 is the baseline) and a signed
    delta column per other run. Text, because one column mixes rates, counts and milliseconds."""
    table = []
    for row in compare(runs):
        whole = row.metric.endswith(" ms") or row.metric.startswith("questions")

        def text(value: float | None, signed: bool = False, whole: bool = whole) -> str:
            if value is None:
                return "-"
            sign = "+" if signed else ""
            return f"{value:{sign},.0f}" if whole else f"{value:{sign}.3f}"

        out: dict[str, Any] = {"metric": row.metric}
        for i, value in enumerate(row.values, start=1):
            out[f"#{i}"] = text(value)
        for i, delta in enumerate(row.deltas[1:], start=2):
            out[f"Δ #{i}"] = text(delta, signed=True)
        table.append(out)
    return table


# --- page ----------------------------------------------------------------------------------------


def render() -> None:
    """Draw the Evaluate page."""
    try:
        settings = Settings()
        user = current_user(settings)  # refuses a request without the proxy's identity header
    except FinragError as exc:
        st.error(str(exc))
        return
    key = str(settings.data_dir.resolve())
    job = _latest(key)
    # this full run draws the results after the job, showing its run
    if background.mark_seen(job, "eval_seen") and job.run is not None:
        st.session_state[f"eval_show_{job.run.kind}"] = job.run.run_id

    st.title("Evaluate")
    st.caption(
        f"Runs are saved in `{settings.data_dir / 'eval' / 'runs'}`; "
        "`finrag eval` runs show up here too."
    )
    kind = _run_form(settings, user)
    _job_fragment(key)
    st.divider()
    try:
        runs = list_runs(settings, kind)
    except OSError as exc:
        st.error(f"Could not read the saved runs: {exc}")
        return
    _results(kind, runs)
    st.divider()
    _compare(kind, runs)


def _run_form(settings: Settings, user: User) -> RunKind:
    kind: RunKind = st.radio(
        "Evaluation", KINDS, key="eval_kind", horizontal=True, format_func=KIND_LABELS.__getitem__
    )
    if not user.can("eval.run"):
        st.caption(
            f"Running an evaluation reads a folder on the server and needs the admin role; "
            f"{user.name} is a {user.role}. Saved runs are below."
        )
        return kind
    st.subheader("Run an evaluation")
    left, right = st.columns([4, 1])
    folder = left.text_input(
        "Evaluation set folder (questions.jsonl and pdfs/)",
        value=default_set_dir(),
        key="eval_set",
        placeholder="/data/financebench-dev",
    )
    limit = right.number_input(
        "Question limit", min_value=0, value=0, step=1, key="eval_limit", help="0 = every question"
    )
    busy = background.running(KIND) is not None
    if not st.button(
        "Run", type="primary", icon=":material/play_arrow:", disabled=busy, key="eval_run"
    ):
        return kind
    try:
        from ui.corpus import app_corpus

        audit = app_corpus(settings).audit
        with audit.attempt(user, "eval.run", f"{kind} {folder.strip() or '(no folder)'}"):
            require(user, "eval.run", "running an evaluation over a server folder")
            if not folder.strip():
                raise FinragError(
                    "enter the folder of an evaluation set (questions.jsonl and pdfs/)"
                )
            start_job(settings, kind, Path(folder.strip()).expanduser(), int(limit) or None)
    except FinragError as exc:
        st.error(str(exc))
        return kind
    st.rerun()
    return kind  # not reached: st.rerun raises


def _job_fragment(key: str) -> None:
    job = _latest(key)
    if job is None:
        return
    background.poll(_show_job, key, running=not job.finished)


def _show_job(key: str) -> None:
    job = _latest(key)
    if job is None:
        return
    background.rerun_once_ended(job, "eval_seen")  # the results below are outside this fragment
    what = f"{job.kind} evaluation of `{job.set_dir}`"
    if job.limit:
        what += f" (first {job.limit} questions)"
    if not job.finished:
        if job.total:
            st.progress(
                job.done / job.total,
                text=f"{what}: {job.done} of {job.total} questions, {job.elapsed:.0f} s",
            )
        else:
            st.status(
                f"Running the {what}: ingesting the set (cached after the first run)… "
                f"{job.elapsed:.0f} s",
                state="running",
            )
    elif job.error:
        st.error(f"The {what} stopped: {job.error}")
    elif job.run is not None:
        st.success(f"The {what} finished in {job.seconds:.1f} s; saved as run `{job.run.run_id}`.")


def _results(kind: RunKind, runs: list[RunRecord]) -> None:
    st.subheader("Results")
    if not runs:
        st.info(f"No saved {kind} runs yet: run one above or with `finrag eval {kind}`.")
        return
    by_id = {r.run_id: r for r in runs}
    labels = run_labels(runs)
    select_key = f"eval_show_{kind}"
    if st.session_state.get(select_key) not in by_id:
        st.session_state[select_key] = runs[0].run_id
    run = by_id[st.selectbox("Run", list(by_id), key=select_key, format_func=labels.__getitem__)]
    st.caption(
        f"Set `{run.set_path}` · embedder {run.config.embedder} · reranker {run.config.reranker}"
        + (f" · llm {run.config.llm}" if run.kind == "answers" else "")
        + f" · run `{run.run_id}`"
    )
    result = run.result
    if kind == "retrieval":
        _table(retrieval_metrics(result))
        points = curve_rows(
            [("shared index", result), ("filing given", result.get("given_filing", {}))]
        )
        _curve_chart(points)
        misses = retrieval_misses(result)
        st.markdown(
            f"**Questions whose gold pages are not all in the top 5 (shared index): "
            f"{len(misses)} of {result.get('n', 0)}**"
        )
        if misses:
            _table(misses)
    else:
        _table(answer_metrics(result))
        misses = answer_misses(result)
        st.markdown(
            f"**Questions not fully right (wrong figure, abstained, a gold page uncited or an "
            f"unsupported figure): {len(misses)} of {result.get('n', 0)}**"
        )
        if misses:
            _table(misses)
        types = answer_types(result)
        if types:
            st.markdown("**Per question type**")
            _table(types)


def _compare(kind: RunKind, runs: list[RunRecord]) -> None:
    st.subheader("Compare runs")
    if len(runs) < 2:
        st.caption(f"Compare needs two saved {kind} runs.")
        return
    by_id = {r.run_id: r for r in runs}
    labels = run_labels(runs)
    key = f"eval_compare_{kind}"
    st.session_state[key] = [i for i in st.session_state.get(key, []) if i in by_id]
    chosen = st.multiselect(
        "Runs (the first picked is the baseline)",
        list(by_id),
        key=key,
        format_func=labels.__getitem__,
        placeholder="Pick two or more runs",
    )
    if len(chosen) < 2:
        return
    picked = [by_id[i] for i in chosen]
    st.markdown("  \n".join(f"**#{n}** {labels[r.run_id]}" for n, r in enumerate(picked, start=1)))
    try:
        table = comparison_table(picked)
    except FinragError as exc:
        st.error(str(exc))
        return
    st.dataframe(table, hide_index=True, width="stretch")
    if kind == "retrieval":
        _curve_chart(curve_rows([(f"#{n}", r.result) for n, r in enumerate(picked, start=1)]))


def _table(rows: list[dict]) -> None:
    """A dataframe whose float columns show three decimals, integer columns (gaps and all) none."""
    floats = {k for row in rows for k, v in row.items() if isinstance(v, float)}
    ints = {
        k for row in rows for k, v in row.items() if isinstance(v, int) and not isinstance(v, bool)
    }
    config = {k: st.column_config.NumberColumn(format="%d") for k in ints - floats}
    config |= {k: st.column_config.NumberColumn(format="%.3f") for k in floats}
    st.dataframe(rows, hide_index=True, width="stretch", column_config=config)


def _curve_chart(points: list[dict]) -> None:
    if not points:
        return
    import altair as alt
    import pandas as pd

    chart = (
        alt.Chart(pd.DataFrame(points), title="Recall@k")
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "k:Q",
                title="k (pages)",
                scale=alt.Scale(domain=[1, 10]),
                axis=alt.Axis(values=list(RECALL_KS)),
            ),
            y=alt.Y("recall:Q", title="recall", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("run:N", title=None),
            tooltip=["run", "k", alt.Tooltip("recall:Q", format=".3f")],
        )
    )
    st.altair_chart(chart, width="stretch")
