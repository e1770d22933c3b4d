"""The learned page ranker: features, train/save/load/serve, conformance, serving cost."""

from __future__ import annotations

import random
import time

import pytest

from core.options import HashEmbedderOptions, LearnedRerankerOptions
from core.records import Chunk, Hit, TableData
from core.settings import Settings
from finetune.ranker import RankGroup, collect_groups, save_ranker, train_ranker
from rerank.base import RERANKERS
from rerank.features import FEATURES, page_features, question_years
from rerank.learned import LearnedPageReranker
from tests.conformance.rerankers import RerankerConformance

QUESTION = "What was the quick ratio in FY2022?"


def _hit(i: int, page: int, text: str, score: float, **chunk: object) -> Hit:
    return Hit(
        chunk=Chunk(
            chunk_id=f"c{i}", doc_id="d", page_no=page, modality="text", text=text, **chunk
        ),
        score=score,
        source="fused",
        rank=i,
    )


def test_page_features_read_the_hits_only():
    table = TableData(header_rows=[["", "2022", "2021"]])
    hits = [
        _hit(1, 40, "Risk factors: the quick ratio may fall in 2022.", 0.5),
        _hit(2, 40, "More risks.", 0.4),
        _hit(
            3,
            55,
            "Total current assets 1,200 receivables 300 current liabilities 900",
            0.3,
            statement="balance",
            table=table,
            section_path=["Item 8. Financial Statements"],
        ),
        _hit(4, 56, "neighbour text", 0.0),
    ]
    pages, rows = page_features(QUESTION, hits)
    assert pages == [("d", 40), ("d", 55), ("d", 56)]
    assert all(len(r) == len(FEATURES) for r in rows)
    f = [dict(zip(FEATURES, r, strict=True)) for r in rows]
    assert f[0]["n_hits"] == 2 and f[0]["best_rank"] == 1 and f[0]["page_order"] == 1
    assert f[1]["statement_match"] == 1.0 and f[0]["statement_match"] == 0.0  # quick -> balance
    assert f[1]["years_in_header"] == 1.0 and f[1]["item8"] == 1.0 and f[1]["table_share"] == 1.0
    assert f[1]["glossary_cover"] > f[0]["glossary_cover"]
    assert f[2]["n_neighbours"] == 1.0 and f[2]["n_hits"] == 0.0
    assert page_features(QUESTION, []) == ([], [])
    assert question_years("FY22 vs fiscal 2021") == {"2022", "2021"}


def _synthetic_group(n: int, rng: random.Random) -> RankGroup:
    """Eight candidate pages; the relevant one (not first) holds the year in a table header."""
    gold = rng.randrange(1, 8)
    hits = []
    for p in range(8):
        table = TableData(header_rows=[["", "2022" if p == gold else "2019"]])
        hits.append(
            _hit(p + 1, 10 + p, f"revenue line {rng.random():.3f}", 1 / (p + 2), table=table)
        )
    query = "What was revenue in 2022?"
    pages, rows = page_features(query, hits)
    return RankGroup(
        qid=f"q{n}",
        query=query,
        company="ACME" if n % 2 else "BETA",
        source="synthetic",
        pages=pages,
        rows=rows,
        labels=[int(i == gold) for i in range(8)],
        retrieval=pages,
        gold=[pages[gold]],
    )


def synthetic_groups(n: int, seed: int = 0) -> list[RankGroup]:
    rng = random.Random(seed)
    return [_synthetic_group(i, rng) for i in range(n)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    booster = train_ranker(synthetic_groups(80), rounds=30)
    return save_ranker(booster, tmp_path_factory.mktemp("learned") / "model", {"stage": "test"})


def test_train_save_load_serve_round_trip(model_dir):
    reranker = RERANKERS.create("learned", settings=LearnedRerankerOptions(model=str(model_dir)))
    group = synthetic_groups(1, seed=99)[0]
    rng = random.Random(99)
    gold = rng.randrange(1, 8)
    hits = []
    for p in range(8):
        table = TableData(header_rows=[["", "2022" if p == gold else "2019"]])
        hits.append(_hit(p + 1, 10 + p, "revenue line", 1 / (p + 2), table=table))
    out = reranker.rerank(group.query, hits)
    assert out[0].chunk.page_no == 10 + gold and out[0].source == "rerank"
    assert [h.rank for h in out] == list(range(1, 9))
    assert out[0].score >= out[-1].score


def test_serves_well_under_20_ms_per_question(model_dir):
    reranker = RERANKERS.create("learned", settings=LearnedRerankerOptions(model=str(model_dir)))
    hits = [_hit(i, 1 + i // 3, "Net sales 2022 2021 " * 20, 1 / (i + 1)) for i in range(30)]
    reranker.rerank(QUESTION, hits)
    t = time.perf_counter()
    for _ in range(20):
        reranker.rerank(QUESTION, hits)
    assert (time.perf_counter() - t) / 20 < 0.020


def test_a_folder_without_a_model_says_how_to_train_one(tmp_path):
    from core.errors import ModelNotAvailableError

    with pytest.raises(ModelNotAvailableError, match="finetune --backend learned"):
        RERANKERS.create("learned", settings=LearnedRerankerOptions(model=str(tmp_path)))


def test_groups_from_a_tiny_generated_corpus(tmp_path, model_cache, sample_folder, open_corpus):
    from finetune.ranker import LabelledQuery
    from ingest.pipeline import Ingestor

    settings = Settings(
        data_dir=tmp_path / "data", model_cache=model_cache, embedder=HashEmbedderOptions()
    )
    settings.ingest.workers = 1
    corpus = open_corpus(settings)
    Ingestor(corpus).ingest([sample_folder])
    chunk = next(c for c in corpus.index.scroll_chunks() if c.statement)
    query = LabelledQuery(qid="q", query="total revenue", gold=[(chunk.doc_id, chunk.page_no)])
    (group,) = collect_groups(corpus, [query])
    assert group.pages and len(group.rows) == len(group.pages) == len(group.labels)
    assert all(len(r) == len(FEATURES) for r in group.rows)
    assert group.retrieval and set(group.pages) >= set(group.retrieval[:1])


class TestLearnedConformance(RerankerConformance):
    @pytest.fixture
    def reranker(self, model_dir):
        return RERANKERS.create("learned", settings=LearnedRerankerOptions(model=str(model_dir)))


def test_the_window_reorders_only_the_retrievals_first_pages():
    from finetune.ranker import page_metrics, page_order
    from rerank.learned import windowed

    group = synthetic_groups(1, seed=3)[0]
    model = [float(i) for i in range(len(group.pages))]  # the reverse of retrieval order
    assert page_order(group, windowed(group.rows, model, None)) == group.retrieval[::-1]
    served = page_order(group, windowed(group.rows, model, 5))
    # The first five pages are retrieval's five in the model's order; the rest keep their place.
    assert served[:5] == group.retrieval[:5][::-1] and served[5:] == group.retrieval[5:]
    before = page_metrics({group.qid: group.retrieval}, [group])
    for scores in ([float(x) for x in group.labels], [-float(x) for x in group.labels], model):
        after = page_metrics(
            {group.qid: page_order(group, windowed(group.rows, scores, 5))}, [group]
        )
        assert after["recall@5"] == before["recall@5"]  # whatever the model says
    # A page first seen as a neighbour (score 0) keeps its own place in the retrieval order.
    hits = [_hit(1, 1, "a", 0.9), _hit(2, 2, "next page", 0.0), _hit(3, 3, "b", 0.5)]
    hits += [_hit(4, 2, "c", 0.4)]
    pages, rows = page_features("revenue", hits)
    scores = windowed(rows, [0.0] * len(pages), 1)
    assert [p for _, p in sorted(zip(scores, pages, strict=True), reverse=True)] == [
        ("d", 1),
        ("d", 3),
        ("d", 2),
    ]


def test_real_questions_weigh_as_much_as_the_synthetic_ones_in_total():
    from finetune.ranker import query_weights

    groups = synthetic_groups(12, seed=5)
    for g in groups[:9]:
        g.source = "synthetic-table"
    for g in groups[9:]:
        g.source = "feedback"
    weights = query_weights(groups)
    assert weights[:9] == [1.0] * 9 and weights[9:] == [3.0] * 3
    assert query_weights(groups[:9]) == [1.0] * 9  # no real question: plain weights
    assert query_weights(groups[9:]) == [1.0] * 3  # never below one


def test_evaluation_hands_the_page_ranker_every_hit_as_the_agent_does():
    from rerank.base import NoReranker
    from rerank.pages import DEFAULT_CANDIDATES, rerank_pages

    hits = [_hit(i, i, f"text {i}", 1 / i) for i in range(1, DEFAULT_CANDIDATES + 11)]
    pages = [("d", h.chunk.page_no) for h in hits]
    seen: list[int] = []

    class Recording(NoReranker):
        def rerank(self, query, hits, top_k=None):
            seen.append(len(hits))
            return list(hits)

    class ReadsAll(Recording):
        reads_every_hit = True

    rerank_pages("q", hits, pages, Recording())
    rerank_pages("q", hits, pages, ReadsAll())
    assert seen == [DEFAULT_CANDIDATES, DEFAULT_CANDIDATES + 10]
    assert LearnedPageReranker.reads_every_hit
