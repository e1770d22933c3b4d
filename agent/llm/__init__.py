"""Generative LLM backends the answerer wraps (``openai``, ``transformers``; see
:mod:`agent.llm.base` and :mod:`agent.answerer`)."""
