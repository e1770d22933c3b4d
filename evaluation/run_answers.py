"""``finrag eval answers``: end-to-end answer quality on a FinanceBench-format set.

Every question goes through the agent (:class:`agent.graph.Agent`) against the set's shared corpus
(the same cached corpus as ``finrag eval retrieval``), each in its own thread. Scored:

* ``numeric_correct``: over questions whose gold answer states a figure and is no Yes/No verdict
  (``n_numeric``), the share whose answer states the gold's first figure at the gold's printed
  precision or within 1 % relative, in the unit the question asks for
  (:func:`evaluation.scoring.numeric_correct` has the rules: scales, percent vs ratio, the
  answer's calculations before its text).
* ``yes_no_agreement``: over questions whose gold answer begins with "Yes" or "No"
  (``n_yes_no``), the share whose answer gives the same verdict first.
* ``citation_precision``: cited pages that are gold evidence pages, over all cited pages;
  ``citation_recall``: gold pages cited, averaged over questions.
* ``abstention_rate``.
* ``unsupported_figure_rate``: figures in the final answers that no cited evidence (chunk or tool
  result) supports, re-checked with :mod:`agent.verify` -- the grounding promise, which must be 0.
  A computed answer's figures are checked against its calculations, and every input of every
  calculation counts as a figure of its own: it is supported only when the chunk its citation
  points at prints the input's cell (:func:`unsupported_inputs`).
* ``p50_ms`` / ``p95_ms``: wall time of one ``ask`` after one warm-up question (the target is
  p50 < 1 s, p95 < 2 s).
* ``by_question_type``: the same per FinanceBench ``question_type`` (metrics-generated,
  domain-relevant, novel-generated; "unknown" when the set has none) -- ``n``, ``n_numeric``,
  ``numeric_correct``, ``n_yes_no``, ``yes_no_agreement``, ``citation_recall``,
  ``abstention_rate``, ``p50_ms``, ``p95_ms`` -- plus an ``"all numeric"`` row over every question
  with a figure to match, whatever its type.

A rate with nothing to score is ``null``. Abstaining on a question with a gold figure or verdict
counts as wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from core.records import Answer, Chunk
from core.settings import Settings
from evaluation.metrics import latency_summary
from evaluation.run_retrieval import corpus_settings, ensure_ingested
from evaluation.scoring import numeric_correct, summarize, yes_no_agrees
from evaluation.sets import load_set


def _printed(text: str) -> str:
    return " ".join(text.split())


def unsupported_inputs(answer: Answer, chunks: list[Chunk]) -> int:
    """Calculation inputs whose cited chunk does not print the cell they were read from.

    An input is matched to its citation by (doc, page, quote); the quote ends with the cell as
    printed ("Total revenues | 2023: 2,255.4"), which must occur in the chunk's text or table.
    """
    by_id = {c.chunk_id: c for c in chunks}
    cited = {(c.doc_id, c.page_no, c.quote): c.chunk_id for c in answer.citations}
    bad = 0
    for calc in answer.calculations:
        for item in calc.inputs:
            chunk = by_id.get(cited.get((item.doc_id, item.page_no, item.quote)) or "")
            cell = _printed(item.quote.rsplit(":", 1)[-1])
            if chunk is None or not cell:
                bad += 1
                continue
            grid = " ".join(" ".join(r) for r in chunk.table.rows) if chunk.table else ""
            if cell not in _printed(chunk.text) and cell not in _printed(grid):
                bad += 1
    return bad


def eval_answers(
    set_dir: Path,
    settings: Settings,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score the set; ``progress(done, total)`` is called after each question."""
    from agent.graph import Agent
    from agent.verify import Evidence, calculation_evidence, verify_answer
    from retrieval.corpus import Corpus

    eval_set = load_set(set_dir)
    questions = eval_set.questions[:limit] if limit else eval_set.questions
    rows = []
    latencies: list[float] = []
    with Corpus.open(corpus_settings(settings, eval_set)) as corpus, Agent(corpus) as agent:
        doc_ids = ensure_ingested(eval_set, corpus)
        groups = corpus.settings.default_acl
        agent.ask("warm-up", thread_id="eval-warm-up", acl_groups=groups)
        for q in questions:
            t0 = time.perf_counter()
            reply = agent.ask(
                q.question, thread_id=f"eval-{q.id}-{time.time_ns()}", acl_groups=groups
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            answer = reply.answer
            gold_pages = {(doc_ids[q.doc], p) for p in q.evidence_pages}
            cited = {(c.doc_id, c.page_no) for c in answer.citations}
            chunks = corpus.index.get_chunks(
                [c.chunk_id for c in answer.citations if c.chunk_id], groups
            )
            evidence = [Evidence.from_chunk(c) for c in chunks]
            evidence += [
                Evidence(id=f"call{i}", text=call) for i, call in enumerate(answer.tool_calls)
            ]
            evidence += [
                Evidence(id=f"quote{i}", text=c.quote) for i, c in enumerate(answer.citations)
            ]
            evidence += [
                calculation_evidence(c, id=f"calc{i}") for i, c in enumerate(answer.calculations)
            ]
            check = verify_answer(answer.text, evidence) if not answer.abstained else None
            inputs = [i for c in answer.calculations for i in c.inputs]
            bad_inputs = unsupported_inputs(answer, chunks) if check else 0
            rows.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "answer": answer.text,
                    "gold": q.answer,
                    "question_type": q.question_type,
                    "abstained": answer.abstained,
                    "numeric": numeric_correct(answer, q.answer or "", q.question),
                    "yes_no": yes_no_agrees(answer, q.answer or ""),
                    "cited_pages": sorted(p for _, p in cited),
                    "gold_pages": q.evidence_pages,
                    "cited_gold": len(cited & gold_pages),
                    "n_cited": len(cited),
                    "recall": len(cited & gold_pages) / len(gold_pages) if gold_pages else 0.0,
                    "figures": len(check.figures) + len(inputs) if check else 0,
                    "unsupported": len(check.unsupported) + bad_inputs if check else 0,
                    "ms": round(latencies[-1], 1),
                }
            )
            if progress is not None:
                progress(len(rows), len(questions))

    numeric = [r for r in rows if r["numeric"] is not None]
    yes_no = [r for r in rows if r["yes_no"] is not None]
    n_cited = sum(r["n_cited"] for r in rows)
    figures = sum(r["figures"] for r in rows)
    return {
        "set": eval_set.name,
        "date": date.today().isoformat(),
        "llm": settings.llm.name,
        "n": len(rows),
        "n_numeric": len(numeric),
        "numeric_correct": round(sum(bool(r["numeric"]) for r in numeric) / len(numeric), 4)
        if numeric
        else None,
        "n_yes_no": len(yes_no),
        "yes_no_agreement": round(sum(bool(r["yes_no"]) for r in yes_no) / len(yes_no), 4)
        if yes_no
        else None,
        "citation_precision": round(sum(r["cited_gold"] for r in rows) / n_cited, 4)
        if n_cited
        else 0.0,
        "citation_recall": round(sum(r["recall"] for r in rows) / len(rows), 4) if rows else 0.0,
        "abstention_rate": round(sum(r["abstained"] for r in rows) / len(rows), 4) if rows else 0.0,
        "figures_in_answers": figures,
        "unsupported_figure_rate": round(sum(r["unsupported"] for r in rows) / figures, 4)
        if figures
        else 0.0,
        **{k: round(v, 1) for k, v in latency_summary(latencies).items()},
        "by_question_type": summarize(rows),
        "questions": rows,
    }


def format_answers(result: dict) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    buffer = StringIO()
    console = Console(file=buffer, width=160)
    summary = Table(
        title=f"Answers on {result['set']} ({result['n']} questions, "
        f"llm={result['llm']}, {result['date']})"
    )
    for col in (
        "numeric correct",
        "yes/no agreement",
        "citation precision",
        "citation recall",
        "abstention",
        "unsupported figures",
        "p50 ms",
        "p95 ms",
    ):
        summary.add_column(col, justify="right")
    summary.add_row(
        _of(result["numeric_correct"], result["n_numeric"]),
        _of(result.get("yes_no_agreement"), result.get("n_yes_no", 0)),
        f"{result['citation_precision']:.3f}",
        f"{result['citation_recall']:.3f}",
        f"{result['abstention_rate']:.3f}",
        f"{result['unsupported_figure_rate']:.3f} of {result['figures_in_answers']}",
        f"{result['p50_ms']:.0f}",
        f"{result['p95_ms']:.0f}",
    )
    console.print(summary)
    by_type = Table(title="Per question type")
    for col in (
        "question type",
        "questions",
        "numeric correct",
        "yes/no agreement",
        "citation recall",
        "abstention",
        "p50 ms",
        "p95 ms",
    ):
        by_type.add_column(col, justify="left" if col == "question type" else "right")
    for name, row in result.get("by_question_type", {}).items():
        by_type.add_row(
            name,
            str(row["n"]),
            _of(row["numeric_correct"], row["n_numeric"]),
            _of(row["yes_no_agreement"], row["n_yes_no"]),
            _rate(row["citation_recall"]),
            _rate(row["abstention_rate"]),
            _ms(row["p50_ms"]),
            _ms(row["p95_ms"]),
        )
    console.print(by_type)
    detail = Table(title="Per question")
    for col in ("id", "type", "numeric", "yes/no", "cited pages", "gold pages", "answer"):
        detail.add_column(col, overflow="fold")
    for r in result["questions"]:
        detail.add_row(
            r["id"][-5:],
            r.get("question_type") or "-",
            _mark(r["numeric"]),
            _mark(r.get("yes_no")),
            str(r["cited_pages"]),
            str(r["gold_pages"]),
            r["answer"][:160],
        )
    console.print(detail)
    return buffer.getvalue()


def _of(rate: float | None, n: int) -> str:
    return f"{rate:.3f} of {n}" if rate is not None else "-"


def _rate(rate: float | None) -> str:
    return f"{rate:.3f}" if rate is not None else "-"


def _ms(ms: float | None) -> str:
    return f"{ms:.0f}" if ms is not None else "-"


def _mark(scored: bool | None) -> str:
    return "-" if scored is None else ("yes" if scored else "no")
