"""Options models of the backends settings choose by name: one model per backend.

Each kind (embedder, reranker, llm) has a base model with the knobs every backend of that kind
reads, and one subclass per backend that fixes ``name`` to a ``Literal`` and adds what only that
backend reads. :mod:`core.backends` ties each name to its factory and its options model; the
settings groups ``embedder``, ``rerank`` and ``llm`` are parsed through it, so an unknown name fails
when settings load, listing the known ones. Environment variables keep their form:
``FINRAG_EMBEDDER__NAME=hash``, ``FINRAG_RERANK__WINDOW=5``; a knob the chosen backend does not read
is ignored.

Example:
    >>> Qwen3VLEmbedderOptions(model="/models/Qwen3-VL-Embedding-2B", dimension=1024).name
    'qwen3-vl'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

# How a local transformers model computes attention (``core.models.resolve_attention``): ``auto``
# is FlashAttention-2 on CUDA when the ``flash_attn`` package imports, else PyTorch's SDPA.
AttentionImplementation = Literal["auto", "flash_attention_2", "sdpa", "eager"]
# ``auto``: bfloat16 on a CUDA device that supports it (float16 on older GPUs), float32 on CPU.
ModelDtype = Literal["auto", "bfloat16", "float16", "float32"]


class LocalModelOptions(BaseModel):
    """How a local transformers model (Qwen3-VL family) is placed and fed.

    ``preprocess_workers`` threads decode, resize and run the processor for the next batch while
    the model runs the current one (0 = in the calling thread, no overlap).
    """

    device: str = "auto"
    dtype: ModelDtype = "auto"
    attn_implementation: AttentionImplementation = "auto"
    preprocess_workers: int = 1


class BackendOptions(BaseModel):
    """What every backend's options share: its registered name."""

    # Assignments are checked too: ``options.name = "other"`` would leave the wrong model behind.
    model_config = ConfigDict(extra="ignore", validate_assignment=True)
    name: str


# -- embedders ----------------------------------------------------------------------------------


class EmbedderOptions(BackendOptions):
    model: str | None = None  # a local folder or model id; None = the backend's packaged default
    batch_size: int = 32
    max_tokens: int = 256  # chunk budget in the embedder's tokens
    # Tokens of each document chunk the dense model reads (None = the whole chunk). MiniLM was
    # trained on 128-token inputs; BM25 still indexes every token. See README, "Ingest speed".
    document_tokens: int | None = 96
    image_pages: bool = False  # multimodal backends: also embed page renders into `image`


class HashEmbedderOptions(EmbedderOptions):
    """Hashed words and 3-grams: deterministic, instant; for tests and CPU-starved checks."""

    name: Literal["hash"] = "hash"
    dimension: int | None = None  # default 256


class MiniLMOnnxOptions(EmbedderOptions):
    """The packaged all-MiniLM-L6-v2 exported to ONNX (the CPU default)."""

    name: Literal["minilm-onnx"] = "minilm-onnx"
    quantize: bool = True  # dynamic int8
    threads: int | None = None  # intra-op threads; None = all cores


class SentenceTransformersOptions(EmbedderOptions):
    """Any local sentence-transformers folder, through torch."""

    name: Literal["sentence-transformers"] = "sentence-transformers"
    threads: int | None = None
    device: str = "auto"


class Qwen3VLEmbedderOptions(LocalModelOptions, EmbedderOptions):
    """Qwen3-VL-Embedding: text and page images in one space."""

    name: Literal["qwen3-vl"] = "qwen3-vl"
    dimension: int | None = None  # Matryoshka truncation


# -- rerankers ----------------------------------------------------------------------------------

DocumentMode = Literal["auto", "text", "image"]


class RerankerOptions(LocalModelOptions, BackendOptions):
    model: str | None = None
    batch_size: int = 16


class NoRerankerOptions(RerankerOptions):
    """Keep the fused retrieval order."""

    name: Literal["none"] = "none"


class CrossEncoderOptions(RerankerOptions):
    """The fine-tuned CPU cross-encoder (int8 ONNX)."""

    name: Literal["cross-encoder"] = "cross-encoder"
    # Weight of the model against the retrieval order; None = the model's own calibrated weight
    # (finrag_model.json).
    fusion_weight: float | None = None


class LearnedRerankerOptions(RerankerOptions):
    """The LightGBM LambdaMART page ranker (``model`` = a ``finrag finetune --backend learned``
    job's model/ folder)."""

    name: Literal["learned"] = "learned"


class Qwen3VLRerankerOptions(RerankerOptions):
    """Qwen3-VL-Reranker, pointwise."""

    name: Literal["qwen3-vl"] = "qwen3-vl"
    # Show page/figure hits as their image (auto, when the file exists) or as text.
    document_mode: DocumentMode = "auto"


class LoraRerankerOptions(Qwen3VLRerankerOptions):
    """Qwen3-VL-Reranker with a fine-tuned LoRA adapter (``model`` = the adapter folder)."""

    name: Literal["qwen3-vl-lora"] = "qwen3-vl-lora"  # type: ignore[assignment]


class ListwiseRerankerOptions(RerankerOptions):
    """MM-R5-style listwise reasoning over page images."""

    name: Literal["listwise-vl"] = "listwise-vl"
    window: int = 5
    document_mode: DocumentMode = "auto"
    # Cap on generated reasoning; the answer's few tokens come on top (``answer_tokens``).
    max_reasoning_tokens: int = 1024
    # Windows generated together (left-padded, one ``generate`` call): the same window step of
    # several queries in ``rerank_many``. 1 = one window per call.
    window_batch: int = 4
    # Static KV cache + torch.compile for decoding; CUDA only (ignored on CPU), off by default.
    compile: bool = False


class PromotedRerankerOptions(RerankerOptions):
    """The promoted fine-tuned model of the question's company (``rerank.promoted``).

    Carries every knob a promoted backend may read; each is handed on to the model that serves.
    """

    name: Literal["auto"] = "auto"
    window: int = 5
    document_mode: DocumentMode = "auto"
    fusion_weight: float | None = None
    max_reasoning_tokens: int = 1024
    window_batch: int = 4
    compile: bool = False


# -- answerers (settings group ``llm``) ---------------------------------------------------------


class LLMOptions(BackendOptions):
    model: str | None = None  # the generative model (none for extractive)
    max_new_tokens: int = 512


class ExtractiveOptions(LLMOptions):
    """No generative model: quoted cells and sentences, arithmetic through the calculator."""

    name: Literal["extractive"] = "extractive"


class OpenAIOptions(LLMOptions):
    """Any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, OpenAI)."""

    name: Literal["openai"] = "openai"
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 2


class TransformersLLMOptions(LocalModelOptions, LLMOptions):
    """A local Qwen-VL instruct model through transformers."""

    name: Literal["transformers"] = "transformers"
