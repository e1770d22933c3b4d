"""Make ``unstructured`` run offline: its NLP model and its telemetry.

Contract: call :func:`prepare_unstructured` before importing anything from
``unstructured.partition``; after it, ``partition_html``, ``partition_docx`` and ``partition_xlsx``
never touch the network and never write into site-packages. It is idempotent and thread-safe, and
it raises :class:`~core.errors.MissingDependencyError` (never hangs) when the installed
``unstructured`` is not one whose loading it knows.

What unstructured 0.27.35 fetches, and when (read from its source, checked with DNS failing):

1. **A spaCy model**, at the first call of any text classifier (``is_possible_narrative_text``,
   ``is_possible_title``, ``exceeds_cap_ratio``, ``contains_verb``): these call
   ``unstructured.nlp.tokenize.sent_tokenize`` / ``pos_tag`` / ``word_tokenize``, which call
   ``_get_nlp()`` -> ``spacy.load("en_core_web_sm")``; when that package is missing it takes a file
   lock (``$TMPDIR/en_core_web_sm.install.lock``, no timeout) and downloads
   ``en_core_web_sm-3.8.0-py3-none-any.whl`` (12.8 MB, sha256-pinned) from the spaCy models'
   GitHub releases with a 120 s socket timeout, then unpacks it into the interpreter's
   site-packages. HTML (every ``<p>``/``<div>`` block), DOCX (every "Normal" paragraph) and XLSX
   (single-cell rows above a table) all reach it. Offline the partition raises ``RuntimeError:
   Failed to download spaCy model``; on a network that drops packets it waits the timeout. NLTK is
   not used by this version.
2. **Telemetry**: ``import unstructured`` runs ``nvidia-smi`` and sends a GET to
   packages.unstructured.io (10 s timeout); each ``partition_*`` call sends another from a
   background thread (0.5 s timeouts). Both are switched off by the documented opt-out variables
   ``SCARF_NO_ANALYTICS`` / ``DO_NOT_TRACK``, which must be set before the import.

How this module avoids both, and why this way:

* Telemetry: ``SCARF_NO_ANALYTICS=true`` and ``UNSTRUCTURED_DISABLE_NOTICE=1`` are set with
  ``os.environ.setdefault`` (an operator's explicit value wins). The per-call pings read them at
  each call; if ``unstructured`` was imported before this runs, its import ping was already tried
  (a debug line says so).
* The model: there is no clean way. No setting or parameter of ``partition_*`` skips the
  classifiers, PyPI has no official ``en_core_web_sm`` (the mirrors are third-party re-uploads under
  other distribution names, which ``spacy.load("en_core_web_sm")`` would not find anyway), and the
  model would only decide NarrativeText versus Text, a distinction finrag discards (both become
  ``text`` elements; headings come from HTML tags, Word styles and finrag's own rules). So the one
  private name ``unstructured.nlp.tokenize._get_nlp`` is replaced by a function returning a spaCy
  pipeline built from code alone: ``spacy.blank("en")`` plus the rule-based ``sentencizer``. It
  gives real tokens and sentence boundaries (what ``is_possible_title`` uses) and empty POS tags,
  so ``contains_verb`` is always false: short one-sentence paragraphs come out as ``Text`` rather
  than ``NarrativeText``. Everything else in unstructured (its caches, truncation, public
  functions) is untouched. The pipeline is the same on every machine, so parses are reproducible,
  and it is cheap: 0.07 ms CPU per paragraph against 8.3 ms for en_core_web_sm 3.8.0 (2,000
  synthetic 5-60 word paragraphs, tokens + sentences + tags, this 2-core machine).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from typing import Any

from core.errors import MissingDependencyError

log = logging.getLogger(__name__)

SPACY_MODEL_UNSTRUCTURED_WANTS = "en_core_web_sm"
_TELEMETRY_OPT_OUT = {"SCARF_NO_ANALYTICS": "true", "UNSTRUCTURED_DISABLE_NOTICE": "1"}
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def rule_based_pipeline() -> Any:
    """The spaCy pipeline handed to unstructured: English tokenizer + rule-based sentencizer."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _offline_get_nlp() -> Any:
    return rule_based_pipeline()


_offline_get_nlp.finrag_offline = True  # type: ignore[attr-defined]


def prepare_unstructured() -> None:
    """Switch off unstructured's telemetry and give it an offline spaCy pipeline (idempotent).

    Raises:
        MissingDependencyError: ``unstructured`` or ``spacy`` is missing, or this version of
            ``unstructured`` no longer loads its model through
            ``unstructured.nlp.tokenize._get_nlp``.

    Example:
        >>> prepare_unstructured()
        >>> from unstructured.partition.html import partition_html  # now safe offline
    """
    with _lock:
        if "unstructured" in sys.modules:
            # Its per-call pings read the variables at each call; only the import ping was missed.
            log.debug("unstructured was imported before finrag switched its import ping off")
        for name, value in _TELEMETRY_OPT_OUT.items():
            os.environ.setdefault(name, value)
        try:
            from unstructured.nlp import tokenize
        except ImportError as exc:
            raise MissingDependencyError(
                f"cannot import unstructured's NLP module ({exc}); install finrag's dependencies "
                "(pip install -e .), which pin unstructured==0.27.35 and spacy"
            ) from exc
        current = getattr(tokenize, "_get_nlp", None)
        if getattr(current, "finrag_offline", False):
            return
        if current is None or not callable(current):
            raise MissingDependencyError(
                "this unstructured version does not load its spaCy model through "
                "unstructured.nlp.tokenize._get_nlp, so finrag cannot keep it offline; "
                "pin unstructured==0.27.35 (see ingest/nlp_data.py)"
            )
        tokenize._get_nlp = _offline_get_nlp
        log.debug(
            "unstructured will use a rule-based spaCy pipeline instead of downloading %s",
            SPACY_MODEL_UNSTRUCTURED_WANTS,
        )
