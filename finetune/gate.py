"""The promotion gate: a fine-tuned reranker ships only if it wins on held-out questions.

Contract: :func:`evaluate_candidate` reranks the same retrieved candidates of a held-out
FinanceBench-format set with the candidate, the reranker now serving its scope (if any) and no
reranker (:func:`evaluation.run_rerank.eval_rerankers`), and writes the :class:`GateDecision` to
``<model folder>/../gate.json``. :func:`promote` puts the candidate in service
(:func:`rerank.promoted.record_promotion`) only when that decision passed and still refers to the
model serving now; otherwise it raises :class:`~core.errors.FinragError` with the reasons.

The margin (:class:`Margin`): MRR must beat every baseline by at least 0.02 and Recall@5 must not
fall. On a 30-question set one question moving from rank 2 to rank 1 is worth 0.5 / 30 = 0.017 MRR,
so 0.02 asks for more than one lucky swap; a lost question is 0.033 Recall@5, and a reranker that
loses evidence from the top 5 is not shipped whatever its MRR. The decision also reports a paired
bootstrap of the per-question MRR gain (share of resamples in which the candidate wins), which
informs the reader but does not gate: with 30 questions it is wide.

The learned page ranker (``backend = "learned"``) is gated on company folds instead
(:func:`evaluate_folds`, :mod:`finetune.folds`): for every company of the given sets, a model with
the candidate's parameters and training data plus the other companies' questions is tested on this
company's questions; the model serving the scope (when it is a learned one) is refitted on the same
folds the same way, and retrieval order is scored on the same candidates. A fold never trains on
its own company's questions, even when the job was given them as labelled questions
(:func:`finetune.folds.company_folds`). The decision uses the pooled numbers with the same
:class:`Margin`. The candidate as trained is scored too, for the reader, on the questions it did
not train on.

Held-out means held out: when the candidate's dataset (``finrag_model.json`` -> ``dataset``) is
readable, a held-out question whose text appears among its training queries fails the gate.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from core.backends import RERANKERS
from core.errors import ConfigError, FinragError
from core.settings import Settings

GATE_FILE = "gate.json"
MODEL_INFO = "finrag_model.json"


class Margin(BaseModel):
    mrr: float = 0.02
    recall_at_5_drop: float = 0.0  # the most Recall@5 may fall


class GateDecision(BaseModel):
    candidate: str  # model folder
    backend: str
    scope: str  # "*" or a ticker
    held_out: str  # the evaluation set folder
    n: int
    metrics: dict[str, dict[str, float]]  # "none", "current" (when one serves), "candidate"
    serving: str | None = None  # the model folder serving the scope at evaluation time
    margin: Margin
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    bootstrap_win_rate: dict[str, float] = Field(default_factory=dict)  # baseline -> share
    dataset_version: str = ""
    evaluated_at: datetime


def model_info(folder: Path) -> dict:
    """A trained model folder's ``finrag_model.json`` (backend, base, stage, dataset...)."""
    path = Path(folder) / MODEL_INFO
    if not path.exists():
        raise ConfigError(
            f"{folder} is not a finrag fine-tuned reranker ({MODEL_INFO} is missing); pass the "
            "model/ folder a `finrag finetune` job wrote"
        )
    return json.loads(path.read_text())


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def leaked_questions(info: dict, questions: list[str]) -> list[str]:
    """Held-out questions that appear among the candidate's training queries."""
    dataset = info.get("dataset_path")
    if not dataset or not Path(dataset).is_dir():
        return []
    from finetune.dataset import load_dataset

    loaded = load_dataset(Path(dataset))
    seen = {_norm(e.query) for split in (loaded.train, loaded.dev) for e in split}
    return [q for q in questions if _norm(q) in seen]


def bootstrap_win_rate(
    ours: dict[str, float], theirs: dict[str, float], rounds: int = 2000, seed: int = 0
) -> float:
    """Share of paired bootstrap resamples of questions in which ``ours`` has the higher mean."""
    keys = sorted(ours)
    if not keys:
        return 0.0
    rng = random.Random(seed)
    diffs = [ours[k] - theirs.get(k, 0.0) for k in keys]
    wins = 0
    for _ in range(rounds):
        sample = [diffs[rng.randrange(len(diffs))] for _ in diffs]
        wins += sum(sample) > 0
    return round(wins / rounds, 3)


def decide(metrics: dict[str, dict[str, float]], margin: Margin) -> tuple[bool, list[str]]:
    """Pass/fail and why, from the candidate's and the baselines' metrics."""
    candidate = metrics["candidate"]
    reasons: list[str] = []
    for baseline in [b for b in ("none", "current") if b in metrics]:
        theirs = metrics[baseline]
        gain = candidate["mrr"] - theirs["mrr"]
        if gain < margin.mrr:
            reasons.append(
                f"MRR {candidate['mrr']:.3f} vs {baseline} {theirs['mrr']:.3f}: gain "
                f"{gain:+.3f} is below the margin {margin.mrr:.3f}"
            )
        drop = theirs["recall@5"] - candidate["recall@5"]
        if drop > margin.recall_at_5_drop:
            reasons.append(
                f"Recall@5 {candidate['recall@5']:.3f} vs {baseline} "
                f"{theirs['recall@5']:.3f}: falls by {drop:.3f}"
            )
    return not reasons, reasons


def candidate_reranker(folder: Path, settings: Settings):
    info = model_info(folder)
    options = RERANKERS.parse(
        {**settings.rerank.model_dump(), "name": info["backend"], "model": str(folder)}
    )
    return RERANKERS.create(options.name, settings=options, data_dir=settings.data_dir)


def evaluate_candidate(
    settings: Settings,
    model_dir: Path,
    set_dir: Path,
    scope: str = "*",
    margin: Margin | None = None,
    limit: int | None = None,
) -> tuple[GateDecision, dict]:
    """Gate ``model_dir`` on ``set_dir``; returns the decision and the full evaluation result."""
    from evaluation.run_rerank import eval_rerankers
    from evaluation.sets import load_set
    from rerank.promoted import PromotedReranker, serving

    margin = margin or Margin()
    model_dir = Path(model_dir).resolve()
    info = model_info(model_dir)
    rerankers = {"candidate": candidate_reranker(model_dir, settings)}
    current = serving(settings.data_dir, None if scope == "*" else scope)
    if current is not None:
        auto = RERANKERS.parse({**settings.rerank.model_dump(), "name": "auto"})
        promoted = PromotedReranker(auto, data_dir=settings.data_dir)
        rerankers["current"] = promoted.for_company(None if scope == "*" else scope)
    result = eval_rerankers(set_dir, settings, rerankers, limit=limit)
    metrics = result["rerankers"]
    passed, reasons = decide(metrics, margin)
    questions = [q.question for q in load_set(set_dir).questions]
    decision = _record(
        model_dir,
        info,
        backend=info["backend"],
        scope=scope,
        held_out=str(set_dir),
        result=result,
        metrics=metrics,
        current=current,
        margin=margin,
        verdict=(passed, reasons),
        questions=questions,
    )
    return decision, result


def promote(settings: Settings, model_dir: Path, by: str):
    """Serve ``model_dir`` for the scope it was gated on, if its gate decision allows it."""
    from rerank.promoted import PromotedModel, record_promotion, serving

    model_dir = Path(model_dir).resolve()
    gate = model_dir.parent / GATE_FILE
    if not gate.exists():
        raise FinragError(
            f"{model_dir} has not been evaluated: run `finrag finetune evaluate {model_dir}` first"
        )
    decision = GateDecision.model_validate_json(gate.read_text())
    if Path(decision.candidate) != model_dir:
        raise FinragError(
            f"{gate} is about {decision.candidate}, not {model_dir}; evaluate this model"
        )
    if not decision.passed:
        raise FinragError(
            "not promoted: the gate refused this model: " + "; ".join(decision.reasons)
        )
    current = serving(settings.data_dir, None if decision.scope == "*" else decision.scope)
    now = current.model if current else None
    if now != decision.serving:
        raise FinragError(
            f"the serving model changed since the evaluation ({decision.serving} -> {now}); "
            "evaluate again against the model serving now"
        )
    if not by.strip():
        raise FinragError("say who promotes the model (--by NAME): every promotion is recorded")
    return record_promotion(
        settings.data_dir,
        PromotedModel(
            backend=decision.backend,
            model=str(model_dir),
            scope=decision.scope,
            promoted_at=datetime.now(UTC),
            promoted_by=by.strip(),
            dataset_version=decision.dataset_version,
            metrics=decision.metrics["candidate"],
            baseline={k: v for k, v in decision.metrics.items() if k != "candidate"},
            margin=decision.margin.model_dump(),
            held_out=decision.held_out,
        ),
    )


def _recipe(info: dict) -> dict:
    """How a learned model was trained, to retrain it per fold: parameters, rounds, window."""
    from finetune.ranker import PARAMS, ROUNDS

    return {
        "params": info.get("params", PARAMS),
        "rounds": int(info.get("rounds", ROUNDS)),
        "window": info.get("window"),
    }


def evaluate_folds(
    settings: Settings,
    model_dir: Path,
    set_dirs: list[Path],
    scope: str = "*",
    margin: Margin | None = None,
    cache: Path | None = None,
) -> tuple[GateDecision, dict]:
    """Gate a learned page ranker on company folds over ``set_dirs`` (see the module docstring)."""
    from evaluation.sets import load_set
    from finetune.folds import collect_set, company_folds, same_text
    from finetune.ranker import model_order, page_metrics, read_groups
    from rerank.learned import load_booster
    from rerank.promoted import serving

    margin = margin or Margin()
    model_dir = Path(model_dir).resolve()
    info = model_info(model_dir)
    if info.get("backend") != "learned":
        raise ConfigError(
            f"{model_dir} is a {info.get('backend')} model: company folds retrain a learned page "
            "ranker; evaluate other models on one held-out set (--set without --folds)"
        )
    cache = cache or settings.data_dir / "finetune" / "folds"
    questions, synthetic = [], []
    for set_dir in set_dirs:
        q, s = collect_set(settings, Path(set_dir), cache)
        questions += q
        synthetic += s
    own = model_dir.parent / "groups-train.jsonl"
    recipes = {"candidate": _recipe(info)}
    extra = {"candidate": read_groups(own) if own.exists() else []}
    current = serving(settings.data_dir, None if scope == "*" else scope)
    if current is not None and current.backend == "learned":
        current_info = model_info(Path(current.model))
        recipes["current"] = _recipe(current_info)
        current_own = Path(current.model).parent / "groups-train.jsonl"
        extra["current"] = read_groups(current_own) if current_own.exists() else []
    result = company_folds(questions, synthetic, recipes, extra)
    # The candidate as it would serve, on the questions it did not train on (a job given
    # labelled question sets trained on them; the folds above never test a fold on those).
    booster, _ = load_booster(model_dir)
    trained_on = {same_text(g.query) for g in extra["candidate"]}
    unseen = [g for g in questions if same_text(g.query) not in trained_on]
    if unseen:  # none when the job trained on every question of the sets
        as_trained = {g.qid: model_order(booster, g, info.get("window")) for g in unseen}
        result["pooled"]["candidate_as_trained"] = page_metrics(as_trained, unseen)
    metrics = {k: v for k, v in result["pooled"].items() if k != "candidate_as_trained"}
    passed, reasons = decide(metrics, margin)
    if current is not None and current.backend != "learned":
        passed = False
        reasons.append(
            f"a {current.backend} model serves this scope: compare on one held-out set instead"
        )
    texts = [q.question for set_dir in set_dirs for q in load_set(Path(set_dir)).questions]
    held_out = "company folds: " + ", ".join(str(Path(d)) for d in set_dirs)
    decision = _record(
        model_dir,
        info,
        backend="learned",
        scope=scope,
        held_out=held_out,
        result=result,
        metrics=result["pooled"],
        current=current,
        margin=margin,
        verdict=(passed, reasons),
        questions=texts,
    )
    return decision, result


def _record(
    model_dir: Path,
    info: dict,
    *,
    backend: str,
    scope: str,
    held_out: str,
    result: dict,
    metrics: dict,
    current: object,
    margin: Margin,
    verdict: tuple[bool, list[str]],
    questions: list[str],
) -> GateDecision:
    """The gate's decision (failed when held-out questions leaked into training), written
    beside the model as ``GATE_FILE``."""
    passed, reasons = verdict
    leaks = leaked_questions(info, questions)
    if leaks:
        passed = False
        reasons.append(
            f"{len(leaks)} held-out questions are in the training data, e.g. {leaks[0]!r}"
        )
    per_q = result["per_question"]
    decision = GateDecision(
        candidate=str(model_dir),
        backend=backend,
        scope=scope,
        held_out=held_out,
        n=result["n"],
        metrics=metrics,
        serving=getattr(current, "model", None),
        margin=margin,
        passed=passed,
        reasons=reasons,
        bootstrap_win_rate={
            b: bootstrap_win_rate(per_q["candidate"], per_q[b]) for b in per_q if b != "candidate"
        },
        dataset_version=str(info.get("dataset_version", "")),
        evaluated_at=datetime.now(UTC),
    )
    (model_dir.parent / GATE_FILE).write_text(decision.model_dump_json(indent=2))
    return decision
