"""The learned page ranker's job through the CLI, and its gate on company folds (synthetic)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.errors import FinragError
from core.options import HashEmbedderOptions, LearnedRerankerOptions
from core.settings import Settings
from finetune.folds import company_folds
from finetune.gate import evaluate_folds, promote
from finetune.ranker import PARAMS, read_groups, save_ranker, train_ranker, write_groups
from rerank.base import build_reranker
from rerank.learned import LearnedPageReranker
from rerank.promoted import serving
from tests.fixtures.sample_set import write_sample_set
from tests.rerank.test_learned import synthetic_groups


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, model_cache, sample_folder):
    """A closed corpus of the sample filings (hash embedder): the CLI opens it itself."""
    from ingest.pipeline import Ingestor
    from retrieval.corpus import Corpus

    root = tmp_path_factory.mktemp("ranker-corpus")
    settings = Settings(data_dir=root, model_cache=model_cache, embedder=HashEmbedderOptions())
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        assert Ingestor(corpus).ingest([sample_folder]).count("ok") == 3
    return root


def test_the_learned_job_kind_through_the_cli(
    data_dir, model_cache, sample_folder, tmp_path, monkeypatch
):
    from ui.cli import app

    monkeypatch.setenv("FINRAG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FINRAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("FINRAG_EMBEDDER__NAME", "hash")
    monkeypatch.setenv("FINRAG_CONFIG", str(data_dir / "absent.toml"))
    out = data_dir / "jobs" / "ranker"
    labelled = write_sample_set(tmp_path / "labelled", sample_folder)
    result = CliRunner().invoke(
        app,
        ["finetune", "--stage", "company", "--backend", "learned", "--out", str(out)]
        + ["--max-queries", "80", "--questions", str(labelled)],
    )
    assert result.exit_code == 0, result.output
    assert "dev MRR" in result.output and "serving cost" in result.output
    assert "labelled questions trained on: 3" in result.output
    info = json.loads((out / "model" / "finrag_model.json").read_text())
    assert info["backend"] == "learned" and info["dataset_path"] and info["window"] == 5
    assert info["labelled_questions"] == 3 and info["question_sets"] == [str(labelled.resolve())]
    report = json.loads((out / "report.json").read_text())
    assert report["groups"]["train"] > 0 and report["serving"]["p50_ms"] < 20
    trained = read_groups(out / "groups-train.jsonl")
    asked = [g for g in trained if g.source == "financebench"]
    assert len(asked) == 3 and all(g.gold for g in asked)  # the sample set's evidence pages
    # --questions trains the learned ranker only.
    refused = CliRunner().invoke(
        app,
        ["finetune", "--stage", "company", "--out", str(tmp_path / "x")]
        + ["--questions", str(labelled)],
    )
    assert refused.exit_code != 0 and "--backend learned" in refused.output
    reranker = LearnedPageReranker(LearnedRerankerOptions(model=str(out / "model")))
    assert reranker.info["stage"] == "company"
    # Its serving cost, on the real hits of the labelled set's questions.
    bench = CliRunner().invoke(
        app, ["bench", "rerank", "--model", str(out / "model"), "--set", str(labelled)]
    )
    assert bench.exit_code == 0, bench.output
    timing = json.loads(bench.output)
    assert timing["questions"] == 3 and timing["calls"] == 15
    assert 0 < timing["p50_ms"] <= timing["p95_ms"] <= timing["max_ms"] < 1000


def _questions(n: int, seed: int):
    groups = synthetic_groups(n, seed=seed)
    for i, g in enumerate(groups):
        g.qid = f"sample:{i}"
        g.company = ["ACME", "BETA", "GAMMA"][i % 3]
    return groups


def test_the_general_stage_reads_labelled_questions_under_the_users_data_dir(
    data_dir, model_cache, sample_folder, tmp_path, monkeypatch
):
    """The general stage trains in its own generated corpus, but the labelled sets' corpora and
    groups are the user's (the folds' cache), not copies inside the general corpus."""
    import contextlib
    import copy

    import finetune.jobs as jobs
    from retrieval.corpus import Corpus

    settings = Settings(data_dir=data_dir, model_cache=model_cache, embedder=HashEmbedderOptions())
    settings.ingest.workers = 1
    elsewhere = tmp_path / "general-corpus"

    with Corpus.open(settings) as corpus:

        @contextlib.contextmanager
        def general(_settings, _folder=None):
            # the sample corpus stands in for the generated one, under another data_dir
            stand_in = copy.copy(corpus)
            stand_in.settings = corpus.settings.model_copy(update={"data_dir": elsewhere})
            yield stand_in

        monkeypatch.setattr(jobs, "open_general_corpus", general)
        labelled = write_sample_set(tmp_path / "general-labelled", sample_folder)
        spec = jobs.JobSpec(
            stage="general",
            backend="learned",
            out=tmp_path / "job",
            questions=[labelled],
            overrides={"max_queries": 60},
        )
        job = jobs.run_job(corpus, spec)
    assert job.state == "done"
    assert (data_dir / "finetune" / "folds" / "general-labelled-questions.jsonl").exists()
    assert not (elsewhere / "finetune").exists() and not (elsewhere / "eval").exists()
    info = json.loads((tmp_path / "job" / "model" / "finrag_model.json").read_text())
    assert info["labelled_questions"] == 3


def test_company_folds_never_train_on_the_held_out_company():
    questions = _questions(30, seed=5)
    seen: list[set] = []
    import finetune.folds as folds

    real = folds.train_ranker

    def spy(train, params=None, rounds=100):
        seen.append({g.company for g in train if g.qid.startswith("sample:")})
        return real(train, params, rounds)

    folds.train_ranker = spy
    try:
        result = company_folds(
            questions, synthetic_groups(60), {"candidate": {"params": PARAMS, "rounds": 20}}
        )
    finally:
        folds.train_ranker = real
    assert [f["company"] for f in result["folds"]] == ["acme", "beta", "gamma"]
    assert seen == [{"BETA", "GAMMA"}, {"ACME", "GAMMA"}, {"ACME", "BETA"}]
    assert result["pooled"]["none"]["n"] == 30
    assert result["by_set"]["sample"]["none"]["n"] == 30


def test_a_jobs_own_labelled_questions_never_reach_the_fold_that_tests_them():
    """A job trained with --questions on the very sets the folds test: each fold drops them."""
    questions = _questions(30, seed=5)
    own = _questions(30, seed=5)  # the same questions, as the job's labelled training data
    for g in own:
        g.qid = "job:" + g.qid
    other = synthetic_groups(3, seed=9)  # another set's questions about another company
    for i, g in enumerate(other):
        g.qid, g.company, g.query = f"job:o{i}", "DELTA", f"how much cash in year {i}?"
    own += other
    trained: list[list] = []
    import finetune.folds as folds

    real = folds.train_ranker

    def spy(train, params=None, rounds=100):
        trained.append(train)
        return real(train, params, rounds)

    folds.train_ranker = spy
    try:
        company_folds(
            questions, synthetic_groups(60), {"candidate": {"rounds": 10}}, {"candidate": own}
        )
    finally:
        folds.train_ranker = real
    for train in trained:
        job = [g for g in train if g.qid.startswith("job:")]
        assert [g.company for g in job] == ["DELTA"] * 3  # only what no fold tests


def _candidate(folder, params=None):
    booster = train_ranker(synthetic_groups(80, seed=1), params, rounds=30)
    info = {"stage": "company", "params": {**PARAMS, **(params or {})}}
    return save_ranker(booster, folder / "model", info)


def test_the_gate_refuses_a_ranker_that_gains_nothing_and_promotes_a_better_one(
    settings, sample_folder, tmp_path
):
    set_dir = write_sample_set(tmp_path / "set", sample_folder)
    cache = tmp_path / "cache"
    write_groups(_questions(30, seed=7), cache / "set-questions.jsonl")
    write_groups(synthetic_groups(90, seed=8), cache / "set-synthetic-600-13.jsonl")

    # Leaves that need more rows than there are: a constant score, i.e. retrieval order.
    flat = _candidate(tmp_path / "flat", {"min_data_in_leaf": 100000})
    decision, _ = evaluate_folds(settings, flat, [set_dir], cache=cache)
    assert not decision.passed and any("below the margin" in r for r in decision.reasons)
    with pytest.raises(FinragError, match="the gate refused"):
        promote(settings, flat, by="ml-eng")

    # "As trained" is scored on the questions the candidate did not train on: none left here.
    seen = _candidate(tmp_path / "seen")
    write_groups(_questions(30, seed=7), tmp_path / "seen" / "groups-train.jsonl")
    _, result = evaluate_folds(settings, seen, [set_dir], cache=cache)
    assert "candidate_as_trained" not in result["pooled"]

    good = _candidate(tmp_path / "good")
    decision, result = evaluate_folds(settings, good, [set_dir], scope="ACME", cache=cache)
    assert decision.passed, decision.reasons
    assert result["pooled"]["candidate"]["mrr"] > result["pooled"]["none"]["mrr"] + 0.02
    assert result["pooled"]["candidate_as_trained"]["n"] == 30  # it trained on none of them
    assert (tmp_path / "good" / "gate.json").exists()
    record = promote(settings, good, by="ml-eng")
    assert record.backend == "learned" and serving(settings.data_dir, "ACME").model == str(good)
    served = build_reranker(settings).for_company("ACME")  # "auto" serves the company's model
    assert isinstance(served, LearnedPageReranker)
    assert not isinstance(build_reranker(settings).for_company("OTHER"), LearnedPageReranker)

    # Against the learned model now serving ACME, the same recipe gains nothing: refused.
    again = _candidate(tmp_path / "again")
    decision, _ = evaluate_folds(settings, again, [set_dir], scope="ACME", cache=cache)
    assert "current" in decision.metrics and not decision.passed
