"""The Audit page: who ingested, deleted, re-shared, curated memory, evaluated and promoted.

Contract: admins only (:mod:`core.roles`, ``audit.read``); anyone else gets an error and nothing
of the log. The page reads the corpus's append-only log (:attr:`retrieval.corpus.Corpus.audit`,
``data_dir/audit.jsonl``), newest first, filtered by day, user, action and outcome. The same
events come out of ``finrag audit [--json] [--since DATE]``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from core.errors import FinragError
from core.settings import Settings
from ui.corpus import app_corpus
from ui.identity import current_user


def render() -> None:
    """Draw the Audit page."""
    try:
        settings = Settings()
        user = current_user(settings)
    except FinragError as exc:
        st.error(str(exc))
        return
    if not user.can("audit.read"):
        st.error(f"The audit log is for admins; {user.name} is a {user.role}.")
        return
    corpus = app_corpus(settings)
    st.title("Audit log")
    st.caption(f"Append-only, `{settings.audit_path}`; also `finrag audit --json`.")
    cols = st.columns(4)
    day = cols[0].date_input("Since (UTC)", value=None, key="audit_since")
    since = datetime.combine(day, time.min, tzinfo=UTC) if day else None
    events = list(reversed(corpus.audit.events(since=since)))
    users = cols[1].multiselect("User", sorted({e.user for e in events}), key="audit_users")
    actions = cols[2].multiselect("Action", sorted({e.action for e in events}), key="audit_actions")
    outcomes = cols[3].multiselect("Outcome", ["ok", "refused", "failed"], key="audit_outcomes")
    rows = [
        {
            "time (UTC)": e.at.strftime("%Y-%m-%d %H:%M:%S"),
            "user": e.user,
            "role": e.role,
            "action": e.action,
            "object": e.object,
            "outcome": e.outcome,
            "reason": e.reason,
        }
        for e in events
        if (not users or e.user in users)
        and (not actions or e.action in actions)
        and (not outcomes or e.outcome in outcomes)
    ]
    if not rows:
        st.info("No audit events match.")
        return
    st.caption(f"{len(rows)} of {len(events)} events, newest first")
    st.dataframe(rows, hide_index=True, width="stretch")
