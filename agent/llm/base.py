"""The LLM contract used by the answering agent.

An :class:`LLM` turns chat messages (text, optionally with page images) into text. Backends:
``openai`` (any OpenAI-compatible endpoint), ``transformers`` (a local Qwen-VL instruct model) and
the offline ``extractive`` answerer. Backends are chosen by name through :data:`LLMS`.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field

from core.registry import Registry


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    images: list[str] = Field(default_factory=list)  # local image paths shown with this message


class LLM(Protocol):
    name: str

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None) -> str:
        """The assistant's reply to ``messages`` (greedy unless the backend is told otherwise)."""
        ...


LLMS: Registry[LLM] = Registry("llm")
LLMS.register_lazy("transformers", "agent.llm.transformers_vl:TransformersVLLLM")
LLMS.register_lazy("openai", "agent.llm.openai_compat:OpenAICompatLLM")
