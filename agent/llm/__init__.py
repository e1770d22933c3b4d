"""LLM backends for the agent, chosen by name from ``settings.llm.name`` (see :mod:`agent.llm.base`)."""
