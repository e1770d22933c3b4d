"""The Ask page: a chat over the answering agent, with every citation one click from its page.

Contract: the app's one :class:`~agent.graph.Agent` over its open corpus (:mod:`ui.corpus`). The
user (:func:`ui.identity.current_user`) reads with their ACL groups only: the filings offered as
filters, the evidence, the citations and the page renders all come from searches made with those
groups. A session is one conversation thread (follow-ups
resolve against it) until "New conversation". While the agent runs, its progress events stream into
``st.status``; the turn is then kept in ``st.session_state["turns"]`` as a :class:`Turn` and the
page reruns to draw the history.

Scope filters (company, fiscal year, form) are prefilled with what the resolver understood from the
last question. Left as prefilled, the resolver decides again for the next question; once edited,
they replace its filing selection (``Retriever.retrieve(filters=...)``) until cleared.

Each answer takes feedback (helpful / not helpful, and "this citation is wrong" on the selected
citation), stored durably by :class:`~retrieval.feedback.FeedbackStore` as reranker training
data, and can be saved to the memory bank as a pending entry for a curator to approve. A
:class:`~core.errors.FinragError` (or anything else) becomes an ``st.error`` with its message, never
a traceback.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import streamlit as st

from core.errors import FinragError
from core.records import SearchFilters
from core.settings import Settings
from ui.corpus import app_agent, app_corpus
from ui.identity import User, current_user

log = logging.getLogger(__name__)

ABSTAIN_ICON = ":material/search_off:"
SCOPE_KEYS = ("scope_companies", "scope_years", "scope_forms")


@dataclass
class Turn:
    """One question and what came of it (a reply, or an error message)."""

    question: str
    reply: object | None = None  # agent.graph.AgentReply
    pages: list = field(default_factory=list)  # retrieval.retriever.PageHit, best first
    resolution: object | None = None  # retrieval.resolver.Resolution of this turn
    memory: list = field(default_factory=list)  # retrieval.memory_bank MemoryHit records
    tools: list = field(default_factory=list)  # retrieval.tools.base.ToolResult records
    error: str | None = None
    verdict: str | None = None  # "up" / "down" once the user voted
    saved_entry: str | None = None  # memory entry id once saved


def _md(text: str) -> str:
    """Plain text safe for st.markdown: a pair of "$" in a filing would otherwise become LaTeX."""
    return text.replace("$", r"\$")


def _state() -> dict:
    ss = st.session_state
    ss.setdefault("turns", [])
    ss.setdefault("thread_id", uuid.uuid4().hex[:12])
    ss.setdefault("selected", None)  # (turn index, citation index)
    ss.setdefault("scope_auto", None)  # the prefilled values, to tell an edit from a prefill
    # Widget values can only be set before the widgets are drawn: a prefill waits for the next run.
    pending = ss.pop("scope_pending", None)
    if pending is not None:
        for key, value in zip(SCOPE_KEYS, pending, strict=True):
            ss[key] = value
        ss["scope_auto"] = pending
    return ss


def _new_conversation() -> None:
    st.session_state["turns"] = []
    st.session_state["thread_id"] = uuid.uuid4().hex[:12]
    st.session_state["selected"] = None
    _clear_scope()


def _clear_scope() -> None:
    for key in SCOPE_KEYS:
        st.session_state[key] = []
    st.session_state["scope_auto"] = None


def _select(turn: int, citation: int) -> None:
    st.session_state["selected"] = (turn, citation)


def render() -> None:
    """Draw the Ask page."""
    ss = _state()
    try:
        settings = Settings()
        user = current_user(settings)
        agent = app_agent(settings)
        filings = agent.corpus.filings(user.groups)
    except FinragError as exc:
        st.error(str(exc))
        return

    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({', '.join(user.groups) or 'no groups'})")
        st.caption(f"{len(filings)} filings readable in `{settings.data_dir}`")
        st.button("New conversation", icon=":material/add_comment:", on_click=_new_conversation)
        filters = _scope_filters(filings)

    st.title("Ask the filings")
    if not filings:
        st.info("No filings you may read yet: add some on the Library page (or run `finrag demo`).")

    chat, viewer = st.columns([1, 1], gap="large")
    with chat:
        for index, turn in enumerate(ss["turns"]):
            _show_turn(index, turn, settings, user, agent)
    question = st.chat_input("Ask about the ingested filings, e.g. total revenue in fiscal 2023")
    if ss.pop("reask", None) and ss["turns"]:
        question = ss["turns"][-1].question
    if question:
        with chat:
            turn = _answer(agent, user, question, ss["thread_id"], filters)
        ss["turns"].append(turn)
        if turn.resolution is not None and filters is None:
            ss["scope_pending"] = _resolved_scope(turn.resolution, filings)
        st.rerun()
    with viewer:
        _show_citation(settings, user, {f.doc_id: f for f in filings})


# -- scope filters --------------------------------------------------------------------------------


def _scope_filters(filings: list) -> SearchFilters | None:
    """The sidebar filters; None while they hold what the resolver chose (it decides again).

    Companies are offered by their one display name (``company_index``: "NIKE, Inc." and "NIKE,
    Inc ." are one "Nike", as in the resolver's scope text); a choice restricts to every catalog
    spelling of it, or to its filings when some have no company name.
    """
    from retrieval.resolver import company_index

    ss = st.session_state
    index = company_index(filings)
    shown = {f.doc_id: index.display_name(f) for f in filings}
    # The resolver's prefill names catalog spellings: read them as display names.
    by_spelling = {f.company: shown[f.doc_id] for f in filings if f.company and shown[f.doc_id]}

    def displayed(values: list) -> list:
        return list(dict.fromkeys(by_spelling.get(v, v) for v in values))

    ss["scope_companies"] = displayed(ss.get("scope_companies", []))
    if ss.get("scope_auto") is not None:
        ss["scope_auto"] = (displayed(ss["scope_auto"][0]), *ss["scope_auto"][1:])
    companies = sorted({n for n in shown.values() if n})
    years = sorted({f.fiscal_year for f in filings if f.fiscal_year}, reverse=True)
    forms = sorted({f.form for f in filings if f.form})
    for key, options in zip(SCOPE_KEYS, (companies, years, forms), strict=True):
        ss[key] = [v for v in ss.get(key, []) if v in options]  # a deleted filing's values go
    st.subheader("Scope")
    chosen = (
        st.multiselect(
            "Company", companies, key="scope_companies", placeholder="From the question"
        ),
        st.multiselect("Fiscal year", years, key="scope_years", placeholder="From the question"),
        st.multiselect("Form", forms, key="scope_forms", placeholder="From the question"),
    )
    edited = ss["scope_auto"] is None or list(chosen) != list(ss["scope_auto"])
    if ss["scope_auto"] is not None and not edited:
        st.caption(
            "Prefilled from your last question; the next question is resolved afresh "
            "unless you edit these."
        )
    elif any(chosen):
        st.caption("Your next question searches only this scope.")
    left, right = st.columns(2)
    left.button("Clear", key="scope_clear", on_click=_clear_scope, disabled=not any(chosen))
    if right.button(
        "Ask again",
        key="scope_reask",
        disabled=not ss["turns"],
        help="Ask the last question again within this scope",
    ):
        ss["reask"] = True
    if not any(chosen) or not edited:
        return None
    companies_, years_, forms_ = chosen
    mine = [f for f in filings if shown[f.doc_id] in set(companies_)]
    by_company: dict = (
        {"companies": sorted({f.company for f in mine})}
        if all(f.company for f in mine)
        else {"doc_ids": [f.doc_id for f in mine]}
    )
    return SearchFilters(**by_company, fiscal_years=list(years_), forms=list(forms_))


def _resolved_scope(resolution, filings: list) -> tuple[list, list, list]:
    """What the resolver understood, restricted to values the filters offer."""
    chosen = [f for f in filings if f.doc_id in set(resolution.filters.doc_ids)]
    companies = resolution.companies or sorted({f.company for f in chosen if f.company})
    years = resolution.fiscal_years or sorted({f.fiscal_year for f in chosen if f.fiscal_year})
    forms = resolution.forms or sorted({f.form for f in chosen if f.form})
    offered = (
        {f.company for f in filings},
        {f.fiscal_year for f in filings},
        {f.form for f in filings},
    )
    return tuple(  # type: ignore[return-value]
        [v for v in dict.fromkeys(values) if v in ok]
        for values, ok in zip((companies, years, forms), offered, strict=True)
    )


# -- answering ------------------------------------------------------------------------------------


def _answer(
    agent, user: User, question: str, thread_id: str, filters: SearchFilters | None
) -> Turn:
    """Run the agent with its progress in an st.status; never raises."""
    from agent.graph import AgentReply

    with st.chat_message("user"):
        st.markdown(_md(question))
    with st.chat_message("assistant"), st.status("Answering…", expanded=True) as status:
        try:
            reply = None
            for item in agent.stream(
                question, thread_id=thread_id, acl_groups=user.groups, filters=filters
            ):
                if isinstance(item, AgentReply):
                    reply = item
                else:
                    status.write(f"**{item['step']}**: {_md(item['detail'])}")
            assert reply is not None  # the graph always ends in respond
        except FinragError as exc:
            status.update(label="Could not answer", state="error")
            return Turn(question=question, error=str(exc))
        except Exception as exc:
            log.exception("answering %r failed", question)
            status.update(label="Could not answer", state="error")
            why = f"Unexpected error ({type(exc).__name__}: {exc}); see the server log."
            return Turn(question=question, error=why)
        status.update(label="Answered", state="complete", expanded=False)
    retrieval = agent.graph.get_state({"configurable": {"thread_id": thread_id}}).values.get(
        "retrieval"
    )
    return Turn(
        question=question,
        reply=reply,
        pages=list(retrieval.pages) if retrieval is not None else [],
        resolution=retrieval.resolution if retrieval is not None else None,
        memory=list(retrieval.memory) if retrieval is not None else [],
        tools=list(retrieval.tools) if retrieval is not None else [],
    )


def _show_turn(index: int, turn: Turn, settings: Settings, user: User, agent) -> None:
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
                        f"[{number + 1}] {c.file_name} p.{c.page_no}",
                        key=f"cite-{index}-{number}",
                        on_click=_select,
                        args=(index, number),
                        type="primary" if selected == (index, number) else "secondary",
                    )
        if answer.calculations:
            _show_calculations(index, answer)
        scope = (
            reply.scope
            if reply.scope.lower().startswith("searched")
            else f"Searched: {reply.scope}"
        )
        st.caption(_md(scope))
        _feedback_row(index, turn, settings, user)
        if not answer.abstained and answer.citations:
            _save_to_memory(index, turn, user, agent)
        if reply.reasoning:
            with st.expander("Reranker reasoning"):
                st.markdown(_md(reply.reasoning))
        with st.expander("Evidence and steps"):
            _show_evidence(turn)


def calculation_rows(answer) -> list[tuple[str, list[tuple[str, int | None]]]]:
    """Each calculation as (its formula line, [(an input's line, its citation index or None)]).

    A bare line item looked up (formula ``revenue``) is no calculation and is not listed.
    """
    from agent.figures.wording import figure

    where = {(c.doc_id, c.page_no, c.quote): n for n, c in enumerate(answer.citations)}
    rows = []
    for calc in answer.calculations:
        if calc.lookup and not calc.missing:
            continue
        head = f"{calc.metric} = {calc.formula}"
        if calc.result is not None:
            head += f" = {calc.text}"
        if calc.judgement:
            head += f" -> {calc.judgement} ({calc.rule})"
        inputs = [
            (
                f"{item.name} {item.period}: {figure(item.value, item.unit)} "
                f"({item.file_name} p.{item.page_no})",
                where.get((item.doc_id, item.page_no, item.quote)),
            )
            for item in calc.inputs
        ]
        inputs += [(f"not found: {m}", None) for m in calc.missing]
        rows.append((head, inputs))
    return rows


def _show_calculations(index: int, answer) -> None:
    """The formulas behind a computed answer; each input opens its cited cell."""
    rows = calculation_rows(answer)
    if not rows:
        return
    with st.expander("How it was computed", expanded=True):
        for c, (head, inputs) in enumerate(rows):
            code = head.replace("`", "'")
            st.markdown(f"`{code}`")  # a code span: nothing to escape
            for k, (line, number) in enumerate(inputs):
                if number is None:
                    st.caption(_md(line))
                    continue
                st.button(
                    f"[{number + 1}] {line}",
                    key=f"calc-{index}-{c}-{k}",
                    on_click=_select,
                    args=(index, number),
                    type="tertiary",
                )


def _feedback_row(index: int, turn: Turn, settings: Settings, user: User) -> None:
    with st.container(horizontal=True, gap="small"):
        for verdict, label, icon in (
            ("up", "Helpful", ":material/thumb_up:"),
            ("down", "Not helpful", ":material/thumb_down:"),
        ):
            clicked = st.button(
                label,
                icon=icon,
                key=f"vote-{verdict}-{index}",
                type="primary" if turn.verdict == verdict else "tertiary",
            )
            if clicked and _store_feedback(settings, user, index, turn, verdict=verdict):
                turn.verdict = verdict
                st.rerun()


def _store_feedback(settings: Settings, user: User, index: int, turn: Turn, **change: str) -> bool:
    """Record a vote or a flagged citation; False (with a message shown) if it was not saved."""
    reply = turn.reply
    try:
        app_corpus(settings).feedback.record(
            user=user.name,
            thread_id=reply.thread_id,
            turn=index,
            question=reply.standalone,
            answer=reply.answer.text,
            citations=list(reply.answer.citations),
            acl=user.groups,
            **change,
        )
    except Exception as exc:
        log.exception("saving feedback failed")
        st.error(f"Could not save your feedback in {settings.feedback_path}: {exc}")
        return False
    st.toast("Thanks: feedback saved")
    return True


def _save_to_memory(index: int, turn: Turn, user: User, agent) -> None:
    bank = agent.retriever.memory
    if turn.saved_entry:
        st.caption(
            f"Saved to the memory bank as {turn.saved_entry[:12]} (pending a curator's approval)"
        )
        return
    if not user.can("memory.write"):
        return  # saving answers as memory entries is a curator's job (core.roles)
    reply, resolution = turn.reply, turn.resolution
    with st.expander("Save to memory bank"), st.form(f"save-{index}"):
        question = st.text_input("Question", value=reply.standalone, key=f"save-q-{index}")
        answer = st.text_area("Answer", value=reply.answer.text, key=f"save-a-{index}")
        cols = st.columns(2)
        company = cols[0].text_input(
            "Company",
            key=f"save-c-{index}",
            value=resolution.companies[0] if resolution and len(resolution.companies) == 1 else "",
        )
        period = cols[1].text_input(
            "Period",
            key=f"save-p-{index}",
            value=resolution.periods[0] if resolution and len(resolution.periods) == 1 else "",
        )
        if not st.form_submit_button("Save as pending entry", icon=":material/bookmark_add:"):
            return
    from retrieval.memory_bank import make_entry

    try:
        with bank.corpus.audit.attempt(user, "memory.add", question.strip()[:80]) as attempt:
            entry = make_entry(
                question,
                answer,
                company=company,
                period=period,
                source=reply.answer.citations[0],
                author=user.name,
                acl=user.groups,
                approved=False,
            )
            attempt.object = entry.entry_id
            entry = bank.add(entry, by=user)
    except FinragError as exc:
        st.error(str(exc))
        return
    turn.saved_entry = entry.entry_id
    st.rerun()


def evidence_rows(turn: Turn) -> list[dict]:
    """Everything the answer could draw on, by source: memory bank, tools, corpus pages."""
    rows = [
        {
            "source": "memory bank",
            "evidence": f"{h.entry.question} -> {h.entry.answer}",
            "score": round(h.score, 3),
            "note": "stale" if h.stale else "",
        }
        for h in turn.memory
    ]
    rows += [
        {
            "source": f"tool: {t.tool}",
            "evidence": t.message,
            "score": None,
            "note": "" if t.ok else t.status,
        }
        for t in turn.tools
    ]
    rows += [
        {
            "source": "corpus",
            "evidence": f"{p.file_name} p.{p.page_no}",
            "score": round(p.score, 4),
            "note": f"rank {p.rank}",
        }
        for p in turn.pages
    ]
    return rows


def _show_evidence(turn: Turn) -> None:
    reply = turn.reply
    rows = evidence_rows(turn)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("Nothing was retrieved.")
    if reply.standalone != reply.question:
        st.caption(f"Answered as: {_md(reply.standalone)}")
    steps = [f"{k} {v:.0f} ms" for k, v in reply.timings_ms.items() if "." not in k]
    if steps:
        st.caption("Timings: " + ", ".join(steps))


def _show_citation(settings: Settings, user: User, filings: dict) -> None:
    """The selected citation: its quote, the cited region zoomed, the full page a click away.

    ``filings`` maps doc ids to the filings the user may read (the PDF a region renders from).
    """
    from ui.page_view import cited_region_cached, highlighted_page, render_path

    selected = st.session_state["selected"]
    turns = st.session_state["turns"]
    if selected is None or selected[0] >= len(turns) or turns[selected[0]].reply is None:
        if turns:
            st.caption("Select a citation to see the cited page.")
        return
    turn_index, number = selected
    turn = turns[turn_index]
    citation = turn.reply.answer.citations[number]
    st.subheader(f"[{number + 1}] {citation.file_name}, page {citation.page_no}")
    if citation.row_header or citation.col_header:
        row, col = _md(citation.row_header or "-"), _md(citation.col_header or "-")
        st.caption(f"Row: {row} | Column: {col}")
    if citation.quote:
        st.markdown("\n".join(f"> {line}" for line in _md(citation.quote).splitlines()))
    flag = citation.chunk_id or f"{citation.doc_id}#{citation.page_no}"
    if st.button(
        "This citation is wrong", icon=":material/flag:", key=f"wrong-{turn_index}-{number}"
    ):
        _store_feedback(settings, user, turn_index, turn, wrong_citation=flag)
    path = render_path(settings.renders_dir, citation.doc_id, citation.page_no)
    box = citation.bbox
    if box is not None:
        filing = filings.get(citation.doc_id)
        region = cited_region_cached(
            filing.source_path if filing else None,
            str(path) if path.exists() else None,
            citation.page_no,
            (box.x0, box.y0, box.x1, box.y1),
            settings.ingest.render_dpi,
        )
        if region is not None:
            st.image(region, width="stretch", caption="The cited region")
    if not path.exists():
        st.info("No render of this page (ingested with `ingest.render_pages = false`).")
        return
    try:
        image = highlighted_page(
            str(path), (box.x0, box.y0, box.x1, box.y1) if box else None, settings.ingest.render_dpi
        )
    except OSError as exc:
        st.error(f"Could not read the page render {path}: {exc}")
        return
    if box is None:
        st.image(image, width="stretch")
        return
    with st.expander(f"Full page {citation.page_no}"):
        st.image(image, width="stretch")
