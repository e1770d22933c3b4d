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
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

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


def _attempt(action: Callable[[], str]) -> None:
    """Run a bank change; success -> flash + rerun, a FinragError -> st.error."""
    try:
        message = action()
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
        bank = MemoryBank(app_corpus(settings))
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
    left, right = st.columns(2, gap="large")
    with left:
        _add_form(bank, user)
    with right:
        _manage(bank, entries)
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
        author = st.text_input("Author", key="add-author")
        valid_from = st.date_input("Valid from", value=None, key="add-valid-from")
        valid_to = st.date_input("Valid to", value=None, key="add-valid-to")
        acl = st.text_input(
            "ACL groups (comma-separated)", value=", ".join(user.groups), key="add-acl"
        )
        approve = st.checkbox("Approve now (the author approves)", key="add-approve")
        submitted = st.form_submit_button("Add entry", icon=":material/add:")
    if not submitted:
        return

    def add() -> str:
        from core.errors import MemoryBankError
        from core.records import Citation
        from retrieval.memory_bank import make_entry

        if approve and not author.strip():
            raise MemoryBankError("approving at once needs the author's name (the approver)")
        groups = _groups(acl) or user.groups
        foreign = user.foreign_groups(groups)
        if foreign:
            raise MemoryBankError(
                f"you can only share entries with your own groups ({', '.join(user.groups)}); "
                f"not {', '.join(foreign)}"
            )
        source = None
        if source_file.strip():
            source = Citation(
                doc_id="", file_name=source_file.strip(), page_no=int(source_page), quote=quote
            )
        entry = bank.add(
            make_entry(
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
                approved_by=author.strip() if approve else "",
            )
        )
        return f"Added {entry.entry_id[:12]} ({_state_of(entry)}): {entry.question}"

    _attempt(add)


def _day(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _manage(bank, entries: list) -> None:
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
    by = f" by {entry.approved_by}" if entry.approved else ""
    st.caption(f"State: **{_state_of(entry)}**{by}")

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

            def save() -> str:
                new = bank.update(
                    eid,
                    answer=answer.strip(),
                    paraphrases=_lines(paraphrases),
                    period=period or None,
                )
                note = "" if new.approved or not entry.approved else "; it needs approval again"
                return f"Saved {new.entry_id[:12]}{note}"

            _attempt(save)

    approver = st.text_input("Approver", key="memory-approver").strip()
    with st.container(horizontal=True, gap="small"):
        approve = st.button(
            "Approve", icon=":material/check:", key="memory-approve", type="primary"
        )
        retire = st.button("Retire", icon=":material/archive:", key="memory-retire")
        remove = st.button("Remove", icon=":material/delete:", key="memory-remove")
    if approve:
        _attempt(lambda: f"Approved {bank.approve(eid, approver).entry_id[:12]} by {approver}")
    elif retire:
        _attempt(lambda: f"Retired {bank.retire(eid).entry_id[:12]}: no longer served")
    elif remove:
        _attempt(lambda: f"Removed {bank.remove(eid).entry_id[:12]}: {entry.question}")


# -- import / export --------------------------------------------------------------------------


def _import_export(bank, user: User) -> None:
    st.subheader("Import and export")
    upload = st.file_uploader(
        "CSV (header row) or JSONL file", type=["csv", "jsonl", "json"], key="memory-upload"
    )
    if upload is not None and st.button("Import", icon=":material/upload:", key="memory-import"):
        try:
            report = _import(bank, upload.name, upload.getvalue())
        except FinragError as exc:
            st.error(str(exc))
        else:
            st.session_state[_REPORT] = report
            _done(f"Imported {upload.name}: {report.summary}")
    report = st.session_state.get(_REPORT)
    if report is not None:
        _show_report(report)

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
    )


def _import(bank, name: str, data: bytes):
    """Import uploaded bytes via a temporary file named like the upload (its suffix: the format)."""
    with tempfile.TemporaryDirectory(prefix="finrag-import-") as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        report = bank.import_file(path)
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
