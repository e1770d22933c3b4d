"""The expert-curated memory bank: approved question/answer pairs served as evidence.

Everything callers use is importable from here; :mod:`retrieval.memory_bank.keys` holds the
ids and keys of entries, :mod:`retrieval.memory_bank.calibration` the similarity thresholds,
:mod:`retrieval.memory_bank.bank` the rest.
"""

from retrieval.memory_bank.bank import MemoryBank
from retrieval.memory_bank.calibration import THRESHOLDS, Calibration, calibrate_threshold
from retrieval.memory_bank.keys import company_key, entry_id_for, make_entry, period_label
from retrieval.memory_bank.matching import LEXICAL_WEIGHT
from retrieval.memory_bank.transfer import CSV_COLUMNS, ImportReport, ImportRow, RowStatus

__all__ = [
    "CSV_COLUMNS",
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
