"""Logging set-up for the command line and the app (library modules only call getLogger)."""

from __future__ import annotations

import logging


def configure_logging(level: str = "WARNING") -> None:
    """Route finrag's loggers to stderr at ``level``; quiet noisy third-party loggers."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "urllib3", "huggingface_hub", "transformers", "unstructured"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
