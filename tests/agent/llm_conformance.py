"""Tests every LLM backend must pass, as a mixin (the pattern of haystack's DocumentStoreBaseTests).

A backend's test module subclasses :class:`LLMConformance` in a ``Test...`` class and provides an
``llm`` fixture returning a ready backend; pytest then runs these tests against it::

    class TestMyLLMConformance(LLMConformance):
        @pytest.fixture
        def llm(self, my_server):
            return MyLLM(MyOptions(url=my_server.url))

The checks are the :class:`~agent.llm.base.LLM` protocol as the answerer relies on it: a ``name``,
``generate`` returning the reply as a stripped ``str`` for a one-message and a system+user chat,
and ``max_new_tokens`` bounding the reply. A backend whose tokens can hold more than one word
overrides :meth:`LLMConformance.count_tokens`.
"""

from __future__ import annotations

from agent.llm.base import LLM, Message

QUESTION = Message(role="user", content="What was total revenue in fiscal 2023?")
SYSTEM = Message(role="system", content="Answer from the filing, briefly.")


class LLMConformance:
    """Mixin: subclasses provide an ``llm`` fixture (not collected alone: no ``Test`` prefix)."""

    def count_tokens(self, llm: LLM, text: str) -> int:
        """An upper bound on the tokens ``text`` took; words, since no tokenizer merges two."""
        return len(text.split())

    def test_name_is_set(self, llm: LLM) -> None:
        assert isinstance(llm.name, str) and llm.name

    def test_generate_returns_a_stripped_str_for_one_message(self, llm: LLM) -> None:
        reply = llm.generate([QUESTION])
        assert isinstance(reply, str)
        assert reply == reply.strip()

    def test_generate_with_a_system_and_a_user_message(self, llm: LLM) -> None:
        reply = llm.generate([SYSTEM, QUESTION])
        assert isinstance(reply, str)
        assert reply == reply.strip()

    def test_generate_respects_max_new_tokens(self, llm: LLM) -> None:
        for budget in (1, 3):
            reply = llm.generate([SYSTEM, QUESTION], max_new_tokens=budget)
            assert isinstance(reply, str)
            assert self.count_tokens(llm, reply) <= budget, (budget, reply)
