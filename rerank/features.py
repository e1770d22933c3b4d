"""Page-level features for the learned page ranker, from what retrieval already returned.

Contract: :func:`page_features` takes a question and the chunk hits of one retrieval (best first,
as :func:`rerank.pages.rerank_pages` hands them to a reranker: each page's chunks, then their
neighbours with score 0) and returns the distinct pages in first-seen order with one feature row
per page (:data:`FEATURES`, in that order). It reads nothing but the question and the hits: no
index, no model, no corpus, so the reranker that uses it serves in about a millisecond.

Signals, per page:

* retrieval: the page's position among the retrieved pages, the rank and fused score of its best
  chunk, the score relative to the first page's, the number of supporting chunks (hits with a
  score) and of neighbour chunks (added for context, score 0);
* lexical: BM25 of the page's text (its chunks among the hits) against the question, with IDF over
  the candidate pages, its rank among them, and the share of the question's words on the page.
  The fused Qdrant query returns one RRF score per chunk and hides the dense and BM25 scores it
  fused; this BM25 over the candidates is the cheap stand-in (no index call);
* glossary (:mod:`core.glossary`): whether the page's chunks are tagged with a statement the
  question's metric lives in, whether the page holds any primary statement, and the share of the
  glossary's filing words for that metric found on the page;
* structure: section path mentions of Item 7 (MD&A), Item 8 (financial statements) and the notes;
  share of table chunks and of digits; the page number and its position among the candidate pages
  of its filing;
* periods: how many of the question's years (2019, FY22, fiscal 2023) appear in the column
  headers of the page's tables, and in its text.

Not used: a dense cosine to the page's chunk vectors (it would need the index's vectors per call)
and a reranker's score (no other reranker serves on CPU today).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from core.glossary import expand
from core.records import Hit

FEATURES: tuple[str, ...] = (
    "page_order",
    "best_rank",
    "inv_best_rank",
    "best_score",
    "score_ratio",
    "score_sum",
    "n_hits",
    "n_neighbours",
    "bm25",
    "bm25_rank",
    "bm25_ratio",
    "term_cover",
    "statement_match",
    "has_statement",
    "glossary_cover",
    "item7",
    "item8",
    "notes",
    "table_share",
    "digit_share",
    "page_no",
    "page_in_doc",
    "years_in_header",
    "years_in_text",
    "question_years",
)

_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "a an and are as at be by did do does for from has have how in is it its of on or over "
    "that the their this to was were what when which who with year fy fiscal company s total"
)
_STOP = frozenset(_STOP_WORDS.split())
_FULL_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ITEM7 = re.compile(r"item\s*7(?!\s*a)\b|management'?s discussion", re.IGNORECASE)
_ITEM8 = re.compile(r"item\s*8\b|financial statements and supplementary", re.IGNORECASE)
_NOTES = re.compile(r"notes? to (?:the )?(?:consolidated )?financial|^note\s+\d", re.IGNORECASE)
_K1, _B = 1.2, 0.75


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def question_years(question: str) -> set[str]:
    """Four-digit years the question names: "2022", "FY22", "fiscal 2023", "FY2019"."""
    years: set[str] = set(_FULL_YEAR.findall(question))
    for match in re.finditer(r"\bfy\s*'?(\d{2})\b", question, re.IGNORECASE):
        years.add(f"20{match.group(1)}")
    return years


def _bm25(query: list[str], docs: list[list[str]]) -> list[float]:
    n = len(docs)
    if not n or not query:
        return [0.0] * n
    avg = sum(len(d) for d in docs) / n or 1.0
    df = Counter(w for d in docs for w in set(d))
    counts = [Counter(d) for d in docs]
    out = []
    for d, tf in zip(docs, counts, strict=True):
        score = 0.0
        for w in set(query):
            f = tf.get(w, 0)
            if f:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                score += idf * f * (_K1 + 1) / (f + _K1 * (1 - _B + _B * len(d) / avg))
        out.append(score)
    return out


def page_features(query: str, hits: list[Hit]) -> tuple[list[tuple[str, int]], list[list[float]]]:
    """The distinct pages of ``hits`` (first-seen order) and one row of :data:`FEATURES` each."""
    pages: list[tuple[str, int]] = []
    members: dict[tuple[str, int], list[tuple[int, Hit]]] = {}
    for i, hit in enumerate(hits, start=1):
        key = (hit.chunk.doc_id, hit.chunk.page_no)
        if key not in members:
            members[key] = []
            pages.append(key)
        members[key].append((i, hit))
    if not pages:
        return [], []
    expansion = expand(query)
    wanted = set(expansion.statements)
    glossary_words = set(words(expansion.terms))
    q_words = words(query)
    q_set = set(q_words)
    years = question_years(query)
    texts = [" ".join(h.chunk.text for _, h in members[p]) for p in pages]
    docs = [words(t) for t in texts]
    bm25 = _bm25(q_words, docs)
    bm25_order = {i: r for r, i in enumerate(sorted(range(len(pages)), key=lambda i: -bm25[i]), 1)}
    top_bm25 = max(bm25) or 1.0
    scores = [max(h.score for _, h in members[p]) for p in pages]
    top_score = max(scores) or 1.0
    last_page: dict[str, int] = {}
    first_page: dict[str, int] = {}
    for doc, page in pages:
        last_page[doc] = max(last_page.get(doc, page), page)
        first_page[doc] = min(first_page.get(doc, page), page)
    rows: list[list[float]] = []
    for idx, key in enumerate(pages):
        group = members[key]
        chunks = [h.chunk for _, h in group]
        supporting = [(i, h) for i, h in group if h.score > 0]
        best_rank = min((i for i, _ in supporting), default=len(hits) + 1)
        statements = {c.statement for c in chunks if c.statement}
        sections = " | ".join(" > ".join(c.section_path) for c in chunks)
        headers = " ".join(
            " ".join(cell for row in c.table.header_rows for cell in row)
            for c in chunks
            if c.table is not None
        )
        text = texts[idx]
        page_words = set(docs[idx])
        digits = sum(ch.isdigit() for ch in text)
        span = last_page[key[0]] - first_page[key[0]]
        rows.append(
            [
                float(idx + 1),
                float(best_rank),
                1.0 / best_rank,
                scores[idx],
                scores[idx] / top_score,
                sum(h.score for _, h in group),
                float(len(supporting)),
                float(len(group) - len(supporting)),
                bm25[idx],
                float(bm25_order[idx]),
                bm25[idx] / top_bm25,
                len(q_set & page_words) / len(q_set) if q_set else 0.0,
                float(bool(wanted & statements)),
                float(bool(statements)),
                len(glossary_words & page_words) / len(glossary_words) if glossary_words else 0.0,
                float(bool(_ITEM7.search(sections))),
                float(bool(_ITEM8.search(sections))),
                float(bool(_NOTES.search(sections) or _NOTES.search(text[:300]))),
                sum(c.table is not None for c in chunks) / len(chunks),
                digits / max(len(text), 1),
                float(key[1]),
                (key[1] - first_page[key[0]]) / span if span else 0.0,
                float(sum(y in headers for y in years)),
                float(sum(y in text for y in years)),
                float(len(years)),
            ]
        )
    return pages, rows
