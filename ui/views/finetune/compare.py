"""The foot of the Fine-tuning page: compare the chosen job's model with the serving one, then
promote it.

Contract: **Compare to the current model** runs :func:`finetune.gate.evaluate_candidate` on a
held-out FinanceBench-format set in a background thread
(:func:`~ui.views.finetune.work.start_gate`, one at a time), drawn in a fragment redrawn every
:data:`~ui.background.POLL_SECONDS` while it runs; when it ends the whole page reruns once and
shows the metrics of no reranker / the serving one / the candidate and the gate's decision with
its reasons, read from the job's ``gate.json``. **Promote** runs :func:`finetune.gate.promote` as
the signed-in user, enabled only when that ``gate.json`` passed for this job's model.

Both are for admins (:mod:`core.roles`: the gate reads a folder on the server, promoting changes
what serves every user): the role is checked on the server when a button is pressed (the buttons
carry a hint for others, and stay enabled so that a refused attempt is shown and audited); every
attempt is recorded in the corpus's audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import FinragError
from core.roles import require
from core.settings import Settings
from evaluation.sets import default_set_dir
from ui import background
from ui.corpus import app_corpus
from ui.identity import User
from ui.views.finetune.folders import default_scope, read_gate
from ui.views.finetune.tables import BASELINE_LABELS, gate_table, show_table
from ui.views.finetune.work import GATE, latest_gate, start_gate


def compare(settings: Settings, user: User, job: Any) -> None:
    """Draw the Compare section of ``job`` (a JobState) and its Promote button."""
    st.subheader("Compare to the current model")
    out = Path(job.spec.out)
    model = out / "model"
    if not (model / "finrag_model.json").is_file():
        st.caption("This job has no model yet: compare and promote once it has written model/.")
        return
    left, mid, right = st.columns([4, 1, 1])
    folder = left.text_input(
        "Held-out set (questions.jsonl and pdfs/)",
        value=default_set_dir(),
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
    busy = background.running(GATE, background.PROCESS) is not None
    admin = user.can("eval.run")
    if st.button(
        "Evaluate",
        icon=":material/balance:",
        disabled=busy,
        key="finetune_evaluate",
        help=None if admin else "Evaluating over a server folder needs the admin role",
    ):
        try:
            audit = app_corpus(settings).audit
            with audit.attempt(user, "finetune.evaluate", f"{model} on {folder.strip()}"):
                require(user, "eval.run", "evaluating a model over a server folder")
                if not folder.strip():
                    raise FinragError(
                        "enter the folder of a held-out set (questions.jsonl and pdfs/)"
                    )
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
    gate = latest_gate()
    if gate is not None:
        background.poll(_show_gate, str(model), running=not gate.finished)
    decision = read_gate(out)
    if decision is None:
        st.caption(
            "Not evaluated yet: the gate compares this model with the one serving now and with "
            "no reranker on the held-out set."
        )
        _promote(settings, user, model, None)
        return
    show_table(gate_table(decision.metrics))
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
    gate = latest_gate()
    if gate is None:
        return
    background.rerun_once_ended(
        gate, "finetune_seen_gate"
    )  # gate.json is read outside this fragment
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
    if not user.can("model.promote"):  # left enabled: a refused click is shown and audited
        help_text = "Promoting a reranker needs the admin role"
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
        with app_corpus(settings).audit.attempt(user, "model.promote", str(model)) as attempt:
            require(user, "model.promote", "promoting a reranker")  # the button is only a hint
            record = promote(settings, model, user.name)
            attempt.reason = f"scope {record.scope}, replaced {record.replaced or 'none'}"
    except FinragError as exc:
        st.error(str(exc))
        return
    scope = "every question" if record.scope == "*" else f"{record.scope}'s questions"
    st.session_state["finetune_flash"] = (
        f"Promoted {record.model} for {scope} (MRR {record.metrics.get('mrr', 0):.3f}) by "
        f"{record.promoted_by}; it replaced {record.replaced or 'no reranker'}."
    )
    st.rerun()
