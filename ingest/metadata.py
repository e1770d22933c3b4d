"""Filing metadata read from the document itself, with user overrides on top.

Contract: :func:`extract_metadata` takes a :class:`~core.records.ParsedDocument` and returns a
:class:`FilingMetadata` whose every set field names where it came from in ``sources``
(``"document"``, or the ``source`` given to :func:`apply_overrides`, e.g. ``"override"``,
``"sidecar"``: the vocabulary of ``Filing.metadata_source``) and, for document values, the rule and
page in ``evidence`` (``"p1:registrant-name"``).
Unknown stays ``None``: nothing is guessed from the file name, because a wrong company or year
silently mis-filters every later search, while ``None`` only widens it. When the cover page and the
body disagree, the cover page wins and the conflict is logged.

Rules, in order of trust:

* company: the line before "(Exact name of registrant as specified in its charter)" on SEC covers;
  for a press release, the subject of the title's "X reports ... results".
* ticker: the "Trading Symbol(s)" column on the cover (the symbol right before the exchange name),
  else "(NYSE: XYZ)" / "NASDAQ: XYZ" wording.
* form: "FORM 10-K" etc. on the cover, else the cover's report wording ("QUARTERLY REPORT PURSUANT
  TO SECTION 13", "CURRENT REPORT"), else press-release wording ("reports ... results") as
  ``earnings-release``.
* period_end: "For the fiscal year ended <date>", "For the quarterly period ended <date>", for an
  8-K the date of the earliest event reported.
* fiscal_year is the year in which the fiscal year ends (Best Buy's year ending 28 Jan 2023 is
  fiscal 2023). The structural value comes from the dates: a 10-K's period end year; a 10-Q's prior
  fiscal year end (its "Form 10-K for the fiscal year ended <date>" reference) plus one. The
  document's own most frequent "fiscal YYYY" label is preferred when it is that value or one less
  (retailers such as Target name a year by its start), otherwise the structural value is kept and
  the disagreement logged. Without dates, only an unambiguous label is used. 8-Ks get none: an
  event has a date, not a fiscal period.
* fiscal_period: ``FY`` for annual reports; a 10-Q's quarter from the months since the prior
  fiscal year end, else from its statement headers (nine months -> Q3, six months -> Q2, only three
  months -> Q1); a release's quarter from "fourth quarter" / "Q4" wording, and a release that
  reports a whole fiscal year with its last quarter is ``Q4`` (it is a quarterly document; the
  10-K is the ``FY`` one).

Overrides (command-line flags, a ``<file>.meta.json`` / ``<file>.meta.toml`` sidecar) are applied
with :func:`apply_overrides`; unknown keys raise :class:`~core.errors.ConfigError`.

Example:
    >>> meta = extract_metadata(parsed, "acme-10k.pdf")
    >>> meta = apply_overrides(meta, load_sidecar(Path("acme-10k.pdf")), "sidecar")
    >>> filing = Filing(doc_id=parsed.doc_id, source_path=parsed.path, file_name="acme-10k.pdf",
    ...                 **meta.filing_fields())
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError
from core.figures import DATE, dates_in, parse_date
from core.records import Element, ParsedDocument

logger = logging.getLogger(__name__)

FiscalPeriod = Literal["FY", "Q1", "Q2", "Q3", "Q4"]

COVER_PAGES = 2  # SEC cover pages fit on one page, sometimes spilling onto the next
BODY_PAGES = 15  # enough for the 10-K reference and the statement headers of a 10-Q


class FilingMetadata(BaseModel):
    """What is known about a filing; ``sources`` maps each set field to where it came from."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    company: str | None = None
    ticker: str | None = None
    cik: str | None = None
    form: str | None = None
    fiscal_year: int | None = Field(default=None, ge=1900, le=2200)
    fiscal_period: FiscalPeriod | None = None
    period_end: date | None = None
    filed_at: date | None = None
    sources: dict[str, str] = Field(default_factory=dict)  # field -> document | override | sidecar
    evidence: dict[str, str] = Field(default_factory=dict)  # field -> rule and page, for debugging

    def filing_fields(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~core.records.Filing`.

        ``sources`` becomes ``metadata_source``.
        """
        data = self.model_dump(exclude={"sources", "evidence"})
        data["metadata_source"] = dict(self.sources)
        return data


OVERRIDABLE = frozenset(FilingMetadata.model_fields) - {"sources", "evidence"}
# Access control travels with overrides and sidecars but is not metadata: it is validated here
# and left for the caller to put on the Filing.
ACCESS_KEYS = frozenset({"acl"})
KNOWN_KEYS = OVERRIDABLE | ACCESS_KEYS


def _check_keys(data: dict[str, Any], where: object) -> None:
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown metadata field(s) {', '.join(unknown)} in {where}; "
            f"valid fields: {', '.join(sorted(KNOWN_KEYS))}"
        )
    acl = data.get("acl")
    if acl is not None and not (isinstance(acl, list) and all(isinstance(g, str) for g in acl)):
        raise ConfigError(f'acl in {where} must be a list of group names, e.g. ["finance"]')


# ---------------------------------------------------------------------------------------------
# patterns

_FORM_HEADING = re.compile(r"\bFORM\s+(10-K|10-Q|8-K|20-F|40-F|6-K)(?:\s*/\s*(A))?\b")
_REPORT_KIND = [
    (re.compile(r"QUARTERLY\s+REPORT\s+PURSUANT\s+TO\s+SECTION\s+13", re.I), "10-Q"),
    (re.compile(r"CURRENT\s+REPORT\s+PURSUANT\s+TO\s+SECTION\s+13", re.I), "8-K"),
    (re.compile(r"\bCURRENT\s+REPORT\b"), "8-K"),
    (re.compile(r"ANNUAL\s+REPORT\s+PURSUANT\s+TO\s+SECTION\s+13", re.I), "10-K"),
]
_RELEASE_TITLE = re.compile(
    r"^(?:[A-Z][A-Za-z]*\s+\d{1,2},\s+\d{4}\s*[-–—]\s*)?"  # "MAY 1, 2023 - " datelines
    r"(?P<name>[A-Z][\w.&'’,\- ]{1,60}?)\s+"
    r"(?:(?:today|has)\s+)?(?:reports?|reported|announces?|announced|posts?|delivers?)\b"
    r"(?P<rest>.*\b(?:results?|earnings)\b.*)$",
    re.I,
)
_EXACT_NAME = re.compile(r"\(\s*exact\s+name\s+of\s+(?:the\s+)?registrant", re.I)
_NAME_NOISE = re.compile(
    r"(commission\s+file\s+(?:number|no\.?)\s*:?\s*[\d-]+|_{2,}|-{3,}|\(mark one\))", re.I
)
_EXCHANGE = (
    r"(?:The\s+)?(?:New\s+York\s+Stock\s+Exchange|NYSE|Nasdaq|NASDAQ|"
    r"Chicago\s+Stock\s+Exchange|Cboe|CBOE|NYSE\s+American)"
)
_SYMBOL_BEFORE_EXCHANGE = re.compile(rf"(?<![\w$.])([A-Z]{{1,5}}(?:\.[A-Z])?)\s+{_EXCHANGE}")
_NOT_TICKERS = {"LLC", "INC", "PLC", "NV", "SA", "AG", "LP", "THE", "AND", "OF", "NA", "N", "A"}
_EXCHANGE_COLON = re.compile(
    r"\b(?:NYSE|NASDAQ|Nasdaq|NYSE\s+American)\s*:\s*([A-Z]{1,5}(?:\.[A-Z])?)\b"
)
_CIK = re.compile(
    r"\b(?:CIK|Central\s+Index\s+Key)(?:\s+(?:No\.?|Number))?\s*[:#]?\s*(\d{4,10})\b", re.I
)
_FY_ENDED = re.compile(rf"for\s+the\s+fiscal\s+year\s+ended\s*:?\s*({DATE})", re.I)
_Q_ENDED = re.compile(rf"for\s+the\s+quarterly\s+period\s+ended\s*:?\s*({DATE})", re.I)
_EVENT_DATE = re.compile(
    rf"date\s+of\s+report\s*\(\s*date\s+of\s+earliest\s+event\s+reported\s*\)\s*:?\s*"
    rf"((?:\(?\s*{DATE}\s*\)?\s*)+)",
    re.I,
)
_PRIOR_10K = re.compile(rf"form\s+10-K\s+for\s+the\s+(?:fiscal\s+)?year\s+ended\s+({DATE})", re.I)
_FISCAL_LABEL = re.compile(r"\bfiscal\s+(?:year\s+)?(20\d{2}|19\d{2})\b", re.I)
_FY_SHORT = re.compile(r"\bFY\s?'?(\d{2}|20\d{2})\b")
_QUARTER_WORD = re.compile(
    r"\b(first|second|third|fourth)[\s-]+quarter(?:\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?(20\d{2}))?",
    re.I,
)
_Q_SHORT = re.compile(r"\bQ([1-4])\s*(?:FY\s?'?|fiscal\s+)?(\d{2}|20\d{2})?\b")
_YTD = re.compile(r"\b(nine|six|three)\s+months\s+ended|\b(39|26|13)\s+weeks\s+ended", re.I)
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4}


class _Collector:
    """Sets a field once, logging later conflicting candidates instead of overwriting."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {}

    def offer(self, field: str, value: Any, source: str) -> None:
        if value is None:
            return
        if field not in self.values:
            self.values[field] = value
            self.sources[field] = source
        elif self.values[field] != value:
            logger.info(
                "metadata %s: keeping %r (%s) over %r (%s)",
                field,
                self.values[field],
                self.sources[field],
                value,
                source,
            )


def _clean(text: str) -> str:
    # NFKC undoes ligatures ("ﬁscal") and odd spaces that PDF text layers are full of.
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _element_text(el: Element) -> str:
    if el.table is not None:
        rows = el.table.header_rows + el.table.rows
        return "\n".join(" ".join(c for c in row if c) for row in rows) or el.text
    return el.text


def _lines(doc: ParsedDocument, max_page: int) -> list[tuple[int, str]]:
    return [
        (el.page_no, _clean(_element_text(el)))
        for el in doc.elements
        if el.page_no <= max_page and _element_text(el).strip()
    ]


# ---------------------------------------------------------------------------------------------
# field extractors


def _company_from_cover(lines: list[tuple[int, str]]) -> tuple[str, int] | None:
    for i, (page, text) in enumerate(lines):
        m = _EXACT_NAME.search(text)
        if not m:
            continue
        before = text[: m.start()]
        # The name is the last non-noise piece before the caption, in this element or the ones
        # above.
        pieces = [before] + [lines[j][1] for j in range(i - 1, max(-1, i - 4), -1)]
        for piece in pieces:
            for part in reversed(_NAME_NOISE.split(piece)):
                if part is None:
                    continue
                name = _clean(part).strip(" ,;:")
                if name and not _NAME_NOISE.fullmatch(name) and re.search(r"[A-Za-z]{2}", name):
                    return name, page
    return None


def _ticker_from_table(doc: ParsedDocument) -> tuple[str, int] | None:
    for el in doc.elements:
        if el.page_no > COVER_PAGES or el.table is None:
            continue
        for header in el.table.header_rows:
            for col, cell in enumerate(header):
                if "trading symbol" in cell.lower() and el.table.rows:
                    value = el.table.rows[0][col].strip() if col < len(el.table.rows[0]) else ""
                    if re.fullmatch(r"[A-Z]{1,5}(?:\.[A-Z])?", value):
                        return value, el.page_no
    return None


def _ticker_from_text(lines: list[tuple[int, str]]) -> tuple[str, int, str] | None:
    # Only look past "Section 12(b)" so that a name like "AMCOR PLC" above is not mistaken.
    started = False
    for page, text in lines:
        if re.search(r"section\s+12\s*\(b\)|trading\s+symbol", text, re.I):
            started = True
        if not started:
            continue
        for m in _SYMBOL_BEFORE_EXCHANGE.finditer(text):
            if m.group(1) not in _NOT_TICKERS:
                return m.group(1), page, "trading-symbol"
        if re.search(r"section\s+12\s*\(g\)|indicate\s+by\s+check\s+mark", text, re.I):
            started = False
    for page, text in lines:
        m = _EXCHANGE_COLON.search(text)
        if m:
            return m.group(1), page, "exchange-colon"
    return None


def _form(lines: list[tuple[int, str]]) -> tuple[str, int, str] | None:
    for page, text in lines:
        if page > COVER_PAGES:
            break
        m = _FORM_HEADING.search(text)
        if m:
            return m.group(1) + ("/A" if m.group(2) else ""), page, "form-heading"
    for pattern, form in _REPORT_KIND:
        for page, text in lines:
            if page <= COVER_PAGES and pattern.search(text):
                return form, page, "report-wording"
    return None


def _release_title(lines: list[tuple[int, str]]) -> tuple[re.Match[str], int] | None:
    for page, text in lines[:12]:
        if page > 1:
            break
        m = _RELEASE_TITLE.match(text)
        if m:
            return m, page
    return None


def _fiscal_label(text: str) -> int | None:
    """The most frequent "fiscal YYYY" label, when it clearly leads."""
    counts = Counter(int(y) for y in _FISCAL_LABEL.findall(text))
    for y in _FY_SHORT.findall(text):
        counts[int(y) + 2000 if len(y) == 2 else int(y)] += 1
    if not counts:
        return None
    (top, n), *rest = counts.most_common(2) + [(None, 0)]
    return top if n > rest[0][1] else None


def _quarter_from_headers(text: str) -> int | None:
    kinds = {(m.group(1) or m.group(2)).lower() for m in _YTD.finditer(text)}
    if kinds & {"nine", "39"}:
        return 3
    if kinds & {"six", "26"}:
        return 2
    if kinds & {"three", "13"}:
        return 1
    return None


def extract_metadata(doc: ParsedDocument, file_name: str) -> FilingMetadata:
    """Read company, ticker, CIK, form, fiscal year/period and period end from the document.

    Args:
        doc: the parsed document (cover page and first pages are read).
        file_name: used only in log messages; it never supplies a value.

    Returns:
        The metadata; ``sources`` says ``"document"`` for every set field and ``evidence`` names
        the rule and page behind it.
    """
    cover = _lines(doc, COVER_PAGES)
    body = _lines(doc, BODY_PAGES)
    cover_text = "\n".join(t for _, t in cover)
    body_text = "\n".join(t for _, t in body)
    got = _Collector()

    found = _form(cover)
    release = _release_title(cover)
    if found:
        got.offer("form", found[0], f"document:p{found[1]}:{found[2]}")
    elif release:
        got.offer("form", "earnings-release", f"document:p{release[1]}:release-title")
    form = got.values.get("form")

    named = _company_from_cover(cover)
    if named:
        got.offer("company", named[0], f"document:p{named[1]}:registrant-name")
    if release:
        got.offer(
            "company", _clean(release[0].group("name")), f"document:p{release[1]}:release-title"
        )

    tick = _ticker_from_table(doc)
    if tick:
        got.offer("ticker", tick[0], f"document:p{tick[1]}:trading-symbol-table")
    text_tick = _ticker_from_text(cover if form != "earnings-release" else body)
    if text_tick:
        got.offer("ticker", text_tick[0], f"document:p{text_tick[1]}:{text_tick[2]}")

    m = _CIK.search(cover_text)
    if m:
        got.offer("cik", m.group(1).zfill(10), "document:cover:cik")

    # period end
    if form not in ("10-Q", "10-Q/A", "8-K"):
        # "Form 10-K for the fiscal year ended" may be a reference to another report; a bare
        # "For the fiscal year ended" line is the cover's own.
        ended = list(_FY_ENDED.finditer(cover_text))
        own = [
            m
            for m in ended
            if not re.search(r"10-K\s*$", cover_text[max(0, m.start() - 8) : m.start()])
        ]
        if m := (own or ended or [None])[0]:
            got.offer("period_end", parse_date(m.group(1)), "document:cover:fiscal-year-ended")
    if form != "8-K" and (m := _Q_ENDED.search(cover_text)):
        got.offer("period_end", parse_date(m.group(1)), "document:cover:quarterly-period-ended")
    if form == "8-K" and (m := _EVENT_DATE.search(cover_text)):
        dates = dates_in(m.group(1))
        if dates:
            got.offer("period_end", min(dates), "document:cover:date-of-earliest-event")
    period_end: date | None = got.values.get("period_end")

    # fiscal year and period
    label = _fiscal_label(body_text)
    structural: tuple[int, str] | None = None
    prior_fy_end: date | None = None
    if m := _PRIOR_10K.search(body_text):
        prior_fy_end = parse_date(m.group(1))
    if form in ("10-K", "10-K/A", "20-F", "40-F") and period_end:
        structural = period_end.year, "document:cover:period-end-year"
        got.offer("fiscal_period", "FY", "document:cover:annual-report")
    elif form in ("10-Q", "10-Q/A") and period_end:
        if prior_fy_end and 0 < (period_end - prior_fy_end).days < 366:
            structural = prior_fy_end.year + 1, "document:prior-10-K-fiscal-year-end"
            quarter = round((period_end - prior_fy_end).days / 91.3)
            if 1 <= quarter <= 3:
                got.offer("fiscal_period", f"Q{quarter}", "document:months-since-fiscal-year-end")
        if (q := _quarter_from_headers(body_text)) is not None:
            got.offer("fiscal_period", f"Q{q}", "document:statement-headers")
        quarter = got.values.get("fiscal_period")
        # "Revenue for the second quarter of 2024": the company's own name for this quarter's year.
        for m in _QUARTER_WORD.finditer(body_text):
            if m.group(2) and f"Q{_ORDINAL[m.group(1).lower()]}" == quarter:
                label = int(m.group(2))
                break
    elif form == "earnings-release" and release:
        title = release[0].group(0)
        if (q := _release_quarter(title, body_text)) is not None:
            got.offer("fiscal_period", q, f"document:p{release[1]}:release-wording")
        # The first label in the title is the period reported ("fiscal 2023 results and
        # provides outlook for fiscal 2024").
        if m := (_FISCAL_LABEL.search(title) or _FY_SHORT.search(title)):
            y = int(m.group(1))
            got.offer(
                "fiscal_year", y + 2000 if y < 100 else y, f"document:p{release[1]}:release-title"
            )

    if form != "8-K":
        if structural and label is not None and label in (structural[0], structural[0] - 1):
            got.offer("fiscal_year", label, "document:fiscal-label")
        if structural:
            got.offer("fiscal_year", structural[0], structural[1])
        elif label is not None:
            got.offer("fiscal_year", label, "document:fiscal-label")
        if structural and label is not None and label not in (structural[0], structural[0] - 1):
            logger.info(
                "%s: fiscal label %d disagrees with dates (%d); kept the dates",
                file_name,
                label,
                structural[0],
            )

    meta = FilingMetadata(
        **got.values,
        sources=dict.fromkeys(got.sources, "document"),
        evidence={k: v.removeprefix("document:") for k, v in got.sources.items()},
    )
    missing = [
        f for f in ("company", "form", "fiscal_year", "period_end") if getattr(meta, f) is None
    ]
    if missing:
        logger.info("%s: metadata not found in the document: %s", file_name, ", ".join(missing))
    return meta


def _release_quarter(title: str, body_text: str) -> FiscalPeriod | None:
    for text in (title, body_text[:4000]):
        if m := _QUARTER_WORD.search(text):
            return f"Q{_ORDINAL[m.group(1).lower()]}"  # type: ignore[return-value]
        if m := _Q_SHORT.search(text):
            return f"Q{m.group(1)}"  # type: ignore[return-value]
    # A full-year release also reports the last quarter of that year.
    if re.search(r"\b(?:fiscal|full[\s-]year)\b", title, re.I) and re.search(
        r"three\s+months\s+ended|\bquarter\b", body_text, re.I
    ):
        return "Q4"
    return None


# ---------------------------------------------------------------------------------------------
# overrides


def apply_overrides(meta: FilingMetadata, overrides: dict[str, Any], source: str) -> FilingMetadata:
    """A copy of ``meta`` with ``overrides`` applied.

    Each overridden field's source becomes ``source``.

    Args:
        meta: metadata read from the document.
        overrides: field -> value (strings are coerced: ``"2023"`` -> 2023, ``"2023-06-30"``
            -> date); a ``None`` value clears a field. ``acl`` is accepted (checked to be a
            list of group names) but not applied: access control belongs to the caller's
            ``Filing``.
        source: where the values come from, ``"override"`` or ``"sidecar"``.

    Raises:
        ConfigError: an unknown key or a value of the wrong type; the message lists valid keys.
    """
    _check_keys(overrides, source)
    overrides = {k: v for k, v in overrides.items() if k not in ACCESS_KEYS}
    data = meta.model_dump()
    data.update(overrides)
    sources = dict(meta.sources)
    evidence = dict(meta.evidence)
    for key in overrides:
        sources[key] = source
        evidence.pop(key, None)
    data["sources"] = sources
    data["evidence"] = evidence
    try:
        updated = FilingMetadata.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid metadata override in {source}: {problems}") from None
    for key in overrides:
        old = getattr(meta, key)
        if old is not None and old != getattr(updated, key):
            logger.info("metadata %s: %r from the document overridden by %s", key, old, source)
    return updated


def sidecar_paths(path: Path) -> list[Path]:
    """The sidecar files that may sit next to ``path``.

    ``<file>.meta.json`` and ``<file>.meta.toml``.
    """
    return [path.with_name(path.name + ".meta.json"), path.with_name(path.name + ".meta.toml")]


def load_sidecar(path: Path) -> dict[str, Any]:
    """Overrides from the sidecar next to the document ``path``; ``{}`` when there is none.

    ``path`` may also be the sidecar itself. Keys are validated against :class:`FilingMetadata`.

    Raises:
        ConfigError: unreadable file, both sidecars present, a non-table top level or unknown keys.
    """
    path = Path(path)
    if path.name.endswith((".meta.json", ".meta.toml")):
        candidates = [path] if path.exists() else []
    else:
        candidates = [p for p in sidecar_paths(path) if p.exists()]
    if not candidates:
        return {}
    if len(candidates) > 1:
        raise ConfigError(
            f"both {candidates[0].name} and {candidates[1].name} exist for {path.name}; keep one"
        )
    sidecar = candidates[0]
    try:
        if sidecar.suffix == ".json":
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        else:
            data = tomllib.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(
            f"cannot read metadata sidecar {sidecar}: {exc}; fix or remove it"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"metadata sidecar {sidecar} must hold a table of field = value")
    _check_keys(data, sidecar)
    return data
