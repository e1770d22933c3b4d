"""Every backend finrag can choose by name, in one place.

One :class:`~core.registry.Registry` per kind maps a name to its factory (by import path, so
nothing heavy is imported until that backend is built) and to its options model
(:mod:`core.options`). Settings parse their ``embedder``, ``rerank`` and ``llm`` groups through
these registries and check ``ingest.ocr`` against its own, so a misspelt name fails when settings
load. Test fakes register the same way (``RERANKERS.register("fake")(Fake)``).

Kinds:
    :data:`EMBEDDERS` (``settings.embedder``): text (and page-image) vectors.
    :data:`RERANKERS` (``settings.rerank``): reorder hits; ``auto`` serves the promoted model.
    :data:`ANSWERERS` (``settings.llm``): turn evidence into an answer; ``extractive`` needs no
    generative model, the others wrap one (:mod:`agent.llm`).
    :data:`OCR_ENGINES` (``settings.ingest.ocr``): text for scanned pages.
    :data:`INDEX_ENGINES` (``settings.qdrant``): where the Qdrant collections live.
"""

from __future__ import annotations

from typing import Any

from core.options import (
    CrossEncoderOptions,
    EmbedderOptions,
    ExtractiveOptions,
    HashEmbedderOptions,
    LearnedRerankerOptions,
    ListwiseRerankerOptions,
    LLMOptions,
    LoraRerankerOptions,
    MiniLMOnnxOptions,
    NoRerankerOptions,
    OpenAIOptions,
    PromotedRerankerOptions,
    Qwen3VLEmbedderOptions,
    Qwen3VLRerankerOptions,
    RerankerOptions,
    SentenceTransformersOptions,
    TransformersLLMOptions,
)
from core.registry import Registry

EMBEDDERS: Registry[Any] = Registry("embedder", EmbedderOptions, default="minilm-onnx")
EMBEDDERS.register_lazy("hash", "retrieval.embedders.hashing:HashEmbedder", HashEmbedderOptions)
EMBEDDERS.register_lazy(
    "minilm-onnx", "retrieval.embedders.onnx:OnnxMiniLMEmbedder", MiniLMOnnxOptions
)
EMBEDDERS.register_lazy(
    "sentence-transformers",
    "retrieval.embedders.minilm:SentenceTransformerEmbedder",
    SentenceTransformersOptions,
)
EMBEDDERS.register_lazy(
    "qwen3-vl", "retrieval.embedders.qwen3_vl:Qwen3VLEmbedder", Qwen3VLEmbedderOptions
)

RERANKERS: Registry[Any] = Registry("reranker", RerankerOptions, default="auto")
RERANKERS.register_lazy("none", "rerank.base:NoReranker", NoRerankerOptions)
RERANKERS.register_lazy("auto", "rerank.promoted:PromotedReranker", PromotedRerankerOptions)
RERANKERS.register_lazy(
    "cross-encoder", "rerank.cross_encoder:CrossEncoderReranker", CrossEncoderOptions
)
RERANKERS.register_lazy("learned", "rerank.learned:LearnedPageReranker", LearnedRerankerOptions)
RERANKERS.register_lazy("qwen3-vl", "rerank.pointwise:Qwen3VLReranker", Qwen3VLRerankerOptions)
RERANKERS.register_lazy("qwen3-vl-lora", "rerank.lora:LoraReranker", LoraRerankerOptions)
RERANKERS.register_lazy(
    "listwise-vl", "rerank.listwise:ListwiseVLReranker", ListwiseRerankerOptions
)

ANSWERERS: Registry[Any] = Registry("llm", LLMOptions, default="extractive")
ANSWERERS.register_lazy("extractive", "agent.extractive:ExtractiveAnswerer", ExtractiveOptions)
ANSWERERS.register_lazy("openai", "agent.answerer:openai_answerer", OpenAIOptions)
ANSWERERS.register_lazy(
    "transformers", "agent.answerer:transformers_answerer", TransformersLLMOptions
)

OCR_ENGINES: Registry[Any] = Registry("OCR engine", default="rapidocr")
OCR_ENGINES.register_lazy("rapidocr", "ingest.ocr:RapidOcrEngine")
OCR_ENGINES.register_lazy("tesseract", "ingest.ocr:TesseractEngine")

INDEX_ENGINES: Registry[Any] = Registry("index engine", default="edge")
INDEX_ENGINES.register_lazy("edge", "retrieval.index.edge:EdgeEngine")
INDEX_ENGINES.register_lazy("local", "retrieval.index.client:ClientEngine")
INDEX_ENGINES.register_lazy("server", "retrieval.index.client:ClientEngine")
