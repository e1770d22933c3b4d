"""ListwiseVLReranker: answer parsing, RankGPT sliding window, MM-R5 prompt, one real generation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.backends import RERANKERS
from core.options import ListwiseRerankerOptions
from core.records import Chunk, Hit
from rerank.listwise import parse_ranking, window_spans
from tests.conformance.rerankers import RerankerConformance
from tests.fixtures import tiny_qwen
from tests.fixtures.tiny_qwen import write_test_image

tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the pytest fixture, registered in this module


def make_hit(i: int, text: str, *, modality: str = "text", image: str | None = None) -> Hit:
    chunk = Chunk(
        chunk_id=f"c{i}", doc_id="d", page_no=i + 1, modality=modality, text=text, image_path=image
    )
    return Hit(chunk=chunk, score=1.0, source="fused", rank=i + 1)


@pytest.mark.parametrize(
    ("text", "n", "order", "ok"),
    [
        ("", 3, [0, 1, 2], False),
        ("<think>page 2 has the table</think> I think [2, 1, 3]", 3, [0, 1, 2], False),  # no tag
        ("<think>x</think><answer>[2, 3, 1]</answer>", 3, [1, 2, 0], True),
        ("<answer>[3, 1]</answer>", 3, [2, 0, 1], True),  # partial: the rest in input order
        ("<answer>3,1</answer>", 4, [2, 0, 1, 3], True),
        ("<answer>Doc 3 > Doc 1</answer>", 3, [2, 0, 1], True),
        ("<answer>[Image 2, Image 2, Image 1]</answer>", 3, [1, 0, 2], True),  # repeats dropped
        ("<answer>[7, 0, 2, -1]</answer>", 3, [1, 0, 2], True),  # out of range dropped
        ("<answer>[9, 12]</answer>", 3, [0, 1, 2], False),  # nothing valid: input order
        ("<answer>[]</answer>", 2, [0, 1], False),
        ("<answer>none of them</answer>", 2, [0, 1], False),
        ("<think>a</think>\n<answer>[2, 1]</answer> Also, image 1 is close.", 2, [1, 0], True),
        ("<answer>[1]</answer> retry <answer>[2, 1]</answer>", 2, [1, 0], True),  # last answer wins
        ("<think>unterminated reasoning <answer>[2", 3, [1, 0, 2], True),  # cut off by max tokens
        ("<ANSWER>[2,1]</ANSWER>", 2, [1, 0], True),
        ("garbage \n\n\x00 ids", 4, [0, 1, 2, 3], False),
    ],
)
def test_parse_ranking_repairs_or_falls_back(text: str, n: int, order: list[int], ok: bool) -> None:
    parsed, _, parsed_ok = parse_ranking(text, n)
    assert (parsed, parsed_ok) == (order, ok)
    assert sorted(parsed) == list(range(n))


def test_parse_ranking_extracts_the_reasoning() -> None:
    assert parse_ranking("<think> Image 2 shows revenue. </think><answer>[2,1]</answer>", 2)[1] == (
        "Image 2 shows revenue."
    )
    assert (
        parse_ranking("Image 2 shows revenue.<answer>[2,1]</answer>", 2)[1]
        == "Image 2 shows revenue."
    )
    assert parse_ranking("just words", 2)[1] == "just words"


def test_window_spans_go_bottom_up_and_end_at_the_top() -> None:
    assert window_spans(10, 5, 2) == [(5, 10), (3, 8), (1, 6), (0, 5)]
    assert window_spans(6, 5, 2) == [(1, 6), (0, 5)]
    assert window_spans(5, 5, 2) == [(0, 5)]
    assert window_spans(3, 5, 2) == [(0, 3)]
    assert window_spans(8, 4, 2) == [(4, 8), (2, 6), (0, 4)]


@pytest.fixture
def oracle_reranker(tiny_qwen_dir, monkeypatch):
    """A listwise reranker whose 'model' ranks by the relevance number written in each chunk."""
    from rerank.listwise import ListwiseVLReranker

    reranker = ListwiseVLReranker(ListwiseRerankerOptions(model=str(tiny_qwen_dir), window=5))

    def fake_generate(query: str, hits: list[Hit]) -> str:
        calls.append(1)
        relevance = [int(re.search(r"rel=(\d+)", h.chunk.text).group(1)) for h in hits]
        ranked = sorted(range(len(hits)), key=lambda i: -relevance[i])
        best = hits[ranked[0]].chunk.chunk_id
        ids = ", ".join(str(i + 1) for i in ranked)
        return f"<think>{best} is the most relevant</think><answer>[{ids}]</answer>"

    calls: list[int] = []
    reranker.generate_calls = calls
    monkeypatch.setattr(
        reranker, "generate_many", lambda windows: [fake_generate(q, h) for q, h in windows]
    )
    return reranker


def test_sliding_window_bubbles_the_best_up_from_the_bottom(oracle_reranker) -> None:
    hits = [make_hit(i, f"rel={i}") for i in range(10)]  # the best candidate is last
    out = oracle_reranker.rerank("q", hits)
    # hand-simulated: (5,10) -> [0,1,2,3,4,9,8,7,6,5]; (3,8) -> [0,1,2,9,8,7,4,3,6,5];
    # (1,6) -> [0,9,8,7,2,1,4,3,6,5]; (0,5) -> [9,8,7,2,0,1,4,3,6,5]
    assert [h.chunk.chunk_id for h in out] == [f"c{i}" for i in (9, 8, 7, 2, 0, 1, 4, 3, 6, 5)]
    assert [h.rank for h in out] == list(range(1, 11))
    assert [h.score for h in out] == [1.0 / r for r in range(1, 11)]
    assert all(h.source == "rerank" for h in out)
    assert [(w.start, w.end) for w in oracle_reranker.last_windows] == [
        (5, 10),
        (3, 8),
        (1, 6),
        (0, 5),
    ]
    assert oracle_reranker.last_windows[0].chunk_ids == ["c5", "c6", "c7", "c8", "c9"]
    assert oracle_reranker.last_reasoning == "c9 is the most relevant"
    assert [h.chunk.chunk_id for h in oracle_reranker.rerank("q", hits, top_k=3)] == [
        "c9",
        "c8",
        "c7",
    ]


def test_a_malformed_window_keeps_its_order(oracle_reranker, monkeypatch) -> None:
    hits = [make_hit(i, f"rel={i}") for i in range(6)]
    monkeypatch.setattr(
        oracle_reranker, "generate_many", lambda windows: ["I cannot decide."] * len(windows)
    )
    out = oracle_reranker.rerank("q", hits)
    assert [h.chunk.chunk_id for h in out] == [f"c{i}" for i in range(6)]
    assert [w.ok for w in oracle_reranker.last_windows] == [False, False]
    assert oracle_reranker.last_reasoning == "I cannot decide."
    assert oracle_reranker.rerank("q", []) == [] and oracle_reranker.last_reasoning is None


def test_the_prompt_is_mm_r5s_for_page_images(tiny_qwen_dir, tmp_path: Path) -> None:
    from rerank.listwise import ListwiseVLReranker

    reranker = ListwiseVLReranker(ListwiseRerankerOptions(model=str(tiny_qwen_dir)))
    pages = [
        make_hit(
            i,
            "page text",
            modality="page",
            image=str(write_test_image(tmp_path / f"{i}.png", seed=i)),
        )
        for i in range(2)
    ]
    chat = reranker.messages("What was revenue?", pages)
    assert chat[0]["content"][0]["text"].startswith("A conversation between User and Assistant.")
    user = chat[1]["content"]
    assert user[0]["text"] == (
        "Please rank the following images according to their relevance to the question. "
        "Provide your response in the format: <think>your reasoning process here</think>"
        "<answer>[image_id_1, image_id_2, ...]</answer> where the numbers in the list represent "
        "the ranking order of images'id from most to least relevant. Before outputting the "
        "answer, you need to analyze each image and provide your analysis process.For example: "
        "<think>Image 1 "
        "shows the most relevant content because...</think><answer>[id_most_relevant, "
        "id_second_relevant, ...]</answer>\nThe question is: What was revenue?\n\nThere are 2 "
        "images, id from 1 to 2, Image ID to image mapping:\n"
    )
    assert [(item["type"], item.get("text")) for item in user[1:]] == [
        ("text", "\nImage 1: "),
        ("image", None),
        ("text", "\nImage 2: "),
        ("image", None),
    ]
    mixed = reranker.messages("q", [pages[0], make_hit(5, "Net income rose")])
    assert mixed[1]["content"][0]["text"].startswith("Please rank the following candidates")
    assert mixed[1]["content"][-1]["text"] == "\nDocument 2: Net income rose"


def test_real_generation_with_the_tiny_model_falls_back_cleanly(
    tiny_qwen_dir, tmp_path: Path
) -> None:
    pytest.importorskip("torch")

    options = ListwiseRerankerOptions(model=str(tiny_qwen_dir), window=3, device="cpu")
    reranker = RERANKERS.create("listwise-vl", settings=options)
    reranker.max_new_tokens = 12
    hits = [
        make_hit(
            0, "page", modality="page", image=str(write_test_image(tmp_path / "p.png", seed=7))
        ),
        make_hit(1, "Net income rose 12%"),
        make_hit(2, "Total assets"),
        make_hit(3, "Cash flow"),
    ]
    raw = reranker.generate("What was net income?", hits[:3])
    assert isinstance(raw, str) and "<|im_end|>" not in raw  # decoded without special tokens
    out = reranker.rerank("What was net income?", hits)
    assert sorted(h.chunk.chunk_id for h in out) == ["c0", "c1", "c2", "c3"]
    assert [h.rank for h in out] == [1, 2, 3, 4]
    assert [(w.start, w.end) for w in reranker.last_windows] == [(1, 4), (0, 3)]
    for window in reranker.last_windows:
        assert window.order == parse_ranking(window.raw, 3)[0]


class TestListwiseConformance(RerankerConformance):
    @pytest.fixture
    def reranker(self, tiny_qwen_dir):
        options = ListwiseRerankerOptions(model=str(tiny_qwen_dir), window=3, device="cpu")
        reranker = RERANKERS.create("listwise-vl", settings=options)
        reranker.max_new_tokens = 8  # random weights: whatever it writes, the order must hold
        return reranker


def test_rerank_many_batches_the_same_step_of_several_queries(oracle_reranker) -> None:
    requests = [
        ("q1", [make_hit(i, f"rel={(i * 7) % 10}") for i in range(10)]),
        ("q2", [make_hit(i, f"rel={i}") for i in range(6)]),
        ("q3", [make_hit(i, f"rel={5 - i}") for i in range(4)]),
    ]
    alone = [[h.chunk.chunk_id for h in oracle_reranker.rerank(q, hits)] for q, hits in requests]
    calls_alone = len(oracle_reranker.generate_calls)
    oracle_reranker.generate_calls.clear()
    batched_calls: list[int] = []
    windows_of = oracle_reranker.generate_many

    def counting(windows):
        batched_calls.append(len(windows))
        return windows_of(windows)

    oracle_reranker.generate_many = counting
    together = oracle_reranker.rerank_many(requests)
    assert [[h.chunk.chunk_id for h in out] for out in together] == alone
    # steps: q1 has 4 windows, q2 2, q3 1 -> 4 calls for 7 windows (window_batch 4)
    assert batched_calls == [3, 2, 1, 1] and calls_alone == 7
    assert oracle_reranker.last_windows[-1].chunk_ids == ["c0", "c1", "c2", "c3"]


def test_windows_in_one_generate_call_match_one_by_one(tiny_qwen_dir, tmp_path, monkeypatch):
    from rerank.listwise import ListwiseVLReranker

    options = ListwiseRerankerOptions(
        model=str(tiny_qwen_dir), window=3, device="cpu", max_reasoning_tokens=6, window_batch=4
    )
    reranker = ListwiseVLReranker(options)
    assert reranker.max_new_tokens == 6 + 16 + 4 * 3
    reranker.max_new_tokens = 10
    page = str(write_test_image(tmp_path / "p.png", seed=7))
    requests = [
        (
            "What was net income?",
            [make_hit(0, "p", modality="page", image=page)]
            + [make_hit(1, "Net income rose 12%"), make_hit(2, "Total assets")],
        ),
        ("Cash flow?", [make_hit(3, "Cash flow"), make_hit(4, "Revenue by segment")]),
        (
            "Total revenue in fiscal 2023?",
            [make_hit(5, "Total revenue was $2.2 billion")]
            + [make_hit(6, "Leases"), make_hit(7, "Risk factors")],
        ),
    ]
    model = reranker.loaded().model
    generate = model.generate
    seen: list[tuple[int, int]] = []

    def spy(**kwargs):
        seen.append((kwargs["input_ids"].shape[0], kwargs["max_new_tokens"]))
        assert kwargs["use_cache"] is True and "cache_implementation" not in kwargs  # CPU
        output = generate(**kwargs)
        generated.append(output.shape[1] - kwargs["input_ids"].shape[1])
        return output

    generated: list[int] = []
    monkeypatch.setattr(model, "generate", spy)
    together = reranker.rerank_many(requests)
    assert seen == [(3, 10)]  # three windows, one call, the token cap applied
    raw_together = [w.raw for w in reranker.last_windows]
    alone = [reranker.rerank(q, hits) for q, hits in requests]
    assert raw_together == [w.raw for w in reranker.last_windows]
    assert [[h.chunk.chunk_id for h in out] for out in together] == [
        [h.chunk.chunk_id for h in out] for out in alone
    ]
    assert len(seen) == 4 and max(generated) <= 10  # the cap holds for every call
