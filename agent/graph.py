"""The answering agent: a LangGraph graph, its SQLite checkpointer and a small facade.

Contract: :func:`build_graph` wires the stages as nodes, START -> resolve -> memory -> tools ->
retrieve -> rerank -> calculate -> answer -> verify -> respond -> END, over
:class:`~agent.state.AgentState` with :class:`~agent.state.AgentContext` as ``context_schema``
(:mod:`agent.nodes` says what each does). :class:`Agent` is built over an open
:class:`~retrieval.corpus.Corpus`; it owns the reranker, the answerer and the checkpointer, a real
SQLite file at ``data_dir / "conversations.sqlite"``: a thread id names a conversation, and a
later turn on the same thread (even from a new process) receives the earlier questions as
``history``, so "and the year before?" resolves against them. The corpus stays its opener's to
close; its fact store feeds the ``calculate`` node.

Example:
    >>> agent = Agent(corpus)  # doctest: +SKIP
    >>> agent.ask("What was Northwind Robotics' total revenue in fiscal 2023?", thread_id="t1",
    ...           acl_groups=["public"]).answer.text  # doctest: +SKIP
    'Total revenue was 2,255.4 in 2023 (in millions) [1].'
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agent import nodes
from agent.state import AgentContext, AgentState, InputState
from core.records import (
    Answer,
    MemoryHit,
    Resolution,
    RetrievalResult,
    SearchFilters,
    ToolResult,
)
from core.settings import Settings

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

CONVERSATIONS_FILE = "conversations.sqlite"


STAGES = (
    "resolve",
    "memory",
    "tools",
    "retrieve",
    "rerank",
    "calculate",
    "answer",
    "verify",
    "respond",
)


def build_graph(checkpointer: Any = None):
    """The compiled answering graph; ``checkpointer`` persists threads (None: no memory)."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(AgentState, context_schema=AgentContext, input_schema=InputState)
    for stage in STAGES:
        builder.add_node(stage, getattr(nodes, stage))
    for before, after in zip((START, *STAGES), (*STAGES, END), strict=True):
        builder.add_edge(before, after)
    return builder.compile(checkpointer=checkpointer, name="finrag-agent")


def sqlite_checkpointer(path: Path):
    """A :class:`SqliteSaver` on ``path`` whose serializer may rebuild the agent's records."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: LangGraph may run a node's checkpoint write from a worker thread.
    conn = sqlite3.connect(str(path), check_same_thread=False)
    serde = JsonPlusSerializer(
        allowed_msgpack_modules=[
            RetrievalResult,
            Resolution,
            MemoryHit,
            ToolResult,
            Answer,
            SearchFilters,
        ]
    )
    saver = SqliteSaver(conn, serde=serde)
    saver.setup()
    return saver


class AgentReply(BaseModel):
    """One turn's outcome, as shown by the CLI and the UI."""

    question: str
    standalone: str  # the question as answered (a follow-up with its metric filled in)
    answer: Answer
    scope: str
    events: list[dict[str, str]] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    thread_id: str
    reasoning: str | None = None  # the reranker's reasoning, when it gives one


class Agent:
    """The answering agent over one open corpus, with persistent threads.

    Args:
        corpus: the open :class:`~retrieval.corpus.Corpus` to answer from (left open by
            :meth:`close`).
        settings: the reranker (``settings.rerank``; ``auto`` serves the promoted model of the
            question's company, see :mod:`rerank.promoted`) and the answerer (``settings.llm``);
            default the corpus's own settings.
    """

    def __init__(self, corpus: Corpus, *, settings: Settings | None = None) -> None:
        from core.backends import ANSWERERS
        from rerank.base import build_reranker
        from retrieval.retriever import Retriever

        self.corpus = corpus
        self.settings = settings or corpus.settings
        self.retriever = Retriever(corpus)
        self.context = AgentContext(
            retriever=self.retriever,
            reranker=build_reranker(self.settings),
            answerer=ANSWERERS.create(self.settings.llm.name, settings=self.settings.llm),
            facts=corpus.facts,
        )
        self.db_path = corpus.data_dir / CONVERSATIONS_FILE
        self.checkpointer = sqlite_checkpointer(self.db_path)
        self.graph = build_graph(self.checkpointer)

    def close(self) -> None:
        """Close the conversation store (the corpus is its opener's to close)."""
        self.checkpointer.conn.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def history(self, thread_id: str) -> list[str]:
        """The questions asked so far on ``thread_id`` (standalone form), oldest first."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        return list(snapshot.values.get("history") or [])

    def stream(
        self,
        question: str,
        *,
        thread_id: str,
        acl_groups: list[str],
        filters: SearchFilters | None = None,
    ) -> Iterator[dict[str, str] | AgentReply]:
        """Progress events ``{"step", "detail"}`` node by node, then the :class:`AgentReply`.

        The question is cleaned first (:func:`~core.text.clean_question`): escape sequences and
        control characters are removed, undecodable bytes replaced, and a ``clean`` event says
        so; one left empty raises :class:`~core.errors.InvalidQuestionError`.
        """
        from core.text import clean_question

        cleaned = clean_question(question)
        question = cleaned.text
        events: list[dict[str, str]] = []
        if cleaned.notes:
            events.append({"step": "clean", "detail": "; ".join(cleaned.notes)})
            yield events[-1]
        config = {"configurable": {"thread_id": thread_id}}
        inputs = {
            "question": question,
            "acl_groups": acl_groups,
            "filters": filters,
            "events": [{"step": "start", "detail": question}],
        }
        for update in self.graph.stream(
            inputs, config, context=self.context, stream_mode="updates"
        ):
            for part in update.values():
                for event in (part or {}).get("events", []):
                    events.append(event)
                    yield event
        values = self.graph.get_state(config).values
        reply = values["answer"]
        yield AgentReply(
            question=question,
            standalone=values.get("standalone") or question,
            answer=reply,
            scope=reply.scope or values["retrieval"].scope,
            events=events,
            timings_ms=dict(values.get("timings_ms") or {}),
            thread_id=thread_id,
            reasoning=values.get("reasoning"),
        )

    def ask(
        self,
        question: str,
        *,
        thread_id: str,
        acl_groups: list[str],
        filters: SearchFilters | None = None,
    ) -> AgentReply:
        """Answer ``question`` on ``thread_id``; see :meth:`stream` for progress as it happens."""
        reply = None
        for item in self.stream(
            question, thread_id=thread_id, acl_groups=acl_groups, filters=filters
        ):
            if isinstance(item, AgentReply):
                reply = item
        assert reply is not None  # the graph always ends in respond
        return reply
