"""The reranker training dataset builder on the generated sample filings (ingested once)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest

from core.errors import ConfigError
from core.options import HashEmbedderOptions
from core.records import Chunk, Citation, Feedback, MemoryEntry, SearchFilters
from core.settings import Settings
from finetune.dataset import (
    assign_splits,
    build_dataset,
    load_dataset,
    normalise_query,
    write_dataset,
)
from finetune.negatives import AnswerKey, NegativeMiner, terms_of
from finetune.synthetic import (
    figure_variants,
    heading_title,
    mine_queries,
    split_period,
    table_facts,
)
from ingest.pipeline import Ingestor
from rerank.base import passage_text
from retrieval.corpus import Corpus

NET_SALES_Q = "What were Contoso Foods' net sales in fiscal 2024?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    # The hash embedder keeps ingestion to seconds; what is tested here is logic, not quality.
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("rerank-corpus"),
        model_cache=model_cache,
        # small enough that the 10-K income statement is split
        embedder=HashEmbedderOptions(max_tokens=110),
    )
    settings.ingest.workers = 1
    with Corpus.open(settings) as opened:
        assert Ingestor(opened).ingest([sample_folder]).count("ok") == 3
        yield opened, opened.index.scroll_chunks()


def _find(chunks: list[Chunk], file_name: str, needle: str, modality: str | None = None) -> Chunk:
    found = [
        c
        for c in chunks
        if c.file_name == file_name
        and needle in c.text
        and (modality is None or c.modality == modality)
    ]
    assert found, f"no chunk of {file_name} holds {needle!r}"
    return found[0]


def _row_labels(chunk: Chunk) -> set[str]:
    return {f.label for f in table_facts(chunk)}


def _feedback(question: str, verdict, citations, wrong=()) -> Feedback:
    return Feedback(
        feedback_id=f"fb-{len(question)}-{verdict}-{len(citations)}",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        user="ana",
        question=question,
        answer="...",
        verdict=verdict,
        citations=citations,
        wrong_citations=list(wrong),
    )


def _cite(chunk: Chunk, with_id: bool = True) -> Citation:
    return Citation(
        doc_id=chunk.doc_id,
        file_name=chunk.file_name,
        page_no=chunk.page_no,
        chunk_id=chunk.chunk_id if with_id else None,
    )


# -- the index ----------------------------------------------------------------------------------


def test_scroll_chunks_lists_every_ready_chunk_in_document_order(corpus):
    opened, chunks = corpus
    index = opened.index
    assert len(chunks) == index.count()
    assert [(c.doc_id, c.order) for c in chunks] == sorted((c.doc_id, c.order) for c in chunks)
    contoso = index.scroll_chunks(SearchFilters(companies=["Contoso Foods Corporation"]))
    assert contoso and {c.file_name for c in contoso} == {"contoso_fy2024_10k.pdf"}
    assert index.scroll_chunks(acl_groups=[]) == []
    assert len(index.scroll_chunks(acl_groups=["public"])) == len(chunks)


# -- synthetic queries --------------------------------------------------------------------------


def test_table_facts_read_label_period_value_and_unit(corpus):
    _, chunks = corpus
    q2 = _find(chunks, "northwind_2024q2_10q.pdf", "Condensed Consolidated Statements", "table")
    facts = {(f.label, f.period): f for f in table_facts(q2)}
    # "Operating" / "income" is one label wrapped onto two rows.
    op = facts[("Operating income", "Three months ended June 30, 2024")]
    assert (op.value, op.unit) == ("88.4", "in millions")
    assert facts[("Net income", "Six months ended June 30, 2023")].value == "92.0"
    earnings = _find(
        chunks, "contoso_fy2024_10k.pdf", "Consolidated Statements of Earnings", "table"
    )
    assert {(f.label, f.period, f.value) for f in table_facts(earnings)} >= {
        ("Net sales", "Fiscal 2024", "8,931"),
        ("Net earnings", "Fiscal 2023", "689"),
    }
    assert split_period("Pension Plans U.S. Year Ended December 31, 2020") == (
        "Year Ended December 31, 2020",
        "Pension Plans U.S.",
    )
    assert split_period("Segment") is None
    assert figure_variants("(3,416)", "in millions") == {"3416", "3.4", "3.42"}


def test_synthetic_table_queries_point_at_the_chunk_holding_that_row_and_period(corpus):
    _, chunks = corpus
    queries = [q for q in mine_queries(chunks, per_table=50) if q.source == "synthetic-table"]
    assert len(queries) >= 30
    table_chunks = [c for c in chunks if c.modality == "table"]
    for q in queries:
        assert q.positive.modality == "table"
        facts = table_facts(q.positive)
        matching = [
            f
            for f in facts
            if f.label.lower() in q.query.lower()
            and f.period[-4:] in q.query
            and figure_variants(f.value, f.unit) == q.key.figures
        ]
        assert matching, (q.query, q.positive.text)
        # Another table holding the same row and value ("Total revenue" in the segment table)
        # answers as well: the key accepts it, so it can never become a negative.
        for other in table_chunks:
            if other.chunk_id != q.positive.chunk_id and any(
                (f.label, f.value) == (m.label, m.value)
                for f in table_facts(other)
                for m in matching
            ):
                assert q.key.accepts(other, terms_of(other.text)), q.query
    # The income statement is split over two chunks: each row's query points at its own part.
    assert (
        len(
            [
                c
                for c in table_chunks
                if c.file_name == "northwind_2023_10k.pdf"
                and "Consolidated Statements of Operations" in c.text
            ]
        )
        == 2
    )
    net_income = [
        q
        for q in queries
        if q.positive.file_name == "northwind_2023_10k.pdf" and "net income" in q.query.lower()
    ]
    product = [
        q
        for q in queries
        if q.positive.file_name == "northwind_2023_10k.pdf" and "product revenue" in q.query.lower()
    ]
    assert net_income and product
    assert all("Net income" in _row_labels(q.positive) for q in net_income)
    assert all("Product revenue" in _row_labels(q.positive) for q in product)
    assert {q.positive.chunk_id for q in net_income}.isdisjoint(
        {q.positive.chunk_id for q in product}
    )
    # Templates vary: no single template makes most of the queries.
    templates = [q.template for q in queries]
    assert len(set(templates)) >= 5
    assert max(templates.count(t) for t in set(templates)) < len(templates) / 2
    # Same chunks, same seed: the same queries; another seed picks other templates.
    assert [
        q.query for q in mine_queries(chunks, per_table=50) if q.source == "synthetic-table"
    ] == [q.query for q in queries]
    assert [
        q.query for q in mine_queries(chunks, per_table=50, seed=7) if q.source == "synthetic-table"
    ] != [q.query for q in queries]


def test_heading_and_sentence_queries_point_at_their_chunk(corpus):
    _, chunks = corpus
    queries = mine_queries(chunks)
    headings = [q for q in queries if q.source == "synthetic-heading"]
    sentences = [q for q in queries if q.source == "synthetic-sentence"]
    assert headings and sentences
    for q in headings:
        title = heading_title(q.positive.section_path[-1])
        assert title.lower() in q.query.lower(), (q.query, title)
        section = [
            c
            for c in chunks
            if c.doc_id == q.positive.doc_id and c.section_path == q.positive.section_path
        ]
        # The first chunk of the section with some substance is the positive.
        first = next(c for c in sorted(section, key=lambda c: c.order) if len(c.text.split()) >= 12)
        assert first.chunk_id == q.positive.chunk_id
    titles = {heading_title(q.positive.section_path[-1]) for q in headings}
    assert "Risk Factors" in titles and "FORM 10-K" not in titles
    assert not any(t == "Contoso Foods Corporation" for t in titles)
    for q in sentences:
        positive_terms = terms_of(q.positive.text)
        assert q.key.terms <= positive_terms and q.key.figures & positive_terms, q.query
        if "___" in q.query:  # a cloze: the words around the masked figure come from the chunk
            before = q.query.split(": ", 1)[1].split("___")[0].removeprefix("... ").strip()
            assert before in " ".join(q.positive.text.split()), q.query
    capex = [
        q
        for q in sentences
        if q.positive.file_name == "northwind_2023_10k.pdf" and "revenue" in q.query.lower()
    ]
    assert capex and "2,255.4" not in capex[0].query  # the figure asked for is never in the query


# -- negatives ----------------------------------------------------------------------------------


def test_negatives_never_include_the_positive_or_another_chunk_with_the_same_row_and_value(corpus):
    _, chunks = corpus
    income = _find(chunks, "northwind_2023_10k.pdf", "Total revenue | 2,255.4", "table")
    segments = _find(chunks, "northwind_2023_10k.pdf", "Revenue by segment", "table")
    mdna = _find(chunks, "northwind_2023_10k.pdf", "Total revenue increased 19.8%", "text")
    cash = _find(chunks, "northwind_2023_10k.pdf", "Selected cash flow", "table")
    key = AnswerKey(
        terms=terms_of("Total revenue"), figures=figure_variants("2,255.4", "in millions")
    )
    for c in (segments, mdna):
        assert key.accepts(c, terms_of(c.text))  # the same row and value: a true answer
    assert not key.accepts(cash, terms_of(cash.text))

    miner = NegativeMiner(chunks, search=None, per_query=50)
    docs = {c.doc_id for c in chunks}
    negatives = miner.mine(
        "What was Northwind Robotics' total revenue in fiscal 2023?", income, key, docs
    )
    ids = {n.chunk.chunk_id for n in negatives}
    assert negatives and income.chunk_id not in ids
    assert segments.chunk_id not in ids and mdna.chunk_id not in ids
    assert cash.chunk_id in ids and {"same-page", "same-filing"} <= {n.kind for n in negatives}
    assert len({n.chunk.text for n in negatives}) == len(negatives)  # no two alike

    # Operating cash flow: Contoso's row of the same name is the other-company negative, the
    # tables beside it on the page are same-page ones; kinds alternate, hardest first.
    label = "Net cash provided by operating activities"
    contoso = _find(chunks, "contoso_fy2024_10k.pdf", label, "table")
    key = AnswerKey(terms=terms_of(label), figures=figure_variants("412.6", "in millions"))
    negatives = NegativeMiner(chunks, search=None, per_query=4).mine(
        f"Northwind Robotics {label} 2023", cash, key, docs
    )
    kinds = [n.kind for n in negatives]
    assert kinds[:2] == ["other-company", "same-page"] and negatives[0].chunk == contoso
    only = miner.mine("total revenue 2023", income, key, {income.doc_id})
    assert only and {n.chunk.doc_id for n in only} == {income.doc_id}


# -- the dataset --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(corpus):
    """One dataset from every source, hybrid mining (the production search path)."""
    opened, chunks = corpus
    earnings = _find(
        chunks, "contoso_fy2024_10k.pdf", "Consolidated Statements of Earnings", "table"
    )
    cash = _find(chunks, "contoso_fy2024_10k.pdf", "Statements of Cash Flows", "table")
    mdna = _find(chunks, "contoso_fy2024_10k.pdf", "Net sales grew 6.3%", "text")
    business = _find(chunks, "contoso_fy2024_10k.pdf", "packaged breakfast cereals", "text")
    feedback = [
        _feedback(
            NET_SALES_Q,
            "up",
            [_cite(earnings), _cite(mdna, with_id=False), _cite(cash)],
            wrong=[cash.chunk_id],
        ),
        _feedback(
            "what were contoso foods' net sales in fiscal 2024",
            "down",
            [_cite(business)],
            wrong=[business.chunk_id],
        ),
        _feedback("Who audits Contoso Foods?", "down", [_cite(business)]),  # nothing to learn
        _feedback(
            "What is Contoso's dividend policy?", "down", [_cite(cash)], wrong=[cash.chunk_id]
        ),
    ]
    memory = [
        MemoryEntry(
            entry_id="m1",
            question="What were Contoso's capital expenditures in fiscal 2024?",
            paraphrases=["Contoso Foods capex FY2024", "Contoso capex fiscal 2024?"],
            answer="$418 million",
            company="Contoso Foods Corporation",
            source=_cite(cash),
            approved=True,
        ),
        MemoryEntry(
            entry_id="m2", question="What does Contoso make?", answer="Cereals", approved=True
        ),  # no source citation: no example
        # The feedback's question (other case and punctuation), same positive: a duplicate.
        MemoryEntry(
            entry_id="m3",
            question="WHAT WERE CONTOSO FOODS' NET SALES IN FISCAL 2024",
            answer="$8,931 million",
            source=_cite(earnings),
            approved=True,
        ),
    ]
    dataset = build_dataset(
        opened,
        feedback=feedback,
        memory=memory,
        mining="hybrid",
        dev_fraction=0.34,
        negatives_per_query=3,
    )
    return dataset, {"earnings": earnings, "cash": cash, "mdna": mdna, "business": business}


def test_feedback_and_memory_sources_produce_the_expected_examples(built):
    dataset, c = built
    examples = dataset.train + dataset.dev
    fb = [e for e in examples if e.source == "feedback"]
    # Thumbs-up: each cited chunk not marked wrong is a positive (the chunk-less citation resolved
    # on its page); the wrong citations, from any verdict, are that question's first negatives.
    assert {e.positive_id for e in fb} == {c["earnings"].chunk_id, c["mdna"].chunk_id}
    for e in fb:
        assert e.query == NET_SALES_Q
        assert e.negative_ids[:2] == sorted([c["cash"].chunk_id, c["business"].chunk_id])
        assert (
            c["earnings"].chunk_id not in e.negative_ids
            and c["mdna"].chunk_id not in e.negative_ids
        )
    assert dataset.manifest.skipped["feedback-without-positive"] == 2  # thumbs-down only
    mem = [e for e in examples if e.source == "memory"]
    assert sorted(e.query for e in mem) == sorted(
        [
            "What were Contoso's capital expenditures in fiscal 2024?",
            "Contoso Foods capex FY2024",
            "Contoso capex fiscal 2024?",
        ]
    )
    assert {e.positive_id for e in mem} == {c["cash"].chunk_id}
    assert all(
        e.positive == passage_text(c["cash"]) and e.company == "Contoso Foods Corporation"
        for e in mem
    )
    assert dataset.manifest.skipped["memory-without-source"] == 1
    assert dataset.manifest.skipped["duplicate-memory"] == 1  # m3 repeats the feedback example


def test_dedupe_split_and_manifest_of_a_built_dataset(built, corpus):
    dataset, _ = built
    m = dataset.manifest
    examples = dataset.train + dataset.dev
    keys = [(normalise_query(e.query), e.positive_id) for e in examples]
    assert len(keys) == len(set(keys))
    assert len({e.example_id for e in examples}) == len(examples)
    train_docs, dev_docs = set(m.doc_ids["train"]), set(m.doc_ids["dev"])
    assert train_docs and dev_docs and not train_docs & dev_docs
    by_id = {}
    for split, docs in (("train", train_docs), ("dev", dev_docs)):
        for e in dataset.split(split):
            assert e.doc_id in docs
            assert e.positive_id not in e.negative_ids
            assert len(e.negatives) == len(e.negative_ids) <= 3
            by_id.update(zip(e.negative_ids, e.negatives, strict=True))
            assert all(n != e.positive for n in e.negatives)
    # Negatives come from the example's own split: no page is seen by both splits.
    negative_docs = {c.chunk_id: c.doc_id for c in corpus[0].index.get_chunks(list(by_id))}
    for split, docs in (("train", train_docs), ("dev", dev_docs)):
        for e in dataset.split(split):
            assert {negative_docs[n] for n in e.negative_ids} <= docs
    assert m.counts["split"] == {"train": len(dataset.train), "dev": len(dataset.dev)}
    assert sum(m.counts["source"].values()) == len(examples)
    assert set(m.counts["source"]) >= {
        "feedback",
        "memory",
        "synthetic-table",
        "synthetic-heading",
        "synthetic-sentence",
    }
    assert m.negatives and sum(m.negatives.values()) == sum(len(e.negative_ids) for e in examples)
    # Hybrid mining ran through the production search.
    assert m.options.mining == "hybrid" and m.timings_s["negatives"] >= 0


def test_exclusions_and_a_stable_version(corpus, tmp_path):
    opened, chunks = corpus
    q10 = next(c.doc_id for c in chunks if c.file_name == "northwind_2024q2_10q.pdf")
    kwargs = {"sources": ("synthetic",), "mining": "lexical", "dev_fraction": 0.5}
    first = build_dataset(opened, **kwargs)
    excluded_q = next(e.query for e in first.train + first.dev if e.doc_id != q10)
    ds = build_dataset(
        opened, exclude_docs=[q10], exclude_questions=[excluded_q.upper() + "?"], **kwargs
    )
    examples = ds.train + ds.dev
    assert examples and q10 not in ds.manifest.doc_ids["train"] + ds.manifest.doc_ids["dev"]
    q10_ids = {c.chunk_id for c in chunks if c.doc_id == q10}
    assert all(e.doc_id != q10 and not q10_ids & set(e.negative_ids) for e in examples)
    assert normalise_query(excluded_q) not in {normalise_query(e.query) for e in examples}
    assert ds.manifest.skipped["excluded-question"] >= 1
    assert ds.manifest.options.exclude_questions == 1  # counted, the text is not copied

    # Same inputs, same version; the files round-trip; an edited file is refused.
    again = build_dataset(opened, **kwargs)
    assert again.manifest.version == first.manifest.version
    assert again.train == first.train and again.dev == first.dev
    assert build_dataset(opened, seed=14, **kwargs).manifest.version != first.manifest.version
    folder = write_dataset(first, tmp_path / "ds")
    assert sorted(p.name for p in folder.iterdir()) == ["dev.jsonl", "manifest.json", "train.jsonl"]
    loaded = load_dataset(folder)
    assert loaded.train == first.train and loaded.dev == first.dev
    assert loaded.manifest.version == first.manifest.version
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["doc_ids"]["train"] and manifest["counts"]["split"]["train"] == len(first.train)
    lines = (folder / "train.jsonl").read_text().splitlines()
    (folder / "train.jsonl").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(ConfigError, match="rebuild"):
        load_dataset(folder)

    # A cap per filing keeps curated examples and a sample of synthetic ones.
    capped = build_dataset(opened, max_per_doc=3, **kwargs)
    per_doc: dict[str, int] = {}
    for e in capped.train + capped.dev:
        per_doc[e.doc_id] = per_doc.get(e.doc_id, 0) + 1
    assert per_doc and max(per_doc.values()) <= 3


def test_eval_set_questions_take_the_best_chunk_on_the_gold_page(corpus, tmp_path, sample_folder):
    opened, chunks = corpus
    earnings = _find(
        chunks, "contoso_fy2024_10k.pdf", "Consolidated Statements of Earnings", "table"
    )
    folder = tmp_path / "evalset"
    (folder / "pdfs").mkdir(parents=True)
    shutil.copy(sample_folder / "contoso_fy2024_10k.pdf", folder / "pdfs")
    shutil.copy(sample_folder / "northwind_2023_10k.pdf", folder / "pdfs")
    rows = [
        {
            "question": "What was Contoso's gross margin in fiscal 2024?",
            "doc": "contoso_fy2024_10k.pdf",
            "evidence_pages": [earnings.page_no],
        },
        {"question": "Not in the index", "doc": "northwind_2023_10k.pdf", "evidence_pages": [99]},
        {"question": "Missing filing", "doc": "other.pdf", "evidence_pages": [1]},
    ]
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    shutil.copy(sample_folder / "contoso_fy2024_10k.pdf", folder / "pdfs" / "other.pdf")
    ds = build_dataset(
        opened, sources=("eval",), eval_set=folder, mining="lexical", dev_fraction=0.0
    )
    assert [e.source for e in ds.train] == ["eval"] and not ds.dev
    e = ds.train[0]
    assert e.positive_id == earnings.chunk_id and e.query == rows[0]["question"]
    page = {
        c.chunk_id for c in chunks if c.doc_id == earnings.doc_id and c.page_no == earnings.page_no
    }
    assert e.negative_ids and not page & set(e.negative_ids)
    assert ds.manifest.skipped == {"eval-doc-not-indexed": 1, "eval-page-without-chunks": 1}
    assert ds.manifest.options.eval_set == "evalset"
    with pytest.raises(ConfigError, match="unknown dataset sources"):
        build_dataset(opened, sources=("web",))


def test_split_assignment_is_seeded_deterministic_and_disjoint():
    docs = [f"doc{i}" for i in range(10)]
    a = assign_splits(docs, 0.2, seed=13)
    assert a == assign_splits(list(reversed(docs)), 0.2, seed=13)
    assert sum(v == "dev" for v in a.values()) == 2
    assert assign_splits(docs, 0.2, seed=1) != a
    assert list(assign_splits(["x", "y"], 0.1, seed=13).values()).count("dev") == 1
    assert set(assign_splits(["x"], 0.5, seed=13).values()) == {"train"}
    with pytest.raises(ConfigError):
        assign_splits(docs, 1.0, seed=13)
