"""A local Qwen-VL instruct model through transformers (LLM backend name ``transformers``).

Contract: the :class:`~agent.llm.base.LLM` protocol. ``generate(messages)`` renders the messages
with the checkpoint's own chat template (each message's images first, then its text, as Qwen-VL
expects), decodes greedily, and returns only the new text, without special tokens, stripped.

The model is ``settings.model`` (default :data:`DEFAULT_MODEL`), a local folder or a Hugging Face
id in the local cache; otherwise :class:`~core.errors.ModelNotAvailableError` names
``FINRAG_LLM__MODEL``. It loads on first use through :func:`core.models.load_vl_model` (bf16 on
CUDA, float32 on CPU) and is shared with any reranker using the same folder.

Example:
    >>> settings = TransformersLLMOptions(model="/models/Qwen3-VL-4B-Instruct")
    >>> llm = TransformersVLLLM(settings)  # doctest: +SKIP
    >>> question = Message(role="user", content="Total revenue?", images=["p12.png"])
    >>> llm.generate([question])  # doctest: +SKIP
    'Total revenue was $4.2 billion (page 12).'
"""

from __future__ import annotations

import logging
from typing import Any

from agent.llm.base import Message
from core.models import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    LoadedModel,
    generate_greedy,
    load_vl_model,
    resolve_model_path,
)
from core.options import TransformersLLMOptions

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen3-VL-4B-Instruct"
MODEL_SETTING = "FINRAG_LLM__MODEL"


class TransformersVLLLM:
    """Greedy chat generation with a local Qwen-VL-family model, text and page images."""

    name = "transformers"

    def __init__(
        self,
        settings: TransformersLLMOptions | None = None,
        *,
        device: str | None = None,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        models_dir: str | None = None,
        **_: object,
    ) -> None:
        self.settings = settings or TransformersLLMOptions()
        self.model_path = resolve_model_path(
            self.settings.model or DEFAULT_MODEL, setting=MODEL_SETTING, models_dir=models_dir
        )
        self.device = device or self.settings.device
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None) -> str:
        text = generate_greedy(
            self.loaded(),
            self.chat(messages),
            [path for message in messages for path in message.images],
            max_new_tokens=max_new_tokens or self.settings.max_new_tokens,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
        )
        return text.strip()

    @staticmethod
    def chat(messages: list[Message]) -> list[dict[str, Any]]:
        """Messages as chat-template input: content lists with images before the text."""
        chat = []
        for message in messages:
            content: list[dict[str, Any]] = [{"type": "image", "image": p} for p in message.images]
            content.append({"type": "text", "text": message.content})
            chat.append({"role": message.role, "content": content})
        return chat

    def loaded(self) -> LoadedModel:
        """The shared loaded model (loads on first call)."""
        return load_vl_model(
            str(self.model_path),
            kind="generation",
            setting=MODEL_SETTING,
            device=self.device,
            dtype=self.settings.dtype,
            attention=self.settings.attn_implementation,
        )
