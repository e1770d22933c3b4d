"""The LLM contract used by the answering agent.

An :class:`LLM` turns chat messages (text, optionally with page images) into text. Backends:
``openai`` (any OpenAI-compatible endpoint) and ``transformers`` (a local Qwen-VL instruct model).
The agent reaches them through its answerer (:class:`agent.answerer.GroundedAnswerer`), chosen by
``settings.llm.name`` in :data:`core.backends.ANSWERERS` beside the model-free ``extractive`` one.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    images: list[str] = Field(default_factory=list)  # local image paths shown with this message


class LLM(Protocol):
    name: str

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None) -> str:
        """The assistant's reply to ``messages`` (greedy unless the backend is told otherwise)."""
        ...
