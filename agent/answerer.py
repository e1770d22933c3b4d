"""The answering stage's contract, and the answerer that wraps a generative model.

Contract: an :class:`Answerer` turns a question and its :class:`~core.records.RetrievalResult`
into an :class:`~core.records.Answer` whose citations point at the evidence it used. Every answer
is checked afterwards by the graph's ``verify`` node; an answerer never has the last word on a
figure. Backends are chosen by ``settings.llm.name`` through :data:`~core.backends.ANSWERERS`:

* ``extractive`` (the offline default, :class:`agent.extractive.ExtractiveAnswerer`): no model;
* ``openai`` and ``transformers``: :class:`GroundedAnswerer` over an :class:`~agent.llm.base.LLM`
  (:mod:`agent.llm.openai_compat`, :mod:`agent.llm.transformers_vl`) with the grounded prompt of
  :mod:`agent.prompts`: the evidence is numbered, wrapped as document data, and the model's
  ``[n]`` marks become the answer's citations, renumbered by first mention.

Example:
    >>> options = OpenAIOptions(base_url="http://localhost:8000/v1", model="qwen3-vl")
    >>> answerer = ANSWERERS.create("openai", settings=options)  # doctest: +SKIP
    >>> answerer.answer("What was revenue in 2023?", result).citations  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Protocol

from agent import prompts
from agent.llm.base import LLM, Message
from core.options import LLMOptions, OpenAIOptions, TransformersLLMOptions
from core.records import Answer, Chunk, Citation, RetrievalResult

MAX_LLM_PASSAGES = 8
CITE = re.compile(r"\[(\d+)\]")


class Answerer(Protocol):
    name: str

    def answer(self, question: str, result: RetrievalResult) -> Answer:
        """An answer to ``question`` from ``result`` (abstained, with the scope, when it cannot)."""
        ...


def chunk_citation(chunk: Chunk, quote: str | None = None) -> Citation:
    """A citation of a chunk: its first box, and ``quote`` (default: the start of its text)."""
    quote = quote if quote is not None else " ".join(chunk.text.split())[:300]
    return Citation(
        doc_id=chunk.doc_id,
        file_name=chunk.file_name,
        page_no=chunk.page_no,
        chunk_id=chunk.chunk_id,
        bbox=chunk.bboxes[0] if chunk.bboxes else None,
        quote=quote,
    )


class GroundedAnswerer:
    """A generative model answering from numbered evidence it may only quote.

    Args:
        llm: the generative backend.
        settings: ``max_new_tokens`` bounds the reply.
    """

    def __init__(self, llm: LLM, settings: LLMOptions) -> None:
        self.llm = llm
        self.name = llm.name
        self.settings = settings

    def answer(self, question: str, result: RetrievalResult) -> Answer:
        hits = result.hits[:MAX_LLM_PASSAGES]
        scope = result.scope or "all filings you may read"
        evidence = prompts.format_evidence(
            [(h.chunk.file_name, h.chunk.page_no, h.chunk.text) for h in hits]
        )
        messages = [
            Message(role="system", content=prompts.SYSTEM.format(scope=scope)),
            Message(
                role="user",
                content=prompts.USER.format(question=question, scope=scope, evidence=evidence),
            ),
        ]
        text = self.llm.generate(messages, max_new_tokens=self.settings.max_new_tokens).strip()
        # Citations are the passages the text refers to, renumbered by first mention.
        used: dict[int, int] = {}
        for mark in CITE.findall(text):
            n = int(mark)
            if 1 <= n <= len(hits):
                used.setdefault(n, len(used) + 1)
        text = CITE.sub(lambda m: f"[{used[int(m[1])]}]" if int(m[1]) in used else "", text)
        citations = [chunk_citation(hits[n - 1].chunk) for n in sorted(used, key=used.get)]
        abstained = text.lower().startswith("i could not determine")
        return Answer(text=text, citations=citations, abstained=abstained, scope=scope)


def openai_answerer(settings: OpenAIOptions | None = None, **kwargs: object) -> GroundedAnswerer:
    """``openai``: an OpenAI-compatible endpoint (``settings.base_url``, ``settings.model``)."""
    from agent.llm.openai_compat import OpenAICompatLLM

    settings = settings or OpenAIOptions()
    return GroundedAnswerer(OpenAICompatLLM(settings, **kwargs), settings)


def transformers_answerer(
    settings: TransformersLLMOptions | None = None, **kwargs: object
) -> GroundedAnswerer:
    """``transformers``: a local Qwen-VL instruct model (``settings.model``)."""
    from agent.llm.transformers_vl import TransformersVLLLM

    settings = settings or TransformersLLMOptions()
    return GroundedAnswerer(TransformersVLLLM(settings, **kwargs), settings)
