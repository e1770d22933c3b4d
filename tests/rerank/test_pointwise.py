"""Qwen3VLReranker on the tiny random Qwen3-VL: prompt, yes/no scoring, batching, documents.

Also pins the production token ids of the real Qwen vocabulary (from the ``dashscope`` wheel).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from core.backends import RERANKERS
from core.options import Qwen3VLRerankerOptions
from core.records import Chunk, Hit
from tests.conformance.rerankers import RerankerConformance
from tests.fixtures import tiny_qwen
from tests.fixtures.tiny_qwen import QWEN_SPLIT, write_test_image

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the pytest fixture, registered in this module


def make_hit(i: int, text: str, *, modality: str = "text", image: str | None = None) -> Hit:
    chunk = Chunk(
        chunk_id=f"c{i}", doc_id="d", page_no=i + 1, modality=modality, text=text, image_path=image
    )
    return Hit(chunk=chunk, score=1.0 / (i + 1), source="fused", rank=i + 1)


@pytest.fixture
def hits(tmp_path: Path) -> list[Hit]:
    page = str(write_test_image(tmp_path / "page.png", seed=3))
    figure = str(write_test_image(tmp_path / "figure.png", size=(128, 96), seed=4))
    return [
        make_hit(0, "Net income increased 12% to $4.2 billion."),
        make_hit(1, "page text that is not shown", modality="page", image=page),
        make_hit(2, "Revenue by segment", modality="figure", image=figure),
        make_hit(3, "| Total assets | 10 |", modality="table", image=figure),
        make_hit(4, "yes"),
    ]


def make_reranker(model: Path, device: str = "cpu", **overrides):
    from rerank.pointwise import Qwen3VLReranker

    return Qwen3VLReranker(Qwen3VLRerankerOptions(model=str(model), device=device, **overrides))


def test_prompt_matches_the_reference_format(tiny_qwen_dir, hits) -> None:
    rendered = make_reranker(tiny_qwen_dir).render("What was net income?", hits[0])
    assert rendered == (
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query "
        'and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n'
        "<|im_start|>user\n<Instruct>: Given a question about companies' financial filings, "
        "retrieve the filing pages and passages that answer the question.<Query>:What was net "
        "income?\n<Document>:Net income increased 12% to $4.2 billion.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_documents_show_images_for_pages_and_figures(tiny_qwen_dir, hits) -> None:
    auto = make_reranker(tiny_qwen_dir)
    vision = "<|vision_start|><|image_pad|><|vision_end|>"
    assert auto.render("q", hits[1]).endswith(
        f"<Document>:{vision}<|im_end|>\n<|im_start|>assistant\n"
    )
    assert f"<Document>:{vision}Revenue by segment<|im_end|>" in auto.render("q", hits[2])
    assert "<Document>:| Total assets | 10 |<|im_end|>" in auto.render("q", hits[3])  # table: text

    text_only = make_reranker(tiny_qwen_dir, document_mode="text")
    assert "<Document>:page text that is not shown<|im_end|>" in text_only.render("q", hits[1])
    images = make_reranker(tiny_qwen_dir, document_mode="image")
    assert f"<Document>:{vision}| Total assets | 10 |" in images.render("q", hits[3])
    assert "<Document>:Net income" in images.render("q", hits[0])  # no image file: text


def test_score_is_sigmoid_of_yes_minus_no_at_the_last_position(tiny_qwen_dir, hits) -> None:
    model = make_reranker(tiny_qwen_dir)
    loaded = model.loaded()
    yes, no = model.judgement_ids()
    assert (yes, no) == (
        loaded.tokenizer.convert_tokens_to_ids("yes"),
        loaded.tokenizer.convert_tokens_to_ids("no"),
    )
    scores = model.score("What was net income?", hits)
    for hit, score in zip(hits, scores, strict=True):
        encoded = model.encode("What was net income?", [hit])
        assert bool(encoded["attention_mask"].all())
        with torch.inference_mode():
            logits = loaded.model(**encoded).logits[0, -1].float()  # full logits, no shortcut
        expected = torch.sigmoid(logits[yes] - logits[no]).item()
        assert score == pytest.approx(expected, abs=1e-6)
        assert 0.0 < score < 1.0


def test_batches_are_left_padded_and_equal_single_pairs(tiny_qwen_dir, hits) -> None:
    batched = make_reranker(tiny_qwen_dir, batch_size=5)
    encoded = batched.encode("q", hits)
    mask = encoded["attention_mask"]
    assert bool(mask[:, -1].all()) and not bool(mask[:, 0].all())
    single = make_reranker(tiny_qwen_dir, batch_size=1)
    np.testing.assert_allclose(batched.score("q", hits), single.score("q", hits), atol=1e-5)
    assert len(set(np.round(single.score("q", hits), 8))) == len(
        hits
    )  # distinct inputs, distinct scores


def test_rerank_sorts_by_score_and_marks_the_source(tiny_qwen_dir, hits) -> None:
    model = make_reranker(tiny_qwen_dir)
    scores = model.score("What was net income?", hits)
    out = model.rerank("What was net income?", hits)
    assert [h.chunk.chunk_id for h in out] == [
        hits[i].chunk.chunk_id for i in np.argsort(-np.array(scores), kind="stable")
    ]
    assert [h.rank for h in out] == [1, 2, 3, 4, 5]
    assert all(h.source == "rerank" for h in out)
    assert [h.score for h in out] == sorted(scores, reverse=True)
    assert [h.chunk.chunk_id for h in model.rerank("What was net income?", hits, top_k=2)] == [
        h.chunk.chunk_id for h in out[:2]
    ]
    assert model.rerank("q", []) == []
    assert hits[0].source == "fused"  # inputs are not modified


def test_cut_to_tokens_keeps_whole_tokens(tiny_qwen_dir) -> None:
    from rerank.pointwise import cut_to_tokens

    tokenizer = make_reranker(tiny_qwen_dir).loaded().tokenizer
    text = "Total assets, total liabilities and shareholders' equity at December 31."
    cut = cut_to_tokens(tokenizer, text, 4)
    assert text.startswith(cut) and len(tokenizer(cut, add_special_tokens=False)["input_ids"]) == 4
    assert cut_to_tokens(tokenizer, text, 10_000) == text and cut_to_tokens(tokenizer, "", 4) == ""


def test_registry_builds_the_backend(tiny_qwen_dir) -> None:
    from rerank.pointwise import Qwen3VLReranker

    built = RERANKERS.create("qwen3-vl", settings=Qwen3VLRerankerOptions(model=str(tiny_qwen_dir)))
    assert isinstance(built, Qwen3VLReranker)


def test_a_missing_model_names_the_setting(tmp_path) -> None:
    from core.errors import ModelNotAvailableError

    with pytest.raises(ModelNotAvailableError, match="FINRAG_RERANK__MODEL"):
        make_reranker(tmp_path / "absent")


@pytest.mark.skipif(
    importlib.util.find_spec("dashscope") is None or importlib.util.find_spec("tiktoken") is None,
    reason="the real Qwen vocabulary comes from the dashscope wheel (test dependency: "
    "pip install dashscope tiktoken)",
)
def test_production_qwen_vocabulary_ids() -> None:
    """The ids the real checkpoints use, from qwen.tiktoken (Apache-2.0) via TikTokenConverter."""
    import importlib.resources

    from transformers.convert_slow_tokenizer import TikTokenConverter

    vocab = importlib.resources.files("dashscope").joinpath("resources/qwen.tiktoken")
    specials = [
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|object_ref_start|>",
        "<|object_ref_end|>",
        "<|box_start|>",
        "<|box_end|>",
        "<|quad_start|>",
        "<|quad_end|>",
        "<|vision_start|>",
        "<|vision_end|>",
        "<|vision_pad|>",
        "<|image_pad|>",
        "<|video_pad|>",
    ]
    tokenizer = TikTokenConverter(
        vocab_file=str(vocab), pattern=QWEN_SPLIT, extra_special_tokens=specials
    ).converted()
    assert tokenizer.token_to_id("<|image_pad|>") == 151655
    assert tokenizer.token_to_id("<|vision_start|>") == 151652
    assert tokenizer.encode("yes").ids == [9693]
    assert tokenizer.encode("no").ids == [2152]
    # the token the embedder pools: the newline closing "<|im_start|>assistant\n"
    assert tokenizer.encode("<|im_start|>assistant\n").ids == [151644, 77091, 198]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_scores_match_cpu_and_batching(tiny_qwen_dir, hits) -> None:
    cpu = make_reranker(tiny_qwen_dir, device="cpu").score("What was net income?", hits)
    cuda_batched = make_reranker(tiny_qwen_dir, device="cuda", batch_size=5)
    assert str(cuda_batched.loaded().dtype) == "torch.bfloat16"
    batched = cuda_batched.score("What was net income?", hits)
    single = make_reranker(tiny_qwen_dir, device="cuda", batch_size=1).score(
        "What was net income?", hits
    )
    np.testing.assert_allclose(batched, single, atol=2e-2)
    np.testing.assert_allclose(batched, cpu, atol=3e-2)


class TestPointwiseConformance(RerankerConformance):
    @pytest.fixture
    def reranker(self, tiny_qwen_dir):
        return make_reranker(tiny_qwen_dir)


def test_pages_are_decoded_once_per_query_batch(tiny_qwen_dir, hits, monkeypatch) -> None:
    import rerank.pointwise as pointwise

    decoded: list[str] = []
    real = pointwise.prepare_image

    def spy(image, **kwargs):
        decoded.append(str(image))
        return real(image, **kwargs)

    monkeypatch.setattr(pointwise, "prepare_image", spy)
    model = make_reranker(tiny_qwen_dir, batch_size=4, document_mode="image")
    queries = ["What was net income?", "Revenue by segment?", "Total assets?"]
    matrix = model.score_many(queries, hits)
    images = [h.chunk.image_path for h in hits if model.document(h)[0] is not None]
    assert len(images) == 3 and len(set(images)) == 2  # the table shows the figure's file too
    assert sorted(decoded) == sorted(set(images))  # once per file for 3 queries x 5 hits
    # the same scores as one query at a time, one pair at a time
    single = make_reranker(tiny_qwen_dir, batch_size=1, preprocess_workers=0, document_mode="image")
    for query, row in zip(queries, matrix, strict=True):
        np.testing.assert_allclose(row, single.score(query, hits), atol=1e-5)
    assert model.score_many([], hits) == [] and model.score_many(queries, []) == [[], [], []]
