"""The cross-encoder reranker: missing-model errors, pair encoding, and reranking with a
model fine-tuned by the trainer's tiny session run (see tests/rerank/test_trainer.py)."""

from __future__ import annotations

import pytest

from core.backends import RERANKERS
from core.errors import ModelNotAvailableError
from core.options import CrossEncoderOptions
from core.records import Chunk, Hit
from tests.conformance.rerankers import RerankerConformance
from tests.finetune.test_trainer import tiny_run  # noqa: F401  (the shared session fixture)


def hits_for(texts: list[str]) -> list[Hit]:
    return [
        Hit(
            chunk=Chunk(chunk_id=f"c{i}", doc_id="d", page_no=1, modality="text", text=t),
            score=1.0 - i / 100,
            source="fused",
            rank=i + 1,
        )
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize("model", [None, "/nonexistent/finrag-model"])
def test_missing_model_says_how_to_train_one(model):
    from rerank.cross_encoder import CrossEncoderReranker

    with pytest.raises(ModelNotAvailableError, match="finrag finetune") as info:
        CrossEncoderReranker(CrossEncoderOptions(model=model))
    assert "FINRAG_RERANK__MODEL" in str(info.value)


def test_a_plain_encoder_folder_is_refused(tmp_path):
    from finetune.trainer import packaged_encoder_dir
    from rerank.cross_encoder import CrossEncoderReranker

    with pytest.raises(ModelNotAvailableError, match="not a one-logit cross-encoder"):
        CrossEncoderReranker(CrossEncoderOptions(model=str(packaged_encoder_dir())))


def test_pairs_are_cut_to_max_length_longest_side_first():
    from finetune.trainer import packaged_encoder_dir
    from rerank.cross_encoder import PairEncoder, load_pair_tokenizer

    encoder = PairEncoder(load_pair_tokenizer(packaged_encoder_dir()), 32)
    batch = encoder.encode(
        [("what was revenue", "revenue rose " * 100), ("long question " * 50, "net income fell")]
    )
    assert batch["input_ids"].shape == (2, 32)
    assert batch["attention_mask"].sum(1).tolist() == [32, 32]
    # A long question does not push a short passage out: its 3 tokens + [SEP] stay as segment 1.
    assert batch["token_type_ids"][1].sum() == 4


def test_reranker_puts_positives_first_and_follows_the_protocol(tiny_run):  # noqa: F811
    from rerank.cross_encoder import CrossEncoderReranker

    out, report, _, dev = tiny_run
    reranker = RERANKERS.create(
        "cross-encoder", settings=CrossEncoderOptions(model=str(out))
    )  # job folder
    assert isinstance(reranker, CrossEncoderReranker) and reranker.metadata.max_length == 64
    assert reranker.last_reasoning is None
    firsts = 0
    for example in dev:
        texts = [*example.negatives, example.positive]  # positive last in the fused order
        ranked = reranker.rerank(example.query, hits_for(texts))
        assert [h.rank for h in ranked] == list(range(1, len(texts) + 1))
        assert all(h.source == "rerank" for h in ranked)
        assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
        assert sorted(h.chunk.chunk_id for h in ranked) == sorted(
            f"c{i}" for i in range(len(texts))
        )
        firsts += ranked[0].chunk.text == example.positive
    # Untrained, the positive (last of 4) is never first; the trained model moves it up often.
    assert report.initial_dev.accuracy_at_1 < 0.2
    assert firsts / len(dev) >= 0.3
    assert len(reranker.rerank(dev[0].query, hits_for(dev[0].negatives), top_k=2)) == 2
    assert reranker.rerank("anything", []) == []


def test_onnx_and_torch_runtimes_agree(tiny_run):  # noqa: F811
    import numpy as np

    from rerank.cross_encoder import CrossEncoderReranker

    out, _, _, dev = tiny_run
    settings = CrossEncoderOptions(model=str(out / "model"))
    onnx = CrossEncoderReranker(settings, runtime="onnx")
    torch_ = CrossEncoderReranker(settings, runtime="torch")
    a, b = [], []
    for example in dev[:12]:
        texts = [example.positive, *example.negatives]
        a += onnx.score(example.query, texts)
        b += torch_.score(example.query, texts)
    assert np.corrcoef(a, b)[0, 1] > 0.95


class TestCrossEncoderConformance(RerankerConformance):
    @pytest.fixture
    def reranker(self, tiny_run):  # noqa: F811
        out, *_ = tiny_run
        return RERANKERS.create("cross-encoder", settings=CrossEncoderOptions(model=str(out)))
