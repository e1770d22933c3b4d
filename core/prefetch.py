"""Preparing the next batch while the model runs the current one.

Contract: :func:`prefetched` yields ``prepare(batch)`` for each batch, in order, with up to
``workers`` batches being prepared in threads ahead of the consumer. ``workers=0`` prepares in the
calling thread (no overlap, no threads). An exception raised while preparing a batch is raised
from the iteration that would have yielded it; batches further ahead are cancelled.
:func:`to_device` moves a processor output to the model's device, through pinned memory and a
non-blocking copy on CUDA.

Why threads and not a DataLoader with processes: what a batch costs on the CPU (PNG decoding,
PIL resizing, tokenizers, the torchvision image processor) releases the GIL, the inputs are file
paths or PIL images already in memory, and a process pool would pickle every page's pixels twice.

Example:
    >>> list(prefetched([[1, 2], [3]], sum, workers=1))
    [3, 3]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

T = TypeVar("T")
R = TypeVar("R")


def prefetched(batches: Iterable[T], prepare: Callable[[T], R], *, workers: int = 1) -> Iterator[R]:
    """``prepare(batch)`` for every batch, in order, prepared up to ``workers`` batches ahead."""
    if workers <= 0:
        for batch in batches:
            yield prepare(batch)
        return
    pending: deque[Future[R]] = deque()
    source = iter(batches)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="finrag-prefetch") as pool:
        try:
            for batch in source:
                pending.append(pool.submit(prepare, batch))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def to_device(encoded: Any, device: torch.device) -> Any:
    """``encoded`` (a processor's BatchFeature or a dict of tensors) on ``device``.

    On CUDA each tensor is pinned first so the copy is asynchronous and overlaps the previous
    batch's kernels; elsewhere this is ``encoded.to(device)``.
    """
    if device.type != "cuda":
        return encoded.to(device)
    for key, value in list(encoded.items()):
        if hasattr(value, "pin_memory"):
            encoded[key] = value.pin_memory().to(device, non_blocking=True)
    return encoded
