"""Qwen3-VL-Reranker: pointwise yes/no relevance (backend name ``qwen3-vl``).

Contract: the :class:`~rerank.base.Reranker` protocol. Each (query, hit) pair is judged on its
own; the score is ``sigmoid(logit("yes") - logit("no"))`` at the last position of the prompt, in
(0, 1), higher is more relevant. Hits come back sorted by score (ties keep their input order) as
new :class:`~core.records.Hit` objects with ``source="rerank"`` and ranks from 1.

The prompt follows the model's reference code (``Qwen3VLReranker`` in the Qwen3-VL-Embedding
repository; vLLM's ``qwen3_vl_reranker.jinja`` renders the same text):

* system: the Judge prompt (:data:`JUDGE_PROMPT`);
* user: ``<Instruct>: {instruction}<Query>:{query}\\n<Document>:{image}{text}``, the parts being
  separate content items that the chat template joins without separators;
* the checkpoint's generation prompt, so the next token is the judgement. For Qwen3-VL-Reranker
  that is ``<|im_start|>assistant\\n`` with no think block: the empty ``<think>\\n\\n</think>``
  belongs to the text-only Qwen3-Reranker's hand-written suffix, not to the VL model's template.

A hit is shown as its image (``chunk.image_path``) when ``settings.document_mode`` is ``image``,
or ``auto`` and the hit is a page or figure whose image file exists; page images go alone (their
text would repeat the page), figure crops go with their caption text. Otherwise the chunk text is
shown, cut to :data:`MAX_DOCUMENT_TOKENS`.

Pairs are scored in batches of ``settings.batch_size`` with left padding, so that the last
position of every row is its real last token; the model computes logits for that position only.
:meth:`Qwen3VLReranker.score_many` scores several queries against the same hits: each hit's
image is decoded and resized once for the whole call (not once per pair), and its text cut once.
While the model scores batch k, ``settings.preprocess_workers`` threads build batch k+1 (chat
template, images, processor), which reaches the GPU through pinned memory.

Example:
    >>> from core.options import Qwen3VLRerankerOptions
    >>> settings = Qwen3VLRerankerOptions(name="qwen3-vl", model="/models/Qwen3-VL-Reranker-2B")
    >>> r = Qwen3VLReranker(settings)  # doctest: +SKIP
    >>> [h.rank for h in r.rerank("What was 2023 revenue?", hits, top_k=3)]  # doctest: +SKIP
    [1, 2, 3]
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ModelNotAvailableError
from core.models import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    LoadedModel,
    load_vl_model,
    prepare_image,
    resolve_model_path,
)
from core.options import Qwen3VLRerankerOptions
from core.prefetch import prefetched, to_device
from core.records import Hit
from rerank.base import BaseReranker

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen3-VL-Reranker-2B"
MODEL_SETTING = "FINRAG_RERANK__MODEL"
JUDGE_PROMPT = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".'
)
INSTRUCTION = (
    "Given a question about companies' financial filings, retrieve the filing pages and passages "
    "that answer the question."
)
MAX_DOCUMENT_TOKENS = 2048


def document_image(hit: Hit, mode: str) -> str | None:
    """The image file to show for ``hit`` under ``mode`` (auto | text | image), or None for text."""
    path = hit.chunk.image_path
    if mode == "text" or not path or not Path(path).is_file():
        if mode == "image" and path:
            logger.warning(
                "image %s of chunk %s is missing; showing its text", path, hit.chunk.chunk_id
            )
        return None
    if mode == "image" or hit.chunk.modality in ("page", "figure"):
        return path
    return None


def document_text(hit: Hit, image: str | None) -> str:
    """The text shown with (or instead of) the image: none for a page image, else the chunk text."""
    if image is not None and hit.chunk.modality == "page":
        return ""
    return hit.chunk.text


def cut_to_tokens(tokenizer: Any, text: str, limit: int) -> str:
    """``text`` cut at a token boundary so that it holds at most ``limit`` tokens."""
    if not text:
        return text
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    if len(offsets) <= limit:
        return text
    return text[: offsets[limit - 1][1]]


def reranked(hits: list[Hit], scores: list[float], top_k: int | None) -> list[Hit]:
    """New hits sorted by score (stable), ``source="rerank"``, ranks from 1, cut to ``top_k``."""
    order = sorted(range(len(hits)), key=lambda i: -scores[i])
    if top_k:
        order = order[:top_k]
    return [
        Hit(chunk=hits[i].chunk, score=float(scores[i]), source="rerank", rank=rank)
        for rank, i in enumerate(order, start=1)
    ]


class Qwen3VLReranker(BaseReranker):
    """Pointwise multimodal reranker scoring sigmoid(yes - no) with Qwen3-VL-Reranker."""

    name = "qwen3-vl"

    def __init__(
        self,
        settings: Qwen3VLRerankerOptions | None = None,
        *,
        instruction: str = INSTRUCTION,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        models_dir: str | None = None,
        **_: object,
    ) -> None:
        self.settings = settings or Qwen3VLRerankerOptions()
        self.model_path = resolve_model_path(
            self.settings.model or DEFAULT_MODEL, setting=MODEL_SETTING, models_dir=models_dir
        )
        self.instruction = instruction
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        if not hits:
            return []
        return reranked(hits, self.score(query, hits), top_k)

    def score(self, query: str, hits: list[Hit]) -> list[float]:
        """sigmoid(logit yes - logit no) for each hit, in input order."""
        return self.score_many([query], hits)[0] if hits else []

    def score_many(self, queries: list[str], hits: list[Hit]) -> list[list[float]]:
        """One row of scores per query over the same ``hits`` (each page decoded once).

        Pairs go query by query into batches of ``settings.batch_size``; the scores equal
        :meth:`score` called for each query.
        """
        if not queries or not hits:
            return [[] for _ in queries]
        import torch

        loaded = self.loaded()
        yes, no = self.judgement_ids()
        documents = _Documents(self, hits)
        pairs = [(query, index) for query in queries for index in range(len(hits))]
        batch = max(1, self.settings.batch_size)
        batches = [pairs[start : start + batch] for start in range(0, len(pairs), batch)]
        flat: list[float] = []
        prepared = prefetched(
            batches, documents.encode_on_host, workers=self.settings.preprocess_workers
        )
        with torch.inference_mode():
            for host in prepared:
                encoded = to_device(host, loaded.device)
                logits = loaded.model(**encoded, logits_to_keep=1).logits[:, -1, :].float()
                flat += torch.sigmoid(logits[:, yes] - logits[:, no]).tolist()
        return [flat[row * len(hits) : (row + 1) * len(hits)] for row in range(len(queries))]

    def document(self, hit: Hit) -> tuple[str | None, str]:
        """What shows ``hit``: its image file (or None) and its text, cut to the token budget."""
        image = document_image(hit, self.settings.document_mode)
        text = cut_to_tokens(
            self.loaded().tokenizer, document_text(hit, image), MAX_DOCUMENT_TOKENS
        )
        return image, text

    def messages(
        self, query: str, hit: Hit, document: tuple[str | None, str] | None = None
    ) -> list[dict[str, Any]]:
        """The chat for one pair (the reference code's ``format_mm_instruction``)."""
        image, text = document or self.document(hit)
        content: list[dict[str, Any]] = [
            {"type": "text", "text": "<Instruct>: " + self.instruction},
            {"type": "text", "text": "<Query>:"},
            {"type": "text", "text": query or "NULL"},
            {"type": "text", "text": "\n<Document>:"},
        ]
        if image is not None:
            content.append({"type": "image", "image": image})
        if text or image is None:
            content.append({"type": "text", "text": text or "NULL"})
        return [
            {"role": "system", "content": [{"type": "text", "text": JUDGE_PROMPT}]},
            {"role": "user", "content": content},
        ]

    def render(self, query: str, hit: Hit) -> str:
        """The prompt string for one pair (before image tokens are expanded)."""
        return self.loaded().processor.apply_chat_template(
            self.messages(query, hit), tokenize=False, add_generation_prompt=True
        )

    def encode(self, query: str, hits: list[Hit]) -> Any:
        """Left-padded processor outputs for a batch of pairs, on the model's device."""
        documents = _Documents(self, hits)
        host = documents.encode_on_host([(query, i) for i in range(len(hits))])
        return to_device(host, self.loaded().device)

    def judgement_ids(self) -> tuple[int, int]:
        """Token ids of "yes" and "no" (9693 and 2152 in the Qwen vocabulary)."""
        vocab = self.loaded().tokenizer.get_vocab()
        try:
            return vocab["yes"], vocab["no"]
        except KeyError:
            raise ModelNotAvailableError(
                f"{self.model_path} has no single 'yes'/'no' tokens, so it is not a "
                f"Qwen3-VL-Reranker style model; set {MODEL_SETTING} to a Qwen3-VL-Reranker folder."
            ) from None

    def loaded(self) -> LoadedModel:
        """The shared loaded model (loads on first call)."""
        return load_vl_model(
            str(self.model_path),
            kind="generation",
            setting=MODEL_SETTING,
            device=self.settings.device,
            dtype=self.settings.dtype,
            attention=self.settings.attn_implementation,
        )

    @property
    def attention(self) -> str:
        """The attention implementation the model runs with (loads it): ``sdpa``, ..."""
        return self.loaded().attention


class _Documents:
    """The hits of one scoring call, each shown, decoded and resized at most once."""

    def __init__(self, reranker: Qwen3VLReranker, hits: list[Hit]) -> None:
        self.reranker = reranker
        self.loaded = reranker.loaded()
        self.hits = hits
        self.shown = [reranker.document(hit) for hit in hits]
        self._images: dict[str, Image.Image] = {}
        self._lock = threading.Lock()

    def image(self, path: str) -> Image.Image:
        with self._lock:  # one decode per file even with several preprocessing threads
            if path not in self._images:
                self._images[path] = prepare_image(
                    path,
                    patch_factor=self.loaded.patch_factor,
                    min_pixels=self.reranker.min_pixels,
                    max_pixels=self.reranker.max_pixels,
                )
            return self._images[path]

    def encode_on_host(self, pairs: list[tuple[str, int]]) -> Any:
        """Left-padded processor outputs for (query, hit index) pairs, in host memory."""
        processor = self.loaded.processor
        texts, images = [], []
        for query, index in pairs:
            chat = self.reranker.messages(query, self.hits[index], self.shown[index])
            texts.append(
                processor.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            )
            images += [
                self.image(item["image"]) for item in chat[1]["content"] if item["type"] == "image"
            ]
        return processor(
            text=texts,
            images=images or None,
            padding=True,
            padding_side="left",
            do_resize=False,
            return_tensors="pt",
        )
