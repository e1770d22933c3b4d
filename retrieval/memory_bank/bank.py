"""The expert-curated memory bank: approved question/answer pairs served as evidence.

Contract: :class:`MemoryBank` stores :class:`~core.records.MemoryEntry` records in the memory
collection (through :class:`retrieval.index.MemoryIndex`, which owns the schema) and answers
:meth:`MemoryBank.search` with typed :class:`~core.records.MemoryHit` records: the entry (answer,
source citation, author, validity), the calibrated similarity, the phrasing that matched and a
``stale`` flag. A hit is evidence with provenance; it never replaces corpus retrieval.

Identity: the content id of :func:`retrieval.memory_bank.keys.entry_id_for` (question, company,
period), so importing the same file twice updates in place and never duplicates.

Matching (semantic and lexical), for each question: the scope (company and period as hard
filters), the ask (the text without those mentions) and the calibrated similarity are defined in
:mod:`retrieval.memory_bank.matching`, which says why. Then:

1. **Candidates.** Every phrasing (question + each paraphrase) is one point with a dense vector
   and a BM25 vector of its ask; Qdrant fuses both (RRF) within the scope filters. Only hits
   with ``score >= threshold`` come back, best per entry.
2. **Validity.** An entry whose ``valid_from``/``valid_to`` excludes ``today`` is stale: left out
   by default, returned flagged ``stale=True`` with ``include_stale=True`` (curator searches).
3. **Serving rules.** Only approved, non-retired entries are searched by default; ``list`` shows
   unapproved ones to curators. ACL: a caller whose groups share none of an entry's ``acl``
   never sees it (search, list, get); ``acl_groups=None`` means a curator's unrestricted view,
   ``[]`` sees nothing.

Editing the question, paraphrases, answer, company, period or source of an approved entry clears
its approval.

Who writes (``by``): every write takes the :class:`~core.roles.Actor` doing it. With an actor (the
app) the bank enforces the role and the groups: adding, editing, retiring, removing and importing
need the ``curator`` role, approving too; an entry may only be written when all of its ACL groups
are the actor's own; ``added_by`` and ``approved_by`` are set from the actor, never taken from the
entry or an imported row. An entry the actor cannot read is never overwritten and never described:
a write that would collide with one (same question, company and period) is refused with
:data:`HIDDEN_COLLISION`, which names no id, group, author or content. Without an actor
(``by=None``: the operator's CLI, tests, restoring an export) the bank trusts the caller.

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
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import AccessError, ConfigError, MemoryBankError
from core.records import MemoryEntry, MemoryHit, Record
from core.roles import Actor, require
from retrieval.index import ANY_KEY
from retrieval.memory_bank.calibration import THRESHOLDS
from retrieval.memory_bank.keys import company_key, make_entry
from retrieval.memory_bank.matching import ask_of, content_terms, overlap, scope, similarity
from retrieval.memory_bank.transfer import ImportReport, RowStatus, import_entries, write_entries

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

logger = logging.getLogger(__name__)

__all__ = ["HIDDEN_COLLISION", "MemoryBank"]

# Said when a write would land on an entry the writer cannot read. The same words whatever that
# entry is: it names no id, group or author (content ids mean the refusal itself is one bit).
HIDDEN_COLLISION = (
    "you cannot write an entry for this question, company and period; rephrase the question or "
    "ask an admin"
)

_CANDIDATES = 8  # phrasing points fetched per requested hit, before threshold and grouping
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

    def add(self, entry: MemoryEntry, by: Actor | None = None) -> MemoryEntry:
        """Store a new entry (id recomputed from its content; period made canonical).

        Args:
            entry: the entry; with ``by``, its ``added_by``/``approved_by`` are replaced by
                ``by.name`` (``approved`` entries need the curator role).
            by: who adds it (see the module docstring); None = a trusted operator.

        Raises:
            AccessError: ``by`` may not add it (role, groups, or an entry they cannot read has
                this question, company and period: :data:`HIDDEN_COLLISION`).
            MemoryBankError: an entry with the same question, company and period exists (use
                :meth:`update`), or the entry is invalid.
        """
        entry = self._normalised(entry)
        if by is not None:
            require(by, "memory.write", "adding memory entries")
            self._check_groups(by, entry.acl)
            if entry.approved:
                require(by, "memory.approve", "approving memory entries")
            entry = entry.model_copy(
                update={"added_by": by.name, "approved_by": by.name if entry.approved else ""}
            )
        old = self._stored(entry.entry_id)
        if old is not None:
            if by is not None and not _readable(old, by.groups):
                raise AccessError(HIDDEN_COLLISION)
            raise MemoryBankError(
                f"an entry for this question, company and period exists ({entry.entry_id[:12]}); "
                "edit it with update (finrag memory approve/retire/remove, or re-import)"
            )
        now = _now()
        entry = entry.model_copy(update={"created_at": entry.created_at or now, "updated_at": now})
        self._write(entry)
        return entry

    def update(self, entry_id: str, by: Actor | None = None, **changes: Any) -> MemoryEntry:
        """Change fields of an entry; a new question/company/period gives it a new id.

        Changing what the entry says (question, paraphrases, answer, company, period, source)
        clears its approval unless ``approved`` is among ``changes``. With ``by``, the entry
        must be theirs to write (role and groups) and ``approved=True`` records them as approver.
        """
        old = self._require(entry_id, by)
        unknown = set(changes) - set(MemoryEntry.model_fields) - {"entry_id"}
        if unknown:
            raise MemoryBankError(f"unknown memory entry fields: {', '.join(sorted(unknown))}")
        if by is not None:
            self._check_write(by, old, "editing memory entries")
            self._check_groups(by, list(changes.get("acl") or old.acl))
            changes.pop("added_by", None)
            changes.pop("approved_by", None)
            if changes.get("approved"):
                require(by, "memory.approve", "approving memory entries")
                changes["approved_by"] = by.name
        data = old.model_dump() | changes
        if "approved" not in changes and any(
            _comparable(data.get(f)) != _comparable(getattr(old, f)) for f in _CONTENT_FIELDS
        ):
            data["approved"], data["approved_by"] = False, ""
        new = self._normalised_data(data)
        new = new.model_copy(update={"created_at": old.created_at, "updated_at": _now()})
        if new.entry_id != old.entry_id:
            clash = self._stored(new.entry_id)
            if clash is not None and by is not None and not _readable(clash, by.groups):
                raise AccessError(HIDDEN_COLLISION)
            if clash is not None:
                raise MemoryBankError(
                    f"another entry ({new.entry_id[:12]}) already has this question, company "
                    "and period"
                )
            self.index.delete(old.entry_id)
        self._write(new)
        return new

    def approve(self, entry_id: str, approver: str = "", by: Actor | None = None) -> MemoryEntry:
        """Mark an entry approved: from now on it is served to the agent.

        Args:
            entry_id: the entry (or a unique prefix of 8+ characters).
            approver: the approver's name when ``by`` is None (the operator's CLI).
            by: the curator approving; they are recorded as the approver, and the entry's
                groups must all be theirs.
        """
        if by is not None:
            require(by, "memory.approve", "approving memory entries")
            approver = by.name
        if not approver.strip():
            raise MemoryBankError("approving needs the approver's name")
        entry = self._require(entry_id, by)
        if by is not None:
            self._check_write(by, entry, "approving memory entries")
        if entry.retired:
            raise MemoryBankError(
                f"entry {entry.entry_id[:12]} is retired; add it again to reuse it"
            )
        return self._restamp(entry, approved=True, approved_by=approver.strip())

    def retire(self, entry_id: str, by: Actor | None = None) -> MemoryEntry:
        """Stop serving an entry but keep it (and its history) in the bank."""
        entry = self._require(entry_id, by)
        if by is not None:
            self._check_write(by, entry, "retiring memory entries")
        return self._restamp(entry, retired=True)

    def remove(self, entry_id: str, by: Actor | None = None) -> MemoryEntry:
        """Delete an entry and its phrasing points; returns what was removed."""
        entry = self._require(entry_id, by)
        if by is not None:
            self._check_write(by, entry, "removing memory entries")
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
        company_keys, period_keys, ask = scope(question, company, period, self._known_companies())
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
        qterms = content_terms(self._sparse, ask)
        best: dict[str, MemoryHit] = {}
        for m in matches:
            cosine = float(np.dot(qvec, m.vector))
            lexical = overlap(qterms, content_terms(self._sparse, m.ask))
            score = similarity(cosine, lexical)
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
        company_keys, period_keys, ask = scope(
            question, company, period, self._known_companies(), extra=[entry.company]
        )
        in_scope = company_key(entry.company) in company_keys and (
            (entry.period or ANY_KEY) in period_keys
        )
        phrasings = [entry.question, *entry.paraphrases]
        asks = [ask_of(p, [entry.company]) for p in phrasings]
        vectors = self.embedder.embed_documents(asks)
        qvec = self.embedder.embed_query(ask)
        qterms = content_terms(self._sparse, ask)
        best = max(
            similarity(float(np.dot(qvec, v)), overlap(qterms, content_terms(self._sparse, a)))
            for v, a in zip(vectors, asks, strict=True)
        )
        return best, in_scope

    # -- import / export ---------------------------------------------------------------------

    def import_file(self, path: str | Path, by: Actor | None = None) -> ImportReport:
        """Add or update entries from a CSV or JSONL file; every row gets a status and line.

        With ``by`` (the app), the importer must be a curator, and a row is refused (status
        ``invalid`` with a one-line reason; the other rows still import) when its ACL names a
        group that is not theirs, when it names an approver (``approved_by`` is recorded as the
        importer; ``approved: true`` means "I approve this"), or when it would overwrite an entry
        they cannot read (:data:`HIDDEN_COLLISION`) or one shared beyond their groups. A row
        without an ACL is shared with the importer's groups; ``added_by`` is the importer.

        Raises:
            AccessError: ``by`` is not a curator.
            MemoryBankError: the file is missing or neither .csv nor .jsonl/.json.
        """
        path = Path(path)
        if by is not None:
            require(by, "memory.write", "importing memory entries")
        report = import_entries(
            path,
            lambda entry: self._upsert(entry, by),
            default_acl=list(by.groups) if by is not None else None,
        )
        logger.info("memory import %s: %s", path, report.summary)
        return report

    def export(self, path: str | Path, acl_groups: list[str] | None = None) -> int:
        """Write every entry (pending and retired included) to CSV or JSONL; returns the count."""
        path = Path(path)
        entries = self.index.entries(acl_groups=acl_groups)
        write_entries(path, entries)
        return len(entries)

    # -- internals ---------------------------------------------------------------------------

    def _upsert(self, entry: MemoryEntry, by: Actor | None = None) -> RowStatus:
        entry = self._normalised(entry)
        old = self._stored(entry.entry_id)
        if by is not None:
            entry = self._imported_by(by, entry, old)
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

    def _imported_by(self, by: Actor, entry: MemoryEntry, old: MemoryEntry | None) -> MemoryEntry:
        """``entry`` as ``by`` may import it (stamps from ``by``), or AccessError with why."""
        foreign = by.foreign_groups(entry.acl)
        if foreign:
            raise AccessError(
                f"acl names group(s) you are not in ({', '.join(foreign)}); "
                f"you may import entries for {', '.join(by.groups) or 'no group'} only"
            )
        if entry.approved_by and entry.approved_by != by.name:
            raise AccessError(
                f"the row names approver {entry.approved_by!r}: approvals are recorded as the "
                "importing curator; leave approved_by empty"
            )
        if old is not None:
            if not _readable(old, by.groups):
                raise AccessError(HIDDEN_COLLISION)
            self._check_write(by, old, "overwriting memory entries")
        kept = (
            old is not None
            and old.approved
            and entry.approved
            and _same_content(old, entry, skip={"approved_by", "added_by"})
        )
        return entry.model_copy(
            update={
                "added_by": old.added_by if old is not None else by.name,
                "approved_by": (
                    old.approved_by if kept and old else by.name if entry.approved else ""
                ),
            }
        )

    def _check_groups(self, by: Actor, acl: list[str]) -> None:
        foreign = by.foreign_groups(acl)
        if foreign:
            raise AccessError(
                f"you can only share entries with your own groups ({', '.join(by.groups)}); "
                f"not {', '.join(foreign)}"
            )

    def _check_write(self, by: Actor, entry: MemoryEntry, what: str) -> None:
        """``by`` may change ``entry`` (which they can read): the role, and all of its groups."""
        require(by, "memory.write", what)
        foreign = by.foreign_groups(entry.acl)
        if foreign:
            raise AccessError(
                f"entry {entry.entry_id[:12]} is also shared with {', '.join(foreign)}; only a "
                "curator of every group it is shared with may change it"
            )

    def _normalised(self, entry: MemoryEntry) -> MemoryEntry:
        return self._normalised_data(entry.model_dump())

    def _normalised_data(self, data: dict[str, Any]) -> MemoryEntry:
        data = dict(data)
        return make_entry(data.pop("question"), data.pop("answer"), **data)

    def _write(self, entry: MemoryEntry) -> None:
        phrasings = [entry.question, *entry.paraphrases]
        asks = [ask_of(p, [entry.company]) for p in phrasings]
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

    def _resolve_id(self, entry_id: str, acl_groups: list[str] | None = None) -> str | None:
        entry_id = entry_id.strip().lower()
        if len(entry_id) == 32:
            return entry_id
        if len(entry_id) < 8:
            raise MemoryBankError(f"entry id {entry_id!r} is too short: give at least 8 characters")
        readable = self.index.entries(acl_groups=acl_groups)
        ids = [e.entry_id for e in readable if e.entry_id.startswith(entry_id)]
        if len(ids) > 1:
            raise MemoryBankError(
                f"entry id {entry_id!r} is ambiguous ({len(ids)} entries); give more characters"
            )
        return ids[0] if ids else None

    def _require(self, entry_id: str, by: Actor | None = None) -> MemoryEntry:
        """The entry (readable by ``by`` when given: an unreadable one is "no entry")."""
        groups = list(by.groups) if by is not None else None
        full = self._resolve_id(entry_id, groups)
        entry = self._stored(full) if full else None
        if entry is not None and by is not None and not _readable(entry, by.groups):
            entry = None
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


# -- helpers private to the bank --------------------------------------------------------------


def _valid_on(entry: MemoryEntry, day: date) -> bool:
    return (entry.valid_from is None or entry.valid_from <= day) and (
        entry.valid_to is None or day <= entry.valid_to
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _comparable(value: Any) -> Any:
    return value.model_dump() if isinstance(value, Record) else value


def _same_content(a: MemoryEntry, b: MemoryEntry, skip: set[str] | frozenset = frozenset()) -> bool:
    skip = {"created_at", "updated_at", *skip}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


def _readable(entry: MemoryEntry, groups: Sequence[str]) -> bool:
    """The index's ACL rule: an entry is readable by anyone sharing one of its groups."""
    return bool(set(entry.acl).intersection(groups))
