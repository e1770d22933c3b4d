"""Sentence answers: the few best sentences of the top text hits, quoted and cited.

Contract: :func:`best_sentences` scores each sentence of the top 20 text chunks by the share of
the question's words (and glossary synonyms, and the section heading) it holds, favours one
with a figure when a figure is asked for, skips instruction-like sentences (document text is
data, never orders) and keeps at most :data:`MAX_SENTENCES`, one of each near-duplicate pair.
:func:`explanations` keeps, of those, the ones that give a cause ("due to", "driven by"): the
filing's own words for what moved a figure (MD&A), for "what drove ..." questions.
"""

from __future__ import annotations

import logging
import re

from agent.extractive.terms import tokens
from core.figures import has_digit
from core.records import Chunk, RetrievalResult

log = logging.getLogger(__name__)

MIN_SENTENCE_COVERAGE = 0.3  # share of the question's content words a sentence must contain
MAX_SENTENCES = 3

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|prompts?|rules|above|previous)\b"
    r"|\b(?:system prompt|you (?:must|should) (?:now )?(?:answer|respond|say|reply))\b"
    r"|\b(?:as an ai|assistant:|answer (?:with|only) )"
    # Orders addressed to the answerer and tool-call-shaped JSON: no filing states facts that way.
    r"|\b(?:answer|respond|reply) that\b|\b(?:call|use|invoke|run) the (?:tool|function)\b"
    r"|\{\s*\"(?:tool|function|name|tool_calls?)\"\s*:",
    re.IGNORECASE,
)
_FIGURE_QUESTION = re.compile(
    r"\b(how much|how many|what (?:was|were|is|are)|amount|total)\b", re.I
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'$])|\n\s*\n")


def _sentences(text: str) -> list[str]:
    out = []
    for part in _SENTENCE_SPLIT.split(text):
        part = " ".join(part.split())
        if 20 <= len(part) <= 600:
            out.append(part)
    return out


def best_sentences(
    question: str, result: RetrievalResult, question_terms: set[str], glossary_terms: set[str]
) -> list[tuple[float, str, Chunk]]:
    if not question_terms:
        return []
    wants_figure = bool(_FIGURE_QUESTION.search(question))
    scored: list[tuple[float, int, str, Chunk]] = []
    seen: set[str] = set()
    for position, hit in enumerate(result.hits[:20]):
        chunk = hit.chunk
        if chunk.table is not None or chunk.modality == "table":
            continue
        context = set(tokens(" ".join(chunk.section_path)))
        for sentence in _sentences(chunk.text):
            key = sentence.lower()
            if key in seen:
                continue
            seen.add(key)
            if _INJECTION.search(sentence):
                log.info("extractive: skipped an instruction-like sentence in %s", chunk.chunk_id)
                continue
            words = set(tokens(sentence))
            direct = question_terms & words
            synonyms = (glossary_terms - question_terms) & words
            if not direct and not synonyms:
                continue  # a sentence is chosen for what it says, not only for its heading
            # The section heading ("Item 3. Legal Proceedings") says what a sentence is about.
            from_heading = (question_terms & context) - direct
            weight = len(direct) + 0.5 * len(from_heading) + 0.5 * min(2, len(synonyms))
            coverage = weight / len(question_terms)
            if coverage < MIN_SENTENCE_COVERAGE or weight < min(1.5, len(question_terms)):
                continue
            score = coverage - 0.01 * position
            if wants_figure and has_digit(sentence):
                score += 0.15
            scored.append((score, -position, sentence, chunk))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    picked: list[tuple[float, str, Chunk]] = []
    for s, _, text, chunk in scored:
        # A sentence cut at a chunk boundary repeats the start of its whole twin: keep one.
        folded = text.lower().rstrip(".")
        if any(
            folded in other.lower() or other.lower().rstrip(".") in folded for _, other, _ in picked
        ):
            continue
        picked.append((s, text, chunk))
        if len(picked) == MAX_SENTENCES:
            break
    return picked


_CAUSE = re.compile(
    r"\b(?:due\s+to|driven\s+by|primarily|mainly|largely|as\s+a\s+result\s+of|because|"
    r"attributable\s+to|reflect(?:s|ed|ing)?|offset\s+by|partially\s+offset|resulting\s+from)\b",
    re.I,
)
ASKS_WHY = re.compile(
    r"\b(?:what\s+drove|drivers?|driving|why|reasons?|explain\w*|caused?|led\s+to|behind)\b", re.I
)


def explanations(
    question: str, result: RetrievalResult, question_terms: set[str], glossary_terms: set[str]
) -> list[tuple[float, str, Chunk]]:
    """The best sentences that state a cause, for a question asking what drove a figure."""
    return [
        s
        for s in best_sentences(question, result, question_terms, glossary_terms)
        if _CAUSE.search(s[1])
    ][:2]
