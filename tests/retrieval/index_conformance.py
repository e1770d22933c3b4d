"""Index-engine conformance: the behaviour every engine must show through :class:`Index`.

Like haystack's ``DocumentStoreBaseTests``: :class:`IndexConformance` holds the engine-independent
tests, and each engine's test class (``tests/retrieval/test_index.py``) subclasses it and provides
the class-scoped ``engine`` fixture (the ``settings.qdrant.engine`` name to open). Dense vectors
come from a tiny hashed bag-of-words embedding written here, so rankings are deterministic and
explainable. The helpers are importable by name (the crash test's child process uses them).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.errors import IndexBackendError, RetrievalError
from core.records import Chunk, SearchFilters, TableData, make_chunk_id
from core.settings import Settings
from retrieval.index import PAYLOAD_INDEXES, Index
from retrieval.index.chunks import COMPANY_YEAR
from retrieval.index.requests import Match
from retrieval.sparse import Bm25Encoder

DIM = 64
IMAGE_DIM = 8
ENCODER = Bm25Encoder()


def bow(text: str, dim: int = DIM) -> np.ndarray:
    """Hashed bag of words, L2-normalised: texts sharing words are close."""
    v = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return v / (np.linalg.norm(v) or 1.0)


FILINGS = {
    "acme": {
        "company": "Acme Corp",
        "ticker": "ACME",
        "form": "10-K",
        "fiscal_year": 2022,
        "acl": ["public"],
    },
    "globex": {
        "company": "Globex Inc",
        "ticker": "GBX",
        "form": "10-Q",
        "fiscal_year": 2023,
        "acl": ["public"],
    },
    "initech": {
        "company": "Initech",
        "ticker": "INTC",
        "form": "8-K",
        "fiscal_year": 2022,
        "acl": ["finance"],
    },
}

TEXTS = {
    "acme": [
        ("text", 1, "Acme revenue was 66,608 million in fiscal 2022, driven by rocket skates."),
        ("text", 1, "Acme operating expenses rose on anvil research and development."),
        ("table", 2, "Net income | 1,234 | 987 ; Acme consolidated statement of operations"),
        ("figure", 3, "Chart of Acme anvil shipments by quarter"),
    ],
    "globex": [
        ("text", 1, "Globex revenue grew to 12,000 million in the 2023 quarter on hammock sales."),
        ("text", 2, "Globex liquidity: the revolving credit facility and long-term debt."),
    ],
    "initech": [
        (
            "text",
            1,
            "Initech announced a merger agreement; confidential revenue synergies of TPS reports.",
        ),
    ],
}


def make_chunks(doc: str, suffix: str = "") -> list[Chunk]:
    doc_id = hashlib.sha256(f"{doc}{suffix}".encode()).hexdigest()
    meta = FILINGS[doc]
    chunks = []
    for order, (modality, page, text) in enumerate(TEXTS[doc]):
        text = text + suffix
        chunks.append(
            Chunk(
                chunk_id=make_chunk_id(doc_id, page, f"{order}:{text}"),
                doc_id=doc_id,
                page_no=page,
                modality=modality,
                text=text,
                table=TableData(rows=[["Net income", "1,234", "987"]], markdown="|a|b|")
                if modality == "table"
                else None,
                order=order,
                file_name=f"{doc}.pdf",
                fiscal_period="FY",
                period_end=date(meta["fiscal_year"], 12, 31),
                image_path=f"/renders/{doc}-{page}.png" if modality == "figure" else None,
                **meta,
            )
        )
    return chunks


def image_vec(chunk: Chunk) -> np.ndarray:
    """A fake image embedding: figures get one, everything else an all-zero row (= no image)."""
    if chunk.modality != "figure":
        return np.zeros(IMAGE_DIM, dtype=np.float32)
    return bow(chunk.text, IMAGE_DIM)


def write(index: Index, chunks: list[Chunk], ready: bool = True, images: bool = False) -> None:
    index.upsert(
        chunks,
        np.stack([bow(c.text) for c in chunks]),
        ENCODER.encode_documents([c.text for c in chunks]),
        image_vectors=np.stack([image_vec(c) for c in chunks]) if images else None,
        ready=ready,
    )
    if ready:
        for doc_id in {c.doc_id for c in chunks}:
            index.mark_ready(doc_id)


def settings_for(engine: str, data_dir: Path, **qdrant: object) -> Settings:
    """Settings for ``engine`` under ``data_dir``; ``qdrant`` adds collection options."""
    return Settings(data_dir=data_dir, qdrant={"engine": engine, "url": None, **qdrant})


def open_with_corpus(
    engine: str, data_dir: Path, **qdrant: object
) -> tuple[Index, dict[str, list[Chunk]]]:
    idx = Index(settings_for(engine, data_dir, **qdrant))
    idx.ensure_collection(text_dim=DIM)
    docs = {name: make_chunks(name) for name in FILINGS}
    for chunks in docs.values():
        write(idx, chunks)
    return idx, docs


def search(
    index: Index, text: str, *, mode: str = "hybrid", groups=("public", "finance"), **filters
):
    return index.search(
        dense=bow(text) if mode in ("hybrid", "dense") else None,
        sparse=ENCODER.encode_query(text) if mode in ("hybrid", "sparse") else None,
        filters=SearchFilters(**filters),
        acl_groups=list(groups),
        limit=10,
    )


class IndexConformance:
    """Engine-independent tests; a subclass provides ``engine`` (a class-scoped fixture).

    ``QDRANT`` holds collection options (``settings.qdrant`` fields) a subclass runs the suite
    with, e.g. without quantization or with cluster options.
    """

    QDRANT: dict[str, object] = {}

    @pytest.fixture(scope="class")
    def shared(self, engine: str, tmp_path_factory):
        """One corpus per engine for the tests that only read (creating a shard costs seconds)."""
        idx, docs = open_with_corpus(engine, tmp_path_factory.mktemp(engine), **self.QDRANT)
        yield idx, docs
        idx.close()

    @pytest.fixture
    def fresh(self, engine: str, tmp_path: Path):
        """A private corpus for tests that write."""
        idx, docs = open_with_corpus(engine, tmp_path, **self.QDRANT)
        yield idx, docs
        idx.close()

    def test_upsert_is_idempotent(self, fresh) -> None:
        index, corpus = fresh
        acme = corpus["acme"]
        before = index.count()
        write(index, acme)
        write(index, acme)
        assert index.doc_point_count(acme[0].doc_id) == len(acme)
        assert index.count() == before == sum(len(c) for c in corpus.values())

    def test_replace_document(self, fresh) -> None:
        index, corpus = fresh
        old = corpus["globex"]
        new = [
            c.model_copy(update={"doc_id": old[0].doc_id})
            for c in make_chunks("globex", " restated")
        ]
        index.delete_doc(old[0].doc_id)
        assert index.doc_point_count(old[0].doc_id) == 0
        write(index, new)
        assert index.get_chunks([c.chunk_id for c in old]) == []
        assert [c.text for c in index.get_chunks([c.chunk_id for c in new])] == [
            c.text for c in new
        ]
        top = search(index, "Globex hammock revenue")[0]
        assert top.chunk.text.endswith("restated")

    def test_unready_document_is_invisible(self, fresh) -> None:
        index, _corpus = fresh
        chunks = make_chunks("acme", " zeppelin")
        write(index, chunks, ready=False)
        doc_id = chunks[0].doc_id
        assert index.doc_point_count(doc_id) == len(chunks)
        assert index.count(SearchFilters(doc_ids=[doc_id])) == 0
        for mode in ("hybrid", "dense", "sparse"):
            assert all(h.chunk.doc_id != doc_id for h in search(index, "zeppelin", mode=mode))
        assert index.page_chunks(doc_id, 1) == []
        index.mark_ready(doc_id)
        assert index.count(SearchFilters(doc_ids=[doc_id])) == len(chunks)
        assert search(index, "zeppelin", mode="sparse")[0].chunk.doc_id == doc_id

    @pytest.mark.parametrize(
        ("filters", "expected_docs"),
        [
            ({"companies": ["Globex Inc"]}, {"globex"}),
            ({"fiscal_years": [2022]}, {"acme", "initech"}),
            ({"forms": ["10-K", "8-K"]}, {"acme", "initech"}),
            ({"tickers": ["GBX"], "fiscal_years": [2023]}, {"globex"}),
            ({"fiscal_years": [2021]}, set()),
        ],
    )
    def test_filters(self, shared, filters, expected_docs) -> None:
        index, corpus = shared
        ids = {corpus[name][0].doc_id: name for name in corpus}
        hits = search(index, "revenue million", **filters)
        assert {ids[h.chunk.doc_id] for h in hits} == expected_docs
        assert index.count(SearchFilters(**filters)) == sum(len(corpus[n]) for n in expected_docs)

    @pytest.mark.parametrize("by_pair", [True, False])
    @pytest.mark.parametrize(
        ("companies", "years", "expected_docs"),
        [
            (["Acme Corp", "Globex Inc", "Initech"], [2022], {"acme", "initech"}),
            (["Acme Corp", "Globex Inc"], [2022, 2023], {"acme", "globex"}),
            (["Acme Corp"], [2023], set()),
            (["Nobody"], [2022], set()),
        ],
    )
    def test_company_and_year_filter(
        self, shared, monkeypatch, by_pair, companies, years, expected_docs
    ) -> None:
        """Both given: one condition on the (company, year) pairs where the collection indexes
        them, else the two conditions; the same chunks either way, on every engine."""
        index, corpus = shared
        monkeypatch.setattr(index, "_company_year", by_pair)
        filters = SearchFilters(companies=companies, fiscal_years=years)
        keys = [m.key for m in index._where(filters, ["public"])]
        assert (COMPANY_YEAR in keys) is by_pair
        assert ("company" in keys, "fiscal_year" in keys) == (not by_pair, not by_pair)
        ids = {corpus[name][0].doc_id: name for name in corpus}
        for mode in ("hybrid", "dense", "sparse"):
            hits = search(
                index, "revenue million", mode=mode, companies=companies, fiscal_years=years
            )
            assert {ids[h.chunk.doc_id] for h in hits} == expected_docs
        assert index.count(filters) == sum(len(corpus[n]) for n in expected_docs)
        assert {c.doc_id for c in index.scroll_chunks(filters)} == {
            corpus[n][0].doc_id for n in expected_docs
        }

    def test_company_year_pairs_are_written_and_indexed(self, engine: str, shared) -> None:
        index, corpus = shared
        # qdrant-client local mode keeps no payload indexes, so it keeps the two conditions
        want = set() if engine == "local" else set(PAYLOAD_INDEXES)
        assert index._engine.payload_indexes() == want
        index._company_year = None
        where = index._where(SearchFilters(companies=["Acme Corp"], fiscal_years=[2022]), None)
        assert (Match(COMPANY_YEAR, ["Acme Corp|2022"]) in where) is (engine != "local")
        (payload,) = index._engine.retrieve([corpus["acme"][0].point_id])
        assert payload[COMPANY_YEAR] == "Acme Corp|2022"

    def test_no_pair_without_a_year(self, fresh) -> None:
        index, _corpus = fresh
        chunks = [c.model_copy(update={"fiscal_year": None}) for c in make_chunks("acme", " x")]
        write(index, chunks)
        (payload,) = index._engine.retrieve([chunks[0].point_id])
        assert COMPANY_YEAR not in payload
        assert index.get_chunks([chunks[0].chunk_id]) == [chunks[0]]
        only = SearchFilters(companies=["Acme Corp"], doc_ids=[chunks[0].doc_id])
        assert index.count(only) == len(chunks)
        assert index.count(only.model_copy(update={"fiscal_years": [2022]})) == 0

    def test_doc_and_modality_filters(self, shared) -> None:
        index, corpus = shared
        acme_id = corpus["acme"][0].doc_id
        hits = search(
            index, "Acme net income anvil", doc_ids=[acme_id], modalities=["table", "figure"]
        )
        assert {h.chunk.modality for h in hits} == {"table", "figure"}
        assert {h.chunk.doc_id for h in hits} == {acme_id}

    def test_acl(self, shared) -> None:
        index, corpus = shared
        initech = corpus["initech"][0]
        query = "Initech merger agreement TPS reports"
        for mode in ("hybrid", "dense", "sparse"):
            assert initech.chunk_id not in {
                h.chunk.chunk_id for h in search(index, query, mode=mode, groups=["public"])
            }
            assert (
                search(index, query, mode=mode, groups=["finance"])[0].chunk.chunk_id
                == initech.chunk_id
            )
            assert search(index, query, mode=mode, groups=[]) == []
        assert index.count(acl_groups=[]) == 0
        assert index.count(acl_groups=["finance"]) == 1
        assert index.count(acl_groups=["public"]) == index.count() - 1
        assert index.get_chunks([initech.chunk_id], acl_groups=["public"]) == []
        assert index.get_chunks([initech.chunk_id], acl_groups=["finance"]) == [initech]

    def test_hybrid_ranking(self, shared) -> None:
        index, corpus = shared
        target = corpus["acme"][0]
        for mode in ("dense", "sparse", "hybrid"):
            hits = search(index, "Acme revenue fiscal 2022 66,608", mode=mode)
            assert hits[0].chunk.chunk_id == target.chunk_id, mode
            assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
            assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
            assert hits[0].source == {"dense": "dense", "sparse": "sparse", "hybrid": "fused"}[mode]
        dbsf = index.search(
            dense=bow("Acme revenue 2022"),
            sparse=ENCODER.encode_query("Acme revenue 2022"),
            filters=SearchFilters(),
            acl_groups=["public"],
            fusion="dbsf",
        )
        assert dbsf[0].chunk.chunk_id == target.chunk_id and dbsf[0].source == "fused"
        # Sparse-only: a term no chunk has gives nothing; a stopword-only query is no query.
        assert search(index, "zeppelin", mode="sparse") == []
        assert search(index, "the of and", mode="sparse") == []

    def test_chunk_round_trip_and_page(self, shared) -> None:
        index, corpus = shared
        acme = corpus["acme"]
        assert index.get_chunks([acme[2].chunk_id, "missing", acme[0].chunk_id]) == [
            acme[2],
            acme[0],
        ]
        assert index.page_chunks(acme[0].doc_id, 1) == [acme[0], acme[1]]
        stored_table = index.get_chunks([acme[2].chunk_id])[0]
        assert stored_table.table is not None and stored_table.table.rows[0][1] == "1,234"
        assert stored_table.period_end == date(2022, 12, 31)

    def test_wrong_dims_are_refused(self, shared) -> None:
        index, corpus = shared
        with pytest.raises(IndexBackendError, match="text dim 64"):
            index.ensure_collection(text_dim=32)
        index.ensure_collection(text_dim=DIM)  # same dims: a no-op
        with pytest.raises(RetrievalError, match="64"):
            index.search(
                dense=np.ones(32), sparse=None, filters=SearchFilters(), acl_groups=["public"]
            )
        with pytest.raises(RetrievalError, match="no image vectors"):
            index.search(
                dense=None,
                sparse=None,
                image=np.ones(IMAGE_DIM),
                filters=SearchFilters(),
                acl_groups=["public"],
            )
        with pytest.raises(RetrievalError, match="unknown fusion"):
            index.search(
                dense=bow("x"),
                sparse=None,
                filters=SearchFilters(),
                acl_groups=["public"],
                fusion="max",
            )
        with pytest.raises(IndexBackendError, match="shape"):
            index.upsert(corpus["acme"], np.ones((1, DIM)), ENCODER.encode_documents(["x"] * 4))

    def test_image_vectors(self, engine: str, tmp_path: Path) -> None:
        with Index(settings_for(engine, tmp_path, **self.QDRANT), collection="mm") as index:
            index.ensure_collection(text_dim=DIM, image_dim=IMAGE_DIM)
            chunks = make_chunks("acme")
            write(index, chunks, images=True)
            hits = index.search(
                dense=None,
                sparse=None,
                image=bow("Chart of Acme anvil shipments by quarter", IMAGE_DIM),
                filters=SearchFilters(),
                acl_groups=["public"],
            )
            # Only the figure got an image vector; text chunks (zero rows) are not candidates.
            assert [h.chunk.modality for h in hits] == ["figure"]
            assert hits[0].source == "image" and hits[0].score == pytest.approx(1.0, abs=1e-5)
            fused = index.search(
                dense=bow("anvil shipments"),
                sparse=None,
                image=bow("anvil shipments", IMAGE_DIM),
                filters=SearchFilters(),
                acl_groups=["public"],
            )
            assert fused[0].source == "fused" and fused[0].chunk.modality == "figure"
            assert index.image_dim == IMAGE_DIM

    def test_persistence_across_reopen(self, engine: str, tmp_path: Path) -> None:
        settings = settings_for(engine, tmp_path, **self.QDRANT)
        chunks = make_chunks("acme")
        with Index(settings) as index:
            index.ensure_collection(text_dim=DIM)
            write(index, chunks)
        with Index(settings) as index:
            assert index.exists() and index.text_dim == DIM
            assert index.count() == len(chunks)
            assert search(index, "Acme revenue 2022")[0].chunk == chunks[0]

    def test_missing_collection(self, engine: str, tmp_path: Path) -> None:
        with Index(settings_for(engine, tmp_path, **self.QDRANT)) as index:
            assert not index.exists()
            assert index.count() == 0 and index.doc_point_count("x") == 0
            assert (
                index.search(
                    dense=bow("x"), sparse=None, filters=SearchFilters(), acl_groups=["public"]
                )
                == []
            )
            with pytest.raises(IndexBackendError, match="ingest documents first"):
                index.upsert([], np.zeros((0, DIM)), [])

    def test_second_opener_gets_a_clear_error(self, engine: str, tmp_path: Path) -> None:
        """Embedded engines lock their folder; a second opener (here, in-process) is told what
        to do."""
        with Index(settings_for(engine, tmp_path, **self.QDRANT)) as index:
            index.ensure_collection(text_dim=DIM)
            with pytest.raises(IndexBackendError, match="another process"):
                Index(settings_for(engine, tmp_path, **self.QDRANT))
