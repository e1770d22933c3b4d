"""LLM-free synthetic reranker queries, mined from a filing's own chunks.

Contract: :func:`mine_queries` takes indexed chunks (of one or many filings) and returns
:class:`SyntheticQuery` records. Each query's ``positive`` is the chunk it was mined from, and its
``key`` (:class:`~finetune.negatives.AnswerKey`) says which other chunks answer it equally
well, so that negative mining never turns a true answer into a negative. Output is deterministic
for the same chunks and seed.

Three miners, one per training source:

* ``synthetic-table``: :func:`table_facts` reads (row label, column period, value, unit) from a
  table chunk's body and header rows; the query asks for the value without stating it ("What was
  Net sales in fiscal 2024 (in millions)?"). Skipped: rows without a label or a numeric value,
  bare "Total"/"Other" rows, labels that are sentences, columns whose header has no year, empty
  or dash cells. A label wrapped onto a second row ("Operating" / "income") is joined. Key: the
  label's terms plus the value (another chunk with the same row and value answers too).
* ``synthetic-heading``: section headings (the last ``section_path`` entry, "Item 7." / "Note 7 -"
  prefixes dropped); the positive is the section's first chunk with some substance. Skipped: cover
  and form titles, the company's name, headings repeated across many sections. Key: the whole
  section.
* ``synthetic-sentence``: sentences with a figure (money, percent, a number with a scale word)
  that occur once in their filing; the query names the sentence's subject and time ("What was
  Northwind Robotics' capital expenditures in 2023?"), or masks the figure in a cloze, or lists
  key words. Key: the subject's terms plus the masked figure.

Templates vary per query (chosen by a seeded hash of the chunk and the fact), with the company's
short name ("Boeing" for "THE BOEING COMPANY") and the filing's form and period worked in, so that
a model cannot learn a single template.

Example:
    >>> queries = mine_queries(index.scroll_chunks(), seed=13)  # doctest: +SKIP
    >>> queries[0].query, queries[0].positive.chunk_id  # doctest: +SKIP
    ('What was Net sales in fiscal 2024 (in millions)?', '9a5d019a...')
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from core.figures import MONTH, drop_unit_notes, is_numeric_cell, unit_caption
from core.records import Chunk, TableData
from finetune.negatives import AnswerKey, figure_of, terms_of
from retrieval.resolver.companies import name_aliases

logger = logging.getLogger(__name__)

SyntheticSource = Literal["synthetic-table", "synthetic-heading", "synthetic-sentence"]
Miner = Literal["table", "heading", "sentence"]
MINERS: tuple[Miner, ...] = ("table", "heading", "sentence")


@dataclass(frozen=True)
class SyntheticQuery:
    query: str
    positive: Chunk
    source: SyntheticSource
    key: AnswerKey
    template: str  # which template produced it (for the manifest's template counts)


@dataclass(frozen=True)
class TableFact:
    """One figure of a table: what a reader would ask for."""

    label: str  # row header as printed ("Total revenue")
    period: str  # the period part of the column header ("Three months ended June 30, 2024")
    value: str  # the cell as printed ("2,255.4", "(18.4)")
    unit: str  # "in millions", "%", "per share" or ""
    qualifier: str = ""  # other words of the column header ("Pension Plans U.S.")


def _pick(seed: int, *parts: object) -> int:
    """A stable pseudo-random integer for ``parts`` (Python's hash() is salted per process)."""
    raw = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def _ws(text: str) -> str:
    return " ".join(text.split())


# -- company, form and period wording ---------------------------------------------------------


def display_name(company: str | None) -> str:
    """A company's name as an analyst writes it: "THE BOEING COMPANY" -> "Boeing"."""
    if not company:
        return "the company"
    core, _ = name_aliases(company)
    if not core:
        return company.strip()
    shown = company[core[0].start : core[-1].end]
    if shown.isupper():  # "BEST BUY" -> "Best Buy"; short acronyms ("IBM", "3M") stay
        shortest = 3 if " " in shown else 4
        shown = re.sub(rf"[A-Z]{{{shortest},}}", lambda m: m.group(0).capitalize(), shown)
    return shown


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def filing_label(chunk: Chunk) -> str:
    """ "2023 10-K", "Q2 2024 10-Q", "10-K" or "filing" from the chunk's filing fields."""
    form = chunk.form or "filing"
    if chunk.fiscal_year and chunk.fiscal_period and chunk.fiscal_period.startswith("Q"):
        return f"{chunk.fiscal_period} {chunk.fiscal_year} {form}"
    if chunk.fiscal_year:
        return f"{chunk.fiscal_year} {form}"
    return form


_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_FOOTNOTE_ANY = re.compile(r"\(\s*\d{1,2}\s*\)|\[\d{1,2}\]|\*+")
# A column header's date: the comma is optional ("December 31 2023"), unlike a cover page's.
_DATE = rf"{MONTH}\.?\s+\d{{1,2}},?\s+(?:19|20)\d{{2}}"
_SPAN_PERIOD = re.compile(
    rf"\b(?:(?:three|six|nine|twelve|\d{{1,2}})\s+months|(?:fiscal\s+)?years?|quarters?|"
    rf"(?:\w+|\d{{2}})\s+weeks)\s+ended,?\s+{_DATE}",
    re.IGNORECASE,
)
_DATE_PERIOD = re.compile(rf"\b(?:as\s+of\s+|at\s+)?{_DATE}", re.IGNORECASE)
_YEAR_PERIOD = re.compile(r"\b(?:fiscal\s+(?:year\s+)?|fy\s*)?(?:19|20)\d{2}\b", re.IGNORECASE)
_QUALIFIER_NOISE = re.compile(
    rf"\bended\b|{MONTH}\b|unaudited|^(?:total|amount|amounts|\$|%|change|percent|\W*)$",
    re.IGNORECASE,
)


def split_period(header: str) -> tuple[str, str] | None:
    """A column header's period and the words around it ("Pension Plans U.S. Year Ended
    December 31, 2020" -> ("Year Ended December 31, 2020", "Pension Plans U.S.")); None when
    the header names no year. Noise qualifiers ("Total", a second date) become ''."""
    header = _FOOTNOTE_ANY.sub(" ", _ws(header))
    for pattern in (_SPAN_PERIOD, _DATE_PERIOD, _YEAR_PERIOD):
        m = pattern.search(header)
        if m:
            period = m.group(0).strip()
            rest = _ws(header[: m.start()] + " " + header[m.end() :]).strip(" ,;:-")
            if not rest or _QUALIFIER_NOISE.search(rest) or len(rest.split()) > 5:
                rest = ""
            return period, rest
    return None


def _period_phrases(period: str, chunk: Chunk) -> list[tuple[str, str]]:
    """Ways to say a period: (with its preposition, bare) pairs."""
    bare_year = re.fullmatch(
        r"(?:fiscal\s+(?:year\s+)?|fy\s*)?((?:19|20)\d{2})", period, re.IGNORECASE
    )
    if bare_year:
        y = bare_year.group(1)
        if (chunk.form or "").upper().startswith("10-K") or not period[:1].isdigit():
            return [
                (f"in fiscal {y}", f"fiscal {y}"),
                (f"for FY{y}", f"FY{y}"),
                (f"in {y}", y),
                (f"for fiscal year {y}", f"fiscal year {y}"),
            ]
        return [(f"in {y}", y), (f"for {y}", y)]
    span = _SPAN_PERIOD.fullmatch(period)
    if span:
        date = re.search(_DATE, period)
        words = period[: date.start()].lower() if date else period.lower()
        text = _ws(words + (period[date.start() :] if date else ""))
        return [(f"for the {text}", text), (f"in the {text}", text)]
    date = re.sub(r"^(?:as\s+of|at)\s+", "", period, flags=re.IGNORECASE)
    return [(f"as of {date}", date), (f"at {date}", date)]


# -- tables -----------------------------------------------------------------------------------

_GENERIC_LABELS = {
    "total",
    "totals",
    "subtotal",
    "other",
    "net",
    "all other",
    "less",
    "add",
    "thereafter",
    "total other",
    "other, net",
    "balance",
    "amount",
    "amounts",
    "increase",
    "decrease",
    "change",
}
_FOOTNOTE = re.compile(r"\s*(?:\(\s*\d{1,2}\s*\)|\[\d{1,2}\]|\*+|\(\s*[a-z]\s*\))\s*$")
_LABEL_LETTERS = re.compile(r"[A-Za-z]{2}")
_ROW_LEADER = re.compile(r"^[\s.:$]+|[\s.:$]+$")


def table_unit(chunk: Chunk) -> str:
    """The scale a table's figures are in ("in millions"), from its caption, section or headers."""
    table = chunk.table
    places = [table.caption if table else "", *(chunk.section_path[-1:]), chunk.text[:400]]
    if table:
        places += [" ".join(r) for r in table.header_rows]
    for place in places:
        caption = unit_caption(place or "", bare=True)
        if caption is not None:
            return f"in {caption.word}"
    return ""


def _column_headers(table: TableData) -> list[str]:
    width = table.n_cols
    headers: list[str] = []
    for j in range(width):
        parts: list[str] = []
        for row in table.header_rows:
            cell = _ws(row[j]) if j < len(row) else ""
            if cell and (not parts or parts[-1] != cell):
                parts.append(cell)
        headers.append(" ".join(parts))
    if not table.header_rows:  # a grid without header rows: the parser's per-cell headers
        for cell in table.cells:
            if cell.col < width and cell.col_header and not headers[cell.col]:
                headers[cell.col] = _ws(cell.col_header)
    return headers


def _clean_label(text: str) -> str:
    label = _FOOTNOTE.sub("", _ws(text))
    label = re.sub(r"^(?:less|add|plus)\s*:\s*", "", label, flags=re.IGNORECASE)
    label = _ROW_LEADER.sub("", label)
    return label.rstrip(":").strip()


def _usable_label(label: str) -> bool:
    if not _LABEL_LETTERS.search(label) or len(label) > 80 or len(label.split()) > 12:
        return False
    if not label[:1].isalnum():  # "(operationally)", "— of which": a fragment, not a row name
        return False
    if label.lower().strip(" :") in _GENERIC_LABELS:
        return False
    letters = sum(ch.isalpha() for ch in label)
    return letters >= 0.5 * len(label.replace(" ", ""))


def table_facts(chunk: Chunk) -> list[TableFact]:
    """(label, period, value, unit) for every usable body cell of a table chunk, in grid order."""
    table = chunk.table
    if chunk.modality != "table" or table is None or not table.rows:
        return []
    headers = _column_headers(table)
    unit = table_unit(chunk)
    labelled: list[tuple[str, list[str]]] = []
    for row in table.rows:
        cells = [_ws(c) for c in row]
        first_value = next(
            (j for j, c in enumerate(cells) if is_numeric_cell(c, strict=True)), len(cells)
        )
        label_at = next(
            (j for j, c in enumerate(cells[:first_value]) if _LABEL_LETTERS.search(c)), None
        )
        label = _clean_label(cells[label_at]) if label_at is not None else ""
        values = cells[first_value:]
        if (
            label
            and not any(is_numeric_cell(c, strict=True) for c in values)
            and labelled
            and label[:1].islower()
        ):
            # "Operating" / "income": a label wrapped onto a row of its own.
            prev_label, prev_cells = labelled[-1]
            labelled[-1] = (f"{prev_label} {label}", prev_cells)
            continue
        labelled.append((label, cells))
    facts: list[TableFact] = []
    seen: set[tuple[str, str, str]] = set()
    for label, cells in labelled:
        if not _usable_label(label):
            continue
        label_col = next((j for j, c in enumerate(cells) if _LABEL_LETTERS.search(c)), 0)
        for j in range(label_col + 1, len(cells)):
            value = cells[j]
            split = split_period(headers[j]) if j < len(headers) else None
            if not is_numeric_cell(value, strict=True) or split is None:
                continue
            period, qualifier = split
            if qualifier.lower() == label.lower():
                qualifier = ""
            if (label, period, qualifier) in seen:
                continue
            seen.add((label, period, qualifier))
            fact_unit = "%" if value.endswith(("%", "%)")) else unit
            if "per share" in label.lower():
                fact_unit = "per share"
            facts.append(TableFact(label, period, value, fact_unit, qualifier))
    return facts


_ACRONYMS = {"GAAP", "SEC", "EPS", "LIBOR", "SOFR", "CEO", "CFO", "IT", "US", "UK", "EU", "ESG"}


def _sentence_case(text: str) -> str:
    """ "RISK FACTORS" -> "Risk factors"; acronyms and words with digits or dots stay."""
    words = []
    for i, w in enumerate(text.split()):
        keep = w.strip(",;:()") in _ACRONYMS or any(ch.isdigit() or ch in ".&" for ch in w)
        words.append(w if keep else (w.capitalize() if i == 0 else w.lower()))
    return " ".join(words)


def _label_phrase(label: str) -> str:
    """How a label reads inside a sentence: "Net sales" -> "net sales", "RISK FACTORS" ->
    "Risk Factors"; a one-word label ("Canada") and Title Case names keep their capitals."""
    if label.isupper() and len(label) > 5:
        label = _sentence_case(label)
    words = label.split()
    if (
        len(words) > 1
        and words[0][:1].isupper()
        and words[0][1:].islower()
        and all(not w[:1].isupper() for w in words[1:])
    ):
        words[0] = words[0].lower()
    return " ".join(words)


_TABLE_TEMPLATES = (
    "what-was",
    "keywords",
    "how-much",
    "label-first",
    "report",
    "form-keywords",
    "find",
    "analyst",
    "analyst-source",
)

# How an analyst names where a figure lives; their questions often say which statement to use.
_STATEMENT_NAMES = {
    "income": "income statement",
    "comprehensive-income": "statement of comprehensive income",
    "balance": "balance sheet",
    "cash-flow": "cash flow statement",
    "equity": "statement of equity",
}


def _table_query(template: str, fact: TableFact, period: tuple[str, str], chunk: Chunk) -> str:
    company = display_name(chunk.company)
    label, lower = fact.label, _label_phrase(fact.label)
    if fact.qualifier:
        label, lower = f"{label} ({fact.qualifier})", f"{lower} ({fact.qualifier})"
    when, bare = period
    unit = f" ({fact.unit})" if fact.unit else ""
    if template == "what-was":
        return f"What was {label} {when}{unit}?"
    if template == "keywords":
        return f"{company} {lower} {bare}"
    if template == "how-much":
        return f"How much was {_possessive(company)} {lower} {when}?"
    if template == "label-first":
        return f"{label}, {bare}, {company} {chunk.form or 'filing'}"
    if template == "report":
        return f"What did {company} report as {lower} {when}{unit}?"
    if template == "form-keywords":
        return (
            f"{company} {filing_label(chunk)}: {lower} {bare}{' ' + fact.unit if fact.unit else ''}"
        )
    source = _STATEMENT_NAMES.get(chunk.statement or "", "financial statements and notes")
    money = f" (in USD {fact.unit[3:]})" if fact.unit.startswith("in ") else unit
    if template == "analyst":
        return (
            f"What is the {bare} {lower}{money} for {company}? Give a response to the question "
            f"by relying on the details shown in the {source}."
        )
    if template == "analyst-source":
        return (
            f"According to the {source} in its {chunk.form or 'filing'}, "
            f"what was {_possessive(company)} {lower} {when}?"
        )
    return f"Find {_possessive(company)} {lower} {when}."


def _fact_key(fact: TableFact) -> tuple[str, str, str]:
    return (fact.label.lower(), fact.qualifier.lower(), fact.period.lower())


def figure_variants(value: str, unit: str) -> frozenset[str]:
    """A figure as BM25 terms, also as prose rounds it: 3,416 (in millions) -> 3416, 3.4, 3.42
    ("$3.4 billion"), so a sentence quoting the same figure is recognised as an answer."""
    figure = figure_of(value)
    if not figure:
        return frozenset()
    out = {figure}
    try:
        number = float(figure)
    except ValueError:
        return frozenset(out)
    if unit in ("in millions", "in thousands") and number >= 1000:
        for digits in (1, 2):
            out.add(figure_of(f"{number / 1000:.{digits}f}"))
    return frozenset(out - {""})


def table_queries(
    chunk: Chunk,
    seed: int = 13,
    per_chunk: int = 2,
    ambiguous: set[tuple[str, str, str]] | None = None,
) -> list[SyntheticQuery]:
    """Up to ``per_chunk`` queries about different rows of one table chunk.

    Args:
        ambiguous: (label, qualifier, period) keys that have different values elsewhere in the
            filing ("Revenues" of each segment): such a question has no single answer, skipped.
    """
    facts = sorted(table_facts(chunk), key=lambda f: _pick(seed, chunk.chunk_id, f.label, f.period))
    out: list[SyntheticQuery] = []
    labels: set[str] = set()
    for fact in facts:
        if len(out) >= per_chunk:
            break
        if fact.label in labels or (ambiguous and _fact_key(fact) in ambiguous):
            continue
        labels.add(fact.label)
        h = _pick(seed, "template", chunk.chunk_id, fact.label, fact.period)
        template = _TABLE_TEMPLATES[h % len(_TABLE_TEMPLATES)]
        phrases = _period_phrases(fact.period, chunk)
        period = phrases[(h >> 8) % len(phrases)]
        key = AnswerKey(terms=terms_of(fact.label), figures=figure_variants(fact.value, fact.unit))
        out.append(
            SyntheticQuery(
                _ws(_table_query(template, fact, period, chunk)),
                chunk,
                "synthetic-table",
                key,
                f"table:{template}",
            )
        )
    return out


# -- headings ---------------------------------------------------------------------------------

_HEADING_PREFIX = re.compile(
    r"^(?:part\s+[ivx]+\b[\s.:\-—–]*|item\s+\d{1,2}[a-c]?\b[\s.:\-—–]*|note\s+\d{1,2}[a-z]?\b[\s.:\-—–]*)+",
    re.IGNORECASE,
)
_SKIP_HEADINGS = re.compile(
    r"^(?:form\s+\d|table of contents|index\b|united states|securities and exchange|"
    r"signatures?$|exhibits?$|\(?exact name|commission file|page\b)",
    re.IGNORECASE,
)
_MIN_SECTION_WORDS = 12
_HEADING_TEMPLATES = ("keywords", "what-does", "title-first", "where", "year-keywords")


_NUMBERING = re.compile(r"^(?:\(?[a-z0-9]{1,2}\)|[A-Z]\.|\d{1,2}(?:\.\d{1,2})*\.?)\s+")


def heading_title(heading: str) -> str:
    """A heading without "Item 7." / "Note 7 -" / "PART II" / "4.2" / "A." prefixes, "(in
    millions)" notes and colons."""
    title = drop_unit_notes(_HEADING_PREFIX.sub("", _ws(heading)))
    title = _NUMBERING.sub("", _ws(title).strip(" .:-—–"))
    return _ws(title).strip(" .:-—–")


def _usable_heading(title: str, heading: str, company: str | None) -> bool:
    if len(title) < 3 or len(title.split()) > 14 or not _LABEL_LETTERS.search(title):
        return False
    # One word ("Statements", "Total") names a section only under an Item/Note prefix ("Debt").
    if len(title.split()) == 1 and not _HEADING_PREFIX.match(_ws(heading)):
        return False
    # A date or a unit is a column header that the parser took for a heading.
    if _SKIP_HEADINGS.search(title) or _YEAR.search(title) or unit_caption(title, bare=True):
        return False
    if company and name_aliases(title)[1] & name_aliases(company)[1]:
        return False
    letters = [ch for ch in title if ch.isalpha()]
    return len(letters) >= 0.6 * len(title.replace(" ", ""))


def _heading_query(template: str, title: str, chunk: Chunk) -> str:
    company = display_name(chunk.company)
    lower = _label_phrase(title)
    title = _sentence_case(title) if title.isupper() and len(title) > 5 else title
    # Every template names the filing: "Risk Factors" is in each of a company's filings.
    filing = filing_label(chunk)
    if template == "keywords":
        return f"{company} {filing} {title}"
    if template == "what-does":
        return f"What does {company} disclose about {lower} in its {filing}?"
    if template == "title-first":
        return f"{title} ({company} {filing})"
    if template == "where":
        return f"Where does {_possessive(company)} {filing} discuss {lower}?"
    period = filing.rsplit(" ", 1)[0] if chunk.fiscal_year else filing
    return f"{company} {period} {lower}"


def heading_queries(doc_chunks: Sequence[Chunk], seed: int = 13) -> list[SyntheticQuery]:
    """One query per usable section heading of one filing (chunks in document order)."""
    by_path: dict[tuple[str, ...], list[Chunk]] = defaultdict(list)
    for c in doc_chunks:
        if c.section_path:
            by_path[tuple(c.section_path)].append(c)
    title_count = Counter(heading_title(p[-1]).lower() for p in by_path)
    out: list[SyntheticQuery] = []
    for path, members in by_path.items():
        title = heading_title(path[-1])
        company = members[0].company
        if not _usable_heading(title, path[-1], company) or title_count[title.lower()] > 3:
            continue
        positive = next((c for c in members if len(c.text.split()) >= _MIN_SECTION_WORDS), None)
        if positive is None:
            continue
        h = _pick(seed, "heading", positive.chunk_id, title)
        template = _HEADING_TEMPLATES[h % len(_HEADING_TEMPLATES)]
        key = AnswerKey(section=(positive.doc_id, path))
        out.append(
            SyntheticQuery(
                _ws(_heading_query(template, title, positive)),
                positive,
                "synthetic-heading",
                key,
                f"heading:{template}",
            )
        )
    return out


# -- sentences --------------------------------------------------------------------------------

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"“(]?[A-Z])")
_FIGURE = re.compile(
    r"\$\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|thousand|trillion)\b)?"
    r"|\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b)"
    r"|\b\d[\d,]*(?:\.\d+)?\s(?:million|billion|thousand)\b",
    re.IGNORECASE,
)
_VERBS = (
    r"was|were|is|are|increased|decreased|grew|rose|fell|declined|totaled|totalled|amounted to|"
    r"reached|improved|remained|represented|accounted for"
)
_CHANGE_VERBS = {"increased", "decreased", "grew", "rose", "fell", "declined", "improved"}
_SUBJECT = re.compile(rf"^(?P<subject>[A-Za-z][\w&'’,\-/ ]{{2,80}}?)\s+(?P<verb>{_VERBS})\b")
_BAD_SUBJECT_START = re.compile(
    r"^(?:we|it|this|these|that|those|there|they|in|as|during|for|at|on|if|when|while|although|"
    r"since|because|the following|such|each|all|any|approximately|about|based|excluding|including|"
    r"of|from|with|under|after|before|due|through|over|following|upon|to|by|and|or|but)\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    rf"\b(?:in|for|during|as of|at|of|through)\s+(?:the\s+)?"
    rf"(?:(?:first|second|third|fourth)\s+quarter\s+(?:of\s+)?|(?:fiscal|full)\s+(?:year\s+)?|year\s+)?"
    rf"(?:{MONTH}\s+\d{{1,2}},\s+)?(?:fiscal\s+)?(?:19|20)\d{{2}}\b"
)
_SENTENCE_TEMPLATES = ("question", "keywords", "cloze")


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        out.extend(s.strip() for s in _SENTENCE_SPLIT.split(line) if s.strip())
    return out


def _eligible_sentence(sentence: str) -> bool:
    words = sentence.split()
    # A real sentence (ends with a full stop): not a cover-page line or a table row in prose.
    if not 8 <= len(words) <= 45 or not sentence[:1].isupper() or sentence[-1:] not in ".!?":
        return False
    figures = _FIGURE.findall(sentence)
    if not figures or len(figures) > 4:
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    return letters >= 0.6 * len(sentence.replace(" ", ""))


def _main_figure(sentence: str) -> re.Match | None:
    """The figure a question about the sentence asks for: the first amount, else the first
    figure."""
    figures = list(_FIGURE.finditer(sentence))
    money = [
        m
        for m in figures
        if "$" in m.group(0) or m.group(0).lower().endswith(("million", "billion"))
    ]
    return (money or figures or [None])[0]


def _subject(sentence: str, figure: re.Match) -> tuple[str, str] | None:
    """(subject, verb) when the sentence opens "<subject> <verb> ... <figure>"."""
    head = sentence[: figure.start()]
    m = _SUBJECT.match(head)
    if not m:
        return None
    subject = m.group("subject").strip()
    time = _TIME.search(subject)
    if time:  # "Revenue for the second quarter of 2024": the period goes into the question
        subject = subject[: time.start()].strip()
    subject = re.sub(
        r"^(?:our|the company's|the|total company)\s+", "", subject, flags=re.IGNORECASE
    )
    if not subject:
        return None
    if (
        _BAD_SUBJECT_START.match(subject)
        or len(subject.split()) > 9
        or "," in subject
        or re.search(r"\b(?:that|which|who|whom|whose|we|our|it)$", subject, re.IGNORECASE)
    ):
        return None
    if len(terms_of(subject)) == 0:
        return None
    return subject, m.group("verb")


def _cloze(sentence: str, figure: re.Match) -> str:
    masked = sentence[: figure.start()] + "___" + sentence[figure.end() :]
    words = masked.split()
    at = next(i for i, w in enumerate(words) if "___" in w)
    lo = max(0, at - 14)
    text = " ".join(words[lo : at + 8]).rstrip(",;")
    return f"... {text}" if lo else text


def sentence_queries(
    chunk: Chunk, seed: int = 13, per_chunk: int = 1, repeated: set[str] | None = None
) -> list[SyntheticQuery]:
    """Up to ``per_chunk`` queries from figure-bearing sentences of one text chunk.

    Args:
        repeated: normalised sentences that occur more than once in the filing (boilerplate);
            they are skipped.
    """
    if chunk.modality != "text":
        return []
    repeated = repeated or set()
    candidates = [
        s
        for s in _sentences(chunk.text)
        if _eligible_sentence(s) and _ws(s).lower() not in repeated
    ]
    parsed = [(s, f, _subject(s, f)) for s in candidates if (f := _main_figure(s))]
    # Sentences with a readable subject make better questions: they go first.
    parsed.sort(key=lambda p: (p[2] is None, _pick(seed, chunk.chunk_id, p[0])))
    company = display_name(chunk.company)
    out: list[SyntheticQuery] = []
    for sentence, figure, found in parsed[:per_chunk]:
        time = _TIME.search(sentence)
        when = time.group(0) if time else f"in the {filing_label(chunk)}"
        h = _pick(seed, "sentence", chunk.chunk_id, sentence)
        template = _SENTENCE_TEMPLATES[h % len(_SENTENCE_TEMPLATES)] if found else "cloze"
        if template == "question":
            subject, verb = found
            if verb in _CHANGE_VERBS:
                query = f"How did {_possessive(company)} {_label_phrase(subject)} change {when}?"
            else:
                query = f"What was {_possessive(company)} {_label_phrase(subject)} {when}?"
        elif template == "keywords":
            subject, _ = found
            period = when.split(" ", 1)[1] if time else filing_label(chunk)
            query = f"{company} {_label_phrase(subject)} {period}"
        else:
            query = f"{company}: {_cloze(sentence, figure)}"
        key_terms = terms_of(found[0]) if found else terms_of(sentence[: figure.start()])
        fig = figure_of(figure.group(0))
        key = AnswerKey(terms=key_terms, figures=frozenset({fig}) if fig else frozenset())
        out.append(
            SyntheticQuery(_ws(query), chunk, "synthetic-sentence", key, f"sentence:{template}")
        )
    return out


# -- all miners -------------------------------------------------------------------------------


def _ambiguous_facts(doc_chunks: Sequence[Chunk]) -> set[tuple[str, str, str]]:
    values: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for c in doc_chunks:
        for fact in table_facts(c):
            values[_fact_key(fact)].add(figure_of(fact.value))
    return {k for k, v in values.items() if len(v) > 1}


def _repeated_sentences(doc_chunks: Sequence[Chunk]) -> set[str]:
    counts = Counter(
        _ws(s).lower() for c in doc_chunks if c.modality == "text" for s in _sentences(c.text)
    )
    return {s for s, n in counts.items() if n > 1}


def mine_queries(
    chunks: Iterable[Chunk],
    seed: int = 13,
    miners: Sequence[Miner] = MINERS,
    per_table: int = 2,
    per_text: int = 1,
) -> list[SyntheticQuery]:
    """Synthetic queries for every filing among ``chunks`` (see the module docstring).

    Args:
        chunks: indexed chunks; grouped by ``doc_id`` and read in document order.
        seed: varies which rows, sentences and templates are chosen.
        miners: any of ``table``, ``heading``, ``sentence``.
        per_table: queries per table chunk (different rows).
        per_text: queries per text chunk (different sentences).

    Returns:
        Queries grouped by filing, in document order within a filing.
    """
    unknown = set(miners) - set(MINERS)
    if unknown:
        raise ValueError(f"unknown synthetic miners {sorted(unknown)}; known: {', '.join(MINERS)}")
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        by_doc[c.doc_id].append(c)
    out: list[SyntheticQuery] = []
    for doc_id in sorted(by_doc):
        doc_chunks = sorted(by_doc[doc_id], key=lambda c: (c.order, c.chunk_id))
        repeated = _repeated_sentences(doc_chunks) if "sentence" in miners else set()
        ambiguous = _ambiguous_facts(doc_chunks) if "table" in miners else set()
        mined: list[SyntheticQuery] = []
        if "heading" in miners:
            mined += heading_queries(doc_chunks, seed)
        for c in doc_chunks:
            if "table" in miners:
                mined += table_queries(c, seed, per_table, ambiguous)
            if "sentence" in miners:
                mined += sentence_queries(c, seed, per_text, repeated)
        order = {c.chunk_id: i for i, c in enumerate(doc_chunks)}
        mined.sort(key=lambda q: order[q.positive.chunk_id])
        logger.debug("doc %s: %d synthetic queries", doc_id[:12], len(mined))
        out += mined
    return out
