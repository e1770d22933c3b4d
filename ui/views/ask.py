"""The Ask page: a chat over the answering agent, with every citation one click from its page.

Contract: one :class:`~agent.graph.Agent` per corpus (``settings.data_dir``) per server process,
shared through ``st.cache_resource``; the local user reads with ``settings.default_acl``. A session
is one conversation thread (follow-ups resolve against it) until "New conversation". While the
agent runs, its progress events stream into ``st.status``; the turn is then kept in
``st.session_state["turns"]`` as a :class:`Turn` and the page reruns to draw the history. Selecting
a numbered citation shows the page render with the cited box highlighted, the quote and, for
table cells, the row and column headers. A :class:`~core.errors.FinragError` (or anything else)
becomes an ``st.error`` with its message, never a traceback.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import streamlit as st

from core.errors import FinragError
from core.settings import Settings

log = logging.getLogger(__name__)

ABSTAIN_ICON = ":material/search_off:"


@dataclass
class Turn:
    """One question and what came of it (a reply, or an error message)."""

    question: str
    reply: object | None = None  # agent.graph.AgentReply
    pages: list = field(default_factory=list)  # retrieval.retriever.PageHit, best first
    error: str | None = None


@st.cache_resource(show_spinner="Opening the index…")
def _agent(data_dir: str, _settings: Settings):  # noqa: ANN202
    """The agent over ``data_dir`` (the key; settings are read once per corpus and process)."""
    from agent.graph import Agent

    return Agent(_settings)


def corpus_agent(settings: Settings):  # noqa: ANN201
    """The one agent (and so the one open index and memory bank) of this corpus in this process."""
    return _agent(str(settings.data_dir.resolve()), settings)


def _md(text: str) -> str:
    """Plain text safe for st.markdown: a pair of "$" in a filing would otherwise become LaTeX."""
    return text.replace("$", r"\$")


def _state() -> dict:
    ss = st.session_state
    ss.setdefault("turns", [])
    ss.setdefault("thread_id", uuid.uuid4().hex[:12])
    ss.setdefault("selected", None)  # (turn index, citation index)
    return ss


def _new_conversation() -> None:
    st.session_state["turns"] = []
    st.session_state["thread_id"] = uuid.uuid4().hex[:12]
    st.session_state["selected"] = None


def _select(turn: int, citation: int) -> None:
    st.session_state["selected"] = (turn, citation)


def render() -> None:
    """Draw the Ask page."""
    ss = _state()
    try:
        settings = Settings()
        agent = corpus_agent(settings)
        filings = agent.retriever.filings(settings.default_acl)
    except FinragError as exc:
        st.error(str(exc))
        return

    with st.sidebar:
        st.caption(f"Corpus: `{settings.data_dir}`")
        st.caption(f"{len(filings)} filings readable by {', '.join(settings.default_acl)}")
        st.button("New conversation", icon=":material/add_comment:", on_click=_new_conversation)

    st.title("Ask the filings")
    if not filings:
        st.info("No filings yet: run `finrag ingest PATH` (or `finrag demo`), then reload.")

    chat, viewer = st.columns([3, 2], gap="large")
    with chat:
        for index, turn in enumerate(ss["turns"]):
            _show_turn(index, turn)
    question = st.chat_input("Ask about the ingested filings, e.g. total revenue in fiscal 2023")
    if question:
        with chat:
            turn = _answer(agent, settings, question, ss["thread_id"])
        ss["turns"].append(turn)
        st.rerun()
    with viewer:
        _show_citation(settings)


def _answer(agent, settings: Settings, question: str, thread_id: str) -> Turn:  # noqa: ANN001
    """Run the agent with its progress in an st.status; never raises."""
    from agent.graph import AgentReply

    with st.chat_message("user"):
        st.markdown(_md(question))
    with st.chat_message("assistant"), st.status("Answering…", expanded=True) as status:
        try:
            reply = None
            acl = settings.default_acl
            for item in agent.stream(question, thread_id=thread_id, acl_groups=acl):
                if isinstance(item, AgentReply):
                    reply = item
                else:
                    status.write(f"**{item['step']}**: {_md(item['detail'])}")
            assert reply is not None  # the graph always ends in respond
        except FinragError as exc:
            status.update(label="Could not answer", state="error")
            return Turn(question=question, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the page shows a message, the log keeps the trace
            log.exception("answering %r failed", question)
            status.update(label="Could not answer", state="error")
            why = f"Unexpected error ({type(exc).__name__}: {exc}); see the server log."
            return Turn(question=question, error=why)
        status.update(label="Answered", state="complete", expanded=False)
    return Turn(question=question, reply=reply, pages=_retrieved_pages(agent, thread_id))


def _retrieved_pages(agent, thread_id: str) -> list:  # noqa: ANN001
    """The pages the last turn on ``thread_id`` retrieved (AgentReply does not carry them)."""
    values = agent.graph.get_state({"configurable": {"thread_id": thread_id}}).values
    retrieval = values.get("retrieval")
    return list(retrieval.pages) if retrieval is not None else []


def _show_turn(index: int, turn: Turn) -> None:
    with st.chat_message("user"):
        st.markdown(_md(turn.question))
    with st.chat_message("assistant"):
        if turn.error is not None:
            st.error(turn.error)
            return
        reply = turn.reply
        answer = reply.answer
        if answer.abstained:
            st.warning(_md(answer.text), icon=ABSTAIN_ICON)
        else:
            st.markdown(_md(answer.text))
        if answer.citations:
            selected = st.session_state["selected"]
            with st.container(horizontal=True, gap="small"):
                for number, c in enumerate(answer.citations):
                    st.button(
                        f"[{number + 1}] {c.file_name} p.{c.page_no}", key=f"cite-{index}-{number}",
                        on_click=_select, args=(index, number),
                        type="primary" if selected == (index, number) else "secondary",
                    )  # fmt: skip
        st.caption(f"Searched: {_md(reply.scope)}")
        with st.expander("Evidence and steps"):
            _show_evidence(turn)


def _show_evidence(turn: Turn) -> None:
    reply = turn.reply
    if turn.pages:
        rows = ["| # | page | score |", "|---:|---|---:|"]
        rows += [f"| {p.rank} | {_md(p.file_name)} p.{p.page_no} | {p.score:.4f} |"
                 for p in turn.pages]
        st.markdown("\n".join(rows))
    else:
        st.caption("No pages were retrieved.")
    if reply.standalone != reply.question:
        st.caption(f"Answered as: {_md(reply.standalone)}")
    steps = [f"{k} {v:.0f} ms" for k, v in reply.timings_ms.items() if "." not in k]
    if steps:
        st.caption("Timings: " + ", ".join(steps))


def _show_citation(settings: Settings) -> None:
    from ui.page_view import highlighted_page, render_path

    selected = st.session_state["selected"]
    turns = st.session_state["turns"]
    if selected is None or selected[0] >= len(turns) or turns[selected[0]].reply is None:
        if turns:
            st.caption("Select a citation to see the cited page.")
        return
    turn_index, number = selected
    citation = turns[turn_index].reply.answer.citations[number]
    st.subheader(f"[{number + 1}] {citation.file_name}, page {citation.page_no}")
    if citation.row_header or citation.col_header:
        row, col = _md(citation.row_header or "-"), _md(citation.col_header or "-")
        st.caption(f"Row: {row} | Column: {col}")
    if citation.quote:
        st.markdown("\n".join(f"> {line}" for line in _md(citation.quote).splitlines()))
    path = render_path(settings.renders_dir, citation.doc_id, citation.page_no)
    if not path.exists():
        st.info("No render of this page (ingested with `ingest.render_pages = false`).")
        return
    box = citation.bbox
    try:
        image = highlighted_page(
            str(path), (box.x0, box.y0, box.x1, box.y1) if box else None, settings.ingest.render_dpi
        )
    except OSError as exc:
        st.error(f"Could not read the page render {path}: {exc}")
        return
    st.image(image, width="stretch")
