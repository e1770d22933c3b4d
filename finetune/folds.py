"""Company folds: the learned page ranker measured on companies it never saw questions about.

Contract: :func:`collect_set` retrieves, once per FinanceBench-format set and against the set's
cached shared corpus (as ``finrag eval retrieval`` builds it), every question of the set and a
seeded sample of synthetic queries mined from the set's filings (:mod:`finetune.synthetic`, no
LLM, none of the set's questions), and caches the ranking groups (:mod:`finetune.ranker`) as
JSONL. :func:`company_folds` then runs one fold per company (companies pooled across sets by
name): a model is trained with the candidate's parameters on the synthetic groups, any extra
groups (the candidate job's own training data) and the *other* companies' questions, and tested on
this company's questions only; never on its own. Each fold reports page R@5 and MRR of retrieval
order and of the model on the same candidates; ``pooled`` averages over every held-out question.

Parameters are fixed (:data:`finetune.ranker.PARAMS`) and nothing is chosen by looking at a test
fold. The same folds with another parameter set (the model serving now) give the gate its
``current`` baseline (:func:`finetune.gate.evaluate_folds`).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

from core.settings import Settings
from finetune.ranker import (
    ROUNDS,
    LabelledQuery,
    RankGroup,
    collect_groups,
    model_order,
    page_metrics,
    page_order,
    per_query,
    read_groups,
    train_ranker,
    write_groups,
)
from rerank.learned import WINDOW

log = logging.getLogger(__name__)

SYNTHETIC_PER_SET = 600


def company_key(name: str | None) -> str:
    return " ".join((name or "?").lower().split())


def same_text(text: str) -> str:
    return " ".join(text.lower().split())


def set_questions(set_dir: Path, doc_ids: dict[str, str]) -> list[LabelledQuery]:
    """A FinanceBench-format set's questions as labelled queries (gold: the evidence pages)."""
    from evaluation.sets import load_set

    eval_set = load_set(Path(set_dir))
    return [
        LabelledQuery(
            qid=f"{eval_set.name}:{q.id}",
            query=q.question,
            gold=[(doc_ids[q.doc], p) for p in q.evidence_pages],
            company=str(q.extra.get("company") or q.doc.split("_")[0]),
            source="financebench",
        )
        for q in eval_set.questions
    ]


def collect_set(
    settings: Settings,
    set_dir: Path,
    cache: Path,
    synthetic: int = SYNTHETIC_PER_SET,
    seed: int = 13,
) -> tuple[list[RankGroup], list[RankGroup]]:
    """The set's question groups and synthetic groups (read from ``cache`` when there)."""
    from evaluation.run_retrieval import corpus_settings, ensure_ingested
    from evaluation.sets import load_set
    from finetune.synthetic import mine_queries
    from retrieval.corpus import Corpus

    eval_set = load_set(Path(set_dir))
    q_path = cache / f"{eval_set.name}-questions.jsonl"
    s_path = cache / f"{eval_set.name}-synthetic-{synthetic}-{seed}.jsonl"
    if q_path.exists() and s_path.exists():
        return read_groups(q_path), read_groups(s_path)
    with Corpus.open(corpus_settings(settings, eval_set)) as corpus:
        questions = set_questions(set_dir, ensure_ingested(eval_set, corpus))
        asked = {same_text(q.question) for q in eval_set.questions}
        mined = [
            m
            for m in mine_queries(corpus.index.scroll_chunks(), seed=seed)
            if same_text(m.query) not in asked
        ]
        random.Random(seed).shuffle(mined)
        synthetic_queries = [
            LabelledQuery(
                qid=f"{eval_set.name}:syn{i}",
                query=m.query,
                gold=[(m.positive.doc_id, m.positive.page_no)],
                company=m.positive.company,
                source=m.source,
            )
            for i, m in enumerate(mined[:synthetic])
        ]
        q_groups = collect_groups(corpus, questions)
        s_groups = collect_groups(corpus, synthetic_queries)
    write_groups(q_groups, q_path)
    write_groups(s_groups, s_path)
    return q_groups, s_groups


def collect_questions(settings: Settings, set_dir: Path, cache: Path) -> list[RankGroup]:
    """The set's question groups only (a job's labelled questions), cached like
    :func:`collect_set`'s."""
    from evaluation.run_retrieval import corpus_settings, ensure_ingested
    from evaluation.sets import load_set
    from retrieval.corpus import Corpus

    eval_set = load_set(Path(set_dir))
    q_path = cache / f"{eval_set.name}-questions.jsonl"
    if q_path.exists():
        return read_groups(q_path)
    with Corpus.open(corpus_settings(settings, eval_set)) as corpus:
        groups = collect_groups(corpus, set_questions(set_dir, ensure_ingested(eval_set, corpus)))
    write_groups(groups, q_path)
    return groups


def company_folds(
    questions: list[RankGroup],
    synthetic: list[RankGroup],
    recipes: dict[str, dict[str, Any]],
    extra: dict[str, list[RankGroup]] | None = None,
) -> dict:
    """Per-company folds for each recipe against retrieval order.

    A recipe is ``{"params", "rounds", "window"}`` (:func:`finetune.ranker.model_order`).
    ``extra[name]`` are training groups only that recipe adds (its job's own data); in each fold
    they lose every query about the held-out company and every query that is one of the folds'
    questions (those train the folds of the other companies as ``questions``), so nothing a fold
    tests was trained on, whatever the job was given.
    """
    companies = sorted({company_key(g.company) for g in questions})
    asked = {same_text(g.query) for g in questions}
    orders: dict[str, dict[str, list]] = {"none": {}, **{name: {} for name in recipes}}
    folds = []
    for company in companies:
        test = [g for g in questions if company_key(g.company) == company]
        others = [g for g in questions if company_key(g.company) != company]
        row: dict[str, Any] = {"company": company, "n": len(test)}
        for g in test:
            orders["none"][g.qid] = page_order(g, None)
        row["none"] = page_metrics(orders["none"], test)
        for name, recipe in recipes.items():
            own = [
                g
                for g in (extra or {}).get(name, [])
                if company_key(g.company) != company and same_text(g.query) not in asked
            ]
            booster = train_ranker(
                synthetic + own + others, recipe.get("params"), recipe.get("rounds", ROUNDS)
            )
            window = recipe.get("window", WINDOW)
            for g in test:
                orders[name][g.qid] = model_order(booster, g, window)
            row[name] = page_metrics(orders[name], test)
        folds.append(row)
        log.info("fold %s: %s", company, row)
    pooled = {name: page_metrics(o, questions) for name, o in orders.items()}
    per_q = {name: per_query(o, questions) for name, o in orders.items()}
    by_set: dict[str, dict] = {}
    for name in sorted({g.qid.split(":")[0] for g in questions}):
        part = [g for g in questions if g.qid.split(":")[0] == name]
        by_set[name] = {recipe: page_metrics(o, part) for recipe, o in orders.items()}
    return {
        "folds": folds,
        "pooled": pooled,
        "by_set": by_set,
        "per_question": per_q,
        "n": len(questions),
    }


def format_folds(result: dict) -> str:
    """The per-fold table and the pooled row, as text."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    names = list(result["pooled"])
    buffer = StringIO()
    console = Console(file=buffer, width=160)
    table = Table(title=f"Company folds ({result['n']} held-out questions)")
    table.add_column("company (held out)")
    table.add_column("n", justify="right")
    for name in names:
        table.add_column(f"{name} R@5", justify="right")
        table.add_column(f"{name} MRR", justify="right")
    sets = [
        {"company": f"pooled: {name}", "n": next(iter(m.values()))["n"], **m}
        for name, m in result.get("by_set", {}).items()
    ]
    rows = [*result["folds"], *sets, {"company": "POOLED", "n": result["n"], **result["pooled"]}]
    for row in rows:
        table.add_row(
            row["company"],
            str(row["n"]),
            *(f"{row[n][k]:.3f}" if n in row else "-" for n in names for k in ("recall@5", "mrr")),
        )
    console.print(table)
    return buffer.getvalue()
