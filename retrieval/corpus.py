"""The open corpus: everything one data dir holds, opened once and owned by one object.

Contract: :meth:`Corpus.open` opens (creating what is missing) the corpus that
``settings.data_dir`` names, and :meth:`Corpus.close` releases all of it:

* ``index``: the chunk collection (:class:`~retrieval.index.Index`; embedded Qdrant in
  ``data_dir`` or the server ``settings.qdrant.url`` names);
* ``memory_index``: the memory-bank collection (:class:`~retrieval.index.MemoryIndex`);
* ``catalog``: the filings and their ingest state (:class:`~retrieval.catalog.Catalog`);
* ``feedback``: analysts' answer feedback (:class:`~retrieval.feedback.FeedbackStore`);
* ``facts``: the statement facts read at ingest (:class:`~retrieval.facts.FactStore`);
* ``audit``: the append-only log of who changed what (:class:`~retrieval.audit.AuditLog`,
  ``data_dir/audit.jsonl``), so the app's pages and the CLI record through one object;
* ``embedder``: the dense model of ``settings.embedder`` (built here, weights loaded on first use)
  and ``sparse``, the BM25 term encoder.

Everything that reads or writes a corpus (ingestion, retrieval, the memory bank, the agent,
fine-tuning jobs, evaluation and every page of the app) is handed the one ``Corpus`` and never
opens a piece of its own: an embedded engine locks its folder to one process, and one owner makes
"who closes this" a question with one answer. Open one ``Corpus`` per data dir per process and
share it between threads (its stores are thread-safe). Nothing here keeps process-wide state;
model weights are cached by their keyed loaders (:mod:`core.models`, the ONNX runtime cache).

Example:
    >>> with Corpus.open(Settings(data_dir="/tmp/corpus")) as corpus:  # doctest: +SKIP
    ...     Ingestor(corpus).ingest(["filings/"])
    ...     Retriever(corpus).retrieve("Acme FY2023 revenue", acl_groups=["public"])
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from core.records import Filing
from core.settings import Settings

if TYPE_CHECKING:
    from retrieval.audit import AuditLog
    from retrieval.catalog import Catalog
    from retrieval.embedders.base import Embedder
    from retrieval.facts import FactStore
    from retrieval.feedback import FeedbackStore
    from retrieval.index import Index, MemoryIndex
    from retrieval.sparse import Bm25Encoder

log = logging.getLogger(__name__)


class Corpus:
    """The opened parts of one corpus; build it with :meth:`open`.

    The constructor takes parts that are already open (tests may pass fakes); :meth:`close`
    closes every one of them.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        index: Index,
        memory_index: MemoryIndex,
        catalog: Catalog,
        feedback: FeedbackStore,
        facts: FactStore,
        audit: AuditLog,
        embedder: Embedder,
        sparse: Bm25Encoder,
    ) -> None:
        self.settings = settings
        self.index = index
        self.memory_index = memory_index
        self.catalog = catalog
        self.feedback = feedback
        self.facts = facts
        self.audit = audit
        self.embedder = embedder
        self.sparse = sparse
        self.closed = False

    @classmethod
    def open(cls, settings: Settings) -> Corpus:
        """Open the corpus of ``settings.data_dir`` (created when missing).

        Raises:
            IndexBackendError: another process holds the embedded index, or the server cannot
                be reached.
        """
        from retrieval.audit import AuditLog
        from retrieval.catalog import Catalog
        from retrieval.embedders.base import build_embedder
        from retrieval.facts import FactStore
        from retrieval.feedback import FeedbackStore
        from retrieval.index import Index, MemoryIndex
        from retrieval.sparse import Bm25Encoder

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        opened: list = []
        try:
            index = Index(settings)
            opened.append(index)
            memory_index = MemoryIndex(settings)
            opened.append(memory_index)
            catalog = Catalog(settings.catalog_path)
            opened.append(catalog)
            feedback = FeedbackStore(settings.feedback_path)
            opened.append(feedback)
            facts = FactStore(settings.facts_path)
            opened.append(facts)
            audit = AuditLog(settings.audit_path)
            opened.append(audit)
        except BaseException:
            for part in reversed(opened):  # a half-opened corpus must not keep the folder lock
                part.close()
            raise
        log.debug("opened corpus %s", settings.data_dir)
        return cls(
            settings,
            index=index,
            memory_index=memory_index,
            catalog=catalog,
            feedback=feedback,
            facts=facts,
            audit=audit,
            embedder=build_embedder(settings),
            sparse=Bm25Encoder(),
        )

    def close(self) -> None:
        """Release every part (idempotent)."""
        if self.closed:
            return
        self.closed = True
        parts = (self.audit, self.facts, self.feedback, self.catalog, self.memory_index, self.index)
        for part in parts:
            try:
                part.close()
            except Exception:  # one part failing to close must not keep the others open
                log.exception("closing %s of %s failed", type(part).__name__, self.data_dir)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def data_dir(self):
        return self.settings.data_dir

    def filings(self, acl_groups: list[str] | None = None) -> list[Filing]:
        """Searchable filings the groups may read (all of them when ``acl_groups`` is None)."""
        return self.catalog.filings(acl_groups)

    def set_acl(self, doc_id: str, acl: list[str]) -> Filing:
        """Re-share a filing: its index points, statement facts and catalog row get ``acl``.

        The one way to change who may read a filing (re-ingesting never changes an ACL). The
        index and the facts change first, the catalog last, so a failure half-way never leaves a
        catalog that shows a wider sharing than search applies, and a retry completes it. Who may
        do this is the caller's question (an admin, :mod:`core.roles`); the audit log records it
        there.

        Raises:
            FinragError: no searchable filing ``doc_id``, or ``acl`` names no group.
        """
        from core.errors import FinragError

        groups = sorted({g.strip() for g in acl if g.strip()})
        if not groups:
            raise FinragError(
                "name at least one ACL group; a filing nobody may read should be deleted"
            )
        filing = self.catalog.get(doc_id)
        state = self.catalog.state(doc_id)
        if filing is None or state not in ("ok", "partial"):
            raise FinragError(f"no searchable filing {doc_id[:12]}; see `finrag filings`")
        if self.index.exists():
            self.index.set_acl(doc_id, groups)
        self.facts.set_acl(doc_id, groups)
        filing = filing.model_copy(update={"acl": groups})
        self.catalog.put(filing, state)
        return filing

    @property
    def image_pages(self) -> bool:
        """Whether page renders are embedded into the ``image`` vector (multimodal embedders)."""
        return self.settings.embedder.image_pages and self.embedder.image_dim is not None
