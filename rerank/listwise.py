"""Listwise reasoning reranker over page images, MM-R5 style (backend name ``listwise-vl``).

Contract: the :class:`~rerank.base.Reranker` protocol. One prompt shows the query and up to
``settings.window`` candidates numbered 1..N (page images and/or text); the model writes
``<think>reasoning</think><answer>[ids]</answer>`` (greedy decoding by default) and
:func:`parse_ranking` turns that into an order, repairing what it can:

* out-of-range and repeated ids are dropped;
* candidates the answer leaves out are appended in their input order;
* output with no usable id (no ``<answer>`` tag, empty list, garbage) keeps the input order.

More candidates than the window are ranked with RankGPT's sliding window: windows of ``window``
candidates, stride ``window // 2``, from the bottom of the list up, each window's order written
back before the next (so a strong candidate bubbles up from the bottom to the top). The last
window always starts at the top.

Speed: decoding keeps the KV cache; ``settings.max_reasoning_tokens`` caps the reasoning (the
answer's :func:`answer_tokens` come on top), and ``settings.compile`` asks for a static cache
compiled with torch.compile (CUDA only). :meth:`ListwiseVLReranker.rerank_many` reranks several
queries at once: their sliding windows advance in step, and the same step's windows go into one
left-padded ``generate`` call, up to ``settings.window_batch`` windows at a time. A query's own
windows cannot share a call (each window reads the order the previous one wrote), so one query
gets no batching; the orders are those of :meth:`ListwiseVLReranker.rerank` one query at a time.

Output hits carry ``source="rerank"``, ranks from 1, and score ``1 / rank`` (listwise output has no
calibrated score). ``last_reasoning`` holds the reasoning of the window that fixed the top of the
list for the last query, and ``last_windows`` one :class:`WindowResult` per generated window, so
the UI can show why a page was ranked first.

The prompt is MM-R5's (system prompt and question template from its repository's
``examples/reranker.py``); candidates are introduced as ``\\nImage {i}: `` followed by the image, or
``\\nDocument {i}: {text}`` for text. Any Qwen-VL-family checkpoint loads through
``AutoModelForImageTextToText`` / ``AutoProcessor`` (MM-R5 itself is a Qwen2.5-VL-7B).

Example:
    >>> settings = ListwiseRerankerOptions(name="listwise-vl", model="/models/MM-R5")
    >>> r = ListwiseVLReranker(settings)  # doctest: +SKIP
    >>> top = r.rerank("What was 2023 revenue?", page_hits)  # doctest: +SKIP
    >>> r.last_reasoning  # doctest: +SKIP
    'Image 3 shows the consolidated statement of operations with 2023 revenue ...'
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigError
from core.models import (
    DEFAULT_MIN_PIXELS,
    LoadedModel,
    generate_greedy_batch,
    load_vl_model,
    resolve_model_path,
)
from core.options import ListwiseRerankerOptions
from core.records import Hit
from rerank.base import BaseReranker
from rerank.pointwise import cut_to_tokens, document_image, document_text, reranked

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "i2vec/MM-R5"
MODEL_SETTING = "FINRAG_RERANK__MODEL"
MAX_CANDIDATE_TOKENS = 512  # per text candidate: N of them share one prompt

SYSTEM_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves "
    "it. The assistant first thinks about the reasoning process in the mind and then provides the "
    "user with the answer. The reasoning process and answer are enclosed within <think> </think> "
    "and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think>"
    "<answer> answer here </answer>"
)
QUESTION_TEMPLATE = (
    "Please rank the following {kind}s according to their relevance to the question. "
    "Provide your response in the format: <think>your reasoning process here</think>"
    "<answer>[{kind}_id_1, {kind}_id_2, ...]</answer> where the numbers in the list represent the "
    "ranking order of {kind}s'id from most to least relevant. Before outputting the answer, you "
    "need to analyze each {kind} and provide your analysis process."
    "For example: <think>{Kind} 1 shows the most relevant content because...</think>"
    "<answer>[id_most_relevant, id_second_relevant, ...]</answer>"
    "\nThe question is: {question}"
    "\n\nThere are {n} {kind}s, id from 1 to {n}, {Kind} ID to {kind} mapping:\n"
)

_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_ID = re.compile(r"\d+")


def parse_ranking(text: str, n: int) -> tuple[list[int], str, bool]:
    """The 0-based order of ``n`` candidates from a model's ``<think>/<answer>`` output.

    Args:
        text: the generated text.
        n: how many candidates the prompt numbered 1..n.

    Returns:
        ``(order, reasoning, ok)``: ``order`` is a permutation of ``range(n)``; ``reasoning`` the
        ``<think>`` content (or the text before ``<answer>``), stripped; ``ok`` is True when the
        answer named at least one valid id, i.e. the order comes from the model (possibly
        repaired), False when it fell back to the input order.

    Example:
        >>> parse_ranking("<think>p3 has it</think><answer>[3, 1, 3, 9]</answer>", 3)
        ([2, 0, 1], 'p3 has it', True)
    """
    think = _THINK.search(text)
    answers = _ANSWER.findall(text)
    # Without <think>, the reasoning is whatever precedes the answer (or the whole text).
    reasoning = think.group(1) if think else (text.split("<answer>", 1)[0] if answers else text)
    reasoning = reasoning.strip()
    order: list[int] = []
    if answers:
        for token in _ID.findall(answers[-1]):
            index = int(token) - 1
            if 0 <= index < n and index not in order:
                order.append(index)
    if not order:
        return list(range(n)), reasoning, False
    order += [i for i in range(n) if i not in order]
    return order, reasoning, True


@dataclass
class WindowResult:
    """One generated window: which input positions it covered and what the model said."""

    start: int
    end: int
    chunk_ids: list[str]
    order: list[int]  # 0-based within the window
    reasoning: str
    ok: bool
    raw: str = field(repr=False, default="")


def answer_tokens(n: int) -> int:
    """Tokens allowed after the reasoning: ``</think><answer>[..n ids..]</answer>`` with room."""
    return 16 + 4 * n


def window_spans(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """RankGPT's windows over ``n`` items, bottom first, the last one ``(0, window)``."""
    if n <= window:
        return [(0, n)]
    spans = []
    end = n
    while end - window > 0:
        spans.append((end - window, end))
        end -= stride
    spans.append((0, window))  # a full window at the top, even where the stride overshoots
    return spans


class ListwiseVLReranker(BaseReranker):
    """Generates a ranking of page images / passages with a reasoning VLM (MM-R5 style)."""

    name = "listwise-vl"

    def __init__(
        self,
        settings: ListwiseRerankerOptions | None = None,
        *,
        max_new_tokens: int | None = None,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        # ~1000 visual tokens per page: five letter pages at 100 dpi then fit in ~5k tokens
        max_pixels: int = 1024 * 28 * 28,
        models_dir: str | None = None,
        **_: object,
    ) -> None:
        self.settings = settings or ListwiseRerankerOptions()
        if self.settings.window < 2:
            raise ConfigError(
                f"FINRAG_RERANK__WINDOW={self.settings.window}: a listwise window needs at least 2 "
                "candidates (5 is MM-R5's training setting)."
            )
        self.model_path = resolve_model_path(
            self.settings.model or DEFAULT_MODEL, setting=MODEL_SETTING, models_dir=models_dir
        )
        # Generated tokens per window: the reasoning cap plus the answer (an explicit value wins).
        self.max_new_tokens = max_new_tokens or (
            self.settings.max_reasoning_tokens + answer_tokens(self.settings.window)
        )
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.last_reasoning: str | None = None
        self.last_windows: list[WindowResult] = []

    def rerank(self, query: str, hits: list[Hit], top_k: int | None = None) -> list[Hit]:
        return self.rerank_many([(query, hits)], top_k)[0]

    def rerank_many(
        self, requests: list[tuple[str, list[Hit]]], top_k: int | None = None
    ) -> list[list[Hit]]:
        """:meth:`rerank` for several (query, hits) requests, their windows generated together.

        ``last_windows`` and ``last_reasoning`` describe the last request afterwards.
        """
        self.last_reasoning = None
        self.last_windows = []
        window = self.settings.window
        current = [list(hits) for _, hits in requests]
        spans = [window_spans(len(hits), window, max(1, window // 2)) for hits in current]
        spans = [
            [(a, b) for a, b in query_spans if b - a >= 2] if current[q] else []
            for q, query_spans in enumerate(spans)
        ]
        results: list[list[WindowResult]] = [[] for _ in requests]
        group = max(1, self.settings.window_batch)
        for step in range(max((len(s) for s in spans), default=0)):
            due = [(q, spans[q][step]) for q in range(len(requests)) if step < len(spans[q])]
            for begin in range(0, len(due), group):
                chunk = due[begin : begin + group]
                parts = [current[q][a:b] for q, (a, b) in chunk]
                raws = self.generate_many(
                    [(requests[q][0], part) for (q, _), part in zip(chunk, parts, strict=True)]
                )
                for (q, (a, b)), part, raw in zip(chunk, parts, raws, strict=True):
                    order, reasoning, ok = parse_ranking(raw, len(part))
                    if not ok:
                        logger.warning(
                            "listwise reranker: no usable ranking in the output for window %d:%d; "
                            "keeping its order (output starts %r)",
                            a,
                            b,
                            raw[:120],
                        )
                    ids = [h.chunk.chunk_id for h in part]
                    results[q].append(WindowResult(a, b, ids, order, reasoning, ok, raw))
                    current[q][a:b] = [part[i] for i in order]
        if results:
            self.last_windows = results[-1]
            self.last_reasoning = results[-1][-1].reasoning if results[-1] else None
        return [
            reranked(hits, [1.0 / rank for rank in range(1, len(hits) + 1)], top_k)
            for hits in current
        ]

    def messages(self, query: str, hits: list[Hit]) -> list[dict[str, Any]]:
        """The MM-R5 chat for one window of candidates."""
        shown = [(document_image(h, self.settings.document_mode), h) for h in hits]
        all_images = all(image is not None for image, _ in shown)
        kind = "image" if all_images else "candidate"
        content: list[dict[str, Any]] = [
            {
                "type": "text",
                "text": QUESTION_TEMPLATE.format(
                    kind=kind, Kind=kind.capitalize(), question=query, n=len(hits)
                ),
            }
        ]
        tokenizer = self.loaded().tokenizer
        for number, (image, hit) in enumerate(shown, start=1):
            text = cut_to_tokens(tokenizer, document_text(hit, image), MAX_CANDIDATE_TOKENS)
            if image is not None:
                content.append({"type": "text", "text": f"\nImage {number}: "})
                content.append({"type": "image", "image": image})
                if text:
                    content.append({"type": "text", "text": f" {text}"})
            else:
                content.append({"type": "text", "text": f"\nDocument {number}: {text}"})
        return [
            {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
            {"role": "user", "content": content},
        ]

    def generate(self, query: str, hits: list[Hit]) -> str:
        """The model's raw output for one window (greedy decoding)."""
        return self.generate_many([(query, hits)])[0]

    def generate_many(self, windows: list[tuple[str, list[Hit]]]) -> list[str]:
        """Raw outputs for several (query, window of hits), in one ``generate`` call."""
        chats = [self.messages(query, hits) for query, hits in windows]
        images = [
            [i["image"] for i in chat[1]["content"] if i["type"] == "image"] for chat in chats
        ]
        return generate_greedy_batch(
            self.loaded(),
            chats,
            images,
            max_new_tokens=self.max_new_tokens,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
            static_cache=self.settings.compile,
        )

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
