"""LoRA fine-tuning of the Qwen3-VL reranker, on the tiny random Qwen3-VL (CPU, float32).

The task is made learnable for a random 2-layer model: positives are financial statements,
negatives come from a small pool of unrelated sentences, so a high learning rate overfits it in a
few steps. What is checked is the plumbing: the objective is the pointwise reranker's own score,
only adapter weights move, the saved adapter reproduces the in-memory scores, and a resumed run
ends where an uninterrupted one does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.options import Qwen3VLRerankerOptions
from core.records import TrainingExample
from tests.fixtures import tiny_qwen

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

# After the importorskips: without torch, transformers and peft the module is skipped.
from finetune.lora import LoraFinetuneConfig, LoraReport, LoraTrainer  # noqa: E402
from finetune.training import LogEntry as TrainLogEntry  # noqa: E402
from rerank.lora import LoraModelInfo, load_lora_reranker  # noqa: E402

tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the pytest fixture, registered in this module

POSITIVES = [
    "Net income increased 12% to $4.2 billion.",
    "Total assets were $10 billion at December 31.",
    "Cash flows from operating activities were $3 billion.",
    "Revenue grew 8% to $52 billion in fiscal 2023.",
    "Capital expenditures were $1.1 billion.",
    "Free cash flow rose to $2 billion.",
    "Shareholders' equity was $7 billion.",
    "Operating margin improved to 21%.",
]
QUERIES = [
    "What was net income?",
    "What were total assets?",
    "What was operating cash flow?",
    "What was revenue?",
    "What were capital expenditures?",
    "What was free cash flow?",
    "What was equity?",
    "What was the operating margin?",
]
NEGATIVES = [
    "The quarterly report on Form 10-Q.",
    "Image 1 shows the income statement.",
    "system user assistant",
    "Please rank the following images.",
]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model gains nothing from intra-op threads; on a shared CPU they cost ~8x in time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def examples(n: int = 8) -> list[TrainingExample]:
    return [
        TrainingExample(
            example_id=f"e{i}",
            query=QUERIES[i],
            positive=POSITIVES[i],
            positive_id=f"p{i}",
            negatives=[NEGATIVES[(i + k) % len(NEGATIVES)] for k in range(3)],
            doc_id=f"d{i}",
            source="synthetic-sentence",
        )
        for i in range(n)
    ]


def config(model: Path, out: Path, **overrides) -> LoraFinetuneConfig:
    options = {
        "base_model": str(model),
        "output_dir": out,
        "device": "cpu",
        "rank": 8,
        "alpha": 8,
        "dropout": 0.0,
        "lr": 1e-2,
        "schedule": "constant",
        "epochs": 2,
        "batch_size": 4,
        "seed": 0,
    }
    options.update(overrides)
    return LoraFinetuneConfig(**options)


def gaps(trainer: LoraTrainer, data: list[TrainingExample]) -> np.ndarray:
    """Positive score minus the best negative score, per example (pointwise reranker scores)."""
    out = []
    for example in data:
        scores = trainer.score(example.query, [example.positive, *example.negatives])
        out.append(scores[0] - max(scores[1:]))
    return np.array(out)


@pytest.fixture(scope="module")
def trained(tiny_qwen_dir, tmp_path_factory):
    """One 4-step run (8 examples, batch 4, 2 epochs) and what the model looked like before."""
    out = tmp_path_factory.mktemp("lora") / "run"
    data = examples()
    trainer = LoraTrainer(config(tiny_qwen_dir, out))
    trainer.load()
    before = {
        name: p.detach().clone()
        for name, p in trainer.model.named_parameters()
        if "lora_" not in name
    }
    lora_before = {
        name: p.detach().clone() for name, p in trainer.model.named_parameters() if "lora_" in name
    }
    dev = data[:4]  # the training queries themselves: this checks fitting, not generalisation
    gaps_before = gaps(trainer, dev)
    progress: list[TrainLogEntry] = []
    report = trainer.fit(data, dev, on_progress=progress.append)
    return {
        "trainer": trainer,
        "report": report,
        "out": out,
        "data": data,
        "dev": dev,
        "before": before,
        "lora_before": lora_before,
        "gaps_before": gaps_before,
        "progress": progress,
    }


def test_training_lowers_the_loss_and_lifts_positives(trained) -> None:
    report: LoraReport = trained["report"]
    assert report.steps == 4
    assert report.final_dev.loss < 0.5 * report.initial_dev.loss
    assert report.final_dev.mrr > report.initial_dev.mrr
    assert report.final_dev.accuracy_at_1 == 1.0
    gaps_after = gaps(trained["trainer"], trained["dev"])
    assert gaps_after.mean() > trained["gaps_before"].mean()
    assert (gaps_after > 0).all()  # every positive now beats its negatives
    # the dev metrics are computed from the same scorer the reranker uses
    assert trained["trainer"].evaluate(trained["dev"]) == report.final_dev


def test_only_the_language_model_adapters_change(trained) -> None:
    model = trained["trainer"].model
    params = dict(model.named_parameters())
    for name, value in trained["before"].items():
        assert torch.equal(params[name], value), name
        assert not params[name].requires_grad
    lora = {name: p for name, p in params.items() if "lora_" in name}
    assert lora and all(".language_model." in name for name in lora)
    assert not any(".visual." in name for name in lora)
    assert {name.split(".")[-4] for name in lora} == {"q_proj", "k_proj", "v_proj", "o_proj"}
    for name, value in trained["lora_before"].items():
        if "lora_B" in name:  # B starts at zero, so the untrained adapter is the identity
            assert not value.any()
        assert not torch.equal(lora[name], value), f"{name} did not move"
    assert trained["report"].trainable_parameters == sum(p.numel() for p in lora.values())


def test_run_log_report_and_model_folder(trained) -> None:
    out: Path = trained["out"]
    lines = [json.loads(line) for line in (out / "run_log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [0, 2, 4]
    assert [line["epoch"] for line in lines] == [0.0, 1.0, 2.0]
    assert lines[0]["loss"] is None and lines[1]["loss"] > lines[2]["loss"]
    assert [TrainLogEntry.model_validate(line) for line in lines] == trained["progress"]
    assert lines[-1]["dev_mrr"] == trained["report"].final_dev.mrr
    assert LoraReport.model_validate_json((out / "report.json").read_text()) == trained["report"]
    info = LoraModelInfo.model_validate_json((out / "model" / "finrag_model.json").read_text())
    assert info.backend == "qwen3-vl-lora" and info.stage == 1 and info.lora["rank"] == 8
    assert Path(info.base) == trained["trainer"].base_path
    assert info.metrics["dev_accuracy_at_1"] == 1.0
    assert (out / "model" / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-0002", "step-0004"]


def test_saved_adapter_scores_like_the_trained_model(trained, tiny_qwen_dir) -> None:
    from finetune.lora import text_hits
    from rerank.pointwise import Qwen3VLReranker

    settings = Qwen3VLRerankerOptions(device="cpu", batch_size=3)
    reranker = load_lora_reranker(trained["out"] / "model", settings)
    base = Qwen3VLReranker(settings.model_copy(update={"model": str(tiny_qwen_dir)}))
    for example in trained["data"][:3]:
        documents = [example.positive, *example.negatives]
        hits = text_hits(documents)
        loaded_scores = reranker.score(example.query, hits)
        np.testing.assert_allclose(
            loaded_scores, trained["trainer"].score(example.query, documents), atol=1e-5
        )
        assert not np.allclose(loaded_scores, base.score(example.query, hits), atol=1e-3)
        assert reranker.rerank(example.query, hits)[0].chunk.text == example.positive
    # the merged model is private: the shared base model in core.models is untouched
    assert (
        "lora"
        not in type(
            base.loaded().model.model.language_model.layers[0].self_attn.q_proj
        ).__name__.lower()
    )


def test_resume_ends_where_an_uninterrupted_run_does(tiny_qwen_dir, tmp_path) -> None:
    from safetensors.torch import load_file

    data = examples(4)
    options = {"batch_size": 2, "epochs": 2, "dropout": 0.1, "save_every": 1, "schedule": "linear"}
    logged = dict(options, eval_every=1)
    full = LoraTrainer(config(tiny_qwen_dir, tmp_path / "full", **options)).fit(data, data[:2])

    class Crash(RuntimeError):
        pass

    def crash_at_step_3(entry: TrainLogEntry) -> None:
        if entry.step == 3:
            raise Crash

    out = tmp_path / "resumed"
    with pytest.raises(Crash):
        LoraTrainer(config(tiny_qwen_dir, out, **logged)).fit(
            data, data[:2], on_progress=crash_at_step_3
        )
    assert (out / "checkpoints" / "step-0002").is_dir() and not (out / "model").exists()
    with pytest.raises(ConfigError, match="lr"):
        LoraTrainer(config(tiny_qwen_dir, out, resume=True, **dict(logged, lr=1e-3))).fit(
            data, data[:2]
        )

    resumed = LoraTrainer(config(tiny_qwen_dir, out, resume=True, **logged)).fit(data, data[:2])
    assert resumed.resumed_from_step == 2 and resumed.steps == full.steps == 4
    assert resumed.initial_dev == full.initial_dev
    assert resumed.final_dev.loss == pytest.approx(full.final_dev.loss, abs=1e-5)
    full_weights = load_file(str(tmp_path / "full" / "model" / "adapter_model.safetensors"))
    resumed_weights = load_file(str(out / "model" / "adapter_model.safetensors"))
    assert full_weights.keys() == resumed_weights.keys()
    for name in full_weights:
        torch.testing.assert_close(resumed_weights[name], full_weights[name], atol=1e-6, rtol=1e-5)
    # the log holds each step once: lines after the checkpoint (step 3 of the crash) were dropped
    steps = [json.loads(line)["step"] for line in (out / "run_log.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3, 4]

    # resuming a finished run changes nothing and logs nothing twice
    again = LoraTrainer(config(tiny_qwen_dir, out, resume=True, **logged)).fit(data, data[:2])
    assert again.resumed_from_step == 4 and again.final_dev == resumed.final_dev
    assert (out / "run_log.jsonl").read_text().count("\n") == 5


def test_stage_two_starts_from_stage_one(trained, tmp_path) -> None:
    from peft import get_peft_model_state_dict

    stage1 = trained["out"] / "model"
    trainer = LoraTrainer(
        LoraFinetuneConfig(base_model=str(stage1), output_dir=tmp_path, stage=2, device="cpu")
    )
    trainer.load()
    assert trainer.init_adapter == stage1.resolve()
    assert trainer.base_path == trained["trainer"].base_path
    start = get_peft_model_state_dict(trainer.model)
    done = get_peft_model_state_dict(trained["trainer"].model)
    assert start.keys() == done.keys()
    assert all(torch.equal(start[k], done[k]) for k in start)
    assert any(p.requires_grad for n, p in trainer.model.named_parameters() if "lora_" in n)


def test_a_cross_encoder_folder_is_refused_as_a_lora_start(tmp_path) -> None:
    folder = tmp_path / "ce"
    folder.mkdir()
    (folder / "finrag_model.json").write_text(json.dumps({"backend": "cross-encoder"}))
    with pytest.raises(ConfigError, match="cannot continue"):
        LoraTrainer(LoraFinetuneConfig(base_model=str(folder), output_dir=tmp_path / "o")).load()


@pytest.mark.gpu
def test_bf16_training_on_cuda(tiny_qwen_dir, tmp_path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    data = examples()
    trainer = LoraTrainer(config(tiny_qwen_dir, tmp_path, device="cuda", lr=5e-3))
    report = trainer.fit(data, data)
    assert report.dtype == "torch.bfloat16" and report.device.startswith("cuda")
    lora = [p for n, p in trainer.model.named_parameters() if "lora_" in n]
    assert all(p.dtype == torch.float32 for p in lora)  # peft keeps adapters in float32
    assert report.final_dev.loss < report.initial_dev.loss
