"""The training core of both fine-tuning backends (:mod:`finetune.trainer`, :mod:`finetune.lora`).

Contract: everything here is independent of the model being trained. A trainer brings its model,
optimizer, one optimizer step, its dev scores and what its checkpoints hold; this module brings

* :class:`StepLoop`: the step loop with its evaluation, checkpoint and time-budget policy;
* :class:`DevMetrics` from per-query scores (:func:`dev_metrics`): loss, MRR, accuracy@1;
* :class:`RunLog`: ``run_log.jsonl``, one :class:`LogEntry` per evaluation, cut back to the
  checkpoint a resume starts from;
* :class:`Checkpoints`: ``checkpoints/step-N`` folders, written atomically, the newest kept;
  :func:`refuse_changed_options` refuses a resume whose trajectory-shaping options changed;
* :func:`lr_schedule` (warmup, then linear decay or constant), :class:`RunClock` (wall and CPU
  seconds across resumes, the time budget), :func:`rng_state` / :func:`restore_rng` (torch's
  generators, for exact resumes) and the atomic writers :func:`write_atomic` and
  :func:`atomic_folder`.

The on-disk records keep each backend's names: the cross-encoder's log lines add an ``event`` to
:class:`LogEntry`, and each backend keeps its own report and checkpoint contents.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from core.errors import ConfigError

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
RUN_LOG_FILE = "run_log.jsonl"
REPORT_FILE = "report.json"
MODEL_DIR = "model"


class DevMetrics(BaseModel):
    """Listwise quality on held-out examples: the positive against its negatives."""

    model_config = ConfigDict(extra="forbid")

    loss: float  # softmax cross-entropy with the positive as the target
    mrr: float
    accuracy_at_1: float  # share of queries whose positive scores strictly above every negative
    examples: int

    def named(self) -> dict[str, float]:
        """The metrics as run-log lines and ``finrag_model.json`` name them."""
        return {"dev_loss": self.loss, "dev_mrr": self.mrr, "dev_accuracy_at_1": self.accuracy_at_1}


def dev_metrics(rows: Sequence[Sequence[float]], digits: int | None = None) -> DevMetrics:
    """The metrics of ``rows`` (one per query: the positive's score, then its negatives').

    Scores are taken in float64; ``digits`` rounds the three means (None: unrounded).
    """
    losses, reciprocal, hits = [], [], []
    for row in rows:
        scores = np.asarray(row, dtype=np.float64)
        shifted = scores - scores.max()
        losses.append(-(shifted[0] - math.log(np.exp(shifted).sum())))
        # Ties count against the positive: an untrained constant scorer must not look good.
        rank = 1 + int((scores[1:] >= scores[0]).sum())
        reciprocal.append(1.0 / rank)
        hits.append(rank == 1)
    loss, mrr, accuracy = (_round(float(np.mean(v)), digits) for v in (losses, reciprocal, hits))
    return DevMetrics(loss=loss, mrr=mrr, accuracy_at_1=accuracy, examples=len(rows))


class LogEntry(BaseModel):
    """One line of ``run_log.jsonl``."""

    model_config = ConfigDict(extra="forbid")

    step: int
    epoch: float
    loss: float | None  # mean train loss since the previous line; None at the start
    dev_loss: float | None = None
    dev_mrr: float | None = None
    dev_accuracy_at_1: float | None = None
    lr: float  # the learning rate of the next step
    elapsed_s: float  # wall seconds across resumes
    cpu_s: float  # CPU seconds: of this invocation (cross-encoder) or across resumes (LoRA)


@dataclass(frozen=True)
class RunLog:
    """``run_log.jsonl``: one JSON line per evaluation, appended as the run goes."""

    path: Path

    def restart(self, step: int) -> int:
        """Prepare the log for a run from ``step``: removed at 0, else cut after ``step``.

        Lines past the checkpoint being resumed are dropped (they will be written again).
        Returns the step of the last line kept (-1 when none).
        """
        if step == 0:
            self.path.unlink(missing_ok=True)
            return -1
        if not self.path.is_file():
            return -1
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line)["step"] <= step
        ]
        write_atomic(self.path, "".join(line + "\n" for line in kept))
        return json.loads(kept[-1])["step"] if kept else -1

    def append(self, entry: LogEntry) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(entry.model_dump_json() + "\n")
        logger.info("step %d: %s", entry.step, entry.model_dump_json(exclude={"step"}))


def step_plan(
    examples: int, batch_size: int, epochs: int, max_steps: int | None
) -> tuple[int, int]:
    """(steps per epoch, total steps) of a run: ``epochs`` passes, cut at ``max_steps``."""
    steps_per_epoch = math.ceil(examples / batch_size)
    total = epochs * steps_per_epoch
    return steps_per_epoch, min(total, max_steps) if max_steps else total


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: readers see the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """An empty folder to fill; it replaces ``final`` when the block ends without an error.

    A crash mid-save leaves only a hidden ``.tmp-*`` folder next to ``final``, never a half
    written ``final``.
    """
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    yield tmp
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


@dataclass(frozen=True)
class Checkpoints:
    """``step-N`` folders under a run's ``checkpoints/``; complete once they hold ``marker``."""

    root: Path
    marker: str  # the file every complete checkpoint holds
    digits: int  # zero padding of N in the folder names

    def complete(self) -> list[Path]:
        """Complete checkpoints, oldest first."""
        if not self.root.is_dir():
            return []
        found = [
            p
            for p in self.root.iterdir()
            if re.fullmatch(r"step-\d+", p.name) and (p / self.marker).is_file()
        ]
        return sorted(found, key=lambda p: int(p.name.split("-")[1]))

    def latest(self) -> Path | None:
        found = self.complete()
        return found[-1] if found else None

    @contextmanager
    def write(self, step: int, keep: int) -> Iterator[Path]:
        """A folder to fill with the state at ``step``; it becomes ``step-N`` when the block
        ends, and all but the newest ``keep`` checkpoints are removed."""
        final = self.root / f"step-{step:0{self.digits}d}"
        with atomic_folder(final) as folder:
            yield folder
        for old in self.complete()[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        logger.info("checkpoint %s", final)


def refuse_changed_options(
    checkpoint: Path,
    saved: Mapping[str, Any],
    current: Mapping[str, Any],
    keys: Sequence[str],
    *,
    remedy: str,
    show_values: bool = False,
) -> None:
    """Raise when an option in ``keys`` differs between a checkpoint's run and this one.

    Raises:
        ConfigError: naming the changed options (with their old and new values when
            ``show_values``) and ending with ``remedy``.
    """
    changed = {k: (saved.get(k), current.get(k)) for k in keys if saved.get(k) != current.get(k)}
    if not changed:
        return
    if show_values:
        values = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        what = f"options changed since it was written ({values})"
    else:
        what = f"{', '.join(changed)} changed since it was written"
    raise ConfigError(f"cannot resume from {checkpoint}: {what}; restore them, or {remedy}.")


def lr_schedule(
    optimizer: Any,
    *,
    total_steps: int,
    warmup_steps: int,
    shape: Literal["linear", "constant"] = "linear",
    warmup_offset: int = 0,
) -> Any:
    """A ``LambdaLR``: linear warmup, then linear decay to 0 at ``total_steps``, or constant.

    Step s < ``warmup_steps`` gets (s + ``warmup_offset``) / ``warmup_steps`` of the rate. The
    cross-encoder's warmup starts from 0 (offset 0, transformers' linear schedule), LoRA's from
    1 / ``warmup_steps`` (offset 1), as each did before they shared this function.
    """
    import torch

    factor = partial(
        _lr_factor, total=total_steps, warmup=warmup_steps, shape=shape, offset=warmup_offset
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _lr_factor(step: int, *, total: int, warmup: int, shape: str, offset: int) -> float:
    if step < warmup:
        return (step + offset) / warmup
    if shape == "constant":
        return 1.0
    return max(0.0, (total - step) / max(1, total - warmup))


@dataclass
class RunClock:
    """Wall and CPU seconds since this invocation started, and across resumes (``*_before``)."""

    max_minutes: float | None = None  # this invocation's wall-clock budget; None: no budget
    reserve_s: float = 0.0  # kept back from the budget to finish (evaluate, save, export)
    elapsed_before: float = 0.0
    cpu_before: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=time.process_time)

    def this_run(self) -> float:
        return time.perf_counter() - self.started

    def elapsed(self) -> float:
        return self.elapsed_before + self.this_run()

    def cpu(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_started

    def over_budget(self, eval_seconds: float) -> bool:
        """Whether finishing now is due: the reserve plus one more evaluation would not fit."""
        if self.max_minutes is None:
            return False
        return self.this_run() + (self.reserve_s + eval_seconds) >= self.max_minutes * 60


def rng_state(*, cuda: bool = False) -> dict[str, Any]:
    """torch's generator states for a checkpoint: ``torch_rng`` and, with ``cuda``, ``cuda_rng``
    (None without a GPU).

    Only torch's: dropout draws from them, while data order and negatives come from generators
    seeded by (seed, epoch, step), so python's and numpy's global generators drive nothing here.
    """
    import torch

    state: dict[str, Any] = {"torch_rng": torch.get_rng_state()}
    if cuda:
        state["cuda_rng"] = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    """Set torch's generators from what :func:`rng_state` saved."""
    import torch

    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])


@dataclass
class LossWindow:
    """Train losses since the previous run-log line.

    The cross-encoder checkpoints it, so its first line after a resume averages the steps before
    the interruption too; LoRA's starts empty on a resume, as it always has.
    """

    total: float = 0.0
    count: int = 0
    last: float | None = None

    def add(self, loss: float) -> None:
        self.total, self.count, self.last = self.total + loss, self.count + 1, loss

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


@dataclass
class StepLoop:
    """The optimisation loop of both trainers, around their own step, evaluation and checkpoint.

    A fresh run (``step`` 0) first evaluates and logs a ``start`` line. Then per step:
    ``train_step(steps_done)`` returns the step's loss, ``on_step(step, loss)``; at each epoch end,
    the last step and every ``eval_every`` steps ``evaluate()`` and a run-log line (``on_log``
    after it is written); at each epoch end, the last step, every ``checkpoint_every`` steps and
    when the clock's budget runs out ``save_checkpoint(loop)``, which reads ``step``, ``window``,
    ``initial_dev`` and ``clock`` from the loop. The budget stops the run after that checkpoint;
    the last step gets a ``final`` line unless one was logged there. A resumed run sets ``step``,
    ``window``, ``initial_dev``, ``last_logged`` and the clock from its checkpoint first.
    """

    steps_per_epoch: int
    total_steps: int
    train_step: Callable[[int], float]
    evaluate: Callable[[], DevMetrics | None]
    save_checkpoint: Callable[[StepLoop], None]
    scheduler: Any  # its last learning rate goes into each line
    run_log: RunLog
    clock: RunClock
    eval_every: int = 0  # 0: at epoch ends (and the last step) only
    checkpoint_every: int = 0  # 0: at epoch ends (and the last step) only
    digits: int | None = None  # rounding of the logged train loss (None: unrounded)
    entry_type: type[LogEntry] = LogEntry  # with an ``event`` field, lines name their event
    on_step: Callable[[int, float], None] | None = None
    on_log: Callable[[LogEntry], None] | None = None
    step: int = 0
    window: LossWindow = field(default_factory=LossWindow)
    initial_dev: DevMetrics | None = None
    last_logged: int = -1  # step of the last line in the run log
    stopped_by_budget: bool = field(default=False, init=False)
    # The last evaluation and its step.
    _dev: tuple[int, DevMetrics | None] = field(default=(-1, None), init=False, repr=False)

    def run(self) -> DevMetrics | None:
        """Train to ``total_steps`` or the time budget; returns the dev metrics at the end."""
        if self.step == 0:
            self.initial_dev, _ = self._log("start")
        eval_seconds = 0.0  # the last in-loop evaluation's, kept back from the budget
        while self.step < self.total_steps:
            loss = self.train_step(self.step)
            self.step += 1
            step = self.step
            self.window.add(loss)
            if self.on_step is not None:
                self.on_step(step, loss)
            epoch_end = step % self.steps_per_epoch == 0
            last = step == self.total_steps
            if epoch_end or last or (self.eval_every and step % self.eval_every == 0):
                _, eval_seconds = self._log("epoch" if epoch_end else "eval")
            over_budget = self.clock.over_budget(eval_seconds)
            every = self.checkpoint_every and step % self.checkpoint_every == 0
            if epoch_end or last or every or over_budget:
                self.save_checkpoint(self)
            if over_budget and not last:
                self.stopped_by_budget = True
                logger.warning(
                    "time budget of %.1f min reached at step %d/%d; the model is written, "
                    "resume=True continues",
                    self.clock.max_minutes,
                    step,
                    self.total_steps,
                )
                break
        if self.last_logged != self.step:
            self._log("final")
        dev_step, dev = self._dev
        return dev if dev_step == self.step else self.evaluate()

    def _log(self, event: str) -> tuple[DevMetrics | None, float]:
        """Evaluate and write a line at the current step; returns the metrics and eval seconds."""
        t0 = time.perf_counter()
        dev = self.evaluate()
        seconds = time.perf_counter() - t0
        fields: dict[str, Any] = {
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "loss": _round(self.window.mean(), self.digits),
            **(dev.named() if dev else {}),
            "lr": float(self.scheduler.get_last_lr()[0]),
            "elapsed_s": round(self.clock.elapsed(), 3),
            "cpu_s": round(self.clock.cpu(), 3),
        }
        if "event" in self.entry_type.model_fields:
            fields["event"] = event
        entry = self.entry_type(**fields)
        self.run_log.append(entry)
        self.window.reset()
        self.last_logged, self._dev = self.step, (self.step, dev)
        if self.on_log is not None:
            self.on_log(entry)
        return dev, seconds


def _round(value: float | None, digits: int | None) -> float | None:
    return value if value is None or digits is None else round(value, digits)
