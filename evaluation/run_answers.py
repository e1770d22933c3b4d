"""``finrag eval answers``: end-to-end answer quality on a FinanceBench-format set.

Every question goes through the agent (:class:`agent.graph.Agent`) against the set's shared corpus
(the same cached corpus as ``finrag eval retrieval``), each in its own thread. Scored:

* ``numeric_correct``: over questions whose gold answer states a figure (amount or percent), the
  share whose answer contains a figure within 1 % of one of the gold figures, or equal to it at the
  precision the gold answer states (gold "39%" accepts 38.8 %). Judgement questions ("Is X capital
  intensive?") have no figure to match and are counted apart (``n_numeric``).
* ``citation_precision``: cited pages that are gold evidence pages, over all cited pages;
  ``citation_recall``: gold pages cited, averaged over questions.
* ``abstention_rate``.
* ``unsupported_figure_rate``: figures in the final answers that no cited evidence (chunk or tool
  result) supports, re-checked with :mod:`agent.verify` -- the grounding promise, which must be 0.
* ``p50_ms`` / ``p95_ms``: wall time of one ``ask`` after one warm-up question.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from core.settings import Settings
from evaluation.metrics import latency_summary
from evaluation.run_retrieval import corpus_settings, ensure_ingested
from evaluation.sets import load_set


def _figures(text: str) -> list:
    from agent.verify import extract_numbers

    return [m for m in extract_numbers(text) if m.kind in ("amount", "percent", "number")]


def _close(ours: float, gold: float, decimals: int) -> bool:
    if gold == 0:
        return abs(ours) < 1e-9
    if abs(ours - gold) <= 0.01 * abs(gold):
        return True
    return round(ours, max(decimals, 0)) == round(gold, max(decimals, 0))


def numeric_match(answer: str, gold: str) -> bool | None:
    """True/False when the gold answer states a figure; None for judgement answers."""
    gold_figures = [m for m in _figures(gold) if m.kind in ("amount", "percent")]
    if not gold_figures:
        return None
    ours = _figures(answer)
    for g in gold_figures:
        for o in ours:
            if o.percent != g.percent:
                continue
            # Compare in the answer's own scale and unscaled: "$66.6 billion" vs "66,608 million".
            candidates = {(o.value, g.value), (o.number, g.number)}
            if any(
                _close(a, b, g.decimals) for a, b in candidates if a is not None and b is not None
            ):
                return True
    return False


def eval_answers(
    set_dir: Path,
    settings: Settings,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Score the set; ``progress(done, total)`` is called after each question."""
    from agent.graph import Agent
    from agent.verify import Evidence, verify_answer
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
            check = verify_answer(answer.text, evidence) if not answer.abstained else None
            rows.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "answer": answer.text,
                    "gold": q.answer,
                    "abstained": answer.abstained,
                    "numeric": None
                    if answer.abstained and q.answer is None
                    else numeric_match(answer.text, q.answer or ""),
                    "cited_pages": sorted(p for _, p in cited),
                    "gold_pages": q.evidence_pages,
                    "cited_gold": len(cited & gold_pages),
                    "n_cited": len(cited),
                    "recall": len(cited & gold_pages) / len(gold_pages) if gold_pages else 0.0,
                    "figures": len(check.figures) if check else 0,
                    "unsupported": len(check.unsupported) if check else 0,
                    "ms": round(latencies[-1], 1),
                }
            )
            if progress is not None:
                progress(len(rows), len(questions))

    numeric = [r for r in rows if r["numeric"] is not None]
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
        "citation precision",
        "citation recall",
        "abstention",
        "unsupported figures",
        "p50 ms",
        "p95 ms",
    ):
        summary.add_column(col, justify="right")
    nc = result["numeric_correct"]
    summary.add_row(
        f"{nc:.3f} of {result['n_numeric']}" if nc is not None else "-",
        f"{result['citation_precision']:.3f}",
        f"{result['citation_recall']:.3f}",
        f"{result['abstention_rate']:.3f}",
        f"{result['unsupported_figure_rate']:.3f} of {result['figures_in_answers']}",
        f"{result['p50_ms']:.0f}",
        f"{result['p95_ms']:.0f}",
    )
    console.print(summary)
    detail = Table(title="Per question")
    for col in ("id", "numeric", "cited pages", "gold pages", "answer"):
        detail.add_column(col, overflow="fold")
    for r in result["questions"]:
        mark = "-" if r["numeric"] is None else ("yes" if r["numeric"] else "no")
        detail.add_row(
            r["id"][-5:], mark, str(r["cited_pages"]), str(r["gold_pages"]), r["answer"][:160]
        )
    console.print(detail)
    return buffer.getvalue()
