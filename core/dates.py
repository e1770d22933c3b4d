"""Month names now live in :mod:`core.figures` (:data:`~core.figures.MONTHS`).

Kept importable only for ``retrieval.resolver`` until it imports :mod:`core.figures` itself;
new code imports from :mod:`core.figures`.
"""

from __future__ import annotations

from core.figures import MONTHS

__all__ = ["MONTHS"]
