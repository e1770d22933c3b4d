"""Which filings a question is about: company, period and form, resolved against the catalog.

Contract: :func:`resolve` takes a question, the catalog's filings (``Catalog.filings(acl_groups)``),
optionally the earlier questions of the conversation, and returns a :class:`Resolution`: the
matched companies, periods and forms, the ``doc_ids`` that satisfy them, :class:`SearchFilters`
ready for the index, a one-line ``scope`` for the user, the ``ambiguities`` it met (reported, never
silently decided), one sub-question per period or company of a comparison, and the text spans it
read. It never raises on odd input: what it cannot read it leaves unrestricted and says so.

Companies and tickers: see :mod:`retrieval.resolver.companies` (names without legal suffixes,
leading words, initialisms, possessives and plurals, squashed spellings, a strict ticker rule,
fuzzy matching only as a reported last resort). A mention that fits several companies is an
ambiguity: only its candidates are searched, and those without filings for the period asked are
dropped when another has some ("Adobe" in FY2015: Adobe Systems, not Adobe Inc.).

Periods, dates and forms: see :mod:`retrieval.resolver.periods` (what the words name).

Which filings a period selects: see :mod:`retrieval.resolver.filings`.

Conversation: a question that names no company inherits the company (and a named form) from the
most recent earlier question that resolved one; it also inherits that question's periods when it
names none, or when it starts like a follow-up ("and ...", "what about ...", "how about ...").
Relative shifts ("and the year before?") apply to the inherited periods.

Scope: "Searched <company> <filings>", each filing with why it stands for a period that is not
its own ("FY2022 10-K (comparatives for FY2021)", "FY2022 10-K (covers Q2 FY2022)"), read on the
company's fiscal calendar ("Q2 FY2023 10-Q (period ended 2022-12-31)") or undated.

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

from core.records import Filing, MatchedSpan, Resolution, SearchFilters, SubQuestion
from retrieval.resolver.companies import CompanyIndex, Entity
from retrieval.resolver.filings import (
    _allowed,
    _calendar_years,
    _concretise,
    _filing_period,
    _Leg,
    _scope_label,
    _select,
    _unique,
    filing_label,
    form_family,
    on_fiscal_calendar,
    period_unknown,
)
from retrieval.resolver.periods import (
    _FORM_SHOWN,
    EVENT_FORMS,
    _forms_set,
    _parse,
    _Parsed,
    _Period,
    _period_order,
)

logger = logging.getLogger(__name__)


MAX_SUB_QUESTIONS = 12
HISTORY_TURNS = 8


# --------------------------------------------------------------------------------------------
# Catalog view, cached per catalog contents


@dataclass(frozen=True)
class _View:
    """A catalog's filings and the company index built from them (never changed once built).

    ``filings`` (and each entity's) are read on their company's fiscal calendar
    (:func:`~retrieval.resolver.filings.on_fiscal_calendar`); ``calendar_notes`` says, per doc id,
    where that reading differs from the catalog.
    """

    filings: list[Filing]
    companies: CompanyIndex
    calendar_notes: dict[str, str] = field(default_factory=dict)


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
    companies = CompanyIndex(filings)
    read: dict[str, Filing] = {}
    notes: dict[str, str] = {}
    for ent in companies.entities:
        fixed, why = on_fiscal_calendar(ent.filings, ent.display)
        ent.filings = fixed
        read.update((f.doc_id, f) for f in fixed)
        notes.update(why)
    return _View([read.get(f.doc_id, f) for f in filings], companies, notes)


def company_index(filings: list[Filing]) -> CompanyIndex:
    """The company index of a catalog (built once per catalog contents, then cached).

    The app's scope filter and the resolver's scope text name companies through it, so one
    company has one display name everywhere.

    Example:
        >>> index = company_index(catalog.filings())  # doctest: +SKIP
        >>> sorted({index.display_name(f) for f in catalog.filings()})  # doctest: +SKIP
        ['Amcor', 'Boeing', 'Nike']
    """
    return _view(filings).companies


# --------------------------------------------------------------------------------------------
# Resolution: one question at a time, the conversation's state carried between them


@dataclass
class _State:
    """What the conversation has resolved so far."""

    entities: list[Entity] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    periods: dict[str | None, list[_Period]] = field(default_factory=dict)  # entity key -> periods


@dataclass
class _Report:
    """What the steps tell the user, in the order they meet it (the resolution keeps that order)."""

    notes: list[str] = field(default_factory=list)
    ambiguities: list[str] = field(default_factory=list)
    inherited: list[str] = field(default_factory=list)  # "company", "form", "period"


@dataclass
class _Ask:
    """The companies and forms a question is about, gaps filled from the conversation."""

    entities: list[Entity]
    company_confidence: float
    forms: list[str]  # as the question (or the conversation) names them: "annual", "10-Q"
    form_set: set[str] | None  # the catalog form families those accept; None: any form
    carry_periods: bool  # the conversation's periods apply unchanged
    # Mentions that fit several companies: the words and their candidates, in text order.
    candidates: list[tuple[str, list[Entity]]] = field(default_factory=list)
    # How a company was read when the user should know it (a guessed spelling, a candidate).
    readings: list[str] = field(default_factory=list)

    @property
    def targets(self) -> list[Entity | None]:
        """The companies to select for; None alone selects across the whole catalog."""
        return self.entities or [None]


@dataclass
class _Picked:
    """The filings selected, per leg and in all, and the companies whose period is not indexed."""

    legs: list[_Leg] = field(default_factory=list)
    selected: list[Filing] = field(default_factory=list)
    dropped_period: list[str] = field(default_factory=list)  # display names


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
    """One question after the conversation so far: its resolution and the state after it."""
    parsed = _parse(question, view.companies)
    report = _Report()
    entities, company_confidence, candidates = _named_companies(parsed, report)
    ask = _inherit(parsed, entities, company_confidence, state, report)
    ask.candidates = candidates
    ask.readings = [
        f"'{m.text}' read as {m.entity.display} (close spelling, confidence {m.confidence:.2f})"
        for m in parsed.matches
        if m.how == "fuzzy"
    ]
    per_target = _concretise_periods(parsed, ask, view, state, today, report)
    picked = _select_filings(parsed, ask, per_target, view, report)
    periods = _searched_periods(per_target, picked)
    report.notes.extend(
        view.calendar_notes[f.doc_id] for f in picked.selected if f.doc_id in view.calendar_notes
    )
    _report_many_owners(parsed, ask, picked, periods, report, view)
    scope = _scope_text(ask, picked, periods, view)
    res = Resolution(
        question=question,
        # Catalog spellings; a company known only by ticker or file name gives its display name.
        companies=[n for e in ask.entities for n in (e.names or [e.display])],
        tickers=[t for e in ask.entities for t in e.tickers],
        doc_ids=[f.doc_id for f in picked.selected],
        fiscal_years=_fiscal_years(periods, ask),
        fiscal_periods=_fiscal_periods(periods),
        periods=[p.label for p in periods],
        forms=_forms_shown(ask, periods),
        filters=(
            SearchFilters(doc_ids=[f.doc_id for f in picked.selected])
            if picked.selected
            else SearchFilters()
        ),
        scope=scope,
        ambiguities=list(dict.fromkeys(report.ambiguities)),
        notes=list(dict.fromkeys(report.notes)),
        inherited=report.inherited,
        sub_questions=_sub_questions(question, parsed, ask, picked),
        confidence=round(_confidence(parsed, ask, picked, periods, report), 3),
        matched_text=parsed.spans,
    )
    logger.debug("resolved %r -> %s", question, scope)
    return res, _next_state(parsed, ask, per_target, state, report)


def _named_companies(
    parsed: _Parsed, report: _Report
) -> tuple[list[Entity], float, list[tuple[str, list[Entity]]]]:
    """The companies the question names, the weakest reading's confidence, and the mentions that
    fit several companies (reported once the filings are picked: a period may settle them)."""
    if any(m.how == "fuzzy" for m in parsed.matches):
        # A guessed spelling is for the user to confirm, not a plain note.
        report.ambiguities.extend(parsed.company_notes)
    else:
        report.notes.extend(parsed.company_notes)
    entities: list[Entity] = list(dict.fromkeys(m.entity for m in parsed.matches))
    confidence = min((m.confidence for m in parsed.matches), default=0.0)
    by_span: dict[tuple[int, int], list[Entity]] = {}
    texts: dict[tuple[int, int], str] = {}
    for m in parsed.matches:
        by_span.setdefault((m.start, m.end), []).append(m.entity)
        texts[(m.start, m.end)] = m.text
    candidates = [
        (texts[span], list(dict.fromkeys(ents)))
        for span, ents in by_span.items()
        if len(set(ents)) > 1
    ]
    if candidates:
        confidence = min(confidence, 0.6)
    return entities, confidence, candidates


def _inherit(
    parsed: _Parsed, entities: list[Entity], confidence: float, state: _State, report: _Report
) -> _Ask:
    """What the question leaves out, taken from the conversation: company, form, whether periods."""
    if not entities and state.entities:
        entities = list(state.entities)
        report.inherited.append("company")
        confidence = 0.8
    forms = list(parsed.forms)
    if not forms and "company" in report.inherited and state.forms:
        forms = list(state.forms)
        report.inherited.append("form")
    named_period = bool(parsed.periods or parsed.dates or parsed.rels or parsed.yoy)
    carry_periods = (
        not named_period
        and ("company" in report.inherited or parsed.followup)
        and bool(state.periods)
    )
    return _Ask(entities, confidence, forms, _forms_set(forms), carry_periods)


def _concretise_periods(
    parsed: _Parsed,
    ask: _Ask,
    view: _View,
    state: _State,
    today: date | None,
    report: _Report,
) -> dict[Entity | None, list[_Period]]:
    """Concrete periods per company: relative ones ("latest year") differ between companies."""
    per_target: dict[Entity | None, list[_Period]] = {}
    shifted_any = False
    for ent in ask.targets:
        pool = ent.filings if ent else view.filings
        base = state.periods.get(ent.key if ent else None) or next(iter(state.periods.values()), [])
        if ask.carry_periods:
            per_target[ent] = sorted(base, key=_period_order)
        else:
            per_target[ent], shifted = _concretise(parsed, pool, ask.form_set, base, today)
            shifted_any = shifted_any or shifted
    if ask.carry_periods or shifted_any:
        # Carried over, or shifted from the conversation's last period.
        report.inherited.append("period")
    return per_target


def _select_filings(
    parsed: _Parsed,
    ask: _Ask,
    per_target: dict[Entity | None, list[_Period]],
    view: _View,
    report: _Report,
) -> _Picked:
    """Per company, the filings of its periods and dates, else of its named forms, else all.

    The candidates of an ambiguous mention ("Adobe": Adobe Inc. or Adobe Systems) that have no
    filing for the question's periods are dropped when another candidate has one; the ambiguity
    is reported with what was searched.
    """
    picks: dict[Entity | None, tuple[_Picked, _Report]] = {}
    for ent in ask.targets:
        one, said = _Picked(), _Report()
        pool = ent.filings if ent else view.filings
        if per_target[ent] or parsed.dates:
            _pick_periods(ent, pool, per_target[ent], parsed, ask, said, one)
        elif ent is not None:
            _pick_company(ent, pool, ask, said, one)
        elif ask.form_set:
            got = _unique(_allowed(pool, ask.form_set))
            one.selected.extend(got)
            one.legs.append(_Leg(None, None, got))
        picks[ent] = (one, said)
    _settle_candidates(ask, picks, report)
    picked = _Picked()
    for ent in ask.targets:
        one, said = picks[ent]
        picked.legs.extend(one.legs)
        picked.selected.extend(one.selected)
        picked.dropped_period.extend(one.dropped_period)
        report.notes.extend(said.notes)
        report.ambiguities.extend(said.ambiguities)
    picked.selected = _unique(picked.selected)
    return picked


def _settle_candidates(
    ask: _Ask, picks: dict[Entity | None, tuple[_Picked, _Report]], report: _Report
) -> None:
    """Drop candidates without filings for the period when others have some; report each mention."""
    named_alone = {e for e in ask.entities if not any(e in group for _, group in ask.candidates)}
    dropped: set[Entity] = set()
    for text, group in ask.candidates:
        found = [e for e in group if e in picks and not picks[e][0].dropped_period]
        kept = found if found and len(found) < len(group) else group
        dropped |= {e for e in group if e not in kept and e not in named_alone}
        names = ", ".join(e.display for e in group)
        if kept is group:
            report.ambiguities.append(
                f"'{text}' fits {len(group)} companies ({names}): searched all of them"
            )
            ask.readings.append(f"'{text}' fits {len(group)} companies")
        else:
            others = [e.display for e in group if e not in kept]
            ask.readings.append(
                f"'{text}' also fits {', '.join(others)}, with no filing for the period asked"
            )
            report.ambiguities.append(
                f"'{text}' fits {len(group)} companies ({names}): searched "
                + ", ".join(e.display for e in kept)
                + ", the only one"
                + ("s" if len(kept) > 1 else "")
                + " with filings for the period asked"
            )
    if dropped:
        ask.entities = [e for e in ask.entities if e not in dropped]
        for e in dropped:
            picks.pop(e, None)


def _pick_periods(
    ent: Entity | None,
    pool: list[Filing],
    periods: list[_Period],
    parsed: _Parsed,
    ask: _Ask,
    report: _Report,
    picked: _Picked,
) -> None:
    """One company's (or the catalog's) filings for its periods; all of them if none is indexed."""
    ent_legs = _select(
        ent,
        pool,
        periods,
        parsed.dates if not ask.carry_periods else [],
        ask.form_set,
        report.notes,
        report.ambiguities,
    )
    picked.legs.extend(ent_legs)
    got = _unique([f for leg in ent_legs for f in leg.filings])
    if not got and ent is not None:
        fallback = _allowed(pool, ask.form_set) or pool
        got = _unique(fallback)
        picked.dropped_period.append(ent.display)
    elif ent is not None:
        # A filing nothing dates cannot be ruled out by the period.
        undated = [
            f
            for f in pool
            if period_unknown(f)
            and f.doc_id not in {g.doc_id for g in got}
            and (ask.form_set is None or not f.form or form_family(f.form) in ask.form_set)
        ]
        if undated:
            got = _unique(got + undated)
            picked.legs.append(_Leg(ent, None, undated))
            report.notes.append(
                f"{len(undated)} {ent.display} filing{'s' if len(undated) > 1 else ''} "
                f"with no known period ({', '.join(f.file_name for f in undated)}): "
                "searched too"
            )
    picked.selected.extend(got)
    for leg in ent_legs:
        if leg.period is not None and len(leg.filings) > 1 and ent is not None:
            report.ambiguities.append(
                f"'{ent.display} {leg.period.label}' matches {len(leg.filings)} filings: "
                + ", ".join(filing_label(f) for f in _unique(leg.filings))
                + "; searched all of them"
            )


def _pick_company(
    ent: Entity, pool: list[Filing], ask: _Ask, report: _Report, picked: _Picked
) -> None:
    """A company named with no period: its filings of the named forms, else all of them."""
    form_set = ask.form_set
    got = _allowed(pool, form_set)
    if form_set and not got and form_set & {"earnings-release"}:
        got = _allowed(pool, set(EVENT_FORMS))
        if got:
            report.notes.append(
                f"{ent.display} has no separate earnings release: searched its 8-K filings"
            )
    if form_set and not got:
        report.notes.append(
            f"{ent.display} has no {'/'.join(_FORM_SHOWN.get(f, f) for f in ask.forms)} "
            "in the index: form dropped"
        )
        got = pool
    got = _unique(got)
    if len(got) > 1:
        report.ambiguities.append(
            f"'{ent.display}' matches {len(got)} filings: "
            + ", ".join(filing_label(f) for f in got)
            + "; searched all of them"
        )
    picked.selected.extend(got)
    picked.legs.append(_Leg(ent, None, got))


def _searched_periods(
    per_target: dict[Entity | None, list[_Period]], picked: _Picked
) -> list[_Period]:
    """Every period searched: the concrete ones, and those of the filings a date selected."""
    dated = [p for leg in picked.legs if leg.dated for f in leg.filings if (p := _filing_period(f))]
    return sorted(
        dict.fromkeys([p for ps in per_target.values() for p in ps] + dated), key=_period_order
    )


def _fiscal_years(periods: list[_Period], ask: _Ask) -> list[int]:
    targets = ask.targets
    return sorted(
        {
            y
            for p in periods
            for y in (
                [p.year]
                if not p.calendar
                else _calendar_years(targets[0] if len(targets) == 1 else None, p.year)[0]
            )
        }
    )


def _fiscal_periods(periods: list[_Period]) -> list[str]:
    return list(
        dict.fromkeys(
            fp
            for p in periods
            for fp in (["FY"] if not p.quarters else [f"Q{q}" for q in p.quarters])
        )
    )


def _forms_shown(ask: _Ask, periods: list[_Period]) -> list[str]:
    if not ask.forms and any(p.quarters for p in periods):
        return ["10-Q", "earnings-release"]
    return [_FORM_SHOWN.get(f, f) for f in ask.forms]


def _report_many_owners(
    parsed: _Parsed,
    ask: _Ask,
    picked: _Picked,
    periods: list[_Period],
    report: _Report,
    view: _View,
) -> None:
    """With no company named, a period or form that selects several companies' filings."""
    if ask.entities or not (periods or ask.form_set or parsed.dates) or not picked.selected:
        return
    owners = list(dict.fromkeys(_company_shown(f, view) for f in picked.selected))
    if len(owners) > 1:
        report.ambiguities.append(
            f"no company named: the period/form matches filings of {len(owners)} companies ("
            + ", ".join(owners[:6])
            + ("..." if len(owners) > 6 else "")
            + ")"
        )


def _confidence(
    parsed: _Parsed, ask: _Ask, picked: _Picked, periods: list[_Period], report: _Report
) -> float:
    period_conf = 1.0
    if not (parsed.periods or parsed.dates) and parsed.rels:
        period_conf = 0.85
    if "period" in report.inherited:
        period_conf = min(period_conf, 0.8)
    if picked.dropped_period:
        period_conf = 0.5
    if not periods and not parsed.dates:
        period_conf = 0.0
    company_conf = ask.company_confidence
    if ask.entities:
        return company_conf if period_conf == 0.0 else min(company_conf, period_conf)
    if picked.selected:
        return 0.4 * max(period_conf, 0.5)
    return 0.0


def _scope_text(ask: _Ask, picked: _Picked, periods: list[_Period], view: _View) -> str:
    """One line for the user: what was searched, or that everything was."""
    selected, dropped_period = picked.selected, picked.dropped_period
    n_all = len(view.filings)
    if not selected:
        what = (
            "No company or period recognised"
            if not (ask.entities or periods or ask.form_set)
            else "Nothing in the index matches the company, period or form"
        )
        return f"{what}: searched all {n_all} filings"
    if ask.entities:
        parts = []
        for ent in ask.entities:
            mine = [f for f in selected if f.doc_id in ent.doc_ids]
            prefix = (
                f"all {ent.display} filings (period not in the index)"
                if ent.display in dropped_period
                else ent.display
            )
            if ent.display in dropped_period:
                parts.append(f"{prefix}: " + ", ".join(_scope_label(f) for f in mine))
            else:
                parts.append(f"{prefix} " + ", ".join(_scope_entry(f, picked, view) for f in mine))
        return "Searched " + "; ".join(parts + list(dict.fromkeys(ask.readings)))
    listed = ", ".join(f"{_company_shown(f, view)} {_scope_label(f)}" for f in selected[:4])
    more = f" and {len(selected) - 4} more" if len(selected) > 4 else ""
    return f"No company recognised: searched {len(selected)} of {n_all} filings ({listed}{more})"


def _scope_entry(f: Filing, picked: _Picked, view: _View) -> str:
    """'FY2022 10-K', with why when it stands for other periods: 'FY2022 10-K (covers Q2 FY2022)'.

    A filing picked for a period it is not ("comparatives for FY2021": the prior-year columns of a
    later report; "covers Q2 FY2022": a year's annual report for one of its quarters), a filing
    whose period is unknown, and a filing read on its company's fiscal calendar say so.
    """
    own = _filing_period(f)
    covers: list[str] = []
    comparatives: list[str] = []
    for leg in picked.legs:
        p = leg.period
        if p is None or leg.dated or p.calendar or f not in leg.filings:
            continue
        if own is not None and (p.year, p.quarters) == (own.year, own.quarters):
            continue
        if own is None or p.year > own.year:
            continue
        if p.year < own.year:
            comparatives.append(p.label)
        elif not own.quarters:
            covers.append(p.label)
    why = []
    if comparatives:
        why.append("comparatives for " + ", ".join(dict.fromkeys(comparatives)))
    if covers:
        why.append("covers " + ", ".join(dict.fromkeys(covers)))
    if period_unknown(f):
        why.append(f"{f.file_name}: period unknown")
    elif form_family(f.form) in EVENT_FORMS and (f.period_end or f.filed_at):
        why.append(f"dated {(f.period_end or f.filed_at).isoformat()}")  # type: ignore[union-attr]
    if f.doc_id in view.calendar_notes and f.period_end:
        why.append(f"period ended {f.period_end.isoformat()}")
    return _scope_label(f) + (f" ({'; '.join(why)})" if why else "")


def _company_shown(f: Filing, view: _View) -> str:
    return view.companies.display_name(f) or "unknown company"


def _sub_questions(question: str, parsed: _Parsed, ask: _Ask, picked: _Picked) -> list[SubQuestion]:
    """One per company and period when the question compares periods or companies."""
    period_legs = [leg for leg in picked.legs if leg.period is not None]
    many_companies = len(ask.entities) > 1
    if not (len({leg.period for leg in period_legs}) > 1 or (many_companies and picked.legs)):
        return []
    return [
        _sub_question(question, parsed, leg, picked.selected, many_companies)
        for leg in (period_legs if period_legs else picked.legs)[:MAX_SUB_QUESTIONS]
    ]


def _sub_question(
    question: str, parsed: _Parsed, leg: _Leg, selected: list[Filing], many_companies: bool
) -> SubQuestion:
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
    return SubQuestion(
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


def _next_state(
    parsed: _Parsed,
    ask: _Ask,
    per_target: dict[Entity | None, list[_Period]],
    state: _State,
    report: _Report,
) -> _State:
    """What the next question inherits: this one's companies, forms and periods where it had any."""
    return _State(
        entities=ask.entities or state.entities,
        forms=list(parsed.forms) or (state.forms if "company" in report.inherited else []),
        periods={(e.key if e else None): ps for e, ps in per_target.items() if ps} or state.periods,
    )
