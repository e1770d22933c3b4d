"""The answering agent's nodes: one small verb function per stage, returning a partial update.

Contract: each node takes the :class:`~agent.state.AgentState` and the run's
:class:`~agent.state.AgentContext` (``runtime.context``) and returns only the keys it sets, always
with one or more progress ``events`` and its ``timings_ms``. A turn runs them in this order:

* :func:`resolve`: the companies, periods and forms the question names, against the catalog the
  caller may read and the thread's ``history`` (a follow-up such as "and the year before?"
  inherits company and period, and borrows the metric of the previous question: ``standalone``).
* :func:`memory`: expert-curated memory-bank entries matched above the calibrated threshold.
* :func:`tools`: the live-data tools the question calls for (company facts, market data).
* :func:`retrieve`: the corpus search, once per turn, within the resolution's filings (or the
  caller's explicit filters), assembled with the memory and tool results into ``retrieval``.
* :func:`rerank`: the reranker serving the question's company over the corpus hits.
* :func:`calculate`: a figure question (a metric, a ratio, a line item, a yes/no judgement on
  figures) answered from the corpus's statement facts by :func:`agent.figures.answer_from_facts`,
  every input cited; None when the question is not one or there is no fact store.
* :func:`answer`: a computed answer when ``calculate`` found every input; otherwise the
  configured :class:`~agent.answerer.Answerer` (extractive by default), and when that abstains
  too, the abstention names the inputs the figure engine could not find and where it looked.
* :func:`verify`: every figure of the answer is checked against the cited evidence
  (:mod:`agent.verify`); sentences with unsupported figures are removed, and when nothing
  supported remains the agent abstains and states the scope searched.
* :func:`respond`: appends the standalone question to ``history`` and closes the turn.
"""

from __future__ import annotations

import logging
import re
import time

from langgraph.runtime import Runtime

from agent.answerer import CITE
from agent.figures import FactSource
from agent.state import AgentContext, AgentState
from agent.verify import Evidence, calculation_evidence, remove_unsupported, verify_answer
from core.records import Answer, Fact, Resolution, RetrievalResult

log = logging.getLogger(__name__)

_YEAR_PHRASE = re.compile(r"\b(?:(?:fiscal(?:\s+year)?|FY)\s*)?((?:19|20)\d\d)\b", re.I)
_WORD = re.compile(r"[a-z]+", re.I)
# Words that carry no metric: a follow-up made only of these borrows the previous question's metric.
_FOLLOW_UP_WORDS = frozenset(
    [
        "and",
        "what",
        "about",
        "how",
        "then",
        "the",
        "a",
        "an",
        "for",
        "in",
        "of",
        "same",
        "that",
        "this",
        "it",
        "was",
        "were",
        "is",
        "are",
        "year",
        "years",
        "fiscal",
        "period",
        "quarter",
        "before",
        "after",
        "prior",
        "previous",
        "earlier",
        "later",
        "next",
        "last",
        "one",
    ]
)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _event(step: str, detail: str) -> dict[str, str]:
    return {"step": step, "detail": detail}


# -- retrieve -------------------------------------------------------------------------------------


def standalone_question(question: str, history: list[str], resolution: Resolution) -> str:
    """``question`` made self-contained when it is an elliptical follow-up.

    "And the year before?" after "What was Northwind's revenue in fiscal 2023?" becomes "What was
    Northwind's revenue in fiscal 2022?": the resolver already worked out the period, but the
    answerer needs the metric words, which only the previous question has.
    """
    if not history or not resolution.inherited:
        return question
    spans = sorted(resolution.matched_text, key=lambda s: -s.start)
    rest = question
    for span in spans:
        rest = rest[: span.start] + " " + rest[span.end :]
    if any(w.lower() not in _FOLLOW_UP_WORDS for w in _WORD.findall(rest)):
        return question  # it names something of its own: not elliptical
    previous = history[-1]
    years = resolution.fiscal_years
    if not years:
        return previous
    said = " and ".join(f"fiscal {y}" for y in years)
    if _YEAR_PHRASE.search(previous):
        first = True

        def swap(match: re.Match[str]) -> str:
            nonlocal first
            if first:
                first = False
                return said
            return ""

        text = _YEAR_PHRASE.sub(swap, previous)
        return re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return f"{previous.rstrip(' ?.')} in {said}?"


def resolve(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    retriever = runtime.context.retriever
    question = state["question"]
    history = list(state.get("history") or [])
    acl = state.get("acl_groups") or ["public"]
    t0 = time.perf_counter()
    first = retriever.resolve(question, acl_groups=acl, history=history)
    standalone = standalone_question(question, history, first)
    resolution = first
    if standalone != question:
        resolution = retriever.resolve(standalone, acl_groups=acl, history=history)
    filters = state.get("filters")
    if filters is not None and not filters.is_empty():
        # The caller's filters replace the resolver's selection: say what is really searched.
        named = {k: v for k, v in filters.model_dump().items() if v}
        scope = "Searched with filters " + "; ".join(
            f"{k}={', '.join(map(str, v))}" for k, v in named.items()
        )
        resolution = resolution.model_copy(update={"scope": scope})
    resolved = ", ".join(resolution.companies + resolution.periods + resolution.forms)
    resolved = resolved or "nothing specific"
    if resolution.inherited:
        resolved += f" (inherited {', '.join(resolution.inherited)} from the conversation)"
    return {
        "resolution": resolution,
        "standalone": standalone,
        "events": [_event("resolving", f"{standalone!r} -> {resolved}; {resolution.scope}")],
        "timings_ms": {"resolve": _ms(t0)},
    }


def memory(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    t0 = time.perf_counter()
    resolution = state["resolution"]
    hits, note = runtime.context.retriever.search_memory(
        state["standalone"], resolution, acl_groups=state.get("acl_groups") or ["public"]
    )
    update: dict = {"memory": hits, "timings_ms": {"memory": _ms(t0)}}
    if note:
        update["resolution"] = resolution.model_copy(update={"notes": [*resolution.notes, note]})
    detail = note or f"{len(hits)} entries above the threshold"
    update["events"] = [_event("recalling", detail)]
    return update


def tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    t0 = time.perf_counter()
    results = runtime.context.retriever.call_tools(
        state["standalone"], state["resolution"], acl_groups=state.get("acl_groups") or ["public"]
    )
    called = ", ".join(f"{r.tool} ({r.status})" for r in results) or "none called"
    return {
        "tools": results,
        "events": [_event("calling tools", called)],
        "timings_ms": {"tools": _ms(t0)},
    }


def retrieve(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    ctx = runtime.context
    t0 = time.perf_counter()
    hits, pages = ctx.retriever.search_corpus(
        state["standalone"],
        state["resolution"],
        acl_groups=state.get("acl_groups") or ["public"],
        filters=state.get("filters"),
        top_k=ctx.top_k,
    )
    result = RetrievalResult(
        question=state["standalone"],
        resolution=state["resolution"],
        hits=hits,
        pages=pages,
        memory=state.get("memory") or [],
        tools=state.get("tools") or [],
    )
    files = [f"{p.file_name} p.{p.page_no}" for p in result.pages[:3]]
    found = (
        f"{len(result.pages)} pages, {len(result.hits)} chunks (top: {', '.join(files) or 'none'})"
        f"; {len(result.memory)} memory entries; {len(result.tools)} tool results"
    )
    return {
        "retrieval": result,
        "events": [_event("searching", found)],
        "timings_ms": {"retrieve": _ms(t0)},
    }


# -- rerank ---------------------------------------------------------------------------------------


def rerank(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    ctx = runtime.context
    result = state["retrieval"]
    t0 = time.perf_counter()
    tickers = result.resolution.tickers
    reranker = ctx.reranker.for_company(tickers[0] if len(tickers) == 1 else None)
    hits = reranker.rerank(state.get("standalone") or state["question"], result.hits)
    detail = f"{reranker.name}: {len(hits)} hits"
    if hits:
        top = hits[0].chunk
        detail += f", first {top.file_name} p.{top.page_no}"
    return {
        "retrieval": result.model_copy(update={"hits": hits}),
        "reasoning": reranker.last_reasoning,
        "events": [_event("reranking", detail)],
        "timings_ms": {"rerank": _ms(t0)},
    }


# -- answer ---------------------------------------------------------------------------------------


class _ScopedFacts:
    """A fact source restricted to the filings the turn's search was allowed to read."""

    def __init__(self, source: FactSource, doc_ids: list[str]) -> None:
        self.source = source
        self.doc_ids = doc_ids

    def query(self, *, doc_ids: list[str] | None = None, **kwargs: object) -> list[Fact]:
        allowed = [d for d in (doc_ids or self.doc_ids) if d in self.doc_ids]
        return self.source.query(doc_ids=allowed, **kwargs) if allowed else []


def _searchable(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, str]:
    """The filings the figure engine may read (doc id -> file name): the caller's explicit
    filters when given; otherwise the resolution's filings and, for comparison years only an
    earlier filing reports, the other filings of the companies it resolved."""
    result = state["retrieval"]
    filings = runtime.context.retriever.corpus.filings(state["acl_groups"])
    explicit = state.get("filters")
    if explicit is not None and not explicit.is_empty():
        return {f.doc_id: f.file_name for f in filings if explicit.admits(f)}
    chosen = result.resolution.filters
    companies = set(result.resolution.companies)
    return {f.doc_id: f.file_name for f in filings if chosen.admits(f) or f.company in companies}


def calculate(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from agent.extractive import unknown_company
    from agent.figures import answer_from_facts

    facts = runtime.context.facts
    result = state["retrieval"]
    t0 = time.perf_counter()
    computed, detail = None, "no fact store"
    if facts is not None:
        question = state.get("standalone") or state["question"]
        stranger = unknown_company(question, result)
        if result.memory:
            detail = "a memory-bank entry answers it"
        elif stranger:
            detail = f"no filing of {stranger} searched"
        else:
            names = _searchable(state, runtime)
            scoped = _ScopedFacts(facts, list(names))
            found = answer_from_facts(
                question, result.resolution, scoped, state["acl_groups"], names=names
            )
            detail = "not a figure question"
            if found is not None:
                text, calculations, citations = found
                computed = Answer(
                    text=text,
                    citations=citations,
                    calculations=calculations,
                    scope=result.scope,
                )
    if computed is not None and _complete(computed):
        detail = f"{computed.calculations[-1].metric} = {computed.calculations[-1].text}"
    elif computed is not None:
        detail = "missing " + "; ".join(m for c in computed.calculations for m in c.missing)
    return {
        "computed": computed,
        "events": [_event("calculating", detail)],
        "timings_ms": {"calculate": _ms(t0)},
    }


def _complete(computed: Answer | None) -> bool:
    return bool(computed and computed.calculations and computed.calculations[-1].result is not None)


def _with_causes(question: str, computed: Answer, result: RetrievalResult) -> Answer:
    """A computed answer to "what drove ...": the figures, then the filing's own sentences
    giving the cause, each quoted and cited."""
    from agent.answerer import chunk_citation
    from agent.extractive.sentences import ASKS_WHY, explanations
    from agent.extractive.terms import STOP, tokens
    from retrieval.glossary import expand

    if not ASKS_WHY.search(question):
        return computed
    named = result.resolution.companies + result.resolution.tickers
    drop = STOP | {w for name in named for w in tokens(name, frozenset())}
    # the cause words are what is asked for, not what a sentence must repeat
    terms = set(tokens(ASKS_WHY.sub(" ", question), frozenset(drop)))
    glossary = set(tokens(expand(question).terms, frozenset(drop)))
    citations = list(computed.citations)
    quotes = []
    for _, sentence, chunk in explanations(question, result, terms, glossary):
        citations.append(chunk_citation(chunk, quote=sentence))
        quotes.append(f'"{sentence}" [{len(citations)}]')
    if not quotes:
        return computed
    text = f"{computed.text} What the filing says drove it: {' '.join(quotes)}"
    return computed.model_copy(update={"text": text, "citations": citations})


def answer(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    answerer = runtime.context.answerer
    question = state.get("standalone") or state["question"]
    computed = state.get("computed")
    t0 = time.perf_counter()
    if _complete(computed):
        # Reported facts and the calculator beat quoting the nearest table row, whatever backend.
        reply = _with_causes(question, computed, state["retrieval"])
        detail = f"computed from {len(computed.citations)} cited facts"
    else:
        reply = answerer.answer(question, state["retrieval"])
        if reply.abstained and computed is not None:
            missing = "; ".join(m for c in computed.calculations for m in c.missing)
            reply = reply.model_copy(
                update={"text": f"{reply.text} Inputs not found: {missing}.".strip()}
            )
        detail = (
            "abstained"
            if reply.abstained
            else f"{len(reply.citations)} citations ({answerer.name})"
        )
    return {
        "answer": reply,
        "events": [_event("answering", detail)],
        "timings_ms": {"answer": _ms(t0)},
    }


# -- verify ---------------------------------------------------------------------------------------


def _evidence(reply: Answer, result: RetrievalResult) -> list[Evidence]:
    chunks = {h.chunk.chunk_id: h.chunk for h in result.hits}
    items: list[Evidence] = []
    for citation in reply.citations:
        chunk = chunks.get(citation.chunk_id or "")
        if chunk is not None:
            item = Evidence.from_chunk(chunk)
            if chunk.table is not None:
                grid = "\n".join(" | ".join(r) for r in chunk.table.rows)
                item = Evidence(id=item.id, text=f"{item.text}\n{grid}")
            items.append(item)
        elif citation.quote:
            items.append(Evidence(id=f"quote:{citation.chunk_id}", text=citation.quote))
    for i, calculation in enumerate(reply.calculations):
        items.append(calculation_evidence(calculation, id=f"calc:{i}"))
    for i, call in enumerate(reply.tool_calls):
        # The formula string does not say whether its result is a fraction: allow both readings.
        items.append(Evidence(id=f"tool:{i}", text=call))
        items.append(Evidence(id=f"tool:{i}:pct", text=call, percent=True))
    for hit in result.memory:
        if hit.entry.entry_id in reply.memory_entries:
            items.append(Evidence(id=f"memory:{hit.entry.entry_id}", text=hit.entry.answer))
    for tool in result.tools:
        items.append(Evidence.from_tool_result(tool))
    return items


def abstention(scope: str, why: str) -> Answer:
    return Answer(
        text=f"I could not determine this from the filings searched ({scope}). {why}".strip(),
        abstained=True,
        scope=scope,
    )


def verify(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    reply = state["answer"]
    result = state["retrieval"]
    scope = reply.scope or result.scope or "all filings you may read"
    t0 = time.perf_counter()
    if reply.abstained:
        return {
            "events": [_event("verifying", "nothing to verify: abstained")],
            "timings_ms": {"verify": _ms(t0)},
        }
    check = verify_answer(reply.text, _evidence(reply, result))  # "[n]" reads as a citation
    if check.all_supported:
        detail = f"{len(check.figures)} figures, all supported"
        return {"events": [_event("verifying", detail)], "timings_ms": {"verify": _ms(t0)}}
    kept = remove_unsupported(reply.text, check)
    reasons = "; ".join(f.reason for f in check.unsupported)
    detail = f"{len(check.unsupported)} of {len(check.figures)} figures unsupported ({reasons})"
    if not _WORD.search(kept):
        revised = abstention(
            scope, "The drafted answer's figures were not found in the cited evidence."
        )
        return {
            "answer": revised,
            "events": [_event("verifying", detail + "; abstaining")],
            "timings_ms": {"verify": _ms(t0)},
        }
    used: dict[int, int] = {}
    for mark in CITE.findall(kept):
        used.setdefault(int(mark), len(used) + 1)
    kept = CITE.sub(lambda m: f"[{used[int(m[1])]}]", kept)
    citations = [
        reply.citations[n - 1] for n in sorted(used, key=used.get) if n <= len(reply.citations)
    ]
    revised = reply.model_copy(update={"text": kept, "citations": citations})
    return {
        "answer": revised,
        "events": [_event("verifying", detail + "; sentences removed")],
        "timings_ms": {"verify": _ms(t0)},
    }


# -- respond --------------------------------------------------------------------------------------


def respond(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    reply = state["answer"]
    detail = "abstained" if reply.abstained else f"answered with {len(reply.citations)} citations"
    # The standalone form, so a second "and the year before?" shifts from the period just asked.
    return {
        "history": [state.get("standalone") or state["question"]],
        "events": [_event("responding", detail)],
    }
