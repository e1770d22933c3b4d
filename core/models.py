"""Loading local vision-language models (Qwen-VL family) once per process.

Contract: :func:`load_vl_model` returns a :class:`LoadedModel` (model in eval mode, its processor,
device, dtype) for a model folder or a Hugging Face id that is already in the local cache. The
same (folder, kind, device, dtype) is loaded once and shared by the embedder, the rerankers and the
agent's LLM. Nothing here ever downloads: a model that is not on this machine raises
:class:`~core.errors.ModelNotAvailableError` at once, naming the setting to change (for example
``FINRAG_RERANK__MODEL``) and how to provide the weights.

Kinds:
    ``base``: the bare transformer (``AutoModel``, e.g. ``Qwen3VLModel``): hidden states only,
    what an embedding model needs.
    ``generation``: the model with its LM head (``AutoModelForImageTextToText``, e.g.
    ``Qwen3VLForConditionalGeneration``): logits and ``generate``.

Devices: ``"auto"`` means CUDA when available, else CPU. The cache is keyed by the canonical
device (:func:`canonical_device`: ``"cuda"`` and ``"cuda:0"`` are one entry), so the embedder and a
reranker asking for the same folder differently still share one copy. Weights are loaded straight
onto the device (``device_map``), never staged in host memory first.

Dtype (:func:`resolve_dtype`): ``auto`` is bfloat16 on a CUDA device that supports it
(``torch.cuda.is_bf16_supported()``), float16 on older GPUs, float32 on CPU (bf16 matmuls are slow
and lossy on most CPUs). Attention (:func:`resolve_attention`): ``auto`` is FlashAttention-2 on
CUDA when the ``flash_attn`` package imports, else PyTorch SDPA; the choice is logged and kept in
:attr:`LoadedModel.attention`.

Processors use the fast (torchvision, tensor) image path where transformers offers it.

:func:`prepare_image` sizes an image the way Qwen-VL was trained (both sides multiples of
patch x merge, total pixels within bounds) with ``qwen_vl_utils`` when it imports, else with the
same rule from transformers; processors are then called with ``do_resize=False``.

torch and transformers are imported inside functions only: importing this module is free.

Example:
    >>> loaded = load_vl_model("/models/Qwen3-VL-Reranker-2B", kind="generation",
    ...                        setting="FINRAG_RERANK__MODEL")  # doctest: +SKIP
    >>> loaded.device  # doctest: +SKIP
    device(type='cuda')
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.errors import ConfigError, MissingDependencyError, ModelNotAvailableError
from core.prefetch import to_device

if TYPE_CHECKING:
    import torch
    from PIL import Image

logger = logging.getLogger(__name__)

ModelKind = Literal["base", "generation"]

# Qwen3-VL's own reference code (Embedding/Reranker repos) bounds each image to 4..1800 visual
# tokens of 32x32 pixels (patch 16 x spatial merge 2).
DEFAULT_MIN_PIXELS = 4 * 32 * 32
DEFAULT_MAX_PIXELS = 1800 * 32 * 32

ATTENTION_CHOICES = ("auto", "flash_attention_2", "sdpa", "eager")

_CACHE: dict[tuple[str, str, str, str, str], LoadedModel] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model with what callers need to feed it."""

    model: Any  # a transformers PreTrainedModel, eval mode, on ``device``
    processor: Any  # a transformers ProcessorMixin with a tokenizer and an image processor
    path: Path
    device: torch.device
    dtype: torch.dtype
    attention: str = "sdpa"  # the attention implementation the model runs with

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    @property
    def patch_factor(self) -> int:
        """Pixels per side of one visual token: patch size x spatial merge size."""
        image_processor = self.processor.image_processor
        return int(image_processor.patch_size) * int(image_processor.merge_size)


def how_to_provide(setting: str) -> str:
    """The remedy sentence shared by every 'model not available' message."""
    return (
        f"Set {setting} to a local model folder (or to a Hugging Face id already in the local HF "
        "cache). To get the weights, download them on a machine with network access (for example "
        "`huggingface-cli download <id> --local-dir <folder>`), copy the folder here and point "
        f"{setting} at it. finrag never downloads models at run time."
    )


def resolve_model_path(model: str, *, setting: str, models_dir: str | Path | None = None) -> Path:
    """A local folder holding ``model``'s files, without touching the network.

    Lookup order: an existing folder; ``models_dir/<model>`` and ``models_dir/<last part of the
    id>``; the local Hugging Face cache (``local_files_only``).

    Raises:
        ModelNotAvailableError: nothing local matches; the message names ``setting``.
    """
    path = Path(model).expanduser()
    candidates = [path]
    if models_dir is not None:
        candidates += [Path(models_dir) / model, Path(models_dir) / Path(model).name]
    for candidate in candidates:
        if candidate.is_dir():
            if not (candidate / "config.json").is_file():
                raise ModelNotAvailableError(
                    f"model folder {candidate} has no config.json, so it is not a transformers "
                    f"model folder. {how_to_provide(setting)}"
                )
            return candidate.resolve()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ModelNotAvailableError(
            f"model folder {model!r} does not exist. {how_to_provide(setting)}"
        )
    cached = _hf_cache_snapshot(model)
    if cached is None:
        raise ModelNotAvailableError(
            f"model {model!r} is neither a local folder nor in the local Hugging Face cache, and "
            f"downloads are disabled. {how_to_provide(setting)}"
        )
    return cached


def _hf_cache_snapshot(model_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(model_id, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, OSError, ValueError) as exc:
        logger.debug("model %r not in the local HF cache: %s", model_id, exc)
        return None
    return folder if (folder / "config.json").is_file() else None


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else as given."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def canonical_device(device: str | torch.device = "auto") -> str:
    """The one spelling of a device used as a cache key: ``"cpu"``, ``"cuda:0"``, ``"cuda:1"``...

    ``"auto"`` resolves first; a CUDA device without an index is the current CUDA device (index 0
    when CUDA is not initialised or absent, so this is testable on a machine without a GPU).

    Example:
        >>> canonical_device("cuda"), canonical_device("cuda:0"), canonical_device("cpu")
        ('cuda:0', 'cuda:0', 'cpu')
    """
    import torch

    resolved = resolve_device(device) if isinstance(device, str) else device
    if resolved.type == "cpu":
        return "cpu"
    index = resolved.index
    if index is None:
        index = torch.cuda.current_device() if resolved.type == "cuda" and _cuda_ready() else 0
    return f"{resolved.type}:{index}"


def _cuda_ready() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_initialized())


def default_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on CUDA that supports it (float16 on older GPUs), float32 elsewhere."""
    import torch

    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def resolve_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    """The torch dtype for a ``dtype`` setting (``auto``/None: :func:`default_dtype`).

    An explicit bfloat16 on a CUDA device without bf16 support becomes float16, with a warning.
    """
    import torch

    if dtype in (None, "auto"):
        return default_dtype(device)
    if dtype not in ("bfloat16", "float16", "float32"):
        raise ConfigError(f"dtype {dtype!r} is not one of auto, bfloat16, float16, float32")
    if dtype == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        logger.warning("%s does not support bfloat16; loading in float16", device)
        return torch.float16
    return getattr(torch, dtype)


def resolve_attention(setting: str, device: torch.device) -> str:
    """The attention implementation for an ``attn_implementation`` setting on ``device``.

    ``auto``: ``flash_attention_2`` on CUDA when the ``flash_attn`` package imports, else
    ``sdpa``. An explicit ``flash_attention_2`` needs both, and says how to get them otherwise.

    Example:
        >>> import torch
        >>> resolve_attention("auto", torch.device("cpu"))
        'sdpa'
    """
    if setting not in ATTENTION_CHOICES:
        raise ConfigError(
            f"attn_implementation {setting!r} is not one of {', '.join(ATTENTION_CHOICES)}"
        )
    flash = device.type == "cuda" and _flash_attn_importable()
    if setting == "auto":
        return "flash_attention_2" if flash else "sdpa"
    if setting == "flash_attention_2" and not flash:
        if device.type != "cuda":
            raise ConfigError(
                "attn_implementation=flash_attention_2 needs a CUDA device; set it to auto or sdpa "
                f"on {device}."
            )
        raise MissingDependencyError(
            "attn_implementation=flash_attention_2 needs the flash_attn package "
            "(pip install flash-attn --no-build-isolation); or set it to auto or sdpa."
        )
    return setting


def _flash_attn_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("flash_attn") is not None


def load_vl_model(
    model: str,
    *,
    kind: ModelKind,
    setting: str,
    device: str = "auto",
    dtype: str | None = None,
    attention: str = "auto",
    models_dir: str | Path | None = None,
) -> LoadedModel:
    """The process-wide loaded model for these arguments (loaded on first call, then cached).

    Args:
        model: a local folder or a Hugging Face id present in the local cache.
        kind: ``"base"`` (hidden states) or ``"generation"`` (LM head, ``generate``).
        setting: the setting that names this model, quoted in error messages.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        dtype: ``"auto"`` (or None), ``"bfloat16"``, ``"float16"``, ``"float32"``.
        attention: ``"auto"``, ``"flash_attention_2"``, ``"sdpa"`` or ``"eager"``.
        models_dir: an extra folder searched for ``model`` by name.

    Raises:
        ModelNotAvailableError: the weights are not on this machine, or the folder lacks an image
            processor (a text-only folder, or a broken install).
        MissingDependencyError: torch / transformers / torchvision cannot be imported, or
            flash-attention was asked for without ``flash_attn``.
    """
    path = resolve_model_path(model, setting=setting, models_dir=models_dir)
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(
            f"local vision-language models need torch, torchvision and transformers ({exc}); "
            "install finrag with its default dependencies (pip install -e .)."
        ) from exc
    device_name = canonical_device(device)
    torch_device = torch.device(device_name)
    torch_dtype = resolve_dtype(dtype, torch_device)
    attn = resolve_attention(attention, torch_device)
    key = (str(path), kind, device_name, str(torch_dtype), attn)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        auto = (
            transformers.AutoModel if kind == "base" else transformers.AutoModelForImageTextToText
        )
        logger.info(
            "loading %s (%s) on %s as %s, attention %s", path, kind, device_name, torch_dtype, attn
        )
        try:
            # device_map puts each weight on the device as it is read: no full host-memory copy.
            loaded_model = auto.from_pretrained(
                str(path),
                dtype=torch_dtype,
                device_map=device_name,
                attn_implementation=attn,
                local_files_only=True,
            )
        except OSError as exc:
            raise ModelNotAvailableError(
                f"could not load model weights from {path}: {exc}. {how_to_provide(setting)}"
            ) from exc
        loaded_model.eval()
        processor = load_processor(path, setting=setting)
        loaded = LoadedModel(loaded_model, processor, path, torch_device, torch_dtype, attn)
        _CACHE[key] = loaded
        return loaded


def cached_models() -> list[tuple[str, str, str, str, str]]:
    """Keys of the loaded models: (folder, kind, canonical device, dtype, attention)."""
    with _LOCK:
        return list(_CACHE)


def load_processor(path: Path, *, setting: str) -> Any:
    """The folder's multimodal processor; refuses a tokenizer-only fallback.

    ``AutoProcessor`` quietly returns just the tokenizer when the image processor cannot be built
    (for instance without torchvision); every caller here needs images, so that is an error.
    """
    from transformers import AutoProcessor

    try:
        processor = _fast_processor(AutoProcessor, path)
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(
            f"could not build the processor of {path} ({exc}); the folder needs the tokenizer and "
            f"the image processor files saved with the model. {how_to_provide(setting)}"
        ) from exc
    if (
        getattr(processor, "image_processor", None) is None
        or getattr(processor, "tokenizer", None) is None
    ):
        try:
            import torchvision  # noqa: F401

            cause = (
                f"the folder {path} has no usable image processor (preprocessor/processor config)"
            )
        except ImportError:
            raise MissingDependencyError(
                f"{path} loaded without an image processor because torchvision is not installed; "
                "install torchvision matching your torch (see the README, 'torch')."
            ) from None
        raise ModelNotAvailableError(
            f"AutoProcessor returned {type(processor).__name__}, not a multimodal processor: "
            f"{cause}. {how_to_provide(setting)}"
        )
    return processor


def _fast_processor(auto: Any, path: Path) -> Any:
    """The processor with its fast image path: the torchvision backend (transformers 5) or
    ``use_fast=True`` (4.x); the default one where neither is available."""
    import transformers

    major = int(transformers.__version__.split(".")[0])
    fast = {"backend": "torchvision"} if major >= 5 else {"use_fast": True}
    try:
        return auto.from_pretrained(str(path), local_files_only=True, **fast)
    except (ImportError, TypeError, ValueError) as exc:
        logger.info("no fast image processor for %s (%s); using the default one", path, exc)
        return auto.from_pretrained(str(path), local_files_only=True)


def clear_cache() -> None:
    """Forget every loaded model (tests; freeing GPU memory)."""
    with _LOCK:
        _CACHE.clear()


def prepare_image(
    image: str | Path | Image.Image,
    *,
    patch_factor: int,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """An RGB image resized for a Qwen-VL processor called with ``do_resize=False``.

    Both sides become multiples of ``patch_factor`` and the area lands within
    [``min_pixels``, ``max_pixels``], keeping the aspect ratio (Qwen-VL's ``smart_resize``).
    """
    from PIL import Image as PILImage

    try:
        from qwen_vl_utils import fetch_image
    except ImportError:
        fetch_image = None
    if fetch_image is not None:
        source = image if isinstance(image, PILImage.Image) else str(image)
        element = {"image": source, "min_pixels": min_pixels, "max_pixels": max_pixels}
        # qwen_vl_utils takes the patch size and multiplies by its spatial merge (2) itself.
        return fetch_image(element, image_patch_size=patch_factor // 2)
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    opened = image if isinstance(image, PILImage.Image) else PILImage.open(image)
    rgb = opened.convert("RGB")
    height, width = smart_resize(
        rgb.height, rgb.width, factor=patch_factor, min_pixels=min_pixels, max_pixels=max_pixels
    )
    return rgb.resize((width, height))


def generate_greedy(
    loaded: LoadedModel,
    chat: list[dict[str, Any]],
    image_paths: list[Any],
    *,
    max_new_tokens: int,
    min_pixels: int,
    max_pixels: int,
) -> str:
    """Greedy generation from chat-template messages (and their images), new text only.

    Shared by the local LLM backend and the listwise reranker: render the chat with the
    assistant turn opened, size the images to the model's patch grid, decode greedily.
    """
    return generate_greedy_batch(
        loaded,
        [chat],
        [image_paths],
        max_new_tokens=max_new_tokens,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
    )[0]


def generate_greedy_batch(
    loaded: LoadedModel,
    chats: list[list[dict[str, Any]]],
    image_lists: list[list[Any]],
    *,
    max_new_tokens: int,
    min_pixels: int,
    max_pixels: int,
    static_cache: bool = False,
) -> list[str]:
    """:func:`generate_greedy` for several chats in one left-padded ``generate`` call.

    Decoding keeps the KV cache (``use_cache=True``). ``static_cache`` asks for a static cache,
    which transformers compiles with ``torch.compile``; it is honoured on CUDA only (on CPU the
    compile costs more than it saves), so a setting can stay on everywhere.
    """
    import torch

    encoded = encode_chats(loaded, chats, image_lists, min_pixels=min_pixels, max_pixels=max_pixels)
    options: dict[str, Any] = {}
    if static_cache and loaded.device.type == "cuda":
        options["cache_implementation"] = "static"
    with torch.inference_mode():
        output = loaded.model.generate(
            **encoded,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            use_cache=True,
            max_new_tokens=max_new_tokens,
            **options,
        )
    new_tokens = output[:, encoded["input_ids"].shape[1] :]
    return loaded.processor.batch_decode(new_tokens, skip_special_tokens=True)


def encode_chats(
    loaded: LoadedModel,
    chats: list[list[dict[str, Any]]],
    image_lists: list[list[Any]],
    *,
    min_pixels: int,
    max_pixels: int,
) -> Any:
    """Left-padded processor outputs for chats with the assistant turn opened, on the device."""
    processor = loaded.processor
    prompts = [
        processor.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        for chat in chats
    ]
    images = [
        prepare_image(
            path, patch_factor=loaded.patch_factor, min_pixels=min_pixels, max_pixels=max_pixels
        )
        for paths in image_lists
        for path in paths
    ]
    encoded = processor(
        text=prompts,
        images=images or None,
        padding=True,
        padding_side="left",
        do_resize=False,
        return_tensors="pt",
    )
    return to_device(encoded, loaded.device)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of an ONNX graph (per-channel weights), written atomically.

    Per-channel weight scales: mean cosine to fp32 0.99 on filing text, vs 0.94 per-tensor.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # onnxruntime's quantizer warns on the root logger about shape pre-processing, which only
    # matters for static quantisation; keep it out of the user's terminal.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity on Linux, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session tuned for sharing the machine (embedder, cross-encoder).

    ``threads`` intra-op threads (default: every usable core), one inter-op thread, sequential
    execution, all graph optimisations. Idle pool threads must not spin: the embedder shares the
    cores with ingest's parse workers, the reranker with retrieval (spinning cost 97 s vs 79 s on
    the ingest benchmark, see the README).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or usable_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
