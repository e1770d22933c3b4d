"""LoRA fine-tuning of the Qwen3-VL-Reranker (training backend ``qwen3-vl-lora``, for GPU runs).

Contract: :func:`train_lora` takes a :class:`LoraFinetuneConfig` and lists of
:class:`~core.records.TrainingExample` (train, dev) and writes, under ``config.output_dir``:

* ``run_log.jsonl``: one :class:`~finetune.training.LogEntry` per evaluation (step 0 before
  training, every ``eval_every`` steps, each epoch end, the last step): step, epoch, mean train
  loss since the previous line, dev loss / MRR / accuracy@1, elapsed seconds;
* ``checkpoints/step-XXXX/``: the adapter, optimizer, scheduler and RNG state (the last
  ``keep_checkpoints`` are kept); ``resume=True`` continues from the newest one;
* ``model/``: the LoRA adapter (``PeftModel.save_pretrained``) and ``finrag_model.json``
  (:class:`LoraModelInfo`: backend ``qwen3-vl-lora``, base model, stage, max_length, metrics);
* ``report.json``: the returned :class:`LoraReport`.

The objective is the reranker's own score: for each query, the margin ``logit("yes") -
logit("no")`` at the last prompt position is computed for the positive and its negatives with the
prompt of :class:`rerank.pointwise.Qwen3VLReranker` (same messages, same left-padded batch), and a
listwise softmax cross-entropy asks the positive to win. ``sigmoid`` of that margin is exactly what
the pointwise reranker returns at inference, so the fine-tuned scorer needs no other code:
:class:`rerank.lora.LoraReranker` (``load_lora_reranker(model_dir)``) is the pointwise reranker
over the base model with the adapter merged in. Documents are text (``TrainingExample`` holds
texts). The step loop, run log, checkpoint folders, learning-rate schedule and dev metrics are
:mod:`finetune.training`'s, shared with the cross-encoder trainer.

LoRA wraps the language model's attention projections only (the vision tower is frozen and never
sees a gradient); every base weight stays as loaded. The model is loaded fresh, not from the
process-wide cache of :func:`core.models.load_vl_model`, because peft rewrites modules in place.
float32 on CPU, bfloat16 base weights on CUDA (the adapter weights are kept in float32 by peft).

Stage 2 starts from stage 1's output: pass stage 1's ``model/`` folder as ``base_model``; its
adapter is loaded trainable on top of the base model named in its ``finrag_model.json``.

Example:
    >>> config = LoraFinetuneConfig(base_model="/models/Qwen3-VL-Reranker-2B", output_dir="runs/s1")
    >>> report = train_lora(config, train, dev)  # doctest: +SKIP
    >>> reranker = rerank.lora.load_lora_reranker("runs/s1/model")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import ConfigError
from core.models import (
    LoadedModel,
    resolve_model_path,
)
from core.options import Qwen3VLRerankerOptions
from core.records import Chunk, Hit, TrainingExample
from finetune.training import (
    CHECKPOINTS_DIR,
    MODEL_DIR,
    REPORT_FILE,
    RUN_LOG_FILE,
    Checkpoints,
    DevMetrics,
    LogEntry,
    RunClock,
    RunLog,
    StepLoop,
    dev_metrics,
    lr_schedule,
    refuse_changed_options,
    restore_rng,
    rng_state,
    step_plan,
    write_atomic,
)
from rerank.lora import (
    BACKEND,
    BASE_SETTING,
    MODEL_INFO_FILE,
    LoraModelInfo,
    load_fresh_model,
    read_model_info,
    require_torch_peft,
)
from rerank.pointwise import DEFAULT_MODEL, INSTRUCTION, Qwen3VLReranker, cut_to_tokens

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

LANGUAGE_MODEL_ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
_STATE_FILE = "trainer_state.json"
_TENSORS_FILE = "training_state.pt"
# Options that must not change between a run and its resume (the rest, e.g. eval_every, may).
_RESUME_KEYS = (
    "base_model",
    "rank",
    "alpha",
    "dropout",
    "target_modules",
    "lr",
    "epochs",
    "batch_size",
    "max_negatives",
    "max_length",
    "max_steps",
    "warmup_steps",
    "schedule",
    "weight_decay",
    "seed",
)


class LoraFinetuneConfig(BaseModel):
    """Options of one LoRA fine-tuning run (one stage)."""

    model_config = ConfigDict(extra="forbid")

    base_model: str = DEFAULT_MODEL
    """A Qwen3-VL-Reranker folder / cached HF id, or a previous stage's ``model/`` folder."""
    output_dir: Path
    stage: int = 1
    rank: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: list(LANGUAGE_MODEL_ATTENTION))
    """Module names inside the language model (never the vision tower) that get adapters."""
    lr: float = Field(1e-4, gt=0)
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(4, ge=1)
    """Queries per optimizer step; each query is one forward of its positive + negatives."""
    max_negatives: int = Field(7, ge=1)
    max_length: int = Field(512, ge=8)
    """Document tokens kept per pair (inference keeps up to MAX_DOCUMENT_TOKENS)."""
    max_steps: int | None = Field(None, ge=1)
    warmup_steps: int = Field(0, ge=0)
    schedule: Literal["linear", "constant"] = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    eval_every: int = Field(0, ge=0)
    """Steps between dev evaluations; 0 = at each epoch end only."""
    save_every: int = Field(0, ge=0)
    """Steps between checkpoints; 0 = at each epoch end only."""
    keep_checkpoints: int = Field(2, ge=1)
    seed: int = 0
    resume: bool | Path = False
    """True: continue from the newest checkpoint in ``output_dir``; a path: from that checkpoint."""
    device: str = "auto"
    dtype: str | None = None
    """None: bfloat16 on CUDA, float32 on CPU."""
    gradient_checkpointing: bool = False
    instruction: str = INSTRUCTION


class LoraReport(BaseModel):
    """``report.json``: what a run did and how the dev metrics moved."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["qwen3-vl-lora"] = BACKEND
    base: str
    stage: int
    steps: int
    epochs: int
    train_examples: int
    skipped_examples: int  # train examples without negatives
    dev_examples: int
    initial_dev: DevMetrics | None
    final_dev: DevMetrics | None
    trainable_parameters: int
    total_parameters: int
    resumed_from_step: int
    elapsed_s: float
    cpu_s: float
    device: str
    dtype: str
    model_dir: str
    config: dict[str, Any]


class _Scorer(Qwen3VLReranker):
    """The pointwise reranker (prompt, batching, yes/no ids, score) over a given model."""

    def __init__(
        self, loaded: LoadedModel, settings: Qwen3VLRerankerOptions, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self._loaded = loaded

    def loaded(self) -> LoadedModel:
        return self._loaded


def text_hits(texts: list[str]) -> list[Hit]:
    """Text documents as hits, so that they take the pointwise reranker's document path."""
    return [
        Hit(
            chunk=Chunk(chunk_id=f"train-{i}", doc_id="train", page_no=1, modality="text", text=t),
            score=0.0,
            source="fused",
            rank=i + 1,
        )
        for i, t in enumerate(texts)
    ]


class LoraTrainer:
    """One LoRA run: load (or resume), :meth:`fit`, and score in memory.

    :func:`train_lora` is the one-call form; tests and notebooks keep the trainer to compare the
    in-memory model with the saved adapter.
    """

    def __init__(self, config: LoraFinetuneConfig) -> None:
        self.config = config
        self.out = Path(config.output_dir)
        self.scorer: _Scorer | None = None
        self.model: Any = None  # the PeftModel
        self.base_path: Path | None = None
        self.init_adapter: Path | None = None

    # -- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the base model and wrap it with a fresh (or the previous stage's) adapter."""
        if self.model is not None:
            return
        require_torch_peft()
        import torch
        from peft import LoraConfig, PeftModel, get_peft_model

        config = self.config
        previous = read_model_info(config.base_model)
        if previous is not None:
            self.init_adapter = Path(config.base_model).expanduser().resolve()
            base = previous.base
        else:
            base = config.base_model
            marker = Path(config.base_model).expanduser() / MODEL_INFO_FILE
            if marker.is_file():
                raise ConfigError(
                    f"{config.base_model} holds a {json.loads(marker.read_text()).get('backend')!r}"
                    f" model, which LoRA cannot continue from; set base_model to a "
                    f"Qwen3-VL-Reranker folder or a previous {BACKEND} stage's model/ folder."
                )
        self.base_path = resolve_model_path(base, setting=BASE_SETTING)
        loaded = load_fresh_model(self.base_path, device=config.device, dtype=config.dtype)
        torch.manual_seed(config.seed)  # LoRA A matrices are initialised at random
        if self.init_adapter is not None:
            model = PeftModel.from_pretrained(
                loaded.model, str(self.init_adapter), is_trainable=True
            )
            logger.info(
                "stage %d continues from the adapter in %s", config.stage, self.init_adapter
            )
        else:
            names = "|".join(config.target_modules)
            lora = LoraConfig(
                r=config.rank,
                lora_alpha=config.alpha,
                lora_dropout=config.dropout,
                # a regex, so that only the language model gets adapters, never the vision tower
                target_modules=rf".*language_model.*\.({names})$",
                bias="none",
            )
            model = get_peft_model(loaded.model, lora)
        if config.gradient_checkpointing:
            # transformers 5 renamed it (the old name warns); PeftModel forwards both to the model
            kwargs = {"use_reentrant": False}
            if hasattr(model, "activation_checkpointing_enable"):
                model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
            model.enable_input_require_grads()
        self.model = model
        settings = Qwen3VLRerankerOptions(
            name="qwen3-vl",
            model=str(self.base_path),
            device=str(loaded.device),
            document_mode="text",
            batch_size=config.batch_size,
        )
        wrapped = LoadedModel(model, loaded.processor, loaded.path, loaded.device, loaded.dtype)
        self.scorer = _Scorer(wrapped, settings, instruction=config.instruction)

    # -- scoring -------------------------------------------------------------------------------

    def margins(self, query: str, documents: list[str]) -> torch.Tensor:
        """logit("yes") - logit("no") at the last position for each document (with gradients)."""
        assert self.scorer is not None
        yes, no = self.scorer.judgement_ids()
        encoded = self.scorer.encode(query, text_hits(documents))
        logits = self.model(**encoded, logits_to_keep=1, use_cache=False).logits[:, -1, :]
        logits = logits.float()
        return logits[:, yes] - logits[:, no]

    def score(self, query: str, documents: list[str]) -> list[float]:
        """The pointwise reranker's scores (sigmoid of the margin) from the in-memory model."""
        self.load()
        assert self.scorer is not None
        self.model.eval()
        return self.scorer.score(query, text_hits(documents))

    def documents(self, example: TrainingExample) -> list[str]:
        """Positive first, then up to ``max_negatives`` negatives, each cut to ``max_length``."""
        assert self.scorer is not None
        tokenizer = self.scorer.loaded().tokenizer
        texts = [example.positive, *example.negatives[: self.config.max_negatives]]
        return [cut_to_tokens(tokenizer, t, self.config.max_length) for t in texts]

    def example_loss(self, example: TrainingExample) -> torch.Tensor:
        """Listwise softmax cross-entropy with the positive (index 0) as the target."""
        import torch

        margins = self.margins(example.query, self.documents(example))
        return torch.nn.functional.cross_entropy(
            margins[None, :], torch.zeros(1, dtype=torch.long, device=margins.device)
        )

    def evaluate(self, examples: list[TrainingExample]) -> DevMetrics | None:
        """Loss, MRR and accuracy@1 of the positive among its negatives (ties count against it)."""
        import torch

        self.load()
        usable = [e for e in examples if e.negatives]
        if not usable:
            return None
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            rows = [self.margins(e.query, self.documents(e)).cpu().numpy() for e in usable]
        self.model.train(was_training)
        return dev_metrics(rows)

    # -- training ------------------------------------------------------------------------------

    def fit(
        self,
        train: list[TrainingExample],
        dev: list[TrainingExample],
        on_progress: Callable[[LogEntry], None] | None = None,
    ) -> LoraReport:
        """Train, evaluate, checkpoint; save the adapter and the report. Returns the report."""
        import torch

        config = self.config
        usable = [e for e in train if e.negatives]
        skipped = len(train) - len(usable)
        if skipped:
            logger.warning("%d training examples have no negatives and are skipped", skipped)
        if not usable:
            raise ConfigError(
                "no training example has negatives, so the listwise loss is undefined; mine hard "
                "negatives for the training set first."
            )
        self.load()
        model = self.model
        self.out.mkdir(parents=True, exist_ok=True)
        steps_per_epoch, total_steps = step_plan(
            len(usable), config.batch_size, config.epochs, config.max_steps
        )
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        scheduler = lr_schedule(
            optimizer,
            total_steps=total_steps,
            warmup_steps=config.warmup_steps,
            shape=config.schedule,
            warmup_offset=1,
        )

        def train_step(step: int) -> float:
            epoch, done_in_epoch = divmod(step, steps_per_epoch)
            order = list(usable)
            random.Random(config.seed * 100_003 + epoch).shuffle(order)
            start = done_in_epoch * config.batch_size
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            batch_loss = 0.0
            for example in batch:
                # one backward per query: the graph of a single group is all that lives at once
                loss = self.example_loss(example) / len(batch)
                loss.backward()
                batch_loss += loss.item()
            if config.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            return batch_loss

        step, elapsed_before, cpu_before = 0, 0.0, 0.0
        initial_dev: DevMetrics | None = None
        checkpoint = self._resume_checkpoint()
        if checkpoint is not None:
            step, elapsed_before, cpu_before, initial = self._restore(
                checkpoint, optimizer, scheduler
            )
            initial_dev = DevMetrics.model_validate(initial) if initial else None
        run_log = RunLog(self.out / RUN_LOG_FILE)
        last_logged = run_log.restart(step)
        model.train()
        loop = StepLoop(
            steps_per_epoch=steps_per_epoch,
            total_steps=total_steps,
            train_step=train_step,
            evaluate=lambda: self.evaluate(dev),
            save_checkpoint=lambda loop: self._save_checkpoint(loop, optimizer, scheduler),
            scheduler=scheduler,
            run_log=run_log,
            clock=RunClock(elapsed_before=elapsed_before, cpu_before=cpu_before),
            eval_every=config.eval_every,
            checkpoint_every=config.save_every,
            on_log=on_progress,
            step=step,
            initial_dev=initial_dev,
            last_logged=last_logged,
        )
        final_dev = loop.run()
        model.eval()
        elapsed, cpu = loop.clock.elapsed(), loop.clock.cpu()
        model_dir = self.save_model(final_dev)
        report = LoraReport(
            base=str(self.base_path),
            stage=config.stage,
            steps=loop.step,
            epochs=config.epochs,
            train_examples=len(usable),
            skipped_examples=skipped,
            dev_examples=len(dev),
            initial_dev=loop.initial_dev,
            final_dev=final_dev,
            trainable_parameters=sum(p.numel() for p in params),
            total_parameters=sum(p.numel() for p in model.parameters()),
            resumed_from_step=step,
            elapsed_s=round(elapsed, 3),
            cpu_s=round(cpu, 3),
            device=str(self.scorer.loaded().device if self.scorer else ""),
            dtype=str(self.scorer.loaded().dtype if self.scorer else ""),
            model_dir=str(model_dir),
            config=config.model_dump(mode="json"),
        )
        write_atomic(self.out / REPORT_FILE, report.model_dump_json(indent=2))
        return report

    def save_model(self, metrics: DevMetrics | None) -> Path:
        """Write the adapter and ``finrag_model.json`` into ``output_dir/model``."""
        model_dir = self.out / MODEL_DIR
        self.model.save_pretrained(str(model_dir))
        lora_config = self.model.peft_config["default"]
        info = LoraModelInfo(
            base=str(self.base_path),
            stage=self.config.stage,
            max_length=self.config.max_length,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            metrics=metrics.named() if metrics else {},
            lora={
                "rank": lora_config.r,
                "alpha": lora_config.lora_alpha,
                "dropout": lora_config.lora_dropout,
                "target_modules": sorted(lora_config.target_modules)
                if isinstance(lora_config.target_modules, set)
                else lora_config.target_modules,
                "init_adapter": str(self.init_adapter) if self.init_adapter else None,
            },
        )
        (model_dir / MODEL_INFO_FILE).write_text(info.model_dump_json(indent=2))
        return model_dir

    # -- checkpoints ---------------------------------------------------------------------------

    @property
    def checkpoints(self) -> Checkpoints:
        return Checkpoints(self.out / CHECKPOINTS_DIR, _STATE_FILE, digits=4)

    def _resume_key(self) -> dict[str, Any]:
        dumped = self.config.model_dump(mode="json")
        return {key: dumped[key] for key in _RESUME_KEYS}

    def _save_checkpoint(self, loop: StepLoop, optimizer: Any, scheduler: Any) -> None:
        import torch

        with self.checkpoints.write(loop.step, self.config.keep_checkpoints) as folder:
            self.model.save_pretrained(str(folder))
            tensors = {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                **rng_state(cuda=True),
            }
            torch.save(tensors, folder / _TENSORS_FILE)
            state = {
                "step": loop.step,
                "elapsed_s": loop.clock.elapsed(),
                "cpu_s": loop.clock.cpu(),
                "initial_dev": loop.initial_dev.model_dump() if loop.initial_dev else None,
                "config": self._resume_key(),
            }
            (folder / _STATE_FILE).write_text(json.dumps(state, indent=2))

    def _resume_checkpoint(self) -> Path | None:
        resume = self.config.resume
        if resume is False:
            return None
        if resume is True:
            latest = self.checkpoints.latest()
            if latest is None:
                logger.info("no checkpoint in %s; starting from step 0", self.checkpoints.root)
            return latest
        path = Path(resume)
        if not (path / _STATE_FILE).is_file():
            raise ConfigError(
                f"{path} is not a LoRA checkpoint (no {_STATE_FILE}); pass resume=True to use the "
                f"newest one in {self.checkpoints.root}, or a step-XXXX folder from there."
            )
        return path

    def _restore(
        self, checkpoint: Path, optimizer: Any, scheduler: Any
    ) -> tuple[int, float, float, dict[str, Any] | None]:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = json.loads((checkpoint / _STATE_FILE).read_text())
        refuse_changed_options(
            checkpoint,
            state["config"],
            self._resume_key(),
            _RESUME_KEYS,
            remedy="start a new run in another output_dir",
            show_values=True,
        )
        weights = load_file(str(checkpoint / "adapter_model.safetensors"))
        set_peft_model_state_dict(self.model, weights)
        tensors = torch.load(checkpoint / _TENSORS_FILE, weights_only=False)
        optimizer.load_state_dict(tensors["optimizer"])
        scheduler.load_state_dict(tensors["scheduler"])
        restore_rng(tensors)
        logger.info("resuming from %s (step %d)", checkpoint, state["step"])
        return state["step"], state["elapsed_s"], state["cpu_s"], state["initial_dev"]


def train_lora(
    config: LoraFinetuneConfig,
    train: list[TrainingExample],
    dev: list[TrainingExample],
    on_progress: Callable[[LogEntry], None] | None = None,
) -> LoraReport:
    """Fine-tune the Qwen3-VL-Reranker with LoRA; see the module docstring for what is written.

    Args:
        config: the run's options (``output_dir`` receives logs, checkpoints, model, report).
        train: examples with a positive and at least one negative (others are skipped).
        dev: examples evaluated at step 0, every ``eval_every`` steps and each epoch end.
        on_progress: called with each :class:`~finetune.training.LogEntry` as it is written.

    Raises:
        ModelNotAvailableError: the base model is not on this machine.
        ConfigError: no usable training example; a resume whose options changed.
    """
    return LoraTrainer(config).fit(train, dev, on_progress)
