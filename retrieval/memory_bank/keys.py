"""Keys and ids of memory entries: company key, canonical period label, content id.

Contract: ``entry_id`` is sha256 of the normalised question + company key + period label (first
32 hex chars), so importing the same file twice updates in place and never duplicates.
:func:`company_key` is what the bank's company filter matches ("Acme Corp", "ACME Corporation"
and "Acme" agree); :func:`period_label` is the one spelling of a period the period filter
matches ("fiscal 2023" -> ``FY2023``). :func:`make_entry` builds a
:class:`~core.records.MemoryEntry` with its id, company and period normalised this way; the bank
passes every entry it stores through it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from core.errors import MemoryBankError
from core.records import MemoryEntry
from retrieval.index import ANY_KEY
from retrieval.resolver.companies import name_aliases

__all__ = ["company_key", "entry_id_for", "make_entry", "period_label"]


def company_key(name: str | None) -> str:
    """The matching key of a company name: lower-case, squashed, legal suffixes dropped.

    "Acme Corp", "ACME Corporation" and "Acme" all give ``acme``; None or blank gives
    :data:`~retrieval.index.ANY_KEY`.
    """
    if not name or not name.strip():
        return ANY_KEY
    core, aliases = name_aliases(name)
    return "".join(t.norm for t in core) or min(aliases, default=name.strip().lower())


def period_label(text: str | None) -> str | None:
    """The canonical label of one period ("fiscal 2023" -> ``FY2023``, "Q2 2023" -> ``Q2 FY2023``).

    Raises:
        MemoryBankError: the text is not one readable period.
    """
    if text is None or not text.strip():
        return None
    from retrieval.resolver import resolve

    labels = resolve(text, []).periods
    if len(labels) != 1:
        raise MemoryBankError(
            f"period {text!r} is not one fiscal period; write it like FY2023, Q2 2023 or H1 FY2024"
        )
    return labels[0]


def _norm_question(question: str) -> str:
    return re.sub(r"\s+", " ", question.strip().lower()).rstrip(" ?.!")


def entry_id_for(question: str, company: str | None, period: str | None) -> str:
    """Content id: sha256 of the normalised question, company key and period label."""
    key = (
        f"{_norm_question(question)}\x1f{company_key(company)}\x1f{period_label(period) or ANY_KEY}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def make_entry(question: str, answer: str, **fields: Any) -> MemoryEntry:
    """A :class:`MemoryEntry` with its content id and canonical period filled in.

    Raises:
        MemoryBankError: empty question or answer, an unreadable period, or invalid fields.
    """
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise MemoryBankError("a memory entry needs a non-empty question and answer")
    fields["period"] = period_label(fields.get("period"))
    company = (fields.get("company") or "").strip() or None
    fields["company"] = company
    fields["paraphrases"] = _unique_phrasings(question, fields.get("paraphrases") or [])
    fields.pop("entry_id", None)
    try:
        return MemoryEntry(
            entry_id=entry_id_for(question, company, fields["period"]),
            question=question,
            answer=answer,
            **fields,
        )
    except ValidationError as exc:
        raise MemoryBankError(f"invalid memory entry: {_first_error(exc)}") from exc


def _unique_phrasings(question: str, paraphrases: Sequence[str]) -> list[str]:
    seen = {_norm_question(question)}
    out = []
    for p in paraphrases:
        p = p.strip()
        if p and _norm_question(p) not in seen:
            seen.add(_norm_question(p))
            out.append(p)
    return out


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]
