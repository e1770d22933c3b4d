"""Training data, training and saving for the learned page ranker (:mod:`rerank.learned`).

Contract:

* :func:`collect_groups` retrieves each :class:`LabelledQuery` against an open corpus exactly as
  production does (resolver, hybrid search, page grouping; no filing given), hands every distinct
  chunk of the result to :func:`rerank.features.page_features` (not only the first
  :data:`~rerank.pages.DEFAULT_CANDIDATES` a text reranker reads: a retrieved page whose own chunks
  fall past that cut would be seen only as a neighbour, out of its retrieval place)
  and returns one :class:`RankGroup` per query: candidate pages, feature rows, 0/1 labels (a
  candidate page is relevant when it is one of the query's gold pages) and the retrieval's own page
  order, so a ranking can be scored against retrieval order on the very same candidates.
* :func:`train_ranker` fits LightGBM LambdaMART (``objective="lambdarank"``) on groups that hold
  at least one relevant candidate (the others carry no ranking signal) with fixed parameters
  (:data:`PARAMS`, chosen before any evaluation; :data:`ROUNDS` chosen on financebench-dev's
  company folds and confirmed on financebench-dev2's, README "Learned page ranker"). Real questions
  (labelled question sets, analysts' feedback, approved memory entries: any source but the
  ``synthetic-*`` miners) weigh as much in total as the synthetic queries
  (:func:`query_weights`): there are a few dozen of them against a thousand mined ones, and they
  are what the model will be asked.
* :func:`save_ranker` writes ``ranker.txt`` + ``finrag_model.json``, the folder
  :class:`rerank.learned.LearnedPageReranker` loads.
* :func:`labelled_queries` turns a training dataset (:mod:`finetune.dataset`: synthetic queries
  mined without an LLM, analysts' feedback, approved memory entries) into labelled queries: the
  relevant page is the page of the example's positive chunk (the page the synthetic question was
  generated from, or the cited page).
* :func:`page_order` is the ranked page list a model's scores give (the reranker's order, then the
  retrieved pages it did not see), and :func:`page_metrics` scores lists with R@5 and MRR.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.records import SearchFilters, TrainingExample
from rerank.features import FEATURES, page_features
from rerank.learned import INFO_FILE, MODEL_FILE, WINDOW, windowed
from retrieval.corpus import Corpus

PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 10,
    "num_threads": 1,
    "deterministic": True,
    "seed": 13,
    "verbose": -1,
}
# 200 of 100 / 200 rounds x learning rate 0.05 / 0.1 x leaves 7 / 15 x min leaf 20 / 50: best on
# dev's folds (MRR 0.604; PARAMS at 100 rounds 0.600), and on dev2's too (0.810 vs 0.801).
ROUNDS = 200


@dataclass
class LabelledQuery:
    qid: str
    query: str
    gold: list[tuple[str, int]]  # relevant (doc_id, page_no)
    company: str | None = None
    source: str = "synthetic"
    filters: SearchFilters | None = None


@dataclass
class RankGroup:
    qid: str
    query: str
    company: str | None
    source: str
    pages: list[tuple[str, int]]  # candidate pages, feature order
    rows: list[list[float]]
    labels: list[int]
    retrieval: list[tuple[str, int]]  # the retrieval's page order (top_k pages)
    gold: list[tuple[str, int]]
    extra: dict = field(default_factory=dict)

    @property
    def useful(self) -> bool:
        return any(self.labels)

    @classmethod
    def from_json(cls, data: dict) -> RankGroup:
        data = dict(data)
        for key in ("pages", "retrieval", "gold"):
            data[key] = [tuple(p) for p in data[key]]
        return cls(**data)


def collect_groups(
    corpus: Corpus,
    queries: Iterable[LabelledQuery],
    *,
    top_k: int = 10,
    candidates: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[RankGroup]:
    """Retrieve each query as production does and turn its candidates into a ranking group."""
    from retrieval.retriever import Retriever

    retriever = Retriever(corpus)
    acl = corpus.settings.default_acl
    out: list[RankGroup] = []
    for n, q in enumerate(queries, start=1):
        resolution = retriever.resolve(q.query, acl_groups=acl)
        hits, pages = retriever.search_corpus(
            q.query, resolution, acl_groups=acl, filters=q.filters, top_k=top_k
        )
        seen: set[str] = set()
        pool = []
        for hit in hits:
            if hit.chunk.chunk_id not in seen:
                seen.add(hit.chunk.chunk_id)
                pool.append(hit)
        cand, rows = page_features(q.query, pool[:candidates] if candidates else pool)
        gold = {tuple(g) for g in q.gold}
        out.append(
            RankGroup(
                qid=q.qid,
                query=q.query,
                company=q.company,
                source=q.source,
                pages=cand,
                rows=rows,
                labels=[int(p in gold) for p in cand],
                retrieval=[(p.doc_id, p.page_no) for p in pages],
                gold=sorted(gold),
            )
        )
        if progress is not None:
            progress(n)
    return out


def write_groups(groups: list[RankGroup], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(asdict(g)) for g in groups) + "\n")


def read_groups(path: Path) -> list[RankGroup]:
    return [RankGroup.from_json(json.loads(x)) for x in path.read_text().splitlines() if x.strip()]


def train_ranker(
    groups: list[RankGroup], params: dict[str, Any] | None = None, rounds: int = ROUNDS
) -> Any:
    """A LambdaMART booster fitted on the groups that hold a relevant candidate."""
    import lightgbm
    import numpy as np

    used = [g for g in groups if g.useful and len(g.pages) > 1]
    if not used:
        from core.errors import ConfigError

        raise ConfigError(
            "no training query had its relevant page among the retrieved candidates: nothing to "
            "learn from; add filings or queries"
        )
    x = np.asarray([row for g in used for row in g.rows], dtype=np.float64)
    y = np.asarray([label for g in used for label in g.labels], dtype=np.int32)
    weights = query_weights(used)
    w = np.asarray([weight for g, weight in zip(used, weights, strict=True) for _ in g.pages])
    data = lightgbm.Dataset(
        x, label=y, weight=w, group=[len(g.pages) for g in used], feature_name=list(FEATURES)
    )
    return lightgbm.train({**PARAMS, **(params or {})}, data, num_boost_round=rounds)


def is_synthetic(item: RankGroup | LabelledQuery) -> bool:
    """Mined by a ``synthetic-*`` miner, not asked by a person (labelled set, feedback, memory)."""
    return item.source.startswith("synthetic")


def query_weights(groups: list[RankGroup]) -> list[float]:
    """Per query: 1 for a synthetic query; for a real one, the synthetic-to-real ratio (at least
    1), so both kinds weigh the same in total. Chosen on principle, not tuned (README)."""
    real = sum(not is_synthetic(g) for g in groups)
    ratio = max(1.0, (len(groups) - real) / real) if real else 1.0
    return [1.0 if is_synthetic(g) else ratio for g in groups]


def save_ranker(booster: Any, folder: Path, info: dict[str, Any]) -> Path:
    """Write the model folder :class:`rerank.learned.LearnedPageReranker` loads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / MODEL_FILE))
    meta = {"backend": "learned", "features": list(FEATURES), "params": PARAMS, **info}
    (folder / INFO_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return folder


def page_order(group: RankGroup, scores: Iterable[float] | None) -> list[tuple[str, int]]:
    """Pages best first: the candidates by score (None: retrieval order), then the rest."""
    if scores is None:
        return list(group.retrieval)
    scored = list(scores)
    ranked = sorted(range(len(group.pages)), key=lambda i: (-scored[i], i))
    order = [group.pages[i] for i in ranked]
    return order + [p for p in group.retrieval if p not in set(order)]


def predict(booster: Any, group: RankGroup) -> list[float]:
    import numpy as np

    if not group.rows:
        return []
    return list(booster.predict(np.asarray(group.rows, dtype=np.float64), num_threads=1))


def page_metrics(orders: dict[str, list[tuple[str, int]]], groups: list[RankGroup]) -> dict:
    """R@5 (share of gold pages in the top 5), MRR (first gold page) and n, over ``groups``."""
    if not groups:
        return {"n": 0, "recall@5": 0.0, "mrr": 0.0}
    r5 = mrr = 0.0
    for g in groups:
        gold = set(g.gold)
        order = orders[g.qid]
        r5 += len(gold & set(order[:5])) / len(gold) if gold else 0.0
        mrr += next((1.0 / i for i, p in enumerate(order, 1) if p in gold), 0.0)
    n = len(groups)
    return {"n": n, "recall@5": round(r5 / n, 4), "mrr": round(mrr / n, 4)}


def per_query(orders: dict[str, list[tuple[str, int]]], groups: list[RankGroup]) -> dict:
    return {
        g.qid: next((1.0 / i for i, p in enumerate(orders[g.qid], 1) if p in set(g.gold)), 0.0)
        for g in groups
    }


def labelled_queries(
    examples: Iterable[TrainingExample],
    corpus: Corpus,
    max_queries: int | None = None,
    seed: int = 13,
) -> list[LabelledQuery]:
    """One labelled query per distinct query text: its positives' pages are the relevant pages."""
    ids = {e.positive_id for e in examples if e.positive_id}
    examples = list(examples)
    chunk_page = {c.chunk_id: (c.doc_id, c.page_no) for c in corpus.index.get_chunks(sorted(ids))}
    merged: dict[str, LabelledQuery] = {}
    for e in examples:
        page = chunk_page.get(e.positive_id)
        if page is None:
            continue
        q = merged.setdefault(
            e.query,
            LabelledQuery(
                qid=e.example_id, query=e.query, gold=[], company=e.company, source=e.source
            ),
        )
        if page not in q.gold:
            q.gold.append(page)
    queries = list(merged.values())
    # Feedback and memory first (they are few and real), then a seeded shuffle of the rest (so
    # any cut of the list is a sample of the whole filing, not its first pages).
    real = [q for q in queries if not is_synthetic(q)]
    rest = [q for q in queries if is_synthetic(q)]
    random.Random(seed).shuffle(rest)
    return (real + rest)[:max_queries] if max_queries is not None else real + rest


def model_order(booster: Any, group: RankGroup, window: int | None = WINDOW) -> list:
    """The pages in the order the model serves them (:func:`rerank.learned.windowed`)."""
    return page_order(group, windowed(group.rows, predict(booster, group), window))


def dev_report(booster: Any, groups: list[RankGroup], window: int | None = WINDOW) -> dict:
    """Retrieval order vs the model on held-out groups (the job's own dev split)."""
    base = {g.qid: page_order(g, None) for g in groups}
    model = {g.qid: model_order(booster, g, window) for g in groups}
    before, after = page_metrics(base, groups), page_metrics(model, groups)
    top1 = {
        name: round(sum(o[g.qid][:1] == [p] for g in groups for p in g.gold[:1]) / len(groups), 4)
        if groups
        else 0.0
        for name, o in (("before", base), ("after", model))
    }
    return {
        "initial_dev": {**before, "accuracy_at_1": top1["before"]},
        "final_dev": {**after, "accuracy_at_1": top1["after"]},
    }


def serving_ms(booster: Any, groups: list[RankGroup], rounds: int = 200) -> dict:
    """Per-question cost of features + prediction, replayed from stored rows (median, p95)."""
    import numpy as np

    times = []
    for g in groups[:rounds]:
        t = time.perf_counter()
        predict(booster, g)
        times.append((time.perf_counter() - t) * 1000)
    if not times:
        return {}
    p50, p95 = np.median(times), np.quantile(times, 0.95)
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3)}
