"""Reading a figure question: which metric, which periods, what judgement, which output format.

Contract: :func:`read_question` returns an :class:`Ask` for a question that asks for a metric or a
reported line item of a fiscal period (``None`` otherwise). The metric is the longest catalogue
alias in the question (metrics, then templates over a line item such as "change in inventories",
then plain line items); definitions the question states ("X is defined as: ...", "Define X as
...") are parsed into formulas over concepts and win over the catalogue's. Years are read from the
question without its definitions ("FY2019", "FY 2019", "fiscal 2019", "2019", "FY2016 to FY2018",
"between FY2021 and FY2022", "3 year average").

Why not the resolver's period parser: :mod:`retrieval.resolver.periods` reads periods to choose
filings (it needs the company index and returns filing filters); here the question's years are
operands of a formula, and ranges or "N year average" decide how many times it is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from agent.figures.catalog import CATALOG, Catalog, Judgement, Metric
from agent.figures.formulas import FormulaError, names, parse, snake

_I = re.IGNORECASE
_YEAR = r"(?:(?:FY|fiscal(?:\s+year)?)\s*['\u2019]?\s*)?((?:19|20)\d{2}|(?<=FY)\d{2})\b"
_YEAR_RE = re.compile(rf"\b{_YEAR}", _I)
_FY2 = re.compile(r"\bFY\s*['\u2019]?(\d{2})\b", _I)
_RANGE = re.compile(
    rf"\b(?:between\s+|from\s+)?{_YEAR}\s*(?:-|\u2013|\u2014|to|through|and)\s*{_YEAR}", _I
)
_QUARTER = re.compile(r"\bQ([1-4])\b", _I)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
_N_YEAR = re.compile(r"\b(two|three|four|five|[2-5])[\s-]*years?\b", _I)
_AVERAGE = re.compile(r"\baverage\b|\bavg\b|\bmean\b", _I)
_SENTENCES = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")
_DEFINITION = re.compile(
    r"^(?:(?:define|calculate|compute)\s+(?P<t1>.+?)\s+as\s*:?\s*|(?P<t2>.+?)\s+is\s+defined\s+as"
    r"\s*:?\s*)(?P<body>.+?)\.?$",
    _I,
)
_DECIMALS = re.compile(
    r"\bround(?:ed)?\b[^.?]*?\b(zero|one|two|three|four|no|\d)\s+decimals?(?:\s+places?)?", _I
)
_WHOLE = re.compile(r"\b(?:nearest|closest)\s+(?:whole\s+number|integer|dollar)\b", _I)
_SCALE = re.compile(
    r"\b(?:in\s+)?(?:units\s+of\s+)?(?:USD|US\$|\$|dollars)?\s*(thousands|millions|billions)\b", _I
)
_PERCENT_WISH = re.compile(
    r"\bunits\s+of\s+percents?\b|\bas\s+an?\s+(?:%|percent(?:age)?)|\bin\s+percent(?:age)?s?\b|"
    r"\(\s*%\s*\)|\bas\s+%",
    _I,
)
_YES_NO = re.compile(r"^\s*(?:is|are|was|were|does|do|did|has|have|can|could|will|would)\b", _I)
_BETTER = re.compile(r"\bimprov\w*|\bstrengthen\w*|\bdeteriorat\w*|\bworsen\w*|\bweaken\w*", _I)
_UP = re.compile(r"\bincreas\w*|\brising\b|\brose\b|\bgrow\w*|\bexpand\w*|\bhigher\b", _I)
_DOWN = re.compile(
    r"\bdecreas\w*|\bdeclin\w*|\bfall\w*|\bfell\b|\bdrop\w*|\blower\b|\bshrink\w*", _I
)
_POSITIVE = re.compile(r"\bpositive\b", _I)
_PAID = re.compile(r"\b(?:paid|pay|pays|paying|spent|spend|issued|repurchased|bought\s+back)\b", _I)
_NEGATIVE = re.compile(r"\bnegative\b", _I)
_FIGURE_CUE = re.compile(
    r"\bwhat\s+(?:is|was|were|are)\b|\bhow\s+(?:much|many)\b|\bamount\s+of\b|\bin\s+(?:USD|US\$)|"
    r"\bcompute\b|\bcalculate\b|\b(?:is|are|was|does|did|has)\b",
    _I,
)
_WORD_NUMBERS = {"zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4}
# Statement names inside a definition ("from the cash flow statement") are sources, not operands.
_SOURCE_WORDS = re.compile(
    r"(?:from\s+|in\s+|on\s+|per\s+)?(?:the\s+)?(?:cash\s+flows?\s+statements?|statements?\s+of\s+"
    r"(?:cash\s+flows?|income|operations|earnings|financial\s+position)|income\s+statements?|"
    r"balance\s+sheets?|p\s*&\s*l(?:\s+statement)?)",
    _I,
)
_PERIOD_WORDS = re.compile(
    rf"(?:between\s+{_YEAR}\s+and\s+{_YEAR}|(?:year[\s-]+end\s+)?{_YEAR}|year[\s-]+end)", _I
)
_OPERATORS = [
    (re.compile(r"divided\s+by\b|over\b|/", _I), "/"),
    (re.compile(r"multiplied\s+by\b|times\b|\*|\u00d7", _I), "*"),
    (re.compile(r"plus\b|\+", _I), "+"),
    (re.compile(r"minus\b|less\b|-(?=\s)|\u2212", _I), "-"),
    (re.compile(r"\("), "("),
    (re.compile(r"\)"), ")"),
]
_PERIOD_FN = re.compile(r"(?:the\s+)?(average|avg|change\s+in|prior(?:\s+year)?)\b(?:\s+of)?", _I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?![\w])")


@dataclass(frozen=True)
class Format:
    scale: float | None = None  # 1e3 / 1e6 / 1e9 when the question asks "in USD millions"
    decimals: int | None = None  # "round to two decimal places"
    percent: bool = False  # "in units of percents", "as a %"


@dataclass
class Ask:
    """What a figure question asks."""

    question: str
    metric: Metric
    item: str | None = None  # the line item of a template ("change in <inventories>")
    definitions: dict[str, str] = field(default_factory=dict)  # snake name -> formula
    years: list[int] = field(default_factory=list)  # ascending; the last is the asked year
    quarter: str | None = None  # "Q2"
    average: bool = False  # average of the metric over ``years``
    judgement: str | None = None  # "threshold" | "better" | "worse" | "up" | "down" | "reported"
    format: Format = field(default_factory=Format)

    @property
    def formula(self) -> str:
        """The metric's formula, with the item and a question-stated definition applied."""
        formula = self.definitions.get(self.metric.key, self.metric.formula)
        if self.item:
            formula = re.sub(r"\bitem\b", self.item, formula)
        return formula

    @property
    def rule(self) -> Judgement | None:
        if self.judgement != "threshold":
            return None
        if self.metric.judgement is not None:
            return self.metric.judgement
        if _NEGATIVE.search(self.question):
            return Judgement("<", 0.0, f"{self.metric.name} < 0 is negative")
        return Judgement(">", 0.0, f"{self.metric.name} > 0 is positive")


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    alias: str
    target: str  # metric name, template name or concept id


def _alias_pattern(alias: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in alias.split())
    return re.compile(rf"(?<![\w&]){body}(?![\w&])", _I)


def _index(catalog: Catalog) -> dict[str, list[tuple[re.Pattern[str], str, str]]]:
    out: dict[str, list[tuple[re.Pattern[str], str, str]]] = {"metric": [], "template": []}
    out["concept"] = []
    for metric in catalog.metrics.values():
        out["metric"] += [(_alias_pattern(a), a, metric.name) for a in metric.aliases]
    for template in catalog.templates.values():
        out["template"] += [(_alias_pattern(a), a, template.name) for a in template.aliases]
    for concept in catalog.concepts.values():
        out["concept"] += [(_alias_pattern(a), a, concept.id) for a in concept.aliases]
    return out


_INDEX = _index(CATALOG)


def _matches(text: str, kind: str) -> list[_Match]:
    found = [
        _Match(m.start(), m.end(), alias, target)
        for pattern, alias, target in _INDEX[kind]
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda m: (-(m.end - m.start), m.start, m.target))


def _longest(text: str, kind: str) -> _Match | None:
    found = _matches(text, kind)
    return found[0] if found else None


def _years(text: str) -> list[int]:
    out = []
    for match in _YEAR_RE.finditer(text):
        year = int(match.group(1))
        out.append(year + 2000 if year < 100 else year)
    return out


def definition_formula(body: str, catalog: Catalog = CATALOG) -> str | None:
    """A definition's words as a formula over concepts and metric names, or None.

    Example:
        >>> definition_formula("FY2019 revenue / (average PP&E between FY2018 and FY2019)")
        'revenue / avg(ppe_net)'
    """
    text = _SOURCE_WORDS.sub(" ", body)
    out: list[str] = []
    pending: str | None = None
    pos = 0
    aliases = [("concept", m) for m in _matches(text, "concept")]
    aliases += [("metric", m) for m in _matches(text, "metric")]
    while pos < len(text):
        if text[pos].isspace() or text[pos] in ",:;":
            pos += 1
            continue
        period = _PERIOD_WORDS.match(text, pos)
        if period and period.end() > pos:
            pos = period.end()
            continue
        here = [(k, m) for k, m in aliases if m.start == pos]
        if here:
            kind, match = max(here, key=lambda km: (km[1].end - km[1].start, km[0] == "metric"))
            name = match.target if kind == "concept" else catalog.metrics[match.target].key
            if pending and kind == "concept":
                name = f"{pending}({name})"
            out.append(name)
            pending = None
            pos = match.end
            continue
        fn = _PERIOD_FN.match(text, pos)
        if fn:
            word = fn.group(1).lower()
            pending = (
                "avg"
                if word in ("average", "avg")
                else "change"
                if word.startswith("change")
                else "prior"
            )
            pos = fn.end()
            continue
        operator = next(
            ((p.match(text, pos), s) for p, s in _OPERATORS if p.match(text, pos)), None
        )
        if operator:
            out.append(operator[1])
            pos = operator[0].end()
            continue
        number = _NUMBER.match(text, pos)
        if number:
            out.append(number.group(0))
            pos = number.end()
            continue
        word = re.compile(r"[^\s()/*+]+").match(text, pos)
        pos = word.end() if word else pos + 1
    formula = " ".join(out)
    while True:  # parentheses left empty by skipped words: "(from cash flow statement)"
        cleaned = re.sub(r"\(\s*\)", "", formula)
        if cleaned == formula:
            break
        formula = cleaned
    formula = re.sub(r"\s+", " ", formula).strip()
    if not formula:
        return None
    try:
        used = names(parse(formula))
    except FormulaError:
        return None
    known = set(catalog.concepts) | {m.key for m in catalog.metrics.values()}
    return formula if used and used <= known else None


def _definitions(question: str, catalog: Catalog) -> tuple[dict[str, str], list[str], str]:
    """Stated definitions by metric key, the defined terms, and the question without them."""
    found: dict[str, str] = {}
    terms: list[str] = []
    kept: list[str] = []
    for sentence in _SENTENCES.split(question):
        match = _DEFINITION.match(sentence.strip())
        if not match:
            kept.append(sentence)
            continue
        term = (match["t1"] or match["t2"]).strip()
        formula = definition_formula(match["body"], catalog)
        if formula is None:
            kept.append(sentence)  # an unparsed definition still names the metric
            continue
        metric = _longest(term, "metric")
        key = catalog.metrics[metric.target].key if metric else snake(term)
        found[key] = formula
        terms.append(term)
    return found, terms, " ".join(kept)


def _format(question: str) -> Format:
    scale = None
    match = _SCALE.search(question)
    if match:
        scale = {"thousands": 1e3, "millions": 1e6, "billions": 1e9}[match.group(1).lower()]
    decimals = None
    rounded = _DECIMALS.search(question)
    if rounded:
        word = rounded.group(1).lower()
        decimals = _WORD_NUMBERS.get(word, int(word) if word.isdigit() else None)
    elif _WHOLE.search(question):
        decimals = 0
    return Format(scale, decimals, bool(_PERCENT_WISH.search(question)))


def _judgement(text: str, metric: Metric, years: list[int]) -> str | None:
    if not _YES_NO.search(text) and "?" in text and not re.search(r"\bwhether\b", text, _I):
        return None
    if _BETTER.search(text) and len(years) >= 2:
        word = _BETTER.search(text).group(0).lower()
        return "better" if word.startswith(("improv", "strength")) else "worse"
    if len(years) >= 2 and (_UP.search(text) or _DOWN.search(text)):
        return "up" if _UP.search(text) else "down"
    if metric.judgement is not None or _POSITIVE.search(text) or _NEGATIVE.search(text):
        return "threshold"
    if (
        _YES_NO.search(text)
        and metric.template
        and ("growth" in metric.formula or "change" in metric.formula)
    ):
        return "up" if not _DOWN.search(text) else "down"  # "Did X grow its PP&E ...?"
    if _YES_NO.search(text) and _PAID.search(text) and metric.unit == "USD":
        return "reported"  # "Has X paid dividends in FY2022?"
    return None


def _custom(term: str, formula: str, question: str, catalog: Catalog) -> Metric:
    used = catalog.concepts_of(formula)
    flows = not re.search(r"[/*]", formula)
    unit = "percent" if "%" in question or "percent" in question.lower() else "ratio"
    if flows and used and unit == "ratio":
        unit = "USD"
    return Metric(name=term.lower(), aliases=(term.lower(),), formula=formula, unit=unit)


def read_question(
    question: str, catalog: Catalog = CATALOG, default_years: list[int] | None = None
) -> Ask | None:
    """What a figure question asks, or None when it is not one.

    Args:
        question: the analyst's question.
        default_years: the years a resolver read (used when the question names none).
    """
    definitions, terms, asked = _definitions(question, catalog)
    metric_match = _longest(asked, "metric")
    template_match = _longest(asked, "template")
    metric: Metric | None = None
    item: str | None = None
    if metric_match and (
        template_match is None
        or metric_match.end - metric_match.start >= template_match.end - template_match.start
    ):
        metric = catalog.metrics[metric_match.target]
    elif template_match:
        rest = asked[template_match.end :]
        concept = _longest(rest, "concept") or _longest(asked, "concept")
        if concept:
            metric, item = catalog.templates[template_match.target], concept.target
    if metric is None:
        for term in terms:  # a metric the catalogue does not know, defined by the question
            key = snake(term)
            if key in definitions and re.search(re.escape(term), asked, _I):
                metric = _custom(term, definitions[key], question, catalog)
                definitions[metric.key] = definitions[key]
                break
    if metric is None:
        concept = _longest(asked, "concept")
        if concept is None or not _FIGURE_CUE.search(asked):
            return None
        metric = Metric(
            name=concept.alias, aliases=(concept.alias,), formula=concept.target, unit="USD"
        )
        if concept.target.startswith("eps"):
            metric = Metric(metric.name, metric.aliases, metric.formula, unit="ratio")
    years, average = _periods(asked, metric, default_years or [])
    if not years:
        return None
    if len(years) == 1 and _YES_NO.search(asked) and _BETTER.search(asked):
        # "an improving margin profile as of FY2022": the year against the one before it
        years = [years[0] - 1, years[0]]
    quarter = _QUARTER.search(asked)
    wish = _format(question)
    percent = wish.percent or "%" in question or "percent" in question.lower()
    if metric.key in definitions and metric.unit == "percent" and not percent:
        # the analyst's own definition ("net income / average total assets") is a ratio unless
        # the question asks for a percent
        metric = replace(metric, unit="ratio")
    return Ask(
        question=question,
        metric=metric,
        item=item,
        definitions=definitions,
        years=years,
        quarter=f"Q{quarter.group(1)}" if quarter else None,
        average=average,
        judgement=_judgement(asked, metric, years),
        format=wish,
    )


def _periods(text: str, metric: Metric, default: list[int]) -> tuple[list[int], bool]:
    """The years to evaluate (ascending) and whether the metric is averaged over them."""
    spans = _RANGE.search(text)
    years = sorted(set(_years(text))) or sorted(set(default))
    if not years:
        return [], False
    first, last = (years[0], years[-1])
    if spans:
        a, b = (int(y) + (2000 if int(y) < 100 else 0) for y in (spans.group(1), spans.group(2)))
        first, last = min(a, b), max(a, b)
    n_years = _N_YEAR.search(text)
    averaged = (
        bool(_AVERAGE.search(text))
        and (bool(n_years) or first != last)
        and "growth" not in metric.formula
        and "cagr" not in metric.formula
    )
    if averaged and n_years and first == last:
        first = last - _NUMBER_WORDS[n_years.group(1).lower()] + 1
    if averaged:
        return list(range(first, last + 1)), True
    if first != last:
        return [first, last], False
    return [last], False
