"""The answering agent's state and per-run context.

Contract: :class:`InputState` is what a caller sends per turn (the question, the caller's ACL
groups, optional explicit filters); :class:`AgentState` adds what the nodes write, one key per
stage. Lists and dicts merge through reducers, so a node returns only its own part:

* ``history``: the conversation's earlier (standalone) questions, appended by ``respond`` and kept
  by the checkpointer across turns of one thread;
* ``resolution`` / ``standalone`` (resolve), ``memory`` (memory bank), ``tools`` (live data),
  ``retrieval`` (corpus search, then reranked), ``computed`` (a figure question answered from
  the corpus's statement facts, or None), ``answer`` (answer, then verified);
* ``events``: progress events ``{"step", "detail"}``, appended in node order (each turn's input
  sends a ``start`` event, which clears the previous turn's);
* ``timings_ms``: per-step milliseconds of the current turn, merged.

:class:`AgentContext` carries the per-run objects (``context_schema``): the shared
:class:`~retrieval.retriever.Retriever`, the reranker, the answerer and the fact store the figure
engine reads (:mod:`agent.figures`). They are never checkpointed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypedDict

from core.records import Answer, MemoryHit, Resolution, RetrievalResult, SearchFilters, ToolResult

if TYPE_CHECKING:
    from agent.answerer import Answerer
    from agent.figures import FactSource
    from rerank.base import Reranker
    from retrieval.retriever import Retriever

FIRST_STEP = "resolve"  # the node that opens a turn


class Event(TypedDict):
    step: str
    detail: str


def merge_timings(
    left: dict[str, float] | None, right: dict[str, float] | None
) -> dict[str, float]:
    """Merge per-step timings; the first step of a turn drops the last turn's."""
    if right and FIRST_STEP in right:
        return dict(right)
    return {**(left or {}), **(right or {})}


def add_events(left: list[Event] | None, right: list[Event] | None) -> list[Event]:
    """Append events; a ``start`` event (sent with each turn's input) drops the last turn's."""
    if right and right[0].get("step") == "start":
        return list(right)
    return [*(left or []), *(right or [])]


class InputState(TypedDict, total=False):
    question: str
    acl_groups: list[str]
    filters: SearchFilters | None
    events: Annotated[list[Event], add_events]


class AgentState(InputState, total=False):
    history: Annotated[list[str], operator.add]
    standalone: str  # the question with a follow-up's omitted metric filled in from history
    resolution: Resolution
    memory: list[MemoryHit]
    tools: list[ToolResult]
    retrieval: RetrievalResult
    computed: Answer | None
    answer: Answer
    reasoning: str | None  # a reasoning reranker's explanation of its order (listwise-vl)
    timings_ms: Annotated[dict[str, float], merge_timings]


@dataclass
class AgentContext:
    """Per-run shared objects, given to ``graph.invoke(..., context=...)``."""

    retriever: Retriever
    reranker: Reranker  # ``for_company`` picks a company's promoted model under ``auto``
    answerer: Answerer
    facts: FactSource | None = None  # None: no fact store, figure questions go to the answerer
    top_k: int = 10
