"""What every :class:`rerank.base.Reranker` backend must do, whatever its model.

A backend's test module subclasses :class:`RerankerConformance` and provides a ``reranker``
fixture (the pattern of haystack's ``DocumentStoreBaseTests``). The checks are about the contract,
not quality: a reranker reorders the hits it is given, never invents or drops one (except to honour
``top_k``), ranks from 1, is deterministic, and names the reranker that serves a company.
"""

from __future__ import annotations

import pytest

from core.records import Chunk, Hit

QUERY = "What was total revenue in fiscal 2023?"
TEXTS = [
    "Total revenue was $2,255.4 million in fiscal 2023, up 19.7% from fiscal 2022.",
    "The company leases its headquarters in Austin, Texas.",
    "Net income was $310.5 million in fiscal 2023.",
    "Risk factors: supply chain disruptions may affect production.",
    "Revenue by segment: Robotics 1,402.1; Services 853.3 (in millions).",
]


def conformance_hits() -> list[Hit]:
    """Five text hits in retrieval order (ranks 1..5, scores falling)."""
    return [
        Hit(
            chunk=Chunk(chunk_id=f"c{i}", doc_id="d", page_no=i + 1, modality="text", text=text),
            score=1.0 - i / 10,
            source="fused",
            rank=i + 1,
        )
        for i, text in enumerate(TEXTS)
    ]


class RerankerConformance:
    """Subclass and provide a ``reranker`` fixture."""

    @pytest.fixture
    def reranker(self):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def test_has_a_name_and_no_reasoning_before_a_call(self, reranker):
        assert isinstance(reranker.name, str) and reranker.name
        assert reranker.last_reasoning is None or isinstance(reranker.last_reasoning, str)

    def test_nothing_in_nothing_out(self, reranker):
        assert reranker.rerank(QUERY, []) == []

    def test_reorders_without_inventing_or_dropping(self, reranker):
        hits = conformance_hits()
        out = reranker.rerank(QUERY, hits)
        assert sorted(h.chunk.chunk_id for h in out) == sorted(h.chunk.chunk_id for h in hits)
        assert [h.rank for h in out] == list(range(1, len(hits) + 1))
        assert all(
            h.chunk == {x.chunk.chunk_id: x for x in hits}[h.chunk.chunk_id].chunk for h in out
        )

    def test_top_k_keeps_the_best(self, reranker):
        full = reranker.rerank(QUERY, conformance_hits())
        top = reranker.rerank(QUERY, conformance_hits(), top_k=2)
        assert [h.chunk.chunk_id for h in top] == [h.chunk.chunk_id for h in full[:2]]

    def test_is_deterministic(self, reranker):
        first = [h.chunk.chunk_id for h in reranker.rerank(QUERY, conformance_hits())]
        again = [h.chunk.chunk_id for h in reranker.rerank(QUERY, conformance_hits())]
        assert first == again

    def test_reasoning_is_text_or_none_after_a_call(self, reranker):
        reranker.rerank(QUERY, conformance_hits())
        assert reranker.last_reasoning is None or isinstance(reranker.last_reasoning, str)

    def test_names_the_reranker_serving_a_company(self, reranker):
        for ticker in (None, "NWR"):
            serving = reranker.for_company(ticker)
            out = serving.rerank(QUERY, conformance_hits())
            assert len(out) == len(TEXTS) and isinstance(serving.name, str)
