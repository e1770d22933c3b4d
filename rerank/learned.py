"""``learned``: a LightGBM LambdaMART page ranker over retrieval's own signals.

Contract: :class:`LearnedPageReranker` loads a model folder (``ranker.txt``, a LightGBM booster,
and ``finrag_model.json`` with ``backend = "learned"`` and the feature names it was trained on),
scores every distinct page of the hits it is given (:func:`rerank.features.page_features`), and
returns the hits grouped by page, best page first, each page's chunks in their input order. A
hit's score is its page's score; ranks run from 1. Pages are never dropped (except by ``top_k``)
and ties keep the retrieval order. A model with a ``window`` (in its ``finrag_model.json``, 5 for
the jobs' models) reorders only the retrieval's first ``window`` pages and leaves every later page
in its retrieval place (:func:`windowed`): the pages retrieval put in its top five stay the top
five, so Recall@5 is retrieval's by construction, and the model decides which of them comes first.
Scoring reads only the hits: no index or model call beyond the booster, so a question costs a few
milliseconds (README, "Learned page ranker").

Models are written by :mod:`finetune.ranker` (:func:`save_ranker`) and served per company through
the promotion registry (:mod:`rerank.promoted`) like the other fine-tuned rerankers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ConfigError, ModelNotAvailableError
from core.options import LearnedRerankerOptions
from core.records import Hit
from rerank.base import BaseReranker
from rerank.features import FEATURES, page_features

MODEL_FILE = "ranker.txt"
INFO_FILE = "finrag_model.json"


def load_booster(folder: Path) -> tuple[Any, dict]:
    """The booster and the model info of ``folder`` (checked against :data:`FEATURES`)."""
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("the learned page ranker needs lightgbm: pip install lightgbm") from exc
    folder = Path(folder)
    if not (folder / MODEL_FILE).exists() or not (folder / INFO_FILE).exists():
        raise ModelNotAvailableError(
            f"{folder} holds no learned page ranker ({MODEL_FILE} and {INFO_FILE}); train one with "
            "`finrag finetune --backend learned ...` and pass its model/ folder"
        )
    info = json.loads((folder / INFO_FILE).read_text())
    if tuple(info.get("features", ())) != FEATURES:
        raise ConfigError(
            f"{folder} was trained on other features than this release computes; retrain it "
            "(`finrag finetune --backend learned ...`)"
        )
    return lightgbm.Booster(model_file=str(folder / MODEL_FILE)), info


WINDOW = 5  # the retrieval's pages a job's model may reorder (README, "Learned page ranker")


def retrieval_positions(rows: list[list[float]]) -> list[int]:
    """Each candidate page's place in the retrieval order (1 = first): pages with supporting hits
    in the order they came, then pages reached only as neighbours."""
    # By the best supporting chunk, not by first sight: a page seen first as another page's
    # neighbour keeps its own place in the retrieval order.
    hits, best, order = (FEATURES.index(f) for f in ("n_hits", "best_rank", "page_order"))
    ranked = sorted(
        range(len(rows)), key=lambda i: (rows[i][hits] == 0, rows[i][best], rows[i][order])
    )
    position = [0] * len(rows)
    for place, i in enumerate(ranked, start=1):
        position[i] = place
    return position


def windowed(rows: list[list[float]], scores, window: int | None) -> list[float]:
    """Page scores that put the retrieval's first ``window`` pages in the model's order (ties:
    retrieval order) and every later page after them in its retrieval place.

    ``window`` None or 0: the model orders every page (its raw scores).
    """
    scores = [float(x) for x in scores]
    if not window:
        return scores
    position = retrieval_positions(rows)
    inside = sorted(
        (i for i in range(len(rows)) if position[i] <= window),
        key=lambda i: (-scores[i], position[i]),
    )
    outside = sorted(
        (i for i in range(len(rows)) if position[i] > window), key=position.__getitem__
    )
    out = [0.0] * len(rows)
    for place, i in enumerate(inside + outside, start=1):
        out[i] = 1.0 / place
    return out


def order_by_scores(hits: list[Hit], pages: list[tuple[str, int]], scores) -> list[Hit]:
    """``hits`` grouped by page, pages by descending score (ties: input order)."""
    page_score = {p: float(s) for p, s in zip(pages, scores, strict=True)}
    position = {p: i for i, p in enumerate(pages)}
    ordered = sorted(
        enumerate(hits),
        key=lambda ih: (
            -page_score[(ih[1].chunk.doc_id, ih[1].chunk.page_no)],
            position[(ih[1].chunk.doc_id, ih[1].chunk.page_no)],
            ih[0],
        ),
    )
    return [
        h.model_copy(
            update={
                "score": page_score[(h.chunk.doc_id, h.chunk.page_no)],
                "source": "rerank",
                "rank": r,
            }
        )
        for r, (_, h) in enumerate(ordered, start=1)
    ]


class LearnedPageReranker(BaseReranker):
    """Pages reordered by a trained LambdaMART model (``settings.rerank.model`` = its folder)."""

    name = "learned"
    reads_every_hit = True  # features of every retrieved page, no text model (training did too)

    def __init__(self, settings: LearnedRerankerOptions | None = None, **_: object) -> None:
        self.settings = settings or LearnedRerankerOptions()
        if not self.settings.model:
            raise ModelNotAvailableError(
                "the learned page ranker needs a model folder: set FINRAG_RERANK__MODEL to the "
                "model/ folder of a `finrag finetune --backend learned` job"
            )
        self.booster, self.info = load_booster(Path(self.settings.model))

    def scores(self, query: str, hits: list[Hit]) -> tuple[list[tuple[str, int]], list[float]]:
        """The distinct pages of ``hits`` and the model's score for each."""
        import numpy as np

        pages, rows = page_features(query, hits)
        if not pages:
            return [], []
        raw = self.booster.predict(np.asarray(rows, dtype=np.float64), num_threads=1)
        return pages, windowed(rows, raw, self.info.get("window"))

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        if not hits:
            return []
        pages, scores = self.scores(query, hits)
        out = order_by_scores(hits, pages, scores)
        return out[:top_k] if top_k else out
