"""The expert-curated memory bank: approved question/answer pairs served as evidence.

Contract: :class:`MemoryBank` stores :class:`~core.records.MemoryEntry` records in the memory
collection (through :class:`retrieval.index.MemoryIndex`, which owns the schema) and answers
:meth:`MemoryBank.search` with typed :class:`~core.records.MemoryHit` records: the entry (answer,
source citation, author, validity), the calibrated similarity, the phrasing that matched and a
``stale`` flag. A hit is evidence with provenance; it never replaces corpus retrieval.

Identity: the content id of :func:`retrieval.memory_bank.keys.entry_id_for` (question, company,
period), so importing the same file twice updates in place and never duplicates.

Matching (semantic and lexical), for each question:

1. **Scope.** Company and period come from the caller (the resolver's output) or, when not given,
   from the question itself, read by :func:`retrieval.resolver.resolve` against the companies the
   bank holds. They are hard filters in Qdrant: an entry for company X never answers a question
   about company Y, and an entry for FY2023 never answers a question about FY2022. Entries without
   a company (or period) hold for every company (or period). A question that names no company
   is answered only by company-free entries, and one that names no period only by period-free
   entries: "What was Acme's revenue?" must not be answered with one year's figure silently;
   the resolver (with the conversation) is what supplies the period.
2. **Candidates.** Company and period mentions are removed from the text first (the "ask": both
   sides are stripped alike), because they are already enforced and MiniLM otherwise scores
   "revenue FY2022" vs "revenue FY2023" at 0.98. Every phrasing (question + each paraphrase) is
   one point with a dense vector and a BM25 vector of its ask; Qdrant fuses both (RRF).
3. **Calibrated similarity.** ``score = cosine - 0.4 * (1 - lexical)`` where ``cosine`` is the
   dense cosine of the two asks and ``lexical`` the mean of the two content-term coverages
   (stemmed BM25 terms, minus question-frame words such as "much", "total", "fiscal"). Only hits
   with ``score >= threshold`` come back, best per entry. The threshold is per embedder
   (:data:`~retrieval.memory_bank.calibration.THRESHOLDS`, which says how it was chosen and
   what it achieves). Single-word synonyms ("sales" for revenue, "profit" for net income,
   "headcount" for employees) do not match: curators raise recall by adding paraphrases, and a
   miss costs only a corpus search, where a false match would serve a wrong answer.
4. **Validity.** An entry whose ``valid_from``/``valid_to`` excludes ``today`` is stale: left out
   by default, returned flagged ``stale=True`` with ``include_stale=True`` (curator searches).
5. **Serving rules.** Only approved, non-retired entries are searched by default; ``list`` shows
   unapproved ones to curators. ACL: a caller whose groups share none of an entry's ``acl``
   never sees it (search, list, get); ``acl_groups=None`` means a curator's unrestricted view,
   ``[]`` sees nothing.

Editing the question, paraphrases, answer, company, period or source of an approved entry clears
its approval.

Import/export: :meth:`MemoryBank.import_file` and :meth:`MemoryBank.export` read and write CSV or
JSONL files (formats and the import report in :mod:`retrieval.memory_bank.transfer`). An
imported row whose entry exists updates it (skipped when unchanged); a new one keeps the file's
timestamps, so an export restored elsewhere is the same entry.

Example:
    >>> bank = MemoryBank(corpus)  # doctest: +SKIP
    >>> e = bank.add(make_entry("What was Acme's FY2023 revenue?", "$1.2bn", company="Acme Corp",
    ...                         period="FY2023", author="ana"))  # doctest: +SKIP
    >>> bank.approve(e.entry_id, approver="lead")  # doctest: +SKIP
    >>> bank.search("How much revenue did Acme report for 2023?", ["public"])  # doctest: +SKIP
    [MemoryHit(entry=..., score=0.87, matched_phrasing="What was Acme's FY2023 revenue?", ...)]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ConfigError, MemoryBankError
from core.records import Filing, MemoryEntry, MemoryHit, Record
from retrieval.index import ANY_KEY
from retrieval.memory_bank.calibration import THRESHOLDS
from retrieval.memory_bank.keys import company_key, make_entry, period_label
from retrieval.memory_bank.transfer import ImportReport, RowStatus, import_entries, write_entries

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

logger = logging.getLogger(__name__)

__all__ = ["LEXICAL_WEIGHT", "MemoryBank"]

LEXICAL_WEIGHT = 0.4  # score = cosine - LEXICAL_WEIGHT * (1 - lexical)
_CANDIDATES = 8  # phrasing points fetched per requested hit, before threshold and grouping

# Words that frame a question without saying what is asked; they would inflate term overlap.
_FRAME = frozenset(
    {"much", "mani", "tell", "report", "total", "fiscal", "year", "end", "amount", "figur"}
)
_SPAN_KINDS = frozenset({"company", "ticker", "period", "date"})
_CONTENT_FIELDS = ("question", "paraphrases", "answer", "company", "period", "source")
# -- the bank ---------------------------------------------------------------------------------


class MemoryBank:
    """Curated question/answer pairs: CRUD for curators, calibrated search for the agent.

    Args:
        corpus: the open corpus whose memory collection (``corpus.memory_index``) and embedder
            the bank uses.
        threshold: overrides the calibrated :data:`THRESHOLDS` entry of the embedder.
    """

    def __init__(self, corpus: Corpus, threshold: float | None = None) -> None:
        self.corpus = corpus
        self.index = corpus.memory_index
        self.embedder = corpus.embedder
        self._sparse = corpus.sparse
        self._threshold = threshold
        self._companies: list[str] | None = None

    @property
    def threshold(self) -> float:
        """The similarity a hit must reach (calibrated per embedder)."""
        if self._threshold is not None:
            return self._threshold
        name, model = self.corpus.settings.embedder.name, self.corpus.settings.embedder.model
        if name not in THRESHOLDS or model:
            raise ConfigError(
                f"the memory bank has no calibrated threshold for embedder {name!r}"
                f"{' with model ' + model if model else ''}; "
                "calibrate one on labelled pairs (retrieval.memory_bank.calibrate_threshold) and "
                "pass MemoryBank(threshold=...), or use FINRAG_EMBEDDER__NAME=minilm-onnx"
            )
        return THRESHOLDS[name]

    # -- writes ------------------------------------------------------------------------------

    def add(self, entry: MemoryEntry) -> MemoryEntry:
        """Store a new entry (id recomputed from its content; period made canonical).

        Raises:
            MemoryBankError: an entry with the same question, company and period exists (use
                :meth:`update`), or the entry is invalid.
        """
        entry = self._normalised(entry)
        if self._stored(entry.entry_id) is not None:
            raise MemoryBankError(
                f"an entry for this question, company and period exists ({entry.entry_id[:12]}); "
                "edit it with update (finrag memory approve/retire/remove, or re-import)"
            )
        now = _now()
        entry = entry.model_copy(update={"created_at": entry.created_at or now, "updated_at": now})
        self._write(entry)
        return entry

    def update(self, entry_id: str, **changes: Any) -> MemoryEntry:
        """Change fields of an entry; a new question/company/period gives it a new id.

        Changing what the entry says (question, paraphrases, answer, company, period, source)
        clears its approval unless ``approved`` is among ``changes``.
        """
        old = self._require(entry_id)
        unknown = set(changes) - set(MemoryEntry.model_fields) - {"entry_id"}
        if unknown:
            raise MemoryBankError(f"unknown memory entry fields: {', '.join(sorted(unknown))}")
        data = old.model_dump() | changes
        if "approved" not in changes and any(
            _comparable(data.get(f)) != _comparable(getattr(old, f)) for f in _CONTENT_FIELDS
        ):
            data["approved"], data["approved_by"] = False, ""
        new = self._normalised_data(data)
        new = new.model_copy(update={"created_at": old.created_at, "updated_at": _now()})
        if new.entry_id != old.entry_id:
            if self._stored(new.entry_id) is not None:
                raise MemoryBankError(
                    f"another entry ({new.entry_id[:12]}) already has this question, company "
                    "and period"
                )
            self.index.delete(old.entry_id)
        self._write(new)
        return new

    def approve(self, entry_id: str, approver: str) -> MemoryEntry:
        """Mark an entry approved by ``approver``: from now on it is served to the agent."""
        if not approver.strip():
            raise MemoryBankError("approving needs the approver's name")
        entry = self._require(entry_id)
        if entry.retired:
            raise MemoryBankError(
                f"entry {entry.entry_id[:12]} is retired; add it again to reuse it"
            )
        return self._restamp(entry, approved=True, approved_by=approver.strip())

    def retire(self, entry_id: str) -> MemoryEntry:
        """Stop serving an entry but keep it (and its history) in the bank."""
        return self._restamp(self._require(entry_id), retired=True)

    def remove(self, entry_id: str) -> MemoryEntry:
        """Delete an entry and its phrasing points; returns what was removed."""
        entry = self._require(entry_id)
        self.index.delete(entry.entry_id)
        self._companies = None
        return entry

    def _restamp(self, entry: MemoryEntry, **update: Any) -> MemoryEntry:
        entry = entry.model_copy(update=update | {"updated_at": _now()})
        self._write(entry)
        return entry

    # -- reads -------------------------------------------------------------------------------

    def get(self, entry_id: str, acl_groups: list[str] | None = None) -> MemoryEntry | None:
        """The entry with this id (or unique id prefix of 8+ characters) the caller may read."""
        full = self._resolve_id(entry_id)
        if full is None:
            return None
        found = self.index.entries(entry_ids=[full], acl_groups=acl_groups)
        return found[0] if found else None

    def list(
        self,
        approved: bool | None = None,
        company: str | None = None,
        include_retired: bool = False,
        acl_groups: list[str] | None = None,
    ) -> list[MemoryEntry]:
        """Entries for curators, sorted by question.

        Args:
            approved: True / False restricts to approved / pending; None lists both.
            company: only this company's entries (any spelling of its name).
            include_retired: also list retired entries.
            acl_groups: the viewer's groups; None = unrestricted (curators), [] = nothing.
        """
        return self.index.entries(
            approved=approved,
            retired=None if include_retired else False,
            company_key=company_key(company) if company else None,
            acl_groups=acl_groups,
        )

    def search(
        self,
        question: str,
        acl_groups: list[str],
        company: str | Sequence[str] | None = None,
        period: str | Sequence[str] | None = None,
        today: date | None = None,
        limit: int = 3,
        include_stale: bool = False,
        approved_only: bool = True,
    ) -> list[MemoryHit]:
        """Entries that answer ``question``, best first, only above the calibrated threshold.

        Args:
            question: the user's question.
            acl_groups: the caller's groups; [] returns nothing.
            company: the resolved company name(s); None reads them from the question.
            period: the resolved period label(s) ("FY2023", "Q2 FY2024"); None reads them from
                the question.
            today: the day validity windows are checked against (default: today's date).
            limit: hits to return (one per entry).
            include_stale: also return entries outside their validity window, flagged ``stale``.
            approved_only: False lets curators search pending entries too.

        Returns:
            :class:`MemoryHit` records, ``rank`` from 1.
        """
        if not acl_groups or limit <= 0 or not question.strip() or not self.index.exists():
            return []
        threshold = self.threshold
        company_keys, period_keys, ask = self._scope(question, company, period)
        qvec = self.embedder.embed_query(ask)
        matches = self.index.search(
            dense=qvec,
            sparse=self._sparse.encode_query(ask),
            acl_groups=list(acl_groups),
            company_keys=company_keys,
            period_keys=period_keys,
            approved_only=approved_only,
            limit=limit * _CANDIDATES,
        )
        today = today or date.today()
        qterms = self._terms(ask)
        best: dict[str, MemoryHit] = {}
        for m in matches:
            cosine = float(np.dot(qvec, m.vector))
            lexical = _overlap(qterms, self._terms(m.ask))
            score = cosine - LEXICAL_WEIGHT * (1.0 - lexical)
            if score < threshold:
                continue
            stale = not _valid_on(m.entry, today)
            if stale and not include_stale:
                continue
            have = best.get(m.entry.entry_id)
            if have is None or score > have.score:
                best[m.entry.entry_id] = MemoryHit(
                    entry=m.entry,
                    score=score,
                    cosine=cosine,
                    lexical=lexical,
                    matched_phrasing=m.phrasing,
                    stale=stale,
                )
        ranked = sorted(best.values(), key=lambda h: (h.stale, -h.score))[:limit]
        return [h.model_copy(update={"rank": i}) for i, h in enumerate(ranked, start=1)]

    def score(
        self,
        question: str,
        entry: MemoryEntry,
        company: str | Sequence[str] | None = None,
        period: str | Sequence[str] | None = None,
    ) -> tuple[float, bool]:
        """(similarity, in scope) of ``question`` against the best phrasing of ``entry``.

        The same computation :meth:`search` thresholds, without the index: for calibrating on
        labelled pairs. "In scope" is the company/period rule; validity is not considered.
        """
        company_keys, period_keys, ask = self._scope(
            question, company, period, extra=[entry.company]
        )
        in_scope = company_key(entry.company) in company_keys and (
            (entry.period or ANY_KEY) in period_keys
        )
        phrasings = [entry.question, *entry.paraphrases]
        asks = [self._ask(p, [entry.company]) for p in phrasings]
        vectors = self.embedder.embed_documents(asks)
        qvec = self.embedder.embed_query(ask)
        qterms = self._terms(ask)
        best = max(
            float(np.dot(qvec, v)) - LEXICAL_WEIGHT * (1.0 - _overlap(qterms, self._terms(a)))
            for v, a in zip(vectors, asks, strict=True)
        )
        return best, in_scope

    # -- import / export ---------------------------------------------------------------------

    def import_file(self, path: str | Path) -> ImportReport:
        """Add or update entries from a CSV or JSONL file; every row gets a status and line.

        Raises:
            MemoryBankError: the file is missing or neither .csv nor .jsonl/.json.
        """
        path = Path(path)
        report = import_entries(path, self._upsert)
        logger.info("memory import %s: %s", path, report.summary)
        return report

    def export(self, path: str | Path, acl_groups: list[str] | None = None) -> int:
        """Write every entry (pending and retired included) to CSV or JSONL; returns the count."""
        path = Path(path)
        entries = self.index.entries(acl_groups=acl_groups)
        write_entries(path, entries)
        return len(entries)

    # -- internals ---------------------------------------------------------------------------

    def _upsert(self, entry: MemoryEntry) -> RowStatus:
        entry = self._normalised(entry)
        old = self._stored(entry.entry_id)
        if old is not None and _same_content(old, entry):
            return "skipped"
        now = _now()
        # A new entry keeps the file's stamps (an export restored elsewhere is the same entry).
        entry = entry.model_copy(
            update={
                "created_at": (old.created_at if old else None) or entry.created_at or now,
                "updated_at": (entry.updated_at if old is None else None) or now,
            }
        )
        self._write(entry)
        return "updated" if old is not None else "added"

    def _normalised(self, entry: MemoryEntry) -> MemoryEntry:
        return self._normalised_data(entry.model_dump())

    def _normalised_data(self, data: dict[str, Any]) -> MemoryEntry:
        data = dict(data)
        return make_entry(data.pop("question"), data.pop("answer"), **data)

    def _write(self, entry: MemoryEntry) -> None:
        phrasings = [entry.question, *entry.paraphrases]
        asks = [self._ask(p, [entry.company]) for p in phrasings]
        dense = self.embedder.embed_documents(asks)
        self.index.ensure_collection(int(dense.shape[1]))
        self.index.put(
            entry,
            phrasings,
            asks,
            dense,
            self._sparse.encode_documents(asks),
            company_key(entry.company),
            entry.period or ANY_KEY,
        )
        self._companies = None

    def _stored(self, entry_id: str) -> MemoryEntry | None:
        found = self.index.entries(entry_ids=[entry_id])
        return found[0] if found else None

    def _resolve_id(self, entry_id: str) -> str | None:
        entry_id = entry_id.strip().lower()
        if len(entry_id) == 32:
            return entry_id
        if len(entry_id) < 8:
            raise MemoryBankError(f"entry id {entry_id!r} is too short: give at least 8 characters")
        ids = [e.entry_id for e in self.index.entries() if e.entry_id.startswith(entry_id)]
        if len(ids) > 1:
            raise MemoryBankError(
                f"entry id {entry_id!r} is ambiguous ({len(ids)} entries); give more characters"
            )
        return ids[0] if ids else None

    def _require(self, entry_id: str) -> MemoryEntry:
        full = self._resolve_id(entry_id)
        entry = self._stored(full) if full else None
        if entry is None:
            raise MemoryBankError(
                f"no memory entry {entry_id!r}; list them with `finrag memory list --all`"
            )
        return entry

    def _known_companies(self) -> list[str]:
        if self._companies is None:
            names = {e.company for e in self.index.entries() if e.company}
            self._companies = sorted(names)
        return self._companies

    def _scope(
        self,
        question: str,
        company: str | Sequence[str] | None,
        period: str | Sequence[str] | None,
        extra: Sequence[str | None] = (),
    ) -> tuple[list[str], list[str], str]:
        """(allowed company keys, allowed period keys, the ask) for a question."""
        given_companies = [company] if isinstance(company, str) else list(company or [])
        known = [*self._known_companies(), *given_companies, *(c for c in extra if c)]
        resolution = _resolve(question, known)
        names = given_companies if company is not None else resolution.companies
        if period is not None:
            periods = [period] if isinstance(period, str) else list(period)
            labels = [lbl for p in periods if (lbl := period_label(p))]
        else:
            labels = list(resolution.periods)
        company_keys = sorted({company_key(n) for n in names} | {ANY_KEY})
        return company_keys, sorted(set(labels) | {ANY_KEY}), _strip(question, resolution)

    def _ask(self, text: str, companies: Sequence[str | None]) -> str:
        return _strip(text, _resolve(text, [c for c in companies if c]))

    def _terms(self, ask: str) -> set[str]:
        return {t for t in self._sparse.tokenize(ask) if t not in _FRAME}


# -- helpers private to the bank --------------------------------------------------------------


def _resolve(text: str, companies: Sequence[str]):
    from retrieval.resolver import resolve

    filings = [
        Filing(doc_id=f"memory:{name}", source_path="", file_name="", company=name)
        for name in dict.fromkeys(companies)
    ]
    return resolve(text, filings)


def _strip(text: str, resolution: Any) -> str:
    """The text without its company and period mentions (both are enforced as filters)."""
    spans = sorted(
        (s for s in resolution.matched_text if s.kind in _SPAN_KINDS), key=lambda s: -s.start
    )
    for s in spans:
        text = text[: s.start] + " " + text[s.end :]
    text = re.sub(r"(?<!\w)['\u2019]s\b", " ", text)  # the possessive left by "Acme's"
    text = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"\s+", " ", text)).strip()
    return text or "?"


def _overlap(a: set[str], b: set[str]) -> float:
    """Mean of the two coverages |a & b| / |a| and |a & b| / |b| (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    common = len(a & b)
    return (common / len(a) + common / len(b)) / 2


def _valid_on(entry: MemoryEntry, day: date) -> bool:
    return (entry.valid_from is None or entry.valid_from <= day) and (
        entry.valid_to is None or day <= entry.valid_to
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _comparable(value: Any) -> Any:
    return value.model_dump() if isinstance(value, Record) else value


def _same_content(a: MemoryEntry, b: MemoryEntry) -> bool:
    skip = {"created_at", "updated_at"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)
