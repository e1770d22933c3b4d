"""Which fine-tuned reranker is in service, per company, and the record of every promotion.

Contract: ``settings.data_dir / "rerank" / "promoted.json"`` (the deployment's, not the shared
model cache's) maps a scope to the
:class:`PromotedModel` serving it: ``"*"`` for every question, or a ticker for that company's
questions only (the company stage of a fine-tuning job). ``promotions.jsonl`` beside it is
append-only: one line per promotion with the data, the metrics and who promoted it.

The ``auto`` reranker (:class:`PromotedReranker`, the default ``settings.rerank.name``) serves the
promoted model of the question's company (:meth:`PromotedReranker.for_company`), else the ``"*"``
one, else no reranker, reading the registry on every question so a promotion serves without a
restart; any other name is an explicit choice and wins over promotions. Writes go through a
temporary file and a rename, so a crash never leaves a half-written pointer.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from core.backends import RERANKERS
from core.options import PromotedRerankerOptions
from core.records import Hit
from rerank.base import BaseReranker, NoReranker, Reranker

ANY = "*"
_LOCK = threading.Lock()


class PromotedModel(BaseModel):
    backend: str  # a rerank.base.RERANKERS name, e.g. "cross-encoder"
    model: str  # the model folder
    scope: str = ANY  # "*" or a ticker
    promoted_at: datetime
    promoted_by: str
    dataset_version: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)  # candidate, on the held-out set
    baseline: dict[str, dict[str, float]] = Field(default_factory=dict)  # "none", "current"
    margin: dict[str, float] = Field(default_factory=dict)
    held_out: str = ""  # the evaluation set
    replaced: str | None = None  # the model folder it replaced


def registry_dir(data_dir: Path) -> Path:
    return data_dir / "rerank"


def promoted(data_dir: Path) -> dict[str, PromotedModel]:
    """Scope -> model in service (empty before the first promotion)."""
    path = registry_dir(data_dir) / "promoted.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {scope: PromotedModel.model_validate(record) for scope, record in data.items()}


def history(data_dir: Path) -> list[PromotedModel]:
    """Every promotion, oldest first."""
    path = registry_dir(data_dir) / "promotions.jsonl"
    if not path.exists():
        return []
    return [
        PromotedModel.model_validate_json(line)
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def record_promotion(data_dir: Path, record: PromotedModel) -> PromotedModel:
    """Put ``record`` in service for its scope and append it to the promotion history."""
    folder = registry_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        current = promoted(data_dir)
        old = current.get(record.scope)
        record = record.model_copy(update={"replaced": old.model if old else None})
        current[record.scope] = record
        tmp = folder / "promoted.json.tmp"
        tmp.write_text(
            json.dumps({k: v.model_dump(mode="json") for k, v in current.items()}, indent=2)
        )
        os.replace(tmp, folder / "promoted.json")
        with open(folder / "promotions.jsonl", "a") as log:
            log.write(record.model_dump_json() + "\n")
    return record


def serving(data_dir: Path, ticker: str | None = None) -> PromotedModel | None:
    """The promoted model a question about ``ticker`` (None: no single company) is reranked with."""
    current = promoted(data_dir)
    return (current.get(ticker.upper()) if ticker else None) or current.get(ANY)


class PromotedReranker(BaseReranker):
    """``auto``: the promoted fine-tuned model of the question's company, else none.

    Each promoted model folder is loaded once and kept (its weights are the expensive part); the
    registry file is read per question.
    """

    name = "auto"

    def __init__(
        self, settings: PromotedRerankerOptions | None = None, *, data_dir: Path, **_: object
    ) -> None:
        self.settings = settings or PromotedRerankerOptions()
        self.data_dir = Path(data_dir)
        self._loaded: dict[str, Reranker] = {}
        self._lock = threading.Lock()

    def for_company(self, ticker: str | None) -> Reranker:
        record = serving(self.data_dir, ticker)
        if record is None:
            return NoReranker()
        with self._lock:
            reranker = self._loaded.get(record.model)
            if reranker is None:
                # The promoted backend reads the same knobs (batch size, device, window...).
                options = RERANKERS.parse(
                    {**self.settings.model_dump(), "name": record.backend, "model": record.model}
                )
                reranker = RERANKERS.create(
                    record.backend, settings=options, data_dir=self.data_dir
                )
                self._loaded[record.model] = reranker
        return reranker

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        """The ``"*"`` model's order (a caller that knows the company asks :meth:`for_company`)."""
        return self.for_company(None).rerank(query, hits, top_k)
