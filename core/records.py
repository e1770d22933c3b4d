"""Typed records that cross stage boundaries.

Everything persisted (Qdrant payloads, the catalog, checkpoints) or shown (CLI, UI) is one of these
pydantic models; stages never pass loose dicts to each other.

Coordinates: a :class:`BBox` is in PDF points on its page, origin at the top-left corner (PyMuPDF's
convention), so a UI can scale it onto the page render by ``dpi / 72``. Page numbers are 1-based
physical pages of the file (page 1 is the first page of the PDF, not the printed folio).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import ToolError

Modality = Literal["text", "table", "figure", "page"]
ElementKind = Literal["title", "heading", "text", "list", "table", "figure"]
IngestStatus = Literal["ok", "partial", "failed", "skipped-duplicate"]
HitSource = Literal["dense", "sparse", "image", "fused", "rerank", "memory", "tool"]
SpanKind = Literal["company", "ticker", "period", "relative", "date", "form"]
# The primary financial statements a chunk can belong to (ingest.statements tags them).
STATEMENTS = ("income", "comprehensive-income", "balance", "cash-flow", "equity")
M = TypeVar("M", bound=BaseModel)

# Fixed namespace so point ids are stable across machines and releases.
_POINT_NAMESPACE = uuid.UUID("5b0e4c1e-2f55-4c3a-9a44-6b8f0f1d7c21")


def sha256_file(path: str, block: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes: the document id."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def make_chunk_id(doc_id: str, page_no: int, element: str) -> str:
    """Chunk id from content coordinates: the same file always yields the same ids."""
    return hashlib.sha256(f"{doc_id}:{page_no}:{element}".encode()).hexdigest()[:32]


def point_id(chunk_id: str) -> str:
    """The Qdrant point id (a UUID) derived from a chunk id."""
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BBox(Record):
    """A rectangle on one page, in PDF points, origin top-left."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x0: float
    y0: float
    x1: float
    y1: float

    def union(self, other: BBox) -> BBox:
        return BBox(
            x0=min(self.x0, other.x0),
            y0=min(self.y0, other.y0),
            x1=max(self.x1, other.x1),
            y1=max(self.y1, other.y1),
        )

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


class Word(Record):
    """One recognised word (OCR) with its box."""

    text: str
    bbox: BBox
    confidence: float | None = None


class TableCell(Record):
    """A body cell with the headers that give it meaning (for citations of one figure)."""

    row: int
    col: int
    text: str
    row_header: str = ""
    col_header: str = ""
    bbox: BBox | None = None


class TableData(Record):
    """A table as markdown plus a cell grid.

    ``header_rows`` are the column-header rows (several when headers are stacked, e.g. a period
    row above a unit row); ``rows`` are the body rows. On a page where a table continues from the
    previous page, ``continued`` is true and ``header_rows`` are the ones carried over.
    """

    header_rows: list[list[str]] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    cells: list[TableCell] = Field(default_factory=list)
    markdown: str = ""
    caption: str = ""
    continued: bool = False

    @property
    def n_cols(self) -> int:
        widths = [len(r) for r in self.header_rows + self.rows]
        return max(widths, default=0)


class Element(Record):
    """One unit of a parsed document in reading order: a heading, a paragraph, a table, a figure."""

    kind: ElementKind
    page_no: int
    text: str = ""
    bbox: BBox | None = None
    level: int | None = None  # heading depth, 1 = top
    table: TableData | None = None
    image_path: str | None = None  # figure crop
    words: list[Word] = Field(default_factory=list)  # OCR words when the page had no text layer
    ocr: bool = False


class Page(Record):
    doc_id: str
    page_no: int
    width: float
    height: float
    image_path: str | None = None
    has_text_layer: bool = True
    ocr_used: bool = False


class ParsedDocument(Record):
    """What a parser hands to metadata extraction and chunking."""

    doc_id: str
    path: str
    format: str  # pdf | html | docx | xlsx
    page_count: int
    pages: list[Page] = Field(default_factory=list)
    elements: list[Element] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)  # seconds per parse stage


class FieldEvidence(Record):
    """Where one metadata value was read, and how sure the reading is.

    ``element`` indexes :attr:`ParsedDocument.elements` (the ``e<index>`` of chunk ids), so a UI
    can show the exact line; ``text`` quotes it (shortened). ``confidence`` is in [0, 1]; values
    read below the extractor's threshold are not kept at all.
    """

    rule: str  # the reading rule, e.g. "registrant-caption", "fiscal-calendar"
    confidence: float = Field(ge=0.0, le=1.0)
    page: int | None = None
    element: int | None = None
    text: str = ""


class Filing(Record):
    """One ingested file and what is known about it. Unknown fields stay ``None``.

    ``metadata_source`` says where each set field came from (``document``, ``override`` or
    ``sidecar``); ``metadata_evidence`` holds, for the fields read from the document, where and
    how surely (catalog rows written before it existed load with it empty).
    """

    doc_id: str
    source_path: str
    file_name: str
    format: str = "pdf"
    company: str | None = None
    ticker: str | None = None
    cik: str | None = None
    form: str | None = None  # 10-K, 10-Q, 8-K, earnings-release, ...
    fiscal_year: int | None = None
    fiscal_period: str | None = None  # FY, Q1..Q4
    period_end: date | None = None
    filed_at: date | None = None  # for an earnings release: the release date
    file_number: str | None = None  # SEC file number (001-38932): the registrant's, across renames
    page_count: int = 0
    chunk_count: int = 0
    acl: list[str] = Field(default_factory=lambda: ["public"])
    added_by: str | None = None  # who added it: an app user, "operator" or the OS user (CLI)
    status: IngestStatus | None = None
    ingested_at: datetime | None = None
    metadata_source: dict[str, str] = Field(
        default_factory=dict
    )  # field -> document|override|sidecar
    metadata_evidence: dict[str, FieldEvidence] = Field(default_factory=dict)

    def chunk_fields(self) -> dict:
        """The filing fields every :class:`Chunk` of this filing carries for filtering."""
        return {
            "file_name": self.file_name,
            "company": self.company,
            "ticker": self.ticker,
            "form": self.form,
            "fiscal_year": self.fiscal_year,
            "fiscal_period": self.fiscal_period,
            "period_end": self.period_end,
            "acl": list(self.acl),
        }


class Chunk(Record):
    """The unit that is embedded, indexed, retrieved and cited.

    A chunk lives on one page. ``text`` is what is shown, quoted and matched lexically;
    ``embed_text`` (when set) is what the dense embedder sees, e.g. a table without its digits.
    Filing fields are copied in so that Qdrant can filter without a join.
    """

    chunk_id: str
    doc_id: str
    page_no: int
    modality: Modality
    text: str
    embed_text: str | None = None
    table: TableData | None = None
    bboxes: list[BBox] = Field(default_factory=list)
    section_path: list[str] = Field(default_factory=list)
    prev_id: str | None = None
    next_id: str | None = None
    continues_id: str | None = None  # table chunk this one continues (previous page or row split)
    statement: str | None = None  # primary statement kind (ingest.statements): income, balance...
    image_path: str | None = None
    order: int = 0  # position in the document
    # filing metadata, copied for filters
    file_name: str = ""
    company: str | None = None
    ticker: str | None = None
    form: str | None = None
    fiscal_year: int | None = None
    fiscal_period: str | None = None
    period_end: date | None = None
    acl: list[str] = Field(default_factory=lambda: ["public"])

    @property
    def point_id(self) -> str:
        return point_id(self.chunk_id)


class SearchFilters(Record):
    """Restrictions on a search; empty lists mean no restriction on that field."""

    doc_ids: list[str] = Field(default_factory=list)
    companies: list[str] = Field(default_factory=list)
    tickers: list[str] = Field(default_factory=list)
    forms: list[str] = Field(default_factory=list)
    fiscal_years: list[int] = Field(default_factory=list)
    fiscal_periods: list[str] = Field(default_factory=list)
    modalities: list[Modality] = Field(default_factory=list)
    statements: list[str] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)

    def admits(self, filing: Filing) -> bool:
        """Whether these filters let ``filing`` through (its filing-level fields only)."""
        checks = (
            (self.doc_ids, filing.doc_id),
            (self.companies, filing.company),
            (self.tickers, filing.ticker),
            (self.forms, filing.form),
            (self.fiscal_years, filing.fiscal_year),
            (self.fiscal_periods, filing.fiscal_period),
        )
        return all(not allowed or value in allowed for allowed, value in checks)


class Query(Record):
    text: str
    filters: SearchFilters = Field(default_factory=SearchFilters)
    acl_groups: list[str] = Field(default_factory=lambda: ["public"])
    top_k: int = 10


class Hit(Record):
    chunk: Chunk
    score: float
    source: HitSource
    rank: int


class Citation(Record):
    doc_id: str
    file_name: str
    page_no: int
    chunk_id: str | None = None
    bbox: BBox | None = None
    quote: str = ""
    row_header: str | None = None
    col_header: str | None = None


class MemoryEntry(Record):
    entry_id: str
    question: str
    paraphrases: list[str] = Field(default_factory=list)
    answer: str
    company: str | None = None
    period: str | None = None
    source: Citation | None = None
    author: str = ""
    approved: bool = False
    valid_from: date | None = None
    valid_to: date | None = None
    acl: list[str] = Field(default_factory=lambda: ["public"])
    retired: bool = False  # kept for the record, never served
    approved_by: str = ""  # set from the signed-in curator, never from a file (app imports)
    added_by: str = ""  # the signed-in user who added the entry (``author`` is the expert cited)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class MemoryHit(Record):
    """A curated memory entry matched to a question: evidence with provenance, not an answer.

    ``score`` is the calibrated similarity the bank's threshold was applied to; ``stale`` means
    the entry's validity window (valid_from/valid_to) excludes the day asked about.
    """

    entry: MemoryEntry
    score: float
    cosine: float  # dense cosine between the question and the matched phrasing
    lexical: float  # share of content terms the two have in common (0..1)
    matched_phrasing: str
    stale: bool = False
    rank: int = 1


FeedbackVerdict = Literal["up", "down"]
TrainingSource = Literal[
    "feedback", "memory", "eval", "synthetic-table", "synthetic-heading", "synthetic-sentence"
]


class Feedback(Record):
    """An analyst's judgement of one answer, kept as training data for the reranker.

    ``verdict`` is the thumbs up/down (None when only citations were flagged);
    ``wrong_citations`` holds the chunk ids the analyst marked "this citation is wrong".
    """

    feedback_id: str
    created_at: datetime
    user: str
    thread_id: str = ""
    question: str  # the standalone question the agent answered
    answer: str
    verdict: FeedbackVerdict | None = None
    citations: list[Citation] = Field(default_factory=list)
    wrong_citations: list[str] = Field(default_factory=list)
    comment: str = ""
    acl: list[str] = Field(default_factory=lambda: ["public"])


class TrainingExample(Record):
    """One reranker training query: a positive passage and hard negatives (issue 7 datasets).

    ``doc_id`` is the positive's filing; datasets are split by it so that evaluation never sees
    a training page.
    """

    example_id: str
    query: str
    positive: str
    positive_id: str  # chunk id ("" when the positive is not an indexed chunk)
    negatives: list[str] = Field(default_factory=list)
    negative_ids: list[str] = Field(default_factory=list)
    company: str | None = None
    doc_id: str = ""
    source: TrainingSource


PeriodType = Literal["instant", "duration"]


class Fact(Record):
    """One reported figure, read at ingest: a statement or numeric-table cell, or an iXBRL tag.

    ``value`` is the figure in its unit (scale and sign applied: "(1,234)" in a "(in millions)"
    table is -1.234e9); ``text`` is the cell as printed and ``scale`` the factor the caption gave.
    ``line_item`` is the row label as printed, ``path`` the section rows above it (e.g.
    ``["Assets", "Current assets"]``), ``concept`` the standard concept it maps to
    (``core/concepts.toml``), or ``None`` when no concept fits. A duration fact has
    ``period_start``/``months``; an instant fact only ``period_end``. Filing fields are copied so
    that facts filter and obey the filing's ACL without a join.
    """

    fact_id: str  # deterministic: re-ingesting a filing gives the same ids
    doc_id: str
    page_no: int
    chunk_id: str | None = None
    bbox: BBox | None = None
    statement: str | None = None  # income | balance | cash-flow | equity | None (another table)
    table_caption: str = ""
    line_item: str
    path: list[str] = Field(default_factory=list)
    concept: str | None = None
    column: str = ""  # the column header as printed
    period_type: PeriodType | None = None
    period_start: date | None = None
    period_end: date | None = None
    months: int | None = None
    fiscal_year: int | None = None
    fiscal_period: str | None = None  # FY, Q1..Q4
    value: float
    scale: float = 1.0
    unit: str = "USD"  # USD | shares | USD/share | percent | pure | ...
    text: str = ""
    source: Literal["table", "ixbrl"] = "table"
    # filing fields, copied for filters
    file_name: str = ""
    company: str | None = None
    ticker: str | None = None
    form: str | None = None
    acl: list[str] = Field(default_factory=lambda: ["public"])


class CalculationInput(Record):
    """One figure a calculation used, with where it was read."""

    name: str  # the concept or term, e.g. "revenue"
    period: str = ""  # "FY2019", "Q2 FY2024", "2019-12-31"
    value: float
    unit: str = "USD"
    fact_id: str | None = None
    doc_id: str = ""
    file_name: str = ""
    page_no: int | None = None
    bbox: BBox | None = None
    quote: str = ""  # "Property and equipment, net | December 31, 2019: 253"


class Calculation(Record):
    """A metric computed from reported figures: the formula, every input cited, the result."""

    metric: str  # "fixed asset turnover"
    formula: str  # "revenue / average(ppe_net)"
    inputs: list[CalculationInput] = Field(default_factory=list)
    result: float | None = None  # in ``unit``: a percent in points (24.26 means 24.26%)
    unit: str = "ratio"  # ratio | percent | USD | days | ...
    text: str = ""  # the result as the answer states it: "24.26", "$4.2 billion", "22.9%"
    judgement: str | None = None  # "Yes" / "No" for judgement questions
    rule: str = ""  # the judgement's rule: "quick ratio >= 1.0"
    missing: list[str] = Field(default_factory=list)  # inputs not found, and where it looked

    @property
    def lookup(self) -> bool:
        """A line item read as printed (formula ``revenue``), not a computation."""
        return self.formula.isidentifier()


class Answer(Record):
    text: str
    citations: list[Citation] = Field(default_factory=list)
    memory_entries: list[str] = Field(default_factory=list)
    tool_calls: list[str] = Field(default_factory=list)
    abstained: bool = False
    scope: str = ""  # what was searched, stated on abstention
    calculations: list[Calculation] = Field(default_factory=list)


class FileReport(Record):
    """The outcome of ingesting one file."""

    path: str
    status: IngestStatus
    doc_id: str | None = None
    pages: int = 0
    chunks: int = 0
    reason: str = ""  # one line, for failed / partial / skipped
    errors: list[str] = Field(default_factory=list)
    seconds: float = 0.0


class IngestReport(Record):
    files: list[FileReport] = Field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = Field(default_factory=dict)

    def count(self, status: IngestStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def landed(self) -> int:
        """Files whose content is searchable now (new or already present)."""
        return sum(1 for f in self.files if f.status in ("ok", "partial", "skipped-duplicate"))


# -- retrieval: what a question resolved to and what was found ---------------------------------


class MatchedSpan(Record):
    """A piece of the question that was read as a company, ticker, period, date or form."""

    start: int
    end: int
    text: str
    kind: SpanKind
    value: str  # what it was read as: "Boeing", "FY2022", "Q2 FY2024", "10-K"


class SubQuestion(Record):
    """One leg of a comparison: a single company and period, with its own filter."""

    text: str
    company: str | None = None
    period: str | None = None  # "FY2022", "Q2 FY2024"
    fiscal_years: list[int] = Field(default_factory=list)
    fiscal_periods: list[str] = Field(default_factory=list)
    doc_ids: list[str] = Field(default_factory=list)
    filters: SearchFilters = Field(default_factory=SearchFilters)


class Resolution(Record):
    """What a question was resolved to, and what will be searched."""

    question: str
    companies: list[str] = Field(default_factory=list)  # catalog spellings of matched companies
    tickers: list[str] = Field(default_factory=list)
    doc_ids: list[str] = Field(default_factory=list)
    fiscal_years: list[int] = Field(default_factory=list)  # the years asked about
    fiscal_periods: list[str] = Field(default_factory=list)  # FY, Q1..Q4
    periods: list[str] = Field(default_factory=list)  # labels: "FY2022", "Q2 FY2024"
    forms: list[str] = Field(default_factory=list)  # named or implied
    filters: SearchFilters = Field(default_factory=SearchFilters)
    scope: str = ""
    ambiguities: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # comparatives used, periods not indexed, ...
    inherited: list[str] = Field(default_factory=list)  # "company", "form", "period" from history
    sub_questions: list[SubQuestion] = Field(default_factory=list)
    confidence: float = 0.0
    matched_text: list[MatchedSpan] = Field(default_factory=list)


def utc_now() -> datetime:
    return datetime.now(UTC)


ToolStatus = Literal["ok", "unavailable", "invalid-input", "error"]


class ToolResult(BaseModel):
    """What every tool call returns (JSON-serialisable, safe to keep in agent state)."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    ok: bool
    status: ToolStatus
    message: str
    data: dict[str, Any] | None = None
    args: dict[str, Any] = Field(
        default_factory=dict
    )  # the validated arguments, for citing the call
    source: str | None = None
    fetched_at: datetime = Field(default_factory=utc_now)
    cached: bool = False
    elapsed_ms: float = 0.0

    @model_validator(mode="after")
    def _ok_matches_status(self) -> ToolResult:
        if self.ok != (self.status == "ok"):
            raise ValueError(f"ok={self.ok} contradicts status={self.status!r}")
        return self

    def output(self, model: type[M]) -> M:
        """The typed output. Raises :class:`ToolError` (with the message) when the call failed."""
        if not self.ok or self.data is None:
            raise ToolError(f"{self.tool} returned no data: {self.message}")
        return model.model_validate(self.data)

    def summary(self) -> str:
        """One line for a prompt or a log: ``[tool] message (source)``."""
        where = f" (source: {self.source})" if self.source else ""
        return f"[{self.tool}] {self.message}{where}"


class PageHit(Record):
    """One page of one filing, ranked by the chunks that support it."""

    doc_id: str
    page_no: int
    file_name: str
    score: float
    rank: int
    chunk_ids: list[str] = Field(default_factory=list)


class RetrievalResult(Record):
    question: str
    resolution: Resolution
    hits: list[Hit] = Field(default_factory=list)
    pages: list[PageHit] = Field(default_factory=list)
    memory: list[MemoryHit] = Field(default_factory=list)  # expert-curated entries
    tools: list[ToolResult] = Field(default_factory=list)  # live-data tool calls
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def scope(self) -> str:
        return self.resolution.scope
