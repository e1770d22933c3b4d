"""Which filings a question is about: company, period and form, resolved against the catalog.

Contract: :func:`resolve` takes a question, the catalog's filings (``Catalog.filings(acl_groups)``),
optionally the earlier questions of the conversation, and returns a :class:`Resolution`: the
matched companies, periods and forms, the ``doc_ids`` that satisfy them, :class:`SearchFilters`
ready for the index, a one-line ``scope`` for the user, the ``ambiguities`` it met (reported, never
silently decided), one sub-question per period or company of a comparison, and the text spans it
read. It never raises on odd input: what it cannot read it leaves unrestricted and says so.

Companies and tickers: see :mod:`retrieval.resolver.companies` (names without legal suffixes,
possessives, squashed spellings, a strict ticker rule, fuzzy matching only as a reported last
resort).

Periods, dates and forms: see :mod:`retrieval.resolver.periods` (what the words name).

Which filings a period selects: see :mod:`retrieval.resolver.filings`.

Conversation: a question that names no company inherits the company (and a named form) from the
most recent earlier question that resolved one; it also inherits that question's periods when it
names none, or when it starts like a follow-up ("and ...", "what about ...", "how about ...").
Relative shifts ("and the year before?") apply to the inherited periods.

Filters: ``filters.doc_ids`` lists the selected filings (the strongest filter; a chunk's filing
fields can be missing, its doc id cannot); the other fields of :class:`SearchFilters` are left
empty so that a filing with an unknown year is not silently excluded.

Speed: the alias tables are built once per catalog (cached by the filings' contents); a question
resolves in well under a millisecond against 100 filings (see tests/retrieval/test_resolver.py).

Example:
    >>> r = resolve("What drove Boeing's FY2022 margins?", catalog.filings())  # doctest: +SKIP
    >>> r.scope, r.filters.doc_ids  # doctest: +SKIP
    ('Searched Boeing FY2022 10-K', ['9f2c...'])
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from core.records import Filing, MatchedSpan, Resolution, SearchFilters, SpanKind, SubQuestion
from retrieval.resolver.companies import CompanyIndex, Entity
from retrieval.resolver.filings import (
    _allowed,
    _calendar_years,
    _filing_period,
    _latest,
    _Leg,
    _scope_label,
    _select,
    _unique,
    filing_label,
)
from retrieval.resolver.periods import (
    _FORM_SHOWN,
    EVENT_FORMS,
    _forms_set,
    _parse_forms,
    _parse_periods,
    _Parsed,
    _Period,
    _period_order,
)

logger = logging.getLogger(__name__)


MAX_SUB_QUESTIONS = 12
HISTORY_TURNS = 8


# --------------------------------------------------------------------------------------------
# Reading the question


_FOLLOWUP = re.compile(
    r"^\s*(?:and\b|what\s+about\b|how\s+about\b|what\s+of\b|same\s+(?:for|question)\b|now\s+for\b)",
    re.IGNORECASE,
)


def _parse(q: str, companies: CompanyIndex) -> _Parsed:
    out = _Parsed()
    out.matches, out.company_notes = companies.find(q)
    for cm in out.matches:
        kind: SpanKind = "ticker" if cm.how.startswith("ticker") else "company"
        out.spans.append(
            MatchedSpan(
                start=cm.start, end=cm.end, text=cm.text, kind=kind, value=cm.entity.display
            )
        )
    _parse_forms(q, out)
    _parse_periods(q, out)
    out.followup = bool(_FOLLOWUP.match(q))
    out.spans.sort(key=lambda s: s.start)
    return out


# --------------------------------------------------------------------------------------------
# Catalog view, cached per catalog contents


@dataclass(frozen=True)
class _View:
    """A catalog's filings and the company index built from them (never changed once built)."""

    filings: list[Filing]
    companies: CompanyIndex


@dataclass(frozen=True)
class _Catalog:
    """Filings that hash and compare by the fields the resolver reads, not by object identity.

    So the same catalog read again (new :class:`Filing` objects) finds the view built before; the
    filings themselves ride along to build it and take no part in the comparison.
    """

    contents: tuple[tuple, ...]
    filings: tuple[Filing, ...] = field(compare=False)


def _view(filings: list[Filing]) -> _View:
    contents = tuple(
        (
            f.doc_id,
            f.company,
            f.ticker,
            f.form,
            f.fiscal_year,
            f.fiscal_period,
            f.period_end,
            f.filed_at,
        )
        for f in filings
    )
    return _built_view(_Catalog(contents, tuple(filings)))


# A process sees few catalogs (one per data dir and reader's groups); building one's index costs
# far more than resolving a question against it.
@lru_cache(maxsize=8)
def _built_view(catalog: _Catalog) -> _View:
    filings = list(catalog.filings)
    return _View(filings, CompanyIndex(filings))


# --------------------------------------------------------------------------------------------
# Resolution


@dataclass
class _State:
    """What the conversation has resolved so far."""

    entities: list[Entity] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    periods: dict[str | None, list[_Period]] = field(default_factory=dict)  # entity key -> periods


def _concretise(
    parsed: _Parsed,
    pool: list[Filing],
    forms: set[str] | None,
    base: list[_Period],
    today: date | None,
) -> tuple[list[_Period], bool]:
    """The concrete periods for one company; the bool says whether they shift the inherited ones."""
    pool = _allowed(pool, forms) or pool
    explicit = list(parsed.periods)
    periods = list(explicit)
    anchor = explicit or base
    shifted_base = False
    for rel in parsed.rels:
        if rel.kind in ("latest-year", "latest-quarter", "latest"):
            p = _latest(pool, rel.kind, today)
            if p:
                periods.append(p)
        elif rel.kind == "last-n":
            p = _latest(pool, "latest-year", today)
            if p:
                periods.extend(_Period(y) for y in range(p.year - rel.n + 1, p.year + 1))
        elif rel.kind in ("prev-year", "next-year"):
            step = -1 if rel.kind == "prev-year" else 1
            src = anchor or [p for p in [_latest(pool, "latest-year", today)] if p]
            periods.extend(p.shifted(step) for p in src)
            shifted_base = not explicit and bool(base)
        elif rel.kind == "prev-quarter":
            src = [p for p in anchor if len(p.quarters) == 1] or [
                p for p in [_latest(pool, "latest-quarter", today)] if p
            ]
            for p in src:
                q = p.quarters[0] - 1
                periods.append(_Period(p.year - 1, (4,)) if q == 0 else _Period(p.year, (q,)))
            shifted_base = not explicit and bool(base)
        elif rel.kind == "quarter":
            years = [p.year for p in anchor]
            if not years:
                latest = _latest(pool, "latest", today)
                years = [latest.year] if latest else []
            periods.extend(_Period(y, (rel.n,)) for y in dict.fromkeys(years))
            shifted_base = not explicit and bool(base)
    if parsed.yoy:
        years = {p.year for p in periods}
        if not periods:
            p = _latest(pool, "latest-year", today)
            if p:
                periods = [p, p.shifted(-1)]
        elif len(years) == 1:
            periods.extend(p.shifted(-1) for p in list(periods))
    return sorted(dict.fromkeys(periods), key=_period_order), shifted_base


_CONNECT = re.compile(
    r"\x00(?:\s*(?:,|and|or|to|-|\u2013|through|vs\.?|versus|compared?\s+(?:to|with)|against|&)\s*\x00)+",
    re.IGNORECASE,
)


def _sub_text(
    question: str, spans: list[MatchedSpan], label: str, company: str | None, many_companies: bool
) -> str:
    text = question
    for s in sorted(
        (s for s in spans if s.kind in ("period", "date")), key=lambda s: s.start, reverse=True
    ):
        text = text[: s.start] + "\x00" + text[s.end :]
    text = _CONNECT.sub("\x00", text)
    text = re.sub(r"\b(?:between|from)\s+\x00", "in \x00", text, flags=re.IGNORECASE)
    if "\x00" in text:
        text = text.replace("\x00", label, 1).replace("\x00", "")
        suffix = ""
    else:
        suffix = f" ({label})"
    text = re.sub(r"\s+", " ", text).strip()
    if many_companies and company:
        suffix = f" ({company}{', ' + label if suffix else ''})"
    if suffix:
        end = text[-1] if text and text[-1] in "?.!" else ""
        text = text.rstrip("?.!") + suffix + end
    return text


def resolve(
    question: str,
    filings: list[Filing],
    history: list[str] | None = None,
    today: date | None = None,
) -> Resolution:
    """Resolve the companies, periods and forms of ``question`` against the catalog's ``filings``.

    Args:
        question: the user's question, as typed.
        filings: the searchable filings the user may read (``Catalog.filings(acl_groups)``).
        history: earlier questions of the conversation, oldest first; follow-ups inherit from them.
        today: anchors relative periods only when no filing carries a fiscal year.

    Returns:
        A :class:`Resolution`; ``filters`` is empty when nothing was recognised.

    Example:
        >>> turns = ["Boeing sales FY2022?"]
        >>> r = resolve("and the year before?", filings, history=turns)  # doctest: +SKIP
        >>> r.periods, r.inherited  # doctest: +SKIP
        (['FY2021'], ['company', 'period'])
    """
    view = _view(filings)
    state = _State()
    for turn in (history or [])[-HISTORY_TURNS:]:
        _, state = _resolve(turn, view, state, today)
    res, _ = _resolve(question, view, state, today)
    return res


def _resolve(
    question: str, view: _View, state: _State, today: date | None
) -> tuple[Resolution, _State]:
    parsed = _parse(question, view.companies)
    notes = list(parsed.company_notes)
    ambiguities: list[str] = []
    inherited: list[str] = []
    fuzzy = [m for m in parsed.matches if m.how == "fuzzy"]
    if fuzzy:
        ambiguities.extend(parsed.company_notes)
        notes = []

    entities: list[Entity] = list(dict.fromkeys(m.entity for m in parsed.matches))
    company_conf = min((m.confidence for m in parsed.matches), default=0.0)
    tickers_seen: dict[str, list[Entity]] = {}
    for m in parsed.matches:
        if m.how.startswith("ticker"):
            tickers_seen.setdefault(m.text, []).append(m.entity)
    for text, ents in tickers_seen.items():
        if len(set(ents)) > 1:
            ambiguities.append(
                f"'{text}' is the ticker of {len(set(ents))} companies: "
                + ", ".join(e.display for e in dict.fromkeys(ents))
            )
    if not entities and state.entities:
        entities = list(state.entities)
        inherited.append("company")
        company_conf = 0.8
    forms = list(parsed.forms)
    if not forms and "company" in inherited and state.forms:
        forms = list(state.forms)
        inherited.append("form")
    form_set = _forms_set(forms)

    named_period = bool(parsed.periods or parsed.dates or parsed.rels or parsed.yoy)
    carry_periods = (
        not named_period and ("company" in inherited or parsed.followup) and state.periods
    )

    # Concrete periods per company (relative periods differ between companies).
    targets: list[Entity | None] = entities or [None]
    per_target: dict[Entity | None, list[_Period]] = {}
    shifted_any = False
    for ent in targets:
        pool = ent.filings if ent else view.filings
        base = state.periods.get(ent.key if ent else None) or next(iter(state.periods.values()), [])
        if carry_periods:
            per_target[ent] = sorted(base, key=_period_order)
        else:
            per_target[ent], shifted = _concretise(parsed, pool, form_set, base, today)
            shifted_any = shifted_any or shifted
    if carry_periods or shifted_any:
        inherited.append("period")  # carried over, or shifted from the conversation's last period

    # Select filings per company and period.
    legs: list[_Leg] = []
    selected: list[Filing] = []
    dropped_period: list[str] = []
    for ent in targets:
        pool = ent.filings if ent else view.filings
        periods = per_target[ent]
        if periods or parsed.dates:
            ent_legs = _select(
                ent,
                pool,
                periods,
                parsed.dates if not carry_periods else [],
                form_set,
                notes,
                ambiguities,
            )
            legs.extend(ent_legs)
            got = _unique([f for leg in ent_legs for f in leg.filings])
            if not got and ent is not None:
                fallback = _allowed(pool, form_set) or pool
                got = _unique(fallback)
                dropped_period.append(ent.display)
            selected.extend(got)
            for leg in ent_legs:
                if leg.period is not None and len(leg.filings) > 1 and ent is not None:
                    ambiguities.append(
                        f"'{ent.display} {leg.period.label}' matches {len(leg.filings)} filings: "
                        + ", ".join(filing_label(f) for f in _unique(leg.filings))
                        + "; searched all of them"
                    )
        elif ent is not None:
            got = _allowed(pool, form_set)
            if form_set and not got and form_set & {"earnings-release"}:
                got = _allowed(pool, set(EVENT_FORMS))
                if got:
                    notes.append(
                        f"{ent.display} has no separate earnings release: searched its 8-K filings"
                    )
            if form_set and not got:
                notes.append(
                    f"{ent.display} has no {'/'.join(_FORM_SHOWN.get(f, f) for f in forms)} "
                    "in the index: form dropped"
                )
                got = pool
            got = _unique(got)
            if len(got) > 1:
                ambiguities.append(
                    f"'{ent.display}' matches {len(got)} filings: "
                    + ", ".join(filing_label(f) for f in got)
                    + "; searched all of them"
                )
            selected.extend(got)
            legs.append(_Leg(ent, None, got))
        elif form_set:
            got = _unique(_allowed(pool, form_set))
            selected.extend(got)
            legs.append(_Leg(None, None, got))
    selected = _unique(selected)

    # Describe.
    dated = [p for leg in legs if leg.dated for f in leg.filings if (p := _filing_period(f))]
    all_periods = sorted(
        dict.fromkeys([p for ps in per_target.values() for p in ps] + dated), key=_period_order
    )
    fiscal_years = sorted(
        {
            y
            for p in all_periods
            for y in (
                [p.year]
                if not p.calendar
                else _calendar_years(targets[0] if len(targets) == 1 else None, p.year)[0]
            )
        }
    )
    fiscal_periods = list(
        dict.fromkeys(
            fp
            for p in all_periods
            for fp in (["FY"] if not p.quarters else [f"Q{q}" for q in p.quarters])
        )
    )
    shown_forms = [_FORM_SHOWN.get(f, f) for f in forms]
    if not forms and any(p.quarters for p in all_periods):
        shown_forms = ["10-Q", "earnings-release"]

    company_names = [n for e in entities for n in e.names]
    tickers = [t for e in entities for t in e.tickers]
    if not entities and (all_periods or form_set or parsed.dates) and selected:
        owners = list(dict.fromkeys(f.company or "an unnamed company" for f in selected))
        if len(owners) > 1:
            ambiguities.append(
                f"no company named: the period/form matches filings of {len(owners)} companies ("
                + ", ".join(owners[:6])
                + ("..." if len(owners) > 6 else "")
                + ")"
            )

    period_conf = 1.0
    if not (parsed.periods or parsed.dates) and parsed.rels:
        period_conf = 0.85
    if "period" in inherited:
        period_conf = min(period_conf, 0.8)
    if dropped_period:
        period_conf = 0.5
    if not all_periods and not parsed.dates:
        period_conf = 0.0
    if entities:
        confidence = company_conf if period_conf == 0.0 else min(company_conf, period_conf)
    elif selected:
        confidence = 0.4 * max(period_conf, 0.5)
    else:
        confidence = 0.0

    filters = SearchFilters(doc_ids=[f.doc_id for f in selected]) if selected else SearchFilters()
    n_all = len(view.filings)
    if not selected:
        what = (
            "No company or period recognised"
            if not (entities or all_periods or form_set)
            else "Nothing in the index matches the company, period or form"
        )
        scope = f"{what}: searched all {n_all} filings"
    elif entities:
        parts = []
        for ent in entities:
            mine = [f for f in selected if f.doc_id in ent.doc_ids]
            prefix = (
                f"all {ent.display} filings (period not in the index)"
                if ent.display in dropped_period
                else ent.display
            )
            if ent.display in dropped_period:
                parts.append(f"{prefix}: " + ", ".join(_scope_label(f) for f in mine))
            else:
                parts.append(f"{prefix} " + ", ".join(_scope_label(f) for f in mine))
        scope = "Searched " + "; ".join(parts)
    else:
        listed = ", ".join(f"{_company_shown(f, view)} {_scope_label(f)}" for f in selected[:4])
        more = f" and {len(selected) - 4} more" if len(selected) > 4 else ""
        scope = (
            f"No company recognised: searched {len(selected)} of {n_all} filings ({listed}{more})"
        )

    # Sub-questions: one per company and period when the question compares.
    subs: list[SubQuestion] = []
    period_legs = [leg for leg in legs if leg.period is not None]
    many_companies = len(entities) > 1
    if len({leg.period for leg in period_legs}) > 1 or (many_companies and legs):
        for leg in (period_legs if period_legs else legs)[:MAX_SUB_QUESTIONS]:
            ent_name = leg.entity.display if leg.entity else None
            docs = _unique(leg.filings) or [
                f for f in selected if leg.entity and f.doc_id in leg.entity.doc_ids
            ]
            label = leg.period.label if leg.period else ""
            text = (
                _sub_text(question, parsed.spans, label, ent_name, many_companies)
                if label
                else (f"{question.rstrip('?. ')} ({ent_name})?")
            )
            subs.append(
                SubQuestion(
                    text=text,
                    company=ent_name,
                    period=label or None,
                    fiscal_years=[leg.period.year] if leg.period else [],
                    fiscal_periods=(
                        ["FY"]
                        if leg.period and not leg.period.quarters
                        else [f"Q{q}" for q in leg.period.quarters]
                        if leg.period
                        else []
                    ),
                    doc_ids=[f.doc_id for f in docs],
                    filters=SearchFilters(doc_ids=[f.doc_id for f in docs]),
                )
            )

    res = Resolution(
        question=question,
        companies=company_names,
        tickers=tickers,
        doc_ids=[f.doc_id for f in selected],
        fiscal_years=fiscal_years,
        fiscal_periods=fiscal_periods,
        periods=[p.label for p in all_periods],
        forms=shown_forms,
        filters=filters,
        scope=scope,
        ambiguities=list(dict.fromkeys(ambiguities)),
        notes=list(dict.fromkeys(notes)),
        inherited=inherited,
        sub_questions=subs,
        confidence=round(confidence, 3),
        matched_text=parsed.spans,
    )
    logger.debug("resolved %r -> %s", question, scope)

    new_state = _State(
        entities=entities or state.entities,
        forms=list(parsed.forms) or (state.forms if "company" in inherited else []),
        periods={(e.key if e else None): ps for e, ps in per_target.items() if ps} or state.periods,
    )
    return res, new_state


def _company_shown(f: Filing, view: _View) -> str:
    for e in view.companies.entities:
        if f.doc_id in e.doc_ids:
            return e.display
    return f.company or "unknown company"
