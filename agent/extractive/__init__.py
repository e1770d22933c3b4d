"""The offline default answerer: quotes table cells and sentences, computes with the calculator.

Contract: :func:`answer_extractively` turns a :class:`~retrieval.retriever.RetrievalResult` into an
:class:`~core.records.Answer` without any model. It never writes a figure of its own:

1. **Table cells first.** Rows whose label matches the question's metric words (the question's own
   words plus :func:`retrieval.glossary.expand` terms, by token overlap) and columns whose header
   names an asked year ("2023", "Fiscal 2024", "Years ended December 31, 2022") are quoted with
   their row and column headers and the table's unit caption, each with a cell-level
   :class:`~core.records.Citation` (``quote`` = ``"row header | column header: value"``).
2. **Arithmetic through the calculator** (:mod:`retrieval.tools.calculator`) when the question asks
   for growth / change between periods, a CAGR, a gross / operating / net margin, or a current /
   quick ratio and the operands are found. The formula goes into ``Answer.tool_calls``.
3. **Sentences otherwise:** the 1-3 best sentences of the top text hits, by overlap with the
   question and glossary terms, each cited with the sentence as its quote.
4. **Memory-bank hits** (approved, not stale, not retired) are stated first with their provenance;
   corpus evidence is still cited beside them.
5. **Abstention** when nothing clears the relevance bar: ``abstained=True`` and the text says what
   was searched (``resolution.scope``) and why it was not enough. A comparison with one period
   missing says which period is missing. A question about a company none of the searched
   filings belongs to ("Globex's revenue" when no company was recognised) abstains too, instead
   of quoting another company's row.
6. Every figure of the answer is checked with :func:`agent.verify.verify_answer` against the cited
   chunks and calculator results; a statement with an unsupported figure is dropped.

The steps live in modules of their own: :mod:`~agent.extractive.terms` (question and label
words), :mod:`~agent.extractive.tables` (cells by period, the asked row),
:mod:`~agent.extractive.arithmetic` (calculator intents), :mod:`~agent.extractive.sentences`,
:mod:`~agent.extractive.memory`, and :mod:`~agent.extractive.draft` (citations, statements and
their verification); this package puts them together and abstains.

Document text is data: chunks are only quoted, never obeyed; sentences that address the reader
with instructions ("ignore previous instructions ...") are never selected as evidence.

Example:
    >>> answer = answer_extractively("What was revenue in 2023?", result)  # doctest: +SKIP
    >>> answer.text  # doctest: +SKIP
    'Total revenues was 2,255.4 in 2023 (in millions) [1].'
"""

from __future__ import annotations

import re

from agent.answerer import chunk_citation
from agent.extractive.arithmetic import (
    CAGR,
    GROWTH,
    compare_periods,
    compute_metric,
    latest_year,
    ratio_intent,
)
from agent.extractive.draft import Draft, say_cell, verified
from agent.extractive.memory import memory_statements
from agent.extractive.sentences import best_sentences
from agent.extractive.tables import best_row, read_table
from agent.extractive.terms import STOP, WORD, asked_years, tokens
from core.options import ExtractiveOptions
from core.records import Answer, RetrievalResult
from retrieval.glossary import expand

# "Globex Aerospace's revenue": a possessive proper name, i.e. the company the question is about.
_POSSESSIVE_NAME = re.compile(r"\b((?:[A-Z][\w&.\-]*\s+){0,3}[A-Z][\w&.\-]*)['\u2019]s\b")


# -- scope ---------------------------------------------------------------------------------------


def unknown_company(question: str, result: RetrievalResult) -> str | None:
    """The company the question names when no filing searched belongs to it, else None.

    When the resolver recognises no company it searches every filing, so without this check
    "Globex's revenue" would be answered with whichever company's revenue row ranks first.
    """
    if result.resolution.companies or result.resolution.tickers:
        return None
    known = {
        w for h in result.hits if h.chunk.company for w in WORD.findall(h.chunk.company.lower())
    }
    if not known:
        return None  # the chunks do not say whose they are: nothing to compare against
    for match in _POSSESSIVE_NAME.finditer(question):
        words = [w for w in WORD.findall(match[1].lower()) if w not in STOP]
        if words and not known.intersection(words):
            return match[1]
    return None


def answer_extractively(question: str, result: RetrievalResult, max_citations: int = 5) -> Answer:
    """Answer ``question`` from ``result`` by quoting and computing, with no model.

    Args:
        question: the user's question.
        result: what :meth:`retrieval.retriever.Retriever.retrieve` returned for it.
        max_citations: the most citations the answer carries.

    Returns:
        An :class:`~core.records.Answer` whose figures all come from cited cells, sentences or
        calculator results (``tool_calls``), with ``abstained=True`` and the searched scope when
        nothing relevant was found.
    """
    resolution = result.resolution
    scope = resolution.scope or result.scope or "all filings you may read"
    drop = set(STOP)
    for name in [*resolution.companies, *resolution.tickers]:
        drop.update(w for w in WORD.findall(name.lower()))
    question_terms = set(tokens(question, frozenset(drop)))
    glossary = expand(question)
    glossary_terms = set(tokens(glossary.terms, frozenset(drop))) - {"statement"}
    years = asked_years(question, result)

    stranger = unknown_company(question, result)
    if stranger is not None:
        text = (
            f"I could not determine this from the filings searched ({scope}). The question is "
            f"about {stranger}, and none of the filings searched is from that company."
        )
        return Answer(text=text, abstained=True, scope=scope)

    draft = Draft(max_citations=max_citations)
    memory_ids = memory_statements(draft, result)

    tables = [t for i, h in enumerate(result.hits) if (t := read_table(h.chunk, i)) is not None]
    answered = False
    metric = ratio_intent(question)
    if metric and tables:
        targets = years or ([y] if (y := latest_year(tables)) else [])
        for year in targets[:3]:
            answered = compute_metric(draft, metric, tables, year) or answered
    if not answered and not metric:
        found = best_row(tables, question_terms, glossary_terms, years)
        if found is not None:
            if CAGR.search(question) or GROWTH.search(question):
                answered = compare_periods(draft, found, years, cagr=bool(CAGR.search(question)))
            else:
                wanted = years or [max(found.row.cells)]
                for year in wanted:
                    cell = found.row.cells.get(year)
                    if cell is not None:
                        answered = say_cell(draft, found.table, cell) or answered
                    else:
                        draft.notes.append(
                            f"No {found.row.label} figure for {year} was found in the tables "
                            "searched."
                        )
    if not answered and not draft.statements:
        for _, sentence, chunk in best_sentences(question, result, question_terms, glossary_terms):
            n = draft.cite(chunk_citation(chunk, quote=sentence))
            if n is None:
                break
            draft.statements.append((f'"{sentence}" [{n}]', [draft.chunk_evidence(chunk)]))

    body, citations, kept = verified(draft)
    corpus_cited = any(not k.startswith("From the memory bank") for k in kept)
    notes = " ".join(draft.notes)
    if not body:
        reasons = notes or (
            "No table row or passage in the retrieved pages matched the question's terms "
            f"({', '.join(sorted(question_terms | glossary_terms)[:8]) or 'none recognised'})."
        )
        if years:
            reasons += f" Periods looked for: {', '.join(str(y) for y in years)}."
        text = f"I could not determine this from the filings searched ({scope}). {reasons}"
        return Answer(text=text.strip(), abstained=True, scope=scope, tool_calls=draft.tool_calls)
    text = f"{body} {notes}".strip()
    if memory_ids and not corpus_cited:
        text += " No corpus passage confirming it was found among the retrieved pages."
    return Answer(
        text=text,
        citations=citations,
        memory_entries=memory_ids,
        tool_calls=draft.tool_calls,
        abstained=False,
        scope=scope,
    )


__all__ = ["ExtractiveAnswerer", "answer_extractively", "unknown_company"]


class ExtractiveAnswerer:
    """The ``extractive`` answerer (:func:`answer_extractively`): no model, nothing to load."""

    name = "extractive"

    def __init__(self, settings: ExtractiveOptions | None = None, **_: object) -> None:
        self.settings = settings or ExtractiveOptions()

    def answer(self, question: str, result: RetrievalResult) -> Answer:
        return answer_extractively(question, result)
