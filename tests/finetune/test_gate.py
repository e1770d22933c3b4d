"""The promotion gate on a small held-out set: a worse model refused, a better one promoted once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import FinragError
from core.options import HashEmbedderOptions
from core.records import Hit
from core.settings import Settings
from finetune.gate import (
    GateDecision,
    Margin,
    bootstrap_win_rate,
    decide,
    evaluate_candidate,
    promote,
)
from rerank.base import RERANKERS, BaseReranker, NoReranker, build_reranker
from rerank.pages import rerank_pages
from rerank.promoted import history, promoted, serving
from tests.fixtures.sample_set import QUESTIONS, write_sample_set

GOLD = {(q["doc"], p) for q in QUESTIONS for p in q["evidence_pages"]}


class Reverse(BaseReranker):
    """Worst case: the retrieval order upside down."""

    name = "reverse"

    def __init__(self, settings=None, **_):
        pass

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        out = [
            h.model_copy(update={"rank": i, "source": "rerank"})
            for i, h in enumerate(reversed(hits), 1)
        ]
        return out[:top_k] if top_k else out


class Oracle(Reverse):
    """Best case: chunks on a gold page first (reads the answer key; stands in for a good model)."""

    name = "oracle"

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        ordered = sorted(hits, key=lambda h: (h.chunk.file_name, h.chunk.page_no) not in GOLD)
        return [
            h.model_copy(update={"rank": i, "source": "rerank"}) for i, h in enumerate(ordered, 1)
        ]


@pytest.fixture(autouse=True)
def backends():
    RERANKERS.register("test-reverse")(Reverse)
    RERANKERS.register("test-oracle")(Oracle)
    yield
    for name in ("test-reverse", "test-oracle"):
        RERANKERS.unregister(name)


@pytest.fixture
def settings(tmp_path, model_cache):
    # the gate's plumbing is under test, not the embedder
    settings = Settings(
        data_dir=tmp_path / "corpus", model_cache=model_cache, embedder=HashEmbedderOptions()
    )
    settings.ingest.workers = 1
    return settings


@pytest.fixture(scope="module")
def held_out(tmp_path_factory, sample_folder):
    set_dir = tmp_path_factory.mktemp("held-out")
    write_sample_set(set_dir, sample_folder)
    return set_dir


def _model(folder: Path, backend: str) -> Path:
    model = folder / "model"
    model.mkdir(parents=True)
    (model / "finrag_model.json").write_text(
        json.dumps({"backend": backend, "dataset_version": "v-test"})
    )
    return model


def test_a_worse_model_is_refused_and_a_better_one_promoted_once(settings, held_out, tmp_path):
    worse = _model(tmp_path / "worse", "test-reverse")
    decision, result = evaluate_candidate(settings, worse, held_out)
    assert not decision.passed
    assert decision.metrics["candidate"]["mrr"] < decision.metrics["none"]["mrr"]
    assert any("below the margin" in r for r in decision.reasons)
    with pytest.raises(FinragError, match="the gate refused"):
        promote(settings, worse, by="ml-eng")
    assert promoted(settings.data_dir) == {}

    better = _model(tmp_path / "better", "test-oracle")
    decision, _ = evaluate_candidate(settings, better, held_out)
    assert decision.metrics["candidate"]["mrr"] == 1.0
    if decision.metrics["none"]["mrr"] > 1.0 - Margin().mrr:
        pytest.skip("retrieval alone is already perfect on this set; nothing to gain")
    assert decision.passed, decision.reasons
    with pytest.raises(FinragError, match="who promotes"):
        promote(settings, better, by=" ")
    record = promote(settings, better, by="ml-eng")
    assert record.promoted_by == "ml-eng" and record.metrics["mrr"] == 1.0
    assert serving(settings.data_dir).model == str(better.resolve())
    assert [h.model for h in history(settings.data_dir)] == [str(better.resolve())]
    assert isinstance(build_reranker(settings).for_company(None), Oracle)  # "auto" serves it

    # Against the model now serving, a same-quality candidate gains nothing: refused.
    again = _model(tmp_path / "again", "test-oracle")
    decision, _ = evaluate_candidate(settings, again, held_out)
    assert decision.serving == str(better.resolve()) and "current" in decision.metrics
    assert not decision.passed and any("vs current" in r for r in decision.reasons)


def test_promotion_refuses_a_stale_or_missing_decision(settings, tmp_path):
    model = _model(tmp_path / "m", "test-oracle")
    with pytest.raises(FinragError, match="has not been evaluated"):
        promote(settings, model, by="x")
    decision = GateDecision(
        candidate=str(model.resolve()),
        backend="test-oracle",
        scope="*",
        held_out="set",
        n=3,
        metrics={"none": {"mrr": 0.5, "recall@5": 1.0}, "candidate": {"mrr": 1.0, "recall@5": 1.0}},
        serving="/somewhere/else",
        margin=Margin(),
        passed=True,
        evaluated_at="2026-11-26T00:00:00Z",
    )
    (model.parent / "gate.json").write_text(decision.model_dump_json())
    with pytest.raises(FinragError, match="serving model changed"):
        promote(settings, model, by="x")


def test_decide_and_bootstrap():
    metrics = {
        "none": {"mrr": 0.50, "recall@5": 0.60},
        "candidate": {"mrr": 0.53, "recall@5": 0.60},
    }
    assert decide(metrics, Margin()) == (True, [])
    metrics["candidate"]["recall@5"] = 0.567
    ok, reasons = decide(metrics, Margin())
    assert not ok and "Recall@5" in reasons[0]
    metrics["candidate"] = {"mrr": 0.51, "recall@5": 0.60}
    assert not decide(metrics, Margin())[0]  # +0.01 MRR is inside the noise of one question
    assert bootstrap_win_rate({"a": 1.0, "b": 1.0}, {"a": 0.0, "b": 0.5}) == 1.0
    assert bootstrap_win_rate({"a": 0.0}, {"a": 1.0}) == 0.0


def test_auto_without_a_promotion_is_no_reranker_and_explicit_names_win(settings):
    auto = build_reranker(settings)
    assert auto.name == "auto" and isinstance(auto.for_company(None), NoReranker)
    assert isinstance(auto.for_company("NWR"), NoReranker)
    explicit = settings.model_copy(update={"rerank": RERANKERS.parse("test-reverse")})
    assert isinstance(build_reranker(explicit).for_company("NWR"), Reverse)


def test_company_scope_is_served_for_that_company_only(settings, tmp_path):
    from datetime import UTC, datetime

    from rerank.promoted import PromotedModel, record_promotion

    general = record_promotion(
        settings.data_dir,
        PromotedModel(
            backend="test-reverse",
            model="/m/general",
            promoted_at=datetime.now(UTC),
            promoted_by="a",
        ),
    )
    company = record_promotion(
        settings.data_dir,
        PromotedModel(
            backend="test-oracle",
            model="/m/nwr",
            scope="NWR",
            promoted_at=datetime.now(UTC),
            promoted_by="a",
        ),
    )
    assert serving(settings.data_dir, "nwr").model == company.model
    assert serving(settings.data_dir, "CFCO").model == general.model
    assert serving(settings.data_dir).model == general.model
    replaced = record_promotion(
        settings.data_dir,
        PromotedModel(
            backend="test-oracle",
            model="/m/general2",
            promoted_at=datetime.now(UTC),
            promoted_by="b",
        ),
    )
    assert replaced.replaced == "/m/general" and len(history(settings.data_dir)) == 3


def test_rerank_pages_keeps_every_retrieved_page():
    from core.records import Chunk

    def hit(doc: str, page: int, rank: int) -> Hit:
        chunk = Chunk(
            chunk_id=f"{doc}{page}-{rank}", doc_id=doc, page_no=page, modality="text", text="x"
        )
        return Hit(chunk=chunk, score=1.0, source="fused", rank=rank)

    hits = [hit("a", 1, 1), hit("a", 2, 2), hit("b", 7, 3)]
    pages = [("a", 1), ("a", 2), ("b", 7), ("c", 9)]
    assert rerank_pages("q", hits, pages, NoReranker()) == pages
    assert rerank_pages("q", hits, pages, Reverse(), candidates=2) == [
        ("a", 2),
        ("a", 1),
        ("b", 7),
        ("c", 9),
    ]
