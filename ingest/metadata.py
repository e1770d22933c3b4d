"""Filing metadata read from the document itself, with user overrides on top.

Contract: :func:`extract_metadata` takes a :class:`~core.records.ParsedDocument` and returns a
:class:`FilingMetadata`. Every set field names where it came from in ``sources`` (``"document"``,
or the ``source`` given to :func:`apply_overrides`, e.g. ``"override"``, ``"sidecar"``: the
vocabulary of ``Filing.metadata_source``) and, for document values, a
:class:`~core.records.FieldEvidence` in ``evidence``: the rule, the page and element it was read
from, the words, and a confidence in [0, 1]. A value whose confidence is below ``min_confidence``
is not kept: a wrong company or year silently mis-filters every later search, while ``None`` only
widens it. Nothing is guessed from the file name.

How values are decided: the readers of :mod:`ingest.front_matter` return clues (one reading each,
with its rule's confidence); clues of a field that agree (the same value; for names, one name's
words beginning the other's) add up as independent evidence, 1 - prod(1 - c) over their rules, and
a disagreeing runner-up takes half its own support off the winner. A single weak clue (how the
body names the company, "X AND SUBSIDIARIES") is below the threshold on purpose: it counts once
another reading agrees, if only the name recurring in the text.

Fields:

* company, ticker, cik, file_number, form, period_end: see :mod:`ingest.front_matter`.
* fiscal_year is the year in which the fiscal year ends (a year ending 28 Jan 2023 is fiscal 2023;
  a 52/53-week year ending in the first week of January belongs to the year before), unless the
  document itself names its years by their start: a year ending in January-March whose "fiscal
  YYYY" label is one less (retailers such as Target) takes the label. Per form:

  - 10-K: the year of the cover's period end, checked against the document's leading "fiscal
    YYYY" label;
  - 10-Q: from the company's fiscal calendar as the document prints it: the fiscal-year-end month
    (the last 10-K's "fiscal year ended <date>", "our fiscal year ends ...", else the period end
    less the quarters its statement headers count) and the quarter's period end; a quarter label
    ("second quarter of fiscal 2023") confirms it;
  - 8-K: the calendar year of the Date of Report (FinanceBench's convention: an 8-K reports an
    event, which has a date, not a fiscal period);
  - earnings release: the year its headline announces ("Fourth Quarter and Full Year 2022",
    "Fiscal 2023", "Q2 FY24").

* fiscal_period: ``FY`` for annual reports; a 10-Q's quarter from the months since the fiscal
  year end, else from its statement headers (nine months -> Q3); a release's quarter from its
  headline ("fourth quarter", "Q4"), and a release of a whole year is ``Q4`` (it is a quarterly
  document; the 10-K is the ``FY`` one). None for an 8-K.
* filed_at: an earnings release's dateline date. Cover pages do not print the filing date.

Overrides (command-line flags, a ``<file>.meta.json`` / ``<file>.meta.toml`` sidecar) are applied
with :func:`apply_overrides`; unknown keys raise :class:`~core.errors.ConfigError`.

Example:
    >>> meta = extract_metadata(parsed, "acme-10k.pdf")
    >>> meta.evidence["company"].rule, meta.evidence["company"].page
    ('registrant-caption', 1)
    >>> meta = apply_overrides(meta, load_sidecar(Path("acme-10k.pdf")), "sidecar")
    >>> filing = Filing(doc_id=parsed.doc_id, source_path=parsed.path, file_name="acme-10k.pdf",
    ...                 **meta.filing_fields())
"""

from __future__ import annotations

import json
import logging
import math
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError
from core.records import FieldEvidence, ParsedDocument
from ingest import front_matter as fm
from ingest.front_matter import Clue, Line
from ingest.releases import release_clues

logger = logging.getLogger(__name__)

FiscalPeriod = Literal["FY", "Q1", "Q2", "Q3", "Q4"]

MIN_CONFIDENCE = 0.5  # below this a value is left unset (see the module docstring)
_ANNUAL_FORMS = ("10-K", "10-K/A", "20-F", "40-F")
_QUARTERLY_FORMS = ("10-Q", "10-Q/A")
_QUOTE_CHARS = 160  # evidence quotes stay short so catalog rows stay readable


class FilingMetadata(BaseModel):
    """What is known about a filing; ``sources`` maps each set field to where it came from and
    ``evidence`` each field read from the document to where and how surely."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    company: str | None = None
    ticker: str | None = None
    cik: str | None = None
    file_number: str | None = None
    form: str | None = None
    fiscal_year: int | None = Field(default=None, ge=1900, le=2200)
    fiscal_period: FiscalPeriod | None = None
    period_end: date | None = None
    filed_at: date | None = None
    sources: dict[str, str] = Field(default_factory=dict)  # field -> document | override | sidecar
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)

    def filing_fields(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~core.records.Filing`.

        ``sources`` becomes ``metadata_source`` and ``evidence`` ``metadata_evidence``.
        """
        data = self.model_dump(exclude={"sources", "evidence"})
        data["metadata_source"] = dict(self.sources)
        data["metadata_evidence"] = {k: v.model_copy() for k, v in self.evidence.items()}
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
# weighing clues


def _agree(field: str, a: Any, b: Any) -> bool:
    if field == "company":
        return fm.same_name(a, b)
    if field == "fiscal_year_end":
        return _fye_month(a) == _fye_month(b)
    return a == b


def _support(group: list[Clue]) -> float:
    """Noisy-OR over the group's rules; repeats of one rule are one reading, not several."""
    best: dict[str, float] = {}
    for clue in group:
        best[clue.rule] = max(best.get(clue.rule, 0.0), clue.confidence)
    return 1.0 - math.prod(1.0 - c for c in best.values())


def decide(field: str, clues: list[Clue]) -> Clue | None:
    """The best-supported value of ``field`` among ``clues``, as one clue whose ``rule`` lists
    the agreeing rules ("registrant-caption+identity-block") and whose ``confidence`` is the
    combined support less half the best disagreeing value's; None when there is no clue."""
    groups: list[list[Clue]] = []
    for clue in sorted((c for c in clues if c.field == field), key=lambda c: -c.confidence):
        for group in groups:
            if _agree(field, group[0].value, clue.value):
                group.append(clue)
                break
        else:
            groups.append([clue])
    if not groups:
        return None
    ranked = sorted(groups, key=_support, reverse=True)
    runner_up = _support(ranked[1]) if len(ranked) > 1 else 0.0
    confidence = max(0.0, _support(ranked[0]) - 0.5 * runner_up)
    top = ranked[0][0]
    if field == "company":
        # Agreeing names differ in how much they print ("Acme" in a headline, "Acme Corp." in
        # the dateline): keep the fullest one a strong reading gives, so that every filing of a
        # company carries the same registered name.
        strong = [c for c in ranked[0] if c.confidence >= 0.6] or [top]
        top = max(strong, key=lambda c: (len(fm.name_key(c.value)), len(c.value), c.confidence))
    rules = "+".join(dict.fromkeys(c.rule for c in ranked[0]))
    if len(ranked) > 1:
        logger.info(
            "metadata %s: %r (%s) over %r (%s)",
            field,
            top.value,
            rules,
            ranked[1][0].value,
            ranked[1][0].rule,
        )
    return Clue(field, top.value, rules, round(confidence, 3), top.line, top.quote)


def _derived(field: str, value: Any, rule: str, confidence: float, basis: Clue | None) -> Clue:
    """A value computed from other readings: it quotes the reading it rests on."""
    line, quote = (basis.line, basis.quote) if basis else (None, "")
    return Clue(field, value, rule, round(confidence, 3), line, quote)


def _both(a: float, b: float) -> float:
    """Two independent readings that agree."""
    return 1.0 - (1.0 - a) * (1.0 - b)


# ---------------------------------------------------------------------------------------------
# fiscal calendar


def _fye_month(value: tuple[int, int]) -> int:
    """The month a fiscal year closes, from its (month, day) end."""
    return fm.closing_month(*value)


def _quarter_of(period_month: int, fye_month: int) -> int | None:
    quarter = ((period_month - fye_month) % 12) / 3
    return (
        round(quarter)
        if abs(quarter - round(quarter)) < 0.34 and 1 <= round(quarter) <= 3
        else None
    )


def _annual_year(period_end: Clue | None, lines: list[Line], file_name: str) -> Clue | None:
    label = fm.leading_fiscal_label(lines)
    if period_end is None:
        if label is None:
            return None
        return _derived("fiscal_year", label.value, "fiscal-label", 0.6, label)
    year, month = fm.snap_to_month_end(period_end.value)
    if label is not None and label.value == year:
        conf = _both(period_end.confidence, label.confidence)
        return _derived("fiscal_year", year, "period-end+fiscal-label", conf, period_end)
    if label is not None and label.value == year - 1 and month <= 3:
        # The year is named by its start: most of it lies in the previous calendar year.
        conf = min(period_end.confidence, _both(label.confidence, 0.5))
        return _derived("fiscal_year", year - 1, "fiscal-label-start-year", conf, label)
    if label is not None:
        logger.info(
            "%s: fiscal label %d disagrees with the period end (%d); kept the dates",
            file_name,
            label.value,
            year,
        )
    return _derived("fiscal_year", year, "period-end", period_end.confidence, period_end)


def _quarterly(
    period_end: Clue | None, lines: list[Line], file_name: str
) -> tuple[Clue | None, Clue | None]:
    """(fiscal_year, fiscal_period) of a 10-Q from the fiscal calendar the document prints."""
    fye = decide("fiscal_year_end", fm.fiscal_year_end_clues(lines))
    headers = fm.statement_quarter(lines)
    year_clue: Clue | None = None
    quarter_clue: Clue | None = None
    if period_end is not None:
        period_year, period_month = fm.snap_to_month_end(period_end.value)
        basis: Clue | None = None
        if fye is not None and (q := _quarter_of(period_month, _fye_month(fye.value))):
            basis, rule, quarter, fye_month = fye, "fiscal-calendar", q, _fye_month(fye.value)
            confidence = min(period_end.confidence, fye.confidence)
            if headers is not None and headers.value == quarter:
                confidence = _both(confidence, headers.confidence)
            elif headers is not None:
                confidence -= 0.5 * headers.confidence
        elif headers is not None:
            # No fiscal-year end printed: it is the period end less the quarters counted.
            basis, rule, quarter = headers, "statement-headers", headers.value
            fye_month = (period_month - 3 * quarter - 1) % 12 + 1
            confidence = 0.9 * min(period_end.confidence, headers.confidence)
        if basis is not None:
            year = period_year + (1 if fye_month < period_month else 0)
            year_clue = _derived("fiscal_year", year, rule, confidence, basis)
            quarter_clue = _derived("fiscal_period", f"Q{quarter}", rule, confidence, basis)
    elif headers is not None:
        quarter_clue = _derived(
            "fiscal_period", f"Q{headers.value}", "statement-headers", 0.7, headers
        )
    if quarter_clue is not None:
        year_clue = _with_quarter_label(
            year_clue, int(quarter_clue.value[1]), fye, lines, file_name
        )
    return year_clue, quarter_clue


def _with_quarter_label(
    year_clue: Clue | None, quarter: int, fye: Clue | None, lines: list[Line], file_name: str
) -> Clue | None:
    """Check (or, without dates, supply) the fiscal year with the document's own name for this
    quarter's year: "second quarter of fiscal 2023". Labels of other quarters are not read: a
    report names past quarters ("the fourth quarter of fiscal 2022") as often as its own."""
    labels = [(y, line, words) for q, y, line, words in fm.quarter_labels(lines) if q == quarter]
    if not labels:
        return year_clue
    counts = Counter(y for y, _, _ in labels)
    label = max(counts, key=lambda y: (counts[y], y))
    line, words = next((ln, w) for y, ln, w in labels if y == label)
    basis = Clue.of("fiscal_year", label, "quarter-label", line, words)
    if year_clue is None:
        return _derived("fiscal_year", label, "quarter-label", 0.7, basis)
    if label == year_clue.value:
        confidence = _both(year_clue.confidence, basis.confidence)
        return _derived(
            "fiscal_year", label, f"{year_clue.rule}+quarter-label", confidence, year_clue
        )
    if label == year_clue.value - 1 and fye is not None and _fye_month(fye.value) <= 3:
        # The year is named by its start: most of it lies in the previous calendar year.
        return _derived(
            "fiscal_year", label, "quarter-label-start-year", year_clue.confidence, basis
        )
    logger.info(
        "%s: quarter label %d disagrees with the fiscal calendar (%d); kept the calendar",
        file_name,
        label,
        year_clue.value,
    )
    return year_clue


# ---------------------------------------------------------------------------------------------
# extraction


def extract_metadata(
    doc: ParsedDocument, file_name: str, min_confidence: float = MIN_CONFIDENCE
) -> FilingMetadata:
    """Read company, ticker, CIK, file number, form, fiscal year/period, period end and release
    date from the document's first pages.

    Args:
        doc: the parsed document (its first :data:`~ingest.front_matter.BODY_PAGES` pages are
            read).
        file_name: used only in log messages; it never supplies a value.
        min_confidence: values read less surely than this are left ``None``.

    Returns:
        The metadata; ``sources`` says ``"document"`` for every set field and ``evidence`` holds
        the rule, page, element, words and confidence behind it.
    """
    lines = fm.front_lines(doc)
    clues: list[Clue] = fm.form_clues(lines)
    release = [] if clues else release_clues(lines)
    clues += release
    form_clue = decide("form", clues)
    form = form_clue.value if form_clue else None
    is_release = form == "earnings-release"

    clues += fm.registrant_clues(lines) + fm.identity_block_clues(lines)
    clues += fm.self_name_clues(lines)
    names = list(dict.fromkeys(c.value for c in clues if c.field == "company"))
    clues += fm.mention_clues(lines, names)
    clues += fm.ticker_clues(doc, lines, release=is_release)
    clues += fm.identifier_clues(lines)
    if form == "8-K":
        clues += fm.report_date_clues(lines)
    elif not is_release:
        clues += fm.period_end_clues(lines, form)

    decided: dict[str, Clue] = {"form": form_clue} if form_clue else {}
    for field in ("company", "ticker", "cik", "file_number", "period_end", "filed_at"):
        if (clue := decide(field, clues)) is not None:
            decided[field] = clue
    period_end = decided.get("period_end")

    year: Clue | None = None
    period: Clue | None = None
    if form in _ANNUAL_FORMS:
        year = _annual_year(period_end, lines, file_name)
        period = _derived("fiscal_period", "FY", "annual-report", form_clue.confidence, form_clue)  # type: ignore[union-attr]
    elif form in _QUARTERLY_FORMS:
        year, period = _quarterly(period_end, lines, file_name)
    elif form == "8-K":
        report = decide("report_date", clues) or period_end
        if report is not None:
            year = _derived(
                "fiscal_year", report.value.year, "date-of-report-year", report.confidence, report
            )
    elif is_release:
        year = decide("fiscal_year", clues)
        period = decide("fiscal_period", clues)
    if year is not None:
        decided["fiscal_year"] = year
    if period is not None:
        decided["fiscal_period"] = period

    values: dict[str, Any] = {}
    evidence: dict[str, FieldEvidence] = {}
    for field, clue in decided.items():
        if clue.confidence < min_confidence:
            logger.info(
                "%s: metadata %s %r read by %s at confidence %.2f < %.2f; left unset",
                file_name,
                field,
                clue.value,
                clue.rule,
                clue.confidence,
                min_confidence,
            )
            continue
        values[field] = clue.value
        evidence[field] = _evidence(clue)
    meta = FilingMetadata(**values, sources=dict.fromkeys(values, "document"), evidence=evidence)
    missing = [f for f in ("company", "form", "fiscal_year") if getattr(meta, f) is None]
    if missing:
        logger.info("%s: metadata not found in the document: %s", file_name, ", ".join(missing))
    return meta


def _evidence(clue: Clue) -> FieldEvidence:
    text = clue.quote or (clue.line.text if clue.line else "")
    if len(text) > _QUOTE_CHARS:
        text = text[: _QUOTE_CHARS - 1].rstrip() + "…"
    return FieldEvidence(
        rule=clue.rule,
        confidence=min(1.0, max(0.0, clue.confidence)),
        page=clue.line.page if clue.line else None,
        element=clue.line.index if clue.line else None,
        text=text,
    )


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
