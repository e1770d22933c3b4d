"""The reranking stage's contract.

A :class:`Reranker` reorders the hits of one query. It returns new :class:`~core.records.Hit`
objects with ``source="rerank"``, ranks from 1, and scores that are comparable within the call
(higher is better). A reasoning reranker fills ``last_reasoning`` so the UI can show why a page
was ranked first (every other backend leaves it None). :meth:`Reranker.for_company` names the
reranker that serves questions about one company: a fixed backend serves every company itself,
``auto`` (the default, :mod:`rerank.promoted`) serves each company's promoted fine-tuned model.
Backends are chosen by name from ``settings.rerank.name`` through :data:`RERANKERS`
(:mod:`core.backends`); ``none`` keeps the retrieval order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from core.backends import RERANKERS
from core.options import NoRerankerOptions
from core.records import Chunk, Hit

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["RERANKERS", "BaseReranker", "NoReranker", "Reranker", "build_reranker", "passage_text"]


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
    last_reasoning: str | None  # why the last order was chosen (reasoning rerankers only)
    # Scores every retrieved chunk cheaply (no model reads text): evaluation hands it the whole
    # pool, as the agent does, instead of the first candidates a text reranker reads.
    reads_every_hit: bool

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        """Reorder ``hits`` for ``query``; keep at most ``top_k`` (all when None)."""
        ...

    def for_company(self, ticker: str | None) -> Reranker:
        """The reranker serving questions about ``ticker`` (None: no single company)."""
        ...


class BaseReranker:
    """What every backend shares: no reasoning, and one model for every company."""

    name: str
    last_reasoning: str | None = None
    reads_every_hit: bool = False

    def for_company(self, ticker: str | None) -> Reranker:
        return self  # type: ignore[return-value]


class NoReranker(BaseReranker):
    """Keeps the fused retrieval order (the CPU default until a fine-tuned reranker ships)."""

    name = "none"

    def __init__(self, settings: NoRerankerOptions | None = None, **_: object) -> None:
        pass

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        return hits[:top_k] if top_k else list(hits)


def build_reranker(settings: Settings) -> Reranker:
    """The reranker ``settings.rerank`` names, for the corpus of ``settings.data_dir``."""
    options = settings.rerank
    return RERANKERS.create(options.name, settings=options, data_dir=settings.data_dir)
