"""The expert-curated memory bank: approved question/answer pairs served as evidence.

Contract: :class:`MemoryBank` stores :class:`~core.records.MemoryEntry` records (built with
:func:`make_entry`) in the corpus's memory collection and answers a question with typed
:class:`~core.records.MemoryHit` records above a calibrated similarity. A hit is evidence with
provenance; it never replaces corpus retrieval. Everything callers use is importable from here:

- :mod:`retrieval.memory_bank.keys`: content ids, company keys, period labels, :func:`make_entry`;
- :mod:`retrieval.memory_bank.matching`: scope, ask and calibrated similarity of a question;
- :mod:`retrieval.memory_bank.calibration`: :data:`THRESHOLDS` and :func:`calibrate_threshold`;
- :mod:`retrieval.memory_bank.bank`: :class:`MemoryBank` (curation, search, serving rules);
- :mod:`retrieval.memory_bank.transfer`: CSV/JSONL import and export, :class:`ImportReport`.
"""

from retrieval.memory_bank.bank import HIDDEN_COLLISION, MemoryBank
from retrieval.memory_bank.calibration import THRESHOLDS, Calibration, calibrate_threshold
from retrieval.memory_bank.keys import company_key, entry_id_for, make_entry, period_label
from retrieval.memory_bank.matching import LEXICAL_WEIGHT
from retrieval.memory_bank.transfer import CSV_COLUMNS, ImportReport, ImportRow, RowStatus

__all__ = [
    "CSV_COLUMNS",
    "HIDDEN_COLLISION",
    "LEXICAL_WEIGHT",
    "THRESHOLDS",
    "Calibration",
    "ImportReport",
    "ImportRow",
    "MemoryBank",
    "RowStatus",
    "calibrate_threshold",
    "company_key",
    "entry_id_for",
    "make_entry",
    "period_label",
]
