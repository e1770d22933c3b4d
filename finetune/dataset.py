"""The reranker training dataset: gathered, deduplicated, split by filing, versioned.

Contract: :func:`build_dataset` reads the indexed corpus (``settings.data_dir``) and returns a
:class:`TrainingDataset` of :class:`~core.records.TrainingExample` records in two splits plus a
:class:`DatasetManifest`; :func:`write_dataset` writes it as a folder (``train.jsonl``,
``dev.jsonl``, ``manifest.json``) and :func:`load_dataset` reads it back, checking the version.

Sources (each example's ``source``):

* ``feedback``: analysts' :class:`~core.records.Feedback`, grouped by question. A thumbs-up makes
  each cited chunk (not marked wrong) a positive; chunks marked wrong under any verdict become
  that question's first negatives. A question with no thumbs-up contributes nothing.
* ``memory``: memory-bank entries with a source citation: the question and each paraphrase ->
  the cited chunk (by chunk id, else the best lexical match on the cited page).
* ``eval``: a FinanceBench-format set: question -> the chunk on its gold evidence page that best
  matches the question (and the set's ``evidence_text`` when present) lexically; no other chunk
  of an evidence page is ever a negative.
* ``synthetic-table`` / ``synthetic-heading`` / ``synthetic-sentence``: mined without an LLM
  (:mod:`finetune.synthetic`).

Rules, in order: questions in ``exclude_questions`` and filings in ``exclude_docs`` never appear
(as query, positive or negative); duplicates (normalised query + positive chunk) keep the first
by source priority feedback > memory > eval > synthetic; ``max_per_doc`` caps each filing
(non-synthetic first, then a seeded sample of synthetic ones). Filings are split into train and
dev by a seeded hash rank (``dev_fraction`` of the filings, at least one each when there are two
or more), and negatives are mined only from the example's own split, so no filing (and so no
page) is seen by both splits. Hard negatives: :mod:`finetune.negatives`.

Version: the first 16 hex digits of sha256 over ``train.jsonl`` and ``dev.jsonl`` as written;
the same corpus and options give the same version (``created_at`` is not part of it).

Example:
    >>> ds = build_dataset(Settings(), eval_set=None, dev_fraction=0.2)  # doctest: +SKIP
    >>> write_dataset(ds, Path("datasets") / f"rerank-{ds.manifest.version}")  # doctest: +SKIP
    >>> load_dataset(Path("datasets/rerank-1f2e...")).manifest.counts["source"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.errors import ConfigError
from core.records import Chunk, Citation, Feedback, MemoryEntry, TrainingExample, TrainingSource
from core.settings import Settings
from finetune.negatives import AnswerKey, Negative, NegativeMiner, figure_of, terms_of
from finetune.synthetic import MINERS, mine_queries
from rerank.base import passage_text
from retrieval.corpus import Corpus
from retrieval.resolver.companies import name_aliases

logger = logging.getLogger(__name__)

SourceName = Literal["synthetic", "feedback", "memory", "eval"]
SOURCES: tuple[SourceName, ...] = ("synthetic", "feedback", "memory", "eval")
Split = Literal["train", "dev"]
SPLITS: tuple[Split, ...] = ("train", "dev")
_PRIORITY = {"feedback": 0, "memory": 1, "eval": 2}  # synthetic sources come last


class BuildOptions(BaseModel):
    """Everything that decides a dataset's content (recorded in the manifest)."""

    companies: list[str] | None = None
    sources: list[str] = Field(default_factory=lambda: list(SOURCES))
    eval_set: str | None = None  # the set's name
    exclude_docs: list[str] = Field(default_factory=list)
    exclude_questions: int = 0  # how many; the texts themselves are not copied here
    exclude_questions_sha256: str = ""
    dev_fraction: float = 0.2
    negatives_per_query: int = 4
    max_per_doc: int | None = None
    seed: int = 13
    miners: list[str] = Field(default_factory=lambda: list(MINERS))
    per_table: int = 2
    per_text: int = 1
    mining: Literal["hybrid", "lexical"] = "hybrid"
    candidates: int = 20
    feedback: int = 0  # feedback records given
    memory_entries: int = 0  # memory entries read


class DatasetManifest(BaseModel):
    name: str = "rerank-training"
    version: str
    created_at: datetime
    files: dict[str, str] = Field(default_factory=lambda: {s: f"{s}.jsonl" for s in SPLITS})
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    by_split: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    negatives: dict[str, int] = Field(default_factory=dict)  # negative kinds mined
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> drafts dropped
    doc_ids: dict[str, list[str]] = Field(default_factory=dict)  # split -> filings
    options: BuildOptions
    timings_s: dict[str, float] = Field(default_factory=dict)  # CPU seconds per stage
    wall_s: float = 0.0


@dataclass
class TrainingDataset:
    train: list[TrainingExample]
    dev: list[TrainingExample]
    manifest: DatasetManifest

    def split(self, name: Split) -> list[TrainingExample]:
        return self.train if name == "train" else self.dev


@dataclass
class _Draft:
    """An example before dedupe, splitting and negative mining."""

    query: str
    positive: Chunk
    source: TrainingSource
    key: AnswerKey = field(default_factory=AnswerKey)
    explicit: tuple[str, ...] = ()


# -- helpers ------------------------------------------------------------------------------------


_PUNCT_END = re.compile(r"[\s?.!]+$")


def normalise_query(text: str) -> str:
    """Lower case, single spaces, no trailing punctuation: the dedupe and exclusion form."""
    return _PUNCT_END.sub("", " ".join(text.lower().split()))


def example_id(query: str, positive_id: str) -> str:
    return hashlib.sha256(f"{normalise_query(query)}\x1f{positive_id}".encode()).hexdigest()[:16]


def _rank(seed: int, *parts: object) -> str:
    return hashlib.blake2b(
        "\x1f".join(map(str, (seed, *parts))).encode(), digest_size=8
    ).hexdigest()


def assign_splits(doc_ids: Iterable[str], dev_fraction: float, seed: int) -> dict[str, Split]:
    """Filing -> split: the ``dev_fraction`` of filings with the lowest seeded hash go to dev.

    With two or more filings and a fraction above 0, each split gets at least one filing.
    The assignment depends only on the set of filings and the seed, not on any example.
    """
    if not 0.0 <= dev_fraction < 1.0:
        raise ConfigError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    ordered = sorted(set(doc_ids), key=lambda d: (_rank(seed, "split", d), d))
    n_dev = round(len(ordered) * dev_fraction)
    if dev_fraction > 0 and len(ordered) >= 2:
        n_dev = min(max(n_dev, 1), len(ordered) - 1)
    return {d: ("dev" if i < n_dev else "train") for i, d in enumerate(ordered)}


def _same_company(wanted: Sequence[str], chunk: Chunk) -> bool:
    have = set()
    if chunk.company:
        have |= name_aliases(chunk.company)[1]
    if chunk.ticker:
        have.add(chunk.ticker.lower())
    return any(name_aliases(w)[1] & have or w.lower() in have for w in wanted)


class _Lookup:
    """Chunks by id, by page and by file name, with idf-weighted lexical matching."""

    def __init__(self, miner: NegativeMiner) -> None:
        self.miner = miner
        self.by_id = miner.corpus.chunks
        self.pages = miner.corpus.pages
        self.docs_by_file: dict[str, set[str]] = defaultdict(set)
        for c in self.by_id.values():
            self.docs_by_file[c.file_name].add(c.doc_id)

    def best_on_pages(self, pages: Iterable[tuple[str, int]], text: str) -> Chunk | None:
        """The chunk on ``pages`` sharing the most idf mass with ``text`` (earliest on a tie)."""
        terms = terms_of(text)
        idf = self.miner.corpus.idf
        best, best_score = None, -1.0
        for page in sorted(set(pages)):
            for c in self.pages.get(page, []):
                score = sum(idf.get(t, 0.0) for t in terms & self.miner.terms(c))
                if score > best_score:
                    best, best_score = c, score
        return best

    def cited(self, citation: Citation, context: str) -> Chunk | None:
        if citation.chunk_id and citation.chunk_id in self.by_id:
            return self.by_id[citation.chunk_id]
        if citation.chunk_id:
            return None  # a chunk that is gone (re-ingested or deleted filing)
        return self.best_on_pages(
            [(citation.doc_id, citation.page_no)], f"{context} {citation.quote}"
        )


# -- sources ------------------------------------------------------------------------------------


def _feedback_drafts(
    feedback: Iterable[Feedback], lookup: _Lookup, skipped: Counter
) -> list[_Draft]:
    groups: dict[str, list[Feedback]] = defaultdict(list)
    for fb in feedback:
        groups[normalise_query(fb.question)].append(fb)
    drafts: list[_Draft] = []
    for items in groups.values():
        wrong = {cid for fb in items for cid in fb.wrong_citations}
        positives: dict[str, Chunk] = {}
        for fb in items:
            if fb.verdict != "up":
                continue
            for citation in fb.citations:
                if citation.chunk_id in wrong:
                    continue
                chunk = lookup.cited(citation, fb.question)
                if chunk is None:
                    skipped["feedback-citation-not-indexed"] += 1
                elif chunk.chunk_id not in wrong:
                    positives.setdefault(chunk.chunk_id, chunk)
        if not positives:
            skipped["feedback-without-positive"] += 1
            continue
        explicit = tuple(sorted(wrong - set(positives)))
        key = AnswerKey(positive_ids=frozenset(positives))
        question = items[0].question
        drafts += [_Draft(question, c, "feedback", key, explicit) for c in positives.values()]
    return drafts


def _memory_drafts(
    entries: Iterable[MemoryEntry], lookup: _Lookup, skipped: Counter
) -> list[_Draft]:
    drafts: list[_Draft] = []
    for entry in entries:
        if entry.retired or entry.source is None:
            skipped["memory-without-source"] += 1
            continue
        chunk = lookup.cited(entry.source, f"{entry.question} {entry.answer}")
        if chunk is None:
            skipped["memory-source-not-indexed"] += 1
            continue
        figure = figure_of(entry.answer)
        # Any chunk on the cited page, or holding the answer's figure, may answer it as well.
        key = AnswerKey(
            pages=frozenset({(chunk.doc_id, chunk.page_no)}),
            figures=frozenset({figure}) if figure else frozenset(),
            positive_ids=frozenset({chunk.chunk_id}),
        )
        for phrasing in dict.fromkeys([entry.question, *entry.paraphrases]):
            if phrasing.strip():
                drafts.append(_Draft(phrasing, chunk, "memory", key))
    return drafts


def _eval_drafts(eval_set: Any, lookup: _Lookup, skipped: Counter) -> list[_Draft]:
    drafts: list[_Draft] = []
    for q in eval_set.questions:
        doc_ids = lookup.docs_by_file.get(q.doc, set())
        if not doc_ids:
            skipped["eval-doc-not-indexed"] += 1
            continue
        pages = {(d, p) for d in doc_ids for p in q.evidence_pages}
        evidence = q.extra.get("evidence_text") or ""
        chunk = lookup.best_on_pages(pages, f"{q.question} {evidence}")
        if chunk is None:
            skipped["eval-page-without-chunks"] += 1
            continue
        drafts.append(_Draft(q.question, chunk, "eval", AnswerKey(pages=frozenset(pages))))
    return drafts


def _read_memory(corpus: Corpus) -> list[MemoryEntry]:
    index = corpus.memory_index
    if not index.exists():
        return []
    return index.entries(approved=True, retired=False)


# -- build --------------------------------------------------------------------------------------


def build_dataset(
    corpus: Corpus,
    *,
    companies: Sequence[str] | None = None,
    sources: Sequence[SourceName] = SOURCES,
    eval_set: Any = None,
    feedback: Iterable[Feedback] = (),
    memory: Iterable[MemoryEntry] | None = None,
    exclude_docs: Iterable[str] = (),
    exclude_questions: Iterable[str] = (),
    dev_fraction: float = 0.2,
    negatives_per_query: int = 4,
    max_per_doc: int | None = None,
    seed: int = 13,
    miners: Sequence[str] = MINERS,
    per_table: int = 2,
    per_text: int = 1,
    mining: Literal["hybrid", "lexical"] = "hybrid",
    candidates: int = 20,
) -> TrainingDataset:
    """Build the dataset from the open ``corpus``'s indexed chunks (see the module docstring).

    Args:
        companies: only filings of these companies (any spelling of the name, or the ticker).
        sources: any of ``synthetic``, ``feedback``, ``memory``, ``eval``.
        eval_set: an :class:`evaluation.sets.EvalSet` or the path of a FinanceBench-format
            folder; used only when ``eval`` is among the sources.
        feedback: analyst feedback records (e.g. a feedback store).
        memory: memory entries; None reads the approved entries of the memory bank.
        exclude_docs: filings (doc ids) kept out of both splits entirely.
        exclude_questions: questions (e.g. a held-out evaluation set's) no example may ask.
        dev_fraction: share of filings in the dev split.
        negatives_per_query: hard negatives per example.
        max_per_doc: cap on examples whose positive is in one filing (None: no cap).
        seed: split, sampling and template choice.
        miners, per_table, per_text: synthetic query mining (:func:`mine_queries`).
        mining: ``hybrid`` ranks candidates with the production hybrid search (loads the
            embedder); ``lexical`` ranks them in memory (no model).
        candidates: hits fetched per hybrid search.

    Raises:
        ConfigError: an unknown source, a bad ``dev_fraction``, or an empty corpus.
    """
    wall0 = time.perf_counter()
    timings: dict[str, float] = {}
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ConfigError(f"unknown dataset sources {sorted(unknown)}; known: {', '.join(SOURCES)}")
    feedback = list(feedback)
    excluded_docs = set(exclude_docs)
    excluded_questions = {normalise_query(q) for q in exclude_questions}

    t0 = time.process_time()
    chunks = corpus.index.scroll_chunks()
    if companies:
        chunks = [c for c in chunks if _same_company(companies, c)]
    chunks = [c for c in chunks if c.doc_id not in excluded_docs]
    if not chunks:
        raise ConfigError(
            f"no indexed chunks to build a dataset from in {corpus.data_dir}"
            f"{' for companies ' + ', '.join(companies) if companies else ''}: ingest filings "
            "first (finrag ingest), or check --companies and the excluded filings"
        )
    search = None
    if mining == "hybrid":
        from retrieval.search import CorpusSearch

        search = CorpusSearch(corpus)
    miner = NegativeMiner(
        chunks,
        search=search,
        per_query=negatives_per_query,
        candidates=candidates,
    )
    lookup = _Lookup(miner)
    timings["load"] = time.process_time() - t0

    t0 = time.process_time()
    skipped: Counter = Counter()
    drafts: list[_Draft] = []
    if "feedback" in sources:
        drafts += _feedback_drafts(feedback, lookup, skipped)
    memory_entries: list[MemoryEntry] = []
    if "memory" in sources:
        memory_entries = list(memory) if memory is not None else _read_memory(corpus)
        drafts += _memory_drafts(memory_entries, lookup, skipped)
    eval_name = None
    if "eval" in sources and eval_set is not None:
        if not hasattr(eval_set, "questions"):
            from evaluation.sets import load_set

            eval_set = load_set(Path(eval_set))
        eval_name = eval_set.name
        drafts += _eval_drafts(eval_set, lookup, skipped)
    if "synthetic" in sources:
        for q in mine_queries(
            chunks, seed=seed, miners=miners, per_table=per_table, per_text=per_text
        ):
            drafts.append(_Draft(q.query, q.positive, q.source, q.key))
    timings["gather"] = time.process_time() - t0

    drafts = _filter(drafts, excluded_questions, excluded_docs, max_per_doc, seed, skipped)
    splits = assign_splits({c.doc_id for c in chunks}, dev_fraction, seed)
    docs_in: dict[Split, set[str]] = {s: {d for d, v in splits.items() if v == s} for s in SPLITS}

    t0 = time.process_time()
    out: dict[Split, list[TrainingExample]] = {s: [] for s in SPLITS}
    kinds: Counter = Counter()
    for draft in drafts:
        split = splits[draft.positive.doc_id]
        negatives = miner.mine(
            draft.query, draft.positive, draft.key, docs_in[split], explicit=draft.explicit
        )
        kinds.update(n.kind for n in negatives)
        out[split].append(_example(draft, negatives))
    timings["negatives"] = time.process_time() - t0

    options = BuildOptions(
        companies=list(companies) if companies else None,
        sources=list(sources),
        eval_set=eval_name,
        exclude_docs=sorted(excluded_docs),
        exclude_questions=len(excluded_questions),
        exclude_questions_sha256=hashlib.sha256(
            "\n".join(sorted(excluded_questions)).encode()
        ).hexdigest()
        if excluded_questions
        else "",
        dev_fraction=dev_fraction,
        negatives_per_query=negatives_per_query,
        max_per_doc=max_per_doc,
        seed=seed,
        miners=list(miners),
        per_table=per_table,
        per_text=per_text,
        mining=mining,
        candidates=candidates,
        feedback=len(feedback),
        memory_entries=len(memory_entries),
    )
    manifest = _manifest(out, splits, options, kinds, skipped, timings)
    manifest.wall_s = round(time.perf_counter() - wall0, 3)
    logger.info("dataset %s: %s", manifest.version, manifest.counts.get("split"))
    return TrainingDataset(train=out["train"], dev=out["dev"], manifest=manifest)


def _filter(
    drafts: list[_Draft],
    excluded_questions: set[str],
    excluded_docs: set[str],
    max_per_doc: int | None,
    seed: int,
    skipped: Counter,
) -> list[_Draft]:
    """Exclusions, dedupe by (normalised query, positive) in source priority, per-filing cap."""
    ordered = sorted(enumerate(drafts), key=lambda p: (_PRIORITY.get(p[1].source, 3), p[0]))
    kept: list[_Draft] = []
    seen: set[tuple[str, str]] = set()
    for _, d in ordered:
        norm = normalise_query(d.query)
        if norm in excluded_questions:
            skipped["excluded-question"] += 1
            continue
        if d.positive.doc_id in excluded_docs:
            skipped["excluded-doc"] += 1
            continue
        if (norm, d.positive.chunk_id) in seen:
            skipped[f"duplicate-{d.source}"] += 1
            continue
        seen.add((norm, d.positive.chunk_id))
        kept.append(d)
    # One query text with several positives (a heading in two sections, a sentence in two
    # filings): each positive is an answer for the others, never their negative.
    positives: dict[str, set[str]] = defaultdict(set)
    for d in kept:
        positives[normalise_query(d.query)].add(d.positive.chunk_id)
    for d in kept:
        others = positives[normalise_query(d.query)]
        if len(others) > 1:
            d.key = replace(d.key, positive_ids=d.key.positive_ids | others)
    if max_per_doc is not None:
        by_doc: dict[str, list[_Draft]] = defaultdict(list)
        for d in kept:
            by_doc[d.positive.doc_id].append(d)
        capped: set[int] = set()
        for items in by_doc.values():
            curated = [d for d in items if d.source in _PRIORITY]
            mined = sorted(
                (d for d in items if d.source not in _PRIORITY),
                key=lambda d: _rank(seed, "cap", normalise_query(d.query), d.positive.chunk_id),
            )
            chosen = (curated + mined)[:max_per_doc]
            capped |= {id(d) for d in chosen}
            skipped["over-max-per-doc"] += len(items) - len(chosen)
        kept = [d for d in kept if id(d) in capped]
    return kept


def _example(draft: _Draft, negatives: list[Negative]) -> TrainingExample:
    p = draft.positive
    return TrainingExample(
        example_id=example_id(draft.query, p.chunk_id),
        query=draft.query,
        positive=passage_text(p),
        positive_id=p.chunk_id,
        negatives=[passage_text(n.chunk) for n in negatives],
        negative_ids=[n.chunk.chunk_id for n in negatives],
        company=p.company,
        doc_id=p.doc_id,
        source=draft.source,
    )


def _jsonl(examples: list[TrainingExample]) -> bytes:
    return b"".join(e.model_dump_json().encode() + b"\n" for e in examples)


def _version(train: list[TrainingExample], dev: list[TrainingExample]) -> str:
    digest = hashlib.sha256()
    for name, data in (("train", _jsonl(train)), ("dev", _jsonl(dev))):
        digest.update(f"{name}\x1f{len(data)}\x1f".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def _manifest(
    out: dict[Split, list[TrainingExample]],
    splits: dict[str, Split],
    options: BuildOptions,
    kinds: Counter,
    skipped: Counter,
    timings: dict[str, float],
) -> DatasetManifest:
    everything = out["train"] + out["dev"]
    by_split = {
        s: {
            "source": dict(sorted(Counter(e.source for e in out[s]).items())),
            "company": dict(sorted(Counter(e.company or "" for e in out[s]).items())),
        }
        for s in SPLITS
    }
    return DatasetManifest(
        version=_version(out["train"], out["dev"]),
        created_at=datetime.now(UTC),
        counts={
            "split": {s: len(out[s]) for s in SPLITS},
            "source": dict(sorted(Counter(e.source for e in everything).items())),
            "company": dict(sorted(Counter(e.company or "" for e in everything).items())),
        },
        by_split=by_split,
        negatives=dict(sorted(kinds.items())),
        skipped=dict(sorted(skipped.items())),
        doc_ids={s: sorted(d for d, v in splits.items() if v == s) for s in SPLITS},
        options=options,
        timings_s={k: round(v, 3) for k, v in timings.items()},
    )


# -- files --------------------------------------------------------------------------------------


def default_dataset_dir(settings: Settings, manifest: DatasetManifest) -> Path:
    """``<data_dir>/datasets/rerank-<version>``: where the CLI writes a dataset by default."""
    return settings.data_dir / "datasets" / f"rerank-{manifest.version}"


def write_dataset(dataset: TrainingDataset, folder: Path) -> Path:
    """Write ``train.jsonl``, ``dev.jsonl`` and ``manifest.json`` into ``folder`` (created).

    Each file is written to a temporary name and renamed, so a reader never sees half a file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        dataset.manifest.files["train"]: _jsonl(dataset.train),
        dataset.manifest.files["dev"]: _jsonl(dataset.dev),
        "manifest.json": (dataset.manifest.model_dump_json(indent=2) + "\n").encode(),
    }
    for name, data in files.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(folder / name)
    logger.info("wrote dataset %s to %s", dataset.manifest.version, folder)
    return folder


def load_dataset(folder: Path) -> TrainingDataset:
    """Read a folder written by :func:`write_dataset`.

    Raises:
        ConfigError: a file is missing or malformed, or the examples no longer match the
            manifest's version (edited after writing: rebuild the dataset instead).
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.exists():
        raise ConfigError(f"{folder} is not a training dataset: manifest.json is missing")
    try:
        manifest = DatasetManifest.model_validate_json(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path} is not a valid dataset manifest: {exc}") from None
    splits: dict[str, list[TrainingExample]] = {}
    for split in SPLITS:
        file = folder / manifest.files[split]
        if not file.exists():
            raise ConfigError(
                f"{folder} lacks {file.name}, named in its manifest; rebuild the dataset"
            )
        examples = []
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                examples.append(TrainingExample.model_validate_json(line))
            except ValueError as exc:
                raise ConfigError(f"{file}:{number}: not a training example ({exc})") from None
        splits[split] = examples
    version = _version(splits["train"], splits["dev"])
    if version != manifest.version:
        raise ConfigError(
            f"{folder}: the examples hash to version {version} but the manifest says "
            f"{manifest.version}; the files were changed after writing, rebuild the dataset"
        )
    return TrainingDataset(train=splits["train"], dev=splits["dev"], manifest=manifest)


def dataset_summary(manifest: DatasetManifest) -> str:
    """One line for logs and the CLI."""
    return json.dumps(
        {
            "version": manifest.version,
            **manifest.counts["split"],
            "source": manifest.counts["source"],
        }
    )
