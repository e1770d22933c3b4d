"""The answering agent's state and per-run context.

Contract: :class:`InputState` is what a caller sends per turn (the question, the caller's ACL
groups, optional explicit filters); :class:`AgentState` adds what the nodes write. Lists and dicts
merge through reducers, so a node returns only its own part:

* ``history``: the conversation's earlier (standalone) questions, appended by ``respond`` and kept
  by the checkpointer across turns of one thread;
* ``events``: progress events ``{"step", "detail"}``, appended in node order (each turn's input
  sends a ``start`` event, which clears the previous turn's);
* ``timings_ms``: per-step milliseconds of the current turn, merged.

:class:`AgentContext` carries the per-run objects (``context_schema``): the shared
:class:`~retrieval.retriever.Retriever`, the reranker and the LLM backend name. They are never
checkpointed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from core.records import Answer, RetrievalResult, SearchFilters


class Event(TypedDict):
    step: str
    detail: str


def merge_timings(
    left: dict[str, float] | None, right: dict[str, float] | None
) -> dict[str, float]:
    """Merge per-step timings; the ``retrieve`` step opens a turn, so it drops the last turn's."""
    if right and "retrieve" in right:
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
    retrieval: RetrievalResult
    answer: Answer
    reasoning: str | None  # a reasoning reranker's explanation of its order (listwise-vl)
    timings_ms: Annotated[dict[str, float], merge_timings]


@dataclass
class AgentContext:
    """Per-run knobs and shared objects, given to ``graph.invoke(..., context=...)``."""

    retriever: Any  # retrieval.retriever.Retriever
    reranker: Any  # rerank.base.Reranker
    pick_reranker: Any = None  # ticker | None -> Reranker (company-specific models); None: reranker
    llm_name: str = "extractive"
    llm: Any = None  # an agent.llm.base.LLM, built on first use when llm_name is not extractive
    settings: Any = None  # core.settings.Settings
    top_k: int = 10
    extras: dict[str, Any] = field(default_factory=dict)
