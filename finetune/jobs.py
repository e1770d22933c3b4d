"""One fine-tuning job end to end: data -> training -> report, for the CLI and the app.

Contract: :func:`run_job` takes the open :class:`~retrieval.corpus.Corpus` and a :class:`JobSpec`
and writes everything under ``spec.out``:

* ``job.json``: the spec, the state (``running`` / ``done`` / ``failed`` with the message), the
  dataset folder and version, timings; rewritten atomically at every state change so the app can
  watch a job another process runs;
* ``dataset/``: the versioned training set (:mod:`finetune.dataset`), built once and
  reused by ``--resume`` so that a resumed run trains on exactly the same examples;
* what the trainer writes: ``run_log.jsonl``, ``checkpoints/``, ``model/``, ``report.json``;
* for ``learned`` (the LightGBM page ranker, :mod:`finetune.ranker`): ``groups-train.jsonl`` /
  ``groups-dev.jsonl`` (each query retrieved as in production, its candidate pages' features and
  labels), ``model/`` (``ranker.txt``) and ``report.json`` (dev MRR before/after); its dataset is
  built without hard negatives (the ranker ranks retrieved pages, it needs no mined ones), and
  ``spec.questions`` adds labelled question sets (FinanceBench format, each retrieved against
  its own cached corpus, less ``exclude_set``'s questions) to its training groups;
* for the cross-encoder, the fusion weight calibrated on the dataset's held-out queries
  (:mod:`finetune.fusion`) in ``model/finrag_model.json``.

Data by stage:

* ``general``: LLM-free synthetic queries from the generated financial corpus
  (:mod:`samples.general`, 24 fictional companies), ingested once into its own corpus,
  ``<data_dir>/finetune/general-corpus`` (or ``spec.corpus``), which the job opens and closes;
* ``company``: the company's own filings in the corpus the job is given: synthetic queries,
  analysts' feedback and approved memory-bank entries; ``company`` None takes every filing.

``exclude_set`` names a FinanceBench-format set whose questions never enter the data (the gate
evaluates on them); ``exclude_set_docs`` also keeps its filings out.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.errors import ConfigError, FinragError
from core.settings import Settings
from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
CALIBRATION_RESERVE_MIN = 1.5
CALIBRATION_QUERIES = 120
LEARNED_MAX_QUERIES = 1500  # training queries the page ranker retrieves (about 30 ms each)
Backend = Literal["cross-encoder", "qwen3-vl-lora", "learned"]


class JobSpec(BaseModel):
    stage: Literal["general", "company"]
    out: Path
    company: str | None = None  # ticker or name; None: every filing of the corpus
    base: str | None = None  # start model; the company stage starts from the general stage's output
    backend: Backend = "cross-encoder"
    config: Path | None = None  # TOML with trainer options
    corpus: Path | None = None  # a data_dir whose filings feed the dataset
    dataset: Path | None = None  # train on this dataset folder instead of building one
    exclude_set: Path | None = None
    exclude_set_docs: bool = False
    # learned: FinanceBench-format sets of labelled questions (question, filing, evidence pages)
    # trained on beside the synthetic queries, each retrieved against its own cached corpus.
    questions: list[Path] = Field(default_factory=list)
    resume: bool = False
    # The whole job's wall-clock budget (data + training + calibration); training gets what the
    # data left, less CALIBRATION_RESERVE_MIN. None: no budget.
    max_minutes: float | None = 14.0
    overrides: dict[str, Any] = Field(default_factory=dict)  # trainer options from the CLI/app


class JobState(BaseModel):
    spec: JobSpec
    state: Literal["running", "done", "failed"] = "running"
    phase: str = "starting"  # corpus, dataset, training, calibrating, done
    message: str = ""
    dataset_path: str | None = None
    dataset_version: str = ""
    examples: dict[str, int] = Field(default_factory=dict)
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    seconds: dict[str, float] = Field(default_factory=dict)
    fusion_weight: float | None = None  # cross-encoder: calibrated weight against retrieval
    pid: int = Field(default_factory=os.getpid)


def read_job(out: Path) -> JobState | None:
    path = Path(out) / JOB_FILE
    return JobState.model_validate_json(path.read_text()) if path.exists() else None


def _save(job: JobState) -> None:
    out = Path(job.spec.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (JOB_FILE + ".tmp")
    tmp.write_text(job.model_dump_json(indent=2))
    os.replace(tmp, out / JOB_FILE)


def open_general_corpus(settings: Settings, folder: Path | None = None) -> Corpus:
    """The generated general corpus, written and ingested on first use, opened (close it)."""
    from ingest.pipeline import Ingestor
    from samples.general import write_general_corpus

    root = folder or settings.data_dir / "finetune" / "general-corpus"
    general = settings.model_copy(update={"data_dir": root, "model_cache": settings.models_dir})
    pdfs = write_general_corpus(root / "pdfs")
    corpus = Corpus.open(general)
    try:
        report = Ingestor(corpus).ingest([root / "pdfs"])  # a no-op once ingested
        if report.landed < len(pdfs):
            failed = [
                f"{Path(f.path).name}: {f.reason}" for f in report.files if f.status == "failed"
            ]
            raise FinragError("the general corpus did not ingest: " + "; ".join(failed))
    except BaseException:
        corpus.close()
        raise
    return corpus


def _dataset(corpus: Corpus, spec: JobSpec, job: JobState) -> Any:
    from finetune.dataset import build_dataset, load_dataset, write_dataset

    folder = spec.dataset or spec.out / "dataset"
    if spec.dataset is not None or (spec.resume and (folder / "manifest.json").exists()):
        return load_dataset(folder), folder
    exclude_questions: list[str] = []
    exclude_docs: list[str] = []
    if spec.exclude_set is not None:
        from evaluation.sets import load_set

        held_out = load_set(spec.exclude_set)
        exclude_questions = [q.question for q in held_out.questions]
        if spec.exclude_set_docs:
            from core.records import sha256_file

            exclude_docs = [sha256_file(str(p)) for p in held_out.pdf_dir.iterdir() if p.is_file()]
    if spec.stage == "general":
        sources, companies, feedback = ("synthetic",), None, []
    else:
        sources = ("synthetic", "feedback", "memory")
        companies = [spec.company] if spec.company else None
        feedback = corpus.feedback.list()
    job.phase = "dataset"
    _save(job)
    # The page ranker learns from the retrieved candidates themselves: no mined negatives.
    mining = {"mining": "lexical", "negatives_per_query": 0} if spec.backend == "learned" else {}
    dataset = build_dataset(
        corpus,
        companies=companies,
        sources=sources,
        feedback=feedback,
        exclude_docs=exclude_docs,
        exclude_questions=exclude_questions,
        **mining,
    )
    if not dataset.train:
        who = f"company {spec.company!r}" if spec.company else "the corpus"
        raise ConfigError(
            f"no training examples for {who} in {corpus.data_dir}: is it ingested "
            "there (finrag filings), and is the company spelled as in the catalog?"
        )
    write_dataset(dataset, folder)
    return dataset, folder


def run_job(
    corpus: Corpus,
    spec: JobSpec,
    on_progress: Callable[[int, int, dict], None] | None = None,
    show_progress: bool = False,
) -> JobState:
    """Build (or reuse) the data, train, and record the outcome in ``out/job.json``.

    ``corpus`` is the open corpus the company stage reads (and whose settings name the model
    cache); the general stage opens its generated corpus itself.
    """
    job = JobState(spec=spec)
    _save(job)
    t0 = time.perf_counter()
    try:
        # Under the user's data_dir (the sets' cached corpora and groups), not the general
        # corpus's own.
        labelled = _labelled_questions(corpus.settings, spec)
        if spec.stage == "general":
            job.phase = "corpus"
            _save(job)
            with open_general_corpus(corpus.settings, spec.corpus) as general:
                _run(general, spec, job, t0, labelled, on_progress, show_progress)
        else:
            _run(corpus, spec, job, t0, labelled, on_progress, show_progress)
    except Exception as exc:
        job.state, job.message = (
            "failed",
            str(exc) if isinstance(exc, FinragError) else f"{type(exc).__name__}: {exc}",
        )
        job.finished_at = datetime.now(UTC)
        _save(job)
        raise
    job.state, job.phase, job.finished_at = "done", "done", datetime.now(UTC)
    job.seconds["total"] = round(time.perf_counter() - t0, 1)
    _save(job)
    return job


def _run(
    corpus: Corpus,
    spec: JobSpec,
    job: JobState,
    t0: float,
    labelled: list,
    on_progress: Callable[[int, int, dict], None] | None,
    show_progress: bool,
) -> None:
    """Data, training and calibration over one open corpus (``labelled``: the learned
    ranker's labelled question groups, :func:`_labelled_questions`)."""
    dataset, folder = _dataset(corpus, spec, job)
    job.dataset_path, job.dataset_version = str(Path(folder).resolve()), dataset.manifest.version
    job.examples = {"train": len(dataset.train), "dev": len(dataset.dev)}
    job.seconds["data"] = round(time.perf_counter() - t0, 1)
    job.phase = "training"
    _save(job)
    t1 = time.perf_counter()
    minutes = None
    if spec.max_minutes is not None:
        left = spec.max_minutes - (time.perf_counter() - t0) / 60 - CALIBRATION_RESERVE_MIN
        minutes = max(left, 1.0)
    if spec.backend == "learned":
        _train_learned(corpus, spec, job, dataset, labelled)
    else:
        _train(spec, dataset, on_progress, show_progress, minutes)
    job.seconds["training"] = round(time.perf_counter() - t1, 1)
    if spec.backend == "cross-encoder" and dataset.dev:
        job.phase = "calibrating"
        _save(job)
        t2 = time.perf_counter()
        from finetune.fusion import calibrate_fusion

        fusion = calibrate_fusion(
            spec.out / "model", dataset.dev, corpus, max_queries=CALIBRATION_QUERIES
        )
        job.fusion_weight = fusion["weight"]
        job.seconds["calibration"] = round(time.perf_counter() - t2, 1)
    _tag_model(spec.out / "model", job)


def _labelled_questions(settings: Settings, spec: JobSpec) -> list:
    """``spec.questions``' sets retrieved against their cached corpora under
    ``settings.data_dir`` (:func:`finetune.folds.collect_questions`), less ``exclude_set``'s."""
    from finetune.folds import collect_questions, same_text

    if spec.backend != "learned" or not spec.questions:
        return []
    excluded = set()
    if spec.exclude_set is not None:
        from evaluation.sets import load_set

        excluded = {same_text(q.question) for q in load_set(spec.exclude_set).questions}
    cache = settings.data_dir / "finetune" / "folds"
    return [
        g
        for set_dir in spec.questions
        for g in collect_questions(settings, Path(set_dir), cache)
        if same_text(g.query) not in excluded
    ]


def _train_learned(
    corpus: Corpus, spec: JobSpec, job: JobState, dataset: Any, labelled: list
) -> None:
    """Retrieve the dataset's queries, fit the LambdaMART page ranker, report on the dev split."""
    from finetune.ranker import (
        ROUNDS,
        collect_groups,
        dev_report,
        labelled_queries,
        save_ranker,
        serving_ms,
        train_ranker,
        write_groups,
    )
    from rerank.learned import WINDOW

    most = int(spec.overrides.get("max_queries") or LEARNED_MAX_QUERIES)
    train_queries = labelled_queries(dataset.train, corpus, most)
    dev_queries = labelled_queries(dataset.dev, corpus, max(most // 4, 1))
    if not dev_queries and len(train_queries) >= 10:
        # One filing (a company with a single report): no filing is left for a dev split, so a
        # seeded fifth of its queries calibrates instead (same filing, other pages and queries).
        cut = len(train_queries) - len(train_queries) // 5
        train_queries, dev_queries = train_queries[:cut], train_queries[cut:]
    train = collect_groups(corpus, train_queries)
    dev = collect_groups(corpus, dev_queries)
    train += labelled
    write_groups(train, spec.out / "groups-train.jsonl")
    write_groups(dev, spec.out / "groups-dev.jsonl")
    rounds = int(spec.overrides.get("rounds") or ROUNDS)
    booster = train_ranker(train, rounds=rounds)
    save_ranker(
        booster,
        spec.out / "model",
        {
            "stage": spec.stage,
            "company": spec.company,
            "queries": len(train),
            "labelled_questions": len(labelled),
            "question_sets": [str(Path(d).resolve()) for d in spec.questions],
            "rounds": rounds,
            "window": WINDOW,
        },
    )
    report = {
        **dev_report(booster, dev, WINDOW),
        "groups": {
            "train": len(train),
            "train_useful": sum(g.useful for g in train),
            "labelled_questions": len(labelled),
            "dev": len(dev),
        },
        "serving": serving_ms(booster, dev or train),
        "stopped": "completed",
    }
    (spec.out / "report.json").write_text(json.dumps(report, indent=2))


def _train(
    spec: JobSpec, dataset: Any, on_progress: Any, show_progress: bool, minutes: float | None
) -> None:
    if spec.backend == "cross-encoder":
        from finetune.trainer import load_config, train_cross_encoder

        options: dict[str, Any] = {"max_minutes": minutes} if minutes is not None else {}
        options |= {k: v for k, v in spec.overrides.items() if v is not None}
        config = load_config(
            spec.config,
            stage=spec.stage,
            company=spec.company,
            base=spec.base,
            out=spec.out,
            resume=spec.resume or None,
            dataset_version=dataset.manifest.version,
            **options,
        )
        train_cross_encoder(
            config, dataset.train, dataset.dev, on_progress=on_progress, show_progress=show_progress
        )
        return
    import tomllib

    from finetune.lora import LoraFinetuneConfig, train_lora

    values: dict[str, Any] = (
        tomllib.loads(spec.config.read_text()).get("lora", {}) if spec.config else {}
    )
    values |= {k: v for k, v in spec.overrides.items() if v is not None}
    if spec.base:
        values["base_model"] = spec.base
    values |= {
        "output_dir": spec.out,
        "stage": 1 if spec.stage == "general" else 2,
        "resume": spec.resume,
    }
    try:
        config = LoraFinetuneConfig.model_validate(values)
    except ValueError as exc:
        raise ConfigError(f"invalid LoRA fine-tuning options: {exc}") from exc

    def progress(entry: Any) -> None:
        if on_progress is not None:
            on_progress(entry.step, 0, {"loss": entry.loss or 0.0, "dev_mrr": entry.dev_mrr or 0.0})

    train_lora(config, dataset.train, dataset.dev, on_progress=progress)


def _tag_model(model_dir: Path, job: JobState) -> None:
    """Record the dataset in the model's own metadata, for the gate's leak check."""
    info_path = model_dir / "finrag_model.json"
    if not info_path.exists():
        return
    info = json.loads(info_path.read_text())
    info["dataset_path"], info["dataset_version"] = job.dataset_path, job.dataset_version
    info_path.write_text(json.dumps(info, indent=2, default=str))
