"""The full ingest -> search path with the tiny random Qwen3-VL as the (multimodal) embedder."""

from __future__ import annotations

from pathlib import Path

from core.options import Qwen3VLEmbedderOptions
from core.records import Query, SearchFilters
from core.settings import Settings
from ingest.pipeline import Ingestor
from retrieval.corpus import Corpus
from retrieval.search import CorpusSearch
from tests.fixtures import tiny_qwen

tiny_qwen_dir = tiny_qwen.tiny_qwen_dir  # the session fixture, registered in this module


def test_pages_go_to_the_image_vector_and_search_fuses_both(
    tmp_path, tiny_qwen_dir: Path, sample_folder
):
    settings = Settings(
        data_dir=tmp_path / "data",
        embedder=Qwen3VLEmbedderOptions(model=str(tiny_qwen_dir), image_pages=True, batch_size=4),
    )
    settings.ingest.workers = 1
    settings.ingest.render_dpi = 30  # tiny renders keep the random model fast on CPU
    with Corpus.open(settings) as corpus:
        report = Ingestor(corpus).ingest([sample_folder / "northwind_2024q2_10q.pdf"])
        assert report.count("ok") == 1, report
        index = corpus.index
        assert index.image_dim == corpus.embedder.image_dim
        pages = index.count(SearchFilters(modalities=["page"]))
        assert pages == report.files[0].pages  # one image point per rendered page
        assert index.count(SearchFilters(modalities=["text", "table"])) == report.files[0].chunks

    with Corpus.open(settings) as corpus:
        hits = CorpusSearch(corpus).search(Query(text="backlog at June 30, 2024", top_k=20))
        image_only = corpus.index.search(
            dense=None,
            sparse=None,
            image=corpus.embedder.embed_query("backlog"),
            filters=SearchFilters(),
            acl_groups=["public"],
            limit=5,
        )
    assert {h.chunk.modality for h in hits} >= {"page"}
    assert all(h.source == "fused" for h in hits)
    assert image_only and all(
        h.chunk.modality == "page" and h.source == "image" for h in image_only
    )
    assert all(Path(h.chunk.image_path).exists() for h in image_only)
