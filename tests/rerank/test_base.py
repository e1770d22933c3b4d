"""The model-free rerankers: ``none`` and ``auto`` (the promoted model per company, else none)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.backends import RERANKERS
from core.errors import UnknownBackendError
from core.settings import Settings
from rerank.base import NoReranker, build_reranker
from rerank.promoted import PromotedModel, PromotedReranker, record_promotion
from tests.conformance.rerankers import QUERY, RerankerConformance, conformance_hits


class TestNoRerankerConformance(RerankerConformance):
    @pytest.fixture
    def reranker(self):
        return NoReranker()


class TestPromotedRerankerConformance(RerankerConformance):
    """``auto`` with nothing promoted: every company is served in retrieval order."""

    @pytest.fixture
    def reranker(self, tmp_path):
        return PromotedReranker(RERANKERS.parse("auto"), data_dir=tmp_path)


def test_auto_serves_each_companys_promoted_model(tmp_path):
    class Reverse(NoReranker):
        name = "test-reverse-auto"

        def rerank(self, query, hits, top_k=None):
            ordered = [h.model_copy(update={"rank": i}) for i, h in enumerate(reversed(hits), 1)]
            return ordered[:top_k] if top_k else ordered

    RERANKERS.register("test-reverse-auto")(Reverse)
    try:
        record_promotion(
            tmp_path,
            PromotedModel(
                backend="test-reverse-auto",
                model="/m/nwr",
                scope="NWR",
                promoted_at=datetime.now(UTC),
                promoted_by="ml-eng",
            ),
        )
        auto = build_reranker(Settings(data_dir=tmp_path))
        served = auto.for_company("nwr")
        assert isinstance(served, Reverse) and auto.for_company("nwr") is served  # loaded once
        assert isinstance(auto.for_company("CFCO"), NoReranker)  # no model for this company
        assert [h.chunk.chunk_id for h in served.rerank(QUERY, conformance_hits())][0] == "c4"
    finally:
        RERANKERS.unregister("test-reverse-auto")


def test_an_unknown_reranker_fails_when_settings_load():
    with pytest.raises(UnknownBackendError, match="known rerankers: auto, cross-encoder"):
        Settings(rerank={"name": "cross_encoder"})
