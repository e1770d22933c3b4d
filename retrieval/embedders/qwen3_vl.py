"""Qwen3-VL-Embedding through transformers (backend name ``qwen3-vl``).

Contract: the :class:`~retrieval.embedders.base.ImageEmbedder` protocol. Text chunks, queries,
page renders and figure/table crops map into one vector space (``dim == image_dim``), rows
L2-normalised float32.

How an input is encoded (as in the model's reference code, ``Qwen3VLEmbedder`` in the
Qwen3-VL-Embedding repository):

* a chat: the system message is the instruction, the user message holds the content (image first,
  then text; ``"NULL"`` when empty). Queries get :data:`QUERY_INSTRUCTION` (a retrieval task
  instruction); documents, pages and crops get the model's default
  ``"Represent the user's input."``. An instruction not ending in punctuation gets a ".".
* rendered with the checkpoint's own chat template and ``add_generation_prompt=True``, so the
  sequence ends ``<|im_end|>\\n<|im_start|>assistant\\n``. Decision: the tech report speaks of the
  final token as an end-of-sequence token, the reference code appends the assistant turn and pools
  whatever ends the sequence; the weights were published with the code, so we follow the code:
  the pooled token is the ``\\n`` after ``assistant`` (pinned by a test on the rendered prompt).
* the final hidden state (after the last norm) of the last non-padding token, found from the
  attention mask, so either padding side works. Batches are padded on the right, like the
  reference code: with causal attention, right padding leaves every real token's state exactly as
  in the unbatched sequence, without relying on masked-row handling in fused attention kernels.
* optionally cut to ``settings.dimension`` (Matryoshka) and L2-normalised.

Speed: batches of ``settings.batch_size``; while the model runs batch k, ``preprocess_workers``
threads decode and resize the images of batch k+1 and run the processor on them
(:func:`core.prefetch.prefetched`), and the result reaches the GPU through pinned memory. The
model loads with ``settings.dtype`` and ``settings.attn_implementation``; :attr:`attention` says
which attention runs.

Images are sized by :func:`core.models.prepare_image` (``qwen_vl_utils`` rule; 4 to 1800 visual
tokens by default, so a 100-dpi letter page is ~900 tokens) and passed with ``do_resize=False``.

The model is resolved offline when the embedder is built (``settings.model``, default
:data:`DEFAULT_MODEL`; a missing model raises :class:`~core.errors.ModelNotAvailableError`
naming ``FINRAG_EMBEDDER__MODEL``) and loaded on first use through
:func:`core.models.load_vl_model`.

Example:
    >>> from core.options import Qwen3VLEmbedderOptions
from core.prefetch import prefetched, to_device
    >>> settings = Qwen3VLEmbedderOptions(model="/models/Qwen3-VL-Embedding-2B")
    >>> e = Qwen3VLEmbedder(settings)  # doctest: +SKIP
    >>> e.embed_images(["page-0001.png"]).shape  # doctest: +SKIP
    (1, 2048)
"""

from __future__ import annotations

import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ConfigError
from core.models import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    LoadedModel,
    load_vl_model,
    prepare_image,
    resolve_model_path,
)
from core.options import Qwen3VLEmbedderOptions
from core.prefetch import prefetched, to_device

if TYPE_CHECKING:
    import torch
    from PIL import Image
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen3-VL-Embedding-2B"
MODEL_SETTING = "FINRAG_EMBEDDER__MODEL"
DOCUMENT_INSTRUCTION = "Represent the user's input."
QUERY_INSTRUCTION = "Retrieve pages of financial filings that answer the question."
# The reference code appends the assistant turn; the pooled token is what ends that prompt.
ADD_GENERATION_PROMPT = True
PADDING_SIDE = "right"
# Text longer than this many tokens is cut before templating (reference code: 8192 in total).
MAX_TEXT_TOKENS = 8000


@dataclass(frozen=True)
class EmbedInput:
    """One thing to embed: text, an image (file or PIL image), or both (a crop with its caption)."""

    text: str | None = None
    image: str | Path | Image.Image | None = None
    instruction: str | None = None  # None: the document instruction


class Qwen3VLEmbedder:
    """Qwen3-VL-Embedding (2B: 2048 dims, 8B: 4096 dims), text and images in one space."""

    name = "qwen3-vl"

    def __init__(
        self,
        settings: Qwen3VLEmbedderOptions | None = None,
        models_dir: str | None = None,
        *,
        query_instruction: str = QUERY_INSTRUCTION,
        document_instruction: str = DOCUMENT_INSTRUCTION,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.settings = settings or Qwen3VLEmbedderOptions()
        self.models_dir = models_dir
        self.model_path = resolve_model_path(
            self.settings.model or DEFAULT_MODEL, setting=MODEL_SETTING, models_dir=models_dir
        )
        self.hidden_size = _hidden_size(self.model_path)
        dimension = self.settings.dimension
        if dimension is not None and not 0 < dimension <= self.hidden_size:
            raise ConfigError(
                f"FINRAG_EMBEDDER__DIMENSION={dimension} is outside 1..{self.hidden_size}, the "
                f"hidden size of {self.model_path}; unset it or pick a smaller Matryoshka size."
            )
        self.dim = dimension or self.hidden_size
        self.image_dim = self.dim
        self.max_tokens = self.settings.max_tokens
        self.query_instruction = query_instruction
        self.document_instruction = document_instruction
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self._counter: Tokenizer | None = None

    # -- the Embedder protocol ------------------------------------------------------------------

    def count_tokens(self, texts: list[str]) -> list[int]:
        counter = self._token_counter()
        return [len(e.ids) for e in counter.encode_batch(list(texts), add_special_tokens=False)]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embed([EmbedInput(text=t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([EmbedInput(text=text, instruction=self.query_instruction)])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several queries in batches: the same vectors as :meth:`embed_query` one by one."""
        return self.embed([EmbedInput(text=t, instruction=self.query_instruction) for t in texts])

    def embed_images(self, paths: list[str]) -> np.ndarray:
        return self.embed([EmbedInput(image=p) for p in paths])

    # -- general entry point -------------------------------------------------------------------

    def embed(self, inputs: list[EmbedInput]) -> np.ndarray:
        """(n, dim) float32 L2-normalised vectors, in input order, batched by ``batch_size``."""
        if not inputs:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        loaded = self.loaded()
        self._token_counter()  # built here, not concurrently in the preprocessing threads
        batch = max(1, self.settings.batch_size)
        batches = [inputs[start : start + batch] for start in range(0, len(inputs), batch)]
        parts = []
        prepared = prefetched(
            batches, self.encode_on_host, workers=self.settings.preprocess_workers
        )
        with torch.inference_mode():
            for host in prepared:
                encoded = to_device(host, loaded.device)
                hidden = loaded.model(**encoded).last_hidden_state
                pooled = pool_last_token(hidden, encoded["attention_mask"])
                parts.append(self._finish(pooled))
        return np.concatenate(parts, axis=0)

    def messages(self, item: EmbedInput) -> list[dict[str, Any]]:
        """The chat for one input (the reference code's ``format_model_input``)."""
        instruction = (item.instruction or self.document_instruction).strip()
        if instruction and not unicodedata.category(instruction[-1]).startswith("P"):
            instruction += "."
        content: list[dict[str, Any]] = []
        if item.image is not None:
            content.append({"type": "image", "image": item.image})
        if item.text:
            content.append({"type": "text", "text": self._truncate(item.text)})
        if not content:
            content.append({"type": "text", "text": "NULL"})
        return [
            {"role": "system", "content": [{"type": "text", "text": instruction}]},
            {"role": "user", "content": content},
        ]

    def render(self, item: EmbedInput) -> str:
        """The prompt string the model sees for ``item`` (before image tokens are expanded)."""
        return self.loaded().processor.apply_chat_template(
            self.messages(item), tokenize=False, add_generation_prompt=ADD_GENERATION_PROMPT
        )

    def encode(self, items: list[EmbedInput], *, padding_side: str = PADDING_SIDE) -> Any:
        """Processor outputs (ids, mask, pixel values...) for a batch, on the model's device."""
        return to_device(self.encode_on_host(items, padding_side=padding_side), self.device)

    def encode_on_host(self, items: list[EmbedInput], *, padding_side: str = PADDING_SIDE) -> Any:
        """Processor outputs for a batch, in host memory (what the preprocessing threads run)."""
        loaded = self.loaded()
        texts = [self.render(item) for item in items]
        images = [
            prepare_image(
                item.image,
                patch_factor=loaded.patch_factor,
                min_pixels=self.min_pixels,
                max_pixels=self.max_pixels,
            )
            for item in items
            if item.image is not None
        ]
        encoded = loaded.processor(
            text=texts,
            images=images or None,
            padding=True,
            padding_side=padding_side,
            do_resize=False,
            return_tensors="pt",
        )
        return encoded

    def loaded(self) -> LoadedModel:
        """The shared loaded model (loads on first call)."""
        return load_vl_model(
            str(self.model_path),
            kind="base",
            setting=MODEL_SETTING,
            device=self.settings.device,
            dtype=self.settings.dtype,
            attention=self.settings.attn_implementation,
        )

    @property
    def device(self) -> torch.device:
        """Where the model runs (loads it)."""
        return self.loaded().device

    @property
    def attention(self) -> str:
        """The attention implementation the model runs with (loads it): ``sdpa``, ..."""
        return self.loaded().attention

    # -- internals -----------------------------------------------------------------------------

    def _finish(self, pooled: torch.Tensor) -> np.ndarray:
        import torch.nn.functional as F

        vectors = pooled.float()[:, : self.dim]
        return F.normalize(vectors, p=2, dim=-1).cpu().numpy().astype(np.float32)

    def _truncate(self, text: str) -> str:
        counter = self._token_counter()
        encoding = counter.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= MAX_TEXT_TOKENS:
            return text
        end = encoding.offsets[MAX_TEXT_TOKENS - 1][1]
        logger.debug("embedder input cut from %d to %d tokens", len(encoding.ids), MAX_TEXT_TOKENS)
        return text[:end]

    def _token_counter(self) -> Tokenizer:
        if self._counter is None:
            from tokenizers import Tokenizer

            file = self.model_path / "tokenizer.json"
            if file.is_file():  # no model load just to count tokens
                self._counter = Tokenizer.from_file(str(file))
            else:
                backend = self.loaded().tokenizer.backend_tokenizer
                # a copy: the padding/truncation changes below must not touch the shared tokenizer
                self._counter = Tokenizer.from_str(backend.to_str())
            self._counter.no_padding()
            self._counter.no_truncation()
        return self._counter


def pool_last_token(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Each row's hidden state at its last position whose mask is 1 (left or right padding)."""
    import torch

    flipped_first = attention_mask.flip(dims=[1]).argmax(dim=1)
    last = attention_mask.shape[1] - 1 - flipped_first
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, last]


def _hidden_size(model_path: Path) -> int:
    config = json.loads((model_path / "config.json").read_text())
    text_config = config.get("text_config") or config
    return int(text_config["hidden_size"])
