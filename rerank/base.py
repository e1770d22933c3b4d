"""The reranking stage's contract.

A :class:`Reranker` reorders the hits of one query. It returns new :class:`~core.records.Hit`
objects with ``source="rerank"``, ranks from 1, and scores that are comparable within the call
(higher is better). A reasoning reranker may fill ``last_reasoning`` so the UI can show why a page
was ranked first. Backends are chosen by name from ``settings.rerank.name`` via :data:`RERANKERS`;
``none`` keeps the retrieval order; ``auto`` (the default) is resolved by :mod:`rerank.promoted`.
"""

from __future__ import annotations

from typing import Protocol

from core.records import Chunk, Hit
from core.registry import Registry
from core.settings import RerankSettings


def passage_text(chunk: Chunk) -> str:
    """What a text reranker reads for a chunk: where it comes from, then its text.

    The filing (company, form, fiscal year) and the section heading are what a question names
    ("Amcor's FY2023 cash flow statement") and what a bare table chunk lacks; training data
    (:mod:`finetune.dataset`) and inference use this same text.
    """
    filing = " ".join(
        str(x)
        for x in (
            chunk.company,
            chunk.form,
            f"FY{chunk.fiscal_year}" if chunk.fiscal_year else None,
            chunk.fiscal_period if chunk.fiscal_period not in (None, "FY") else None,
        )
        if x
    )
    section = " > ".join(chunk.section_path[-2:])
    head = " | ".join(x for x in (filing, section) if x)
    return f"{head}\n{chunk.text}" if head else chunk.text


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        """Reorder ``hits`` for ``query``; keep at most ``top_k`` (all when None)."""
        ...


class NoReranker:
    """Keeps the fused retrieval order (the CPU default until a fine-tuned reranker ships)."""

    name = "none"

    def __init__(self, settings: RerankSettings | None = None, **_: object) -> None:
        self.last_reasoning: str | None = None

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        return hits[:top_k] if top_k else list(hits)


RERANKERS: Registry[Reranker] = Registry("reranker")
RERANKERS.register("none")(NoReranker)
RERANKERS.register_lazy("qwen3-vl", "rerank.pointwise:Qwen3VLReranker")
RERANKERS.register_lazy("listwise-vl", "rerank.listwise:ListwiseVLReranker")
RERANKERS.register_lazy("cross-encoder", "rerank.cross_encoder:CrossEncoderReranker")
RERANKERS.register_lazy("qwen3-vl-lora", "rerank.lora:LoraReranker")


def get_reranker(settings: RerankSettings) -> Reranker:
    return RERANKERS.create(settings.name, settings=settings)
