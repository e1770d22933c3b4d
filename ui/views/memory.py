"""The Memory bank page: curators list, search, add, edit, approve, retire, remove, import, export.

Contract: the page works on the memory bank of the app's open corpus
(:func:`ui.corpus.app_corpus`: the embedded memory collection can be opened once per process).
The page lists, probes and exports only entries the user's ACL groups may read
(:func:`ui.identity.current_user`), and a new entry may only be shared with the user's own groups;
the "what would the agent get" probe searches exactly as the agent does for this user. A
successful change is kept in ``st.session_state`` as a flash message and the page reruns so the
list shows it; a :class:`~core.errors.FinragError` becomes an ``st.error`` with its message,
never a traceback. Imports go through a temporary copy of the uploaded file (the bank reads
paths) and the report lists every row with its line number.

Roles (:mod:`core.roles`): everyone may browse, probe and export what they can read; the add,
review and import controls are drawn for curators (and admins) only, and every change goes
through the bank as the signed-in user (``by=user``), which records them as ``added_by`` /
``approved_by`` and refuses entries outside their groups. Adding a question whose entry exists but
is hidden from the user is refused with the same words whatever that entry is (no id, no groups:
:data:`~retrieval.memory_bank.HIDDEN_COLLISION`), never overwritten. Every attempted change, and
every import and export, is recorded in the corpus's audit log with its outcome.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import FinragError
from core.settings import Settings
from ui.identity import User, current_user

log = logging.getLogger(__name__)

STATES = ["approved", "pending", "retired"]
_FLASH = "memory-flash"
_REPORT = "memory-import-report"


def _state_of(entry) -> str:
    return "retired" if entry.retired else ("approved" if entry.approved else "pending")


def _label(entry) -> str:
    scope = " ".join(x for x in (entry.company, entry.period) if x) or "any company/period"
    return f"{entry.entry_id[:12]} [{_state_of(entry)}] {entry.question} ({scope})"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _groups(text: str) -> list[str]:
    return [g.strip() for g in text.replace("|", ",").split(",") if g.strip()]


def _done(message: str) -> None:
    """Keep a success message across the rerun that redraws the list."""
    st.session_state[_FLASH] = message
    st.rerun()


def _attempt(audit, user: User, action: str, obj: str, change: Callable[[Any], str]) -> None:
    """Run a bank change, recorded in the audit log; success -> flash + rerun, a FinragError ->
    st.error. ``change`` gets the pending audit record (it may name the object once known)."""
    try:
        with audit.attempt(user, action, obj) as attempt:
            message = change(attempt)
    except FinragError as exc:
        st.error(str(exc))
        return
    except Exception as exc:
        log.exception("memory bank action failed")
        st.error(f"Unexpected error ({type(exc).__name__}: {exc}); see the server log.")
        return
    _done(message)


def render() -> None:
    """Draw the Memory bank page."""
    from retrieval.memory_bank import MemoryBank
    from ui.corpus import app_corpus

    try:
        settings = Settings()
        user = current_user(settings)
        corpus = app_corpus(settings)
        bank = MemoryBank(corpus)
        entries = bank.list(include_retired=True, acl_groups=user.groups)
    except FinragError as exc:
        st.error(str(exc))
        return

    st.title("Memory bank")
    st.caption(
        "Curated question/answer pairs the agent cites as evidence. Only approved, unretired "
        "entries inside their validity window are served; editing an approved entry's content "
        "sends it back for approval."
    )
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)

    _browse(entries)
    _probe(bank, user)
    if user.can("memory.write"):
        left, right = st.columns(2, gap="large")
        with left:
            _add_form(bank, user)
        with right:
            _manage(bank, user, entries)
    else:
        st.info(
            f"You are a {user.role}: adding, editing, approving and importing entries needs the "
            "curator role (FINRAG_USERS__ROLES, set by an admin)."
        )
    _import_export(bank, user)


# -- browse -----------------------------------------------------------------------------------


def _browse(entries: list) -> None:
    st.subheader("Entries")
    shown = st.multiselect("Show", STATES, default=["approved", "pending"], key="memory-states")
    text = st.text_input("Filter by text", key="memory-filter", placeholder="revenue, Acme, FY2023")
    needle = text.strip().lower()
    rows = []
    for e in entries:
        if _state_of(e) not in shown:
            continue
        src = e.source
        row = {
            "id": e.entry_id[:12],
            "question": e.question,
            "paraphrases": " | ".join(e.paraphrases),
            "answer": e.answer,
            "company": e.company or "",
            "period": e.period or "",
            "approved": e.approved,
            "approved_by": e.approved_by,
            "retired": e.retired,
            "author": e.author,
            "added_by": e.added_by,
            "source file": src.file_name if src else "",
            "source page": src.page_no if src else None,
            "valid from": e.valid_from,
            "valid to": e.valid_to,
            "acl": ", ".join(e.acl),
        }
        if needle and not any(needle in str(v).lower() for v in row.values() if v is not None):
            continue
        rows.append(row)
    if not entries:
        st.info("No entries yet: add one below or import a CSV/JSONL file.")
        return
    st.caption(f"{len(rows)} of {len(entries)} entries")
    st.dataframe(rows, hide_index=True, width="stretch")


def _probe(bank, user: User) -> None:
    with st.expander("What would the agent get?"):
        question = st.text_input("A question, as a user would ask it", key="memory-probe")
        pending = st.checkbox("Also match pending entries", key="memory-probe-pending")
        if not question.strip():
            return
        try:
            hits = bank.search(question, user.groups, include_stale=True, approved_only=not pending)
            threshold = bank.threshold
        except FinragError as exc:
            st.error(str(exc))
            return
        if not hits:
            st.info(f"No entry clears the threshold ({threshold}): the agent searches the corpus.")
            return
        st.dataframe(
            [
                {
                    "rank": h.rank,
                    "score": round(h.score, 3),
                    "cosine": round(h.cosine, 3),
                    "lexical": round(h.lexical, 2),
                    "stale": h.stale,
                    "matched": h.matched_phrasing,
                    "answer": h.entry.answer,
                    "id": h.entry.entry_id[:12],
                }
                for h in hits
            ],
            hide_index=True,
            width="stretch",
        )


# -- add / manage -----------------------------------------------------------------------------


def _add_form(bank, user: User) -> None:
    st.subheader("Add an entry")
    with st.form("memory-add"):
        question = st.text_input("Question", key="add-question")
        paraphrases = st.text_area("Paraphrases (one per line)", key="add-paraphrases")
        answer = st.text_area("Answer", key="add-answer")
        company = st.text_input("Company (blank: any)", key="add-company")
        period = st.text_input("Period, e.g. FY2023 or Q2 2023 (blank: any)", key="add-period")
        source_file = st.text_input("Source file", key="add-source-file")
        source_page = st.number_input("Source page", min_value=0, step=1, key="add-source-page")
        quote = st.text_area("Source quote", key="add-quote")
        author = st.text_input("Author (the expert the answer comes from)", key="add-author")
        valid_from = st.date_input("Valid from", value=None, key="add-valid-from")
        valid_to = st.date_input("Valid to", value=None, key="add-valid-to")
        acl = st.text_input(
            "ACL groups (comma-separated)", value=", ".join(user.groups), key="add-acl"
        )
        approve = st.checkbox(f"Approve now (as {user.name})", key="add-approve")
        submitted = st.form_submit_button("Add entry", icon=":material/add:")
    if not submitted:
        return

    def add(attempt) -> str:
        from core.records import Citation
        from retrieval.memory_bank import make_entry

        groups = _groups(acl) or user.groups
        source = None
        if source_file.strip():
            source = Citation(
                doc_id="", file_name=source_file.strip(), page_no=int(source_page), quote=quote
            )
        entry = make_entry(
            question,
            answer,
            paraphrases=_lines(paraphrases),
            company=company,
            period=period,
            source=source,
            author=author.strip(),
            valid_from=_day(valid_from),
            valid_to=_day(valid_to),
            acl=groups,
            approved=approve,
        )
        attempt.object = entry.entry_id
        entry = bank.add(entry, by=user)  # refuses foreign groups and hidden collisions
        return f"Added {entry.entry_id[:12]} ({_state_of(entry)}): {entry.question}"

    _attempt(bank.corpus.audit, user, "memory.add", question.strip()[:80], add)


def _day(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _manage(bank, user: User, entries: list) -> None:
    st.subheader("Review an entry")
    if not entries:
        st.caption("Nothing to review yet.")
        return
    by_id = {e.entry_id: e for e in entries}
    picked = st.selectbox(
        "Entry", list(by_id), format_func=lambda i: _label(by_id[i]), key="memory-pick"
    )
    entry = by_id.get(picked)
    if entry is None:
        return
    eid = entry.entry_id
    audit = bank.corpus.audit
    by = f" by {entry.approved_by}" if entry.approved else ""
    added = f"; added by {entry.added_by}" if entry.added_by else ""
    st.caption(f"State: **{_state_of(entry)}**{by}{added}")

    with st.form(f"memory-edit-{eid}"):
        answer = st.text_area("Answer", value=entry.answer, key=f"edit-answer-{eid}")
        paraphrases = st.text_area(
            "Paraphrases (one per line)",
            value="\n".join(entry.paraphrases),
            key=f"edit-para-{eid}",
        )
        period = st.text_input(
            "Period (blank: any)", value=entry.period or "", key=f"edit-period-{eid}"
        )
        if st.form_submit_button("Save changes", icon=":material/save:"):

            def save(attempt) -> str:
                new = bank.update(
                    eid,
                    by=user,
                    answer=answer.strip(),
                    paraphrases=_lines(paraphrases),
                    period=period or None,
                )
                note = "" if new.approved or not entry.approved else "; it needs approval again"
                return f"Saved {new.entry_id[:12]}{note}"

            _attempt(audit, user, "memory.edit", eid, save)

    with st.container(horizontal=True, gap="small"):
        approve = st.button(
            "Approve", icon=":material/check:", key="memory-approve", type="primary"
        )
        retire = st.button("Retire", icon=":material/archive:", key="memory-retire")
        remove = st.button("Remove", icon=":material/delete:", key="memory-remove")
    if approve:
        _attempt(
            audit,
            user,
            "memory.approve",
            eid,
            lambda _: f"Approved {bank.approve(eid, by=user).entry_id[:12]} by {user.name}",
        )
    elif retire:
        _attempt(
            audit,
            user,
            "memory.retire",
            eid,
            lambda _: f"Retired {bank.retire(eid, by=user).entry_id[:12]}: no longer served",
        )
    elif remove:
        _attempt(
            audit,
            user,
            "memory.remove",
            eid,
            lambda _: f"Removed {bank.remove(eid, by=user).entry_id[:12]}: {entry.question}",
        )


# -- import / export --------------------------------------------------------------------------


def _import_export(bank, user: User) -> None:
    st.subheader("Import and export" if user.can("memory.write") else "Export")
    if user.can("memory.write"):
        _import_form(bank, user)
    try:
        data = _export(bank, user.groups)
    except FinragError as exc:
        st.error(str(exc))
        return
    st.download_button(
        "Export CSV",
        data,
        file_name="memory_bank.csv",
        mime="text/csv",
        icon=":material/download:",
        key="memory-export",
        on_click=bank.corpus.audit.record,
        args=(user, "memory.export", f"memory_bank.csv (groups {', '.join(user.groups)})"),
    )


def _import_form(bank, user: User) -> None:
    upload = st.file_uploader(
        "CSV (header row) or JSONL file", type=["csv", "jsonl", "json"], key="memory-upload"
    )
    st.caption(
        f"Rows are shared with your groups ({', '.join(user.groups)}) unless they name a subset; "
        "approvals are recorded as yours. Rows naming another group or an approver are refused."
    )
    if upload is not None and st.button("Import", icon=":material/upload:", key="memory-import"):
        try:
            report = _import(bank, user, upload.name, upload.getvalue())
        except FinragError as exc:
            st.error(str(exc))
        else:
            st.session_state[_REPORT] = report
            _done(f"Imported {upload.name}: {report.summary}")
    report = st.session_state.get(_REPORT)
    if report is not None:
        _show_report(report)


def _import(bank, user: User, name: str, data: bytes):
    """Import uploaded bytes as ``user`` via a temporary file named like the upload (its suffix:
    the format); the import and each refused row are recorded in the audit log."""
    audit = bank.corpus.audit
    with audit.attempt(user, "memory.import", name) as attempt:
        with tempfile.TemporaryDirectory(prefix="finrag-import-") as tmp:
            path = Path(tmp) / Path(name).name
            path.write_bytes(data)
            report = bank.import_file(path, by=user)
        attempt.reason = report.summary
    for row in report.rows:
        if row.status == "invalid":
            audit.record(user, "memory.import", f"{name} line {row.line}", "refused", row.reason)
    return report.model_copy(update={"path": name})


def _export(bank, groups: list[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="finrag-export-") as tmp:
        path = Path(tmp) / "memory_bank.csv"
        bank.export(path, acl_groups=groups)
        return path.read_bytes()


def _show_report(report) -> None:
    st.caption(f"Last import, {report.path}: {report.summary}")
    rows = [
        {
            "line": r.line,
            "status": r.status,
            "id": (r.entry_id or "")[:12],
            "question": r.question,
            "reason": r.reason,
        }
        for r in report.rows
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    invalid = [r for r in report.rows if r.status == "invalid"]
    if invalid:
        st.warning("\n".join(f"line {r.line}: {r.reason}" for r in invalid))
