"""TransformersVLLLM on the tiny random Qwen3-VL: chat rendering, greedy decoding, new text only."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm.base import Message
from core.options import TransformersLLMOptions
from tests.agent.llm_conformance import LLMConformance
from tests.fixtures import tiny_qwen
from tests.fixtures.tiny_qwen import write_test_image

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the pytest fixture, registered in this module


@pytest.fixture
def llm(tiny_qwen_dir: Path):
    from agent.llm.transformers_vl import TransformersVLLLM

    return TransformersVLLLM(
        TransformersLLMOptions(model=str(tiny_qwen_dir), max_new_tokens=6), device="cpu"
    )


class TestTransformersConformance(LLMConformance):
    """The shared LLM checks; the ``llm`` fixture is the module's tiny random Qwen3-VL."""


def _manual(llm, chat, images, max_new_tokens: int) -> tuple[str, int]:
    """Reference: template, processor, greedy generate, decode what follows the prompt."""
    from core.models import prepare_image

    loaded = llm.loaded()
    prompt = loaded.processor.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    pixels = [prepare_image(p, patch_factor=loaded.patch_factor) for p in images]
    encoded = loaded.processor(
        text=[prompt], images=pixels or None, do_resize=False, return_tensors="pt"
    )
    with torch.inference_mode():
        out = loaded.model.generate(**encoded, do_sample=False, max_new_tokens=max_new_tokens)
    new = out[0, encoded["input_ids"].shape[1] :]
    return loaded.processor.decode(new, skip_special_tokens=True).strip(), len(new)


def test_chat_puts_images_before_text_and_keeps_roles() -> None:
    from agent.llm.transformers_vl import TransformersVLLLM

    chat = TransformersVLLLM.chat(
        [
            Message(role="system", content="Be brief."),
            Message(role="user", content="Q?", images=["a.png"]),
        ]
    )
    assert chat == [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [{"type": "image", "image": "a.png"}, {"type": "text", "text": "Q?"}],
        },
    ]


def test_generate_returns_only_the_new_greedy_text(llm) -> None:
    messages = [
        Message(role="system", content="Answer briefly."),
        Message(role="user", content="What was total revenue in 2023?"),
    ]
    reply = llm.generate(messages)
    expected, generated = _manual(llm, llm.chat(messages), [], max_new_tokens=6)
    assert reply == expected and reply  # the tiny model emits real (random) tokens
    assert 1 <= generated <= 6  # settings.max_new_tokens is the default budget
    assert "revenue in 2023" not in reply and "<|im_start|>" not in reply
    assert llm.generate(messages) == reply  # greedy: deterministic
    longer = llm.generate(messages, max_new_tokens=10)
    assert longer == _manual(llm, llm.chat(messages), [], max_new_tokens=10)[0]


def test_generate_with_a_page_image(llm, tmp_path: Path) -> None:
    page = str(write_test_image(tmp_path / "page.png", seed=5))
    messages = [Message(role="user", content="What does this page show?", images=[page])]
    reply = llm.generate(messages, max_new_tokens=8)
    assert reply == _manual(llm, llm.chat(messages), [page], max_new_tokens=8)[0]
    assert reply != llm.generate(
        [Message(role="user", content="What does this page show?")], max_new_tokens=8
    )


def test_registry_builds_the_backend(tiny_qwen_dir, tmp_path) -> None:
    from agent.llm.transformers_vl import TransformersVLLLM
    from core.backends import ANSWERERS
    from core.errors import ModelNotAvailableError

    built = ANSWERERS.create(
        "transformers", settings=TransformersLLMOptions(model=str(tiny_qwen_dir))
    )
    assert isinstance(built.llm, TransformersVLLLM)
    with pytest.raises(ModelNotAvailableError, match="FINRAG_LLM__MODEL"):
        ANSWERERS.create("transformers", settings=TransformersLLMOptions(model=str(tmp_path / "x")))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_generate_on_cuda(tiny_qwen_dir, tmp_path: Path) -> None:
    from agent.llm.transformers_vl import TransformersVLLLM

    llm = TransformersVLLLM(TransformersLLMOptions(model=str(tiny_qwen_dir)), device="cuda")
    page = str(write_test_image(tmp_path / "page.png", seed=5))
    reply = llm.generate(
        [Message(role="user", content="What does this page show?", images=[page])], max_new_tokens=8
    )
    assert isinstance(reply, str) and llm.loaded().device.type == "cuda"
