"""Which fine-tuned reranker is in service, per company, and the record of every promotion.

Contract: ``settings.data_dir / "rerank" / "promoted.json"`` (the deployment's, not the shared
model cache's) maps a scope to the
:class:`PromotedModel` serving it: ``"*"`` for every question, or a ticker for that company's
questions only (the company stage of a fine-tuning job). ``promotions.jsonl`` beside it is
append-only: one line per promotion with the data, the metrics and who promoted it.

With ``settings.rerank.name == "auto"`` (the default) :func:`reranker_for` serves the promoted
model of the question's company, else the ``"*"`` one, else no reranker; any other name is an
explicit choice and wins over promotions. Writes go through a temporary file and a rename, so a
crash never leaves a half-written pointer.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.settings import RerankSettings, Settings
from rerank.base import NoReranker, Reranker, get_reranker

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


def registry_dir(settings: Settings) -> Path:
    return settings.data_dir / "rerank"


def promoted(settings: Settings) -> dict[str, PromotedModel]:
    """Scope -> model in service (empty before the first promotion)."""
    path = registry_dir(settings) / "promoted.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {scope: PromotedModel.model_validate(record) for scope, record in data.items()}


def history(settings: Settings) -> list[PromotedModel]:
    """Every promotion, oldest first."""
    path = registry_dir(settings) / "promotions.jsonl"
    if not path.exists():
        return []
    return [
        PromotedModel.model_validate_json(line)
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def record_promotion(settings: Settings, record: PromotedModel) -> PromotedModel:
    """Put ``record`` in service for its scope and append it to the promotion history."""
    folder = registry_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        current = promoted(settings)
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


def serving(settings: Settings, ticker: str | None = None) -> PromotedModel | None:
    """The promoted model a question about ``ticker`` (None: no single company) is reranked with."""
    current = promoted(settings)
    return (current.get(ticker.upper()) if ticker else None) or current.get(ANY)


def reranker_for(
    settings: Settings, ticker: str | None = None, cache: dict[str, Any] | None = None
) -> Reranker:
    """The reranker for a question: an explicit ``settings.rerank.name``, else the promoted one.

    ``cache`` (model folder -> reranker) lets a long-lived caller load each model once.
    """
    if settings.rerank.name != "auto":
        return get_reranker(settings.rerank)
    record = serving(settings, ticker)
    if record is None:
        return NoReranker()
    if cache is not None and record.model in cache:
        return cache[record.model]
    reranker = get_reranker(
        RerankSettings(
            **{**settings.rerank.model_dump(), "name": record.backend, "model": record.model}
        )
    )
    if cache is not None:
        cache[record.model] = reranker
    return reranker
