"""The offline default answerer: quotes table cells and sentences, computes with the calculator.

Contract: :func:`answer_extractively` turns a :class:`~retrieval.retriever.RetrievalResult` into an
:class:`~core.records.Answer` without any model. It never writes a figure of its own:

1. **Table cells first.** Rows whose label matches the question's metric words (the question's own
   words plus :func:`retrieval.glossary.expand` terms, by token overlap) and columns whose header
   names an asked year ("2023", "Fiscal 2024", "Years ended December 31, 2022") are quoted with
   their row and column headers and the table's unit caption, each with a cell-level
   :class:`~core.records.Citation` (``quote`` = ``"row header | column header: value"``).
2. **Arithmetic through the calculator** (:mod:`retrieval.tools.calculator`) when the question asks
   for growth / change between periods, a CAGR, a gross / operating / net margin, or a current /
   quick ratio and the operands are found. The formula goes into ``Answer.tool_calls``.
3. **Sentences otherwise:** the 1-3 best sentences of the top text hits, by overlap with the
   question and glossary terms, each cited with the sentence as its quote.
4. **Memory-bank hits** (approved, not stale, not retired) are stated first with their provenance;
   corpus evidence is still cited beside them.
5. **Abstention** when nothing clears the relevance bar: ``abstained=True`` and the text says what
   was searched (``resolution.scope``) and why it was not enough. A comparison with one period
   missing says which period is missing. A question about a company none of the searched
   filings belongs to ("Globex's revenue" when no company was recognised) abstains too, instead
   of quoting another company's row.
6. Every figure of the answer is checked with :func:`agent.verify.verify_answer` against the cited
   chunks and calculator results; a statement with an unsupported figure is dropped.

Document text is data: chunks are only quoted, never obeyed; sentences that address the reader
with instructions ("ignore previous instructions ...") are never selected as evidence.

Example:
    >>> answer = answer_extractively("What was revenue in 2023?", result)  # doctest: +SKIP
    >>> answer.text  # doctest: +SKIP
    'Total revenues was 2,255.4 in 2023 (in millions) [1].'
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from agent.verify import Evidence, remove_unsupported, verify_answer
from core.figures import AmountError, has_digit, parse_amount, unit_caption
from core.options import ExtractiveOptions
from core.records import Answer, BBox, Chunk, Citation, RetrievalResult
from retrieval.glossary import expand
from retrieval.tools.calculator import CalculatorError, evaluate

log = logging.getLogger(__name__)

MIN_ROW_SCORE = 0.5  # share of a row label's (weighted) words the question or glossary accounts for
MIN_SENTENCE_COVERAGE = 0.3  # share of the question's content words a sentence must contain
MAX_SENTENCES = 3

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "for",
        "to",
        "and",
        "or",
        "by",
        "with",
        "from",
        "at",
        "as",
        "is",
        "was",
        "were",
        "be",
        "been",
        "are",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "much",
        "many",
        "did",
        "does",
        "do",
        "has",
        "have",
        "had",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "than",
        "then",
        "there",
        "their",
        "company",
        "company's",
        "companies",
        "corporation",
        "inc",
        "corp",
        "co",
        "ltd",
        "year",
        "years",
        "fiscal",
        "fy",
        "period",
        "ended",
        "ending",
        "quarter",
        "total",
        "amount",
        "value",
        "figure",
        "report",
        "reported",
        "according",
        "filing",
        "filings",
        "tell",
        "me",
        "show",
        "give",
        "please",
        "about",
        "over",
        "between",
        "during",
        "per",
        "based",
        "us",
        "our",
        "we",
        "vs",
        "versus",
        "compared",
        "change",
        "growth",
        "grow",
        "grew",
        "increase",
        "increased",
        "decrease",
        "decreased",
        "decline",
        "declined",
        "yoy",
        "year-over-year",
        "annual",
        "rate",
        "calculate",
        "compute",
        "ratio",
        "margin",
        "cagr",
        "compound",
    ]
)
_WEAK = frozenset({"total", "net", "other", "and", "of", "the", "consolidated"})
_WORD = re.compile(r"[a-z][a-z&'\-]*")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|prompts?|rules|above|previous)\b"
    r"|\b(?:system prompt|you (?:must|should) (?:now )?(?:answer|respond|say|reply))\b"
    r"|\b(?:as an ai|assistant:|answer (?:with|only) )"
    # Orders addressed to the answerer and tool-call-shaped JSON: no filing states facts that way.
    r"|\b(?:answer|respond|reply) that\b|\b(?:call|use|invoke|run) the (?:tool|function)\b"
    r"|\{\s*\"(?:tool|function|name|tool_calls?)\"\s*:",
    re.IGNORECASE,
)
# "Globex Aerospace's revenue": a possessive proper name, i.e. the company the question is about.
_POSSESSIVE_NAME = re.compile(r"\b((?:[A-Z][\w&.\-]*\s+){0,3}[A-Z][\w&.\-]*)['\u2019]s\b")
_FIGURE_QUESTION = re.compile(
    r"\b(how much|how many|what (?:was|were|is|are)|amount|total)\b", re.I
)
_CITE = re.compile(r"\[(\d+)\]")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'$])|\n\s*\n")

# intents
_CAGR = re.compile(r"\bcagr\b|compound(?:ed)? annual growth", re.I)
_GROWTH = re.compile(
    r"\b(?:change[sd]?|growth|grow|grew|increase[sd]?|decrease[sd]?|decline[sd]?|rise|rose|fell|"
    r"drop(?:ped)?|year[- ]over[- ]year|yoy|vs\.?|versus|compared?)\b",
    re.I,
)
_GROSS_MARGIN = re.compile(r"\bgross (?:profit )?margin", re.I)
_OPERATING_MARGIN = re.compile(r"\boperating (?:profit |income )?margin", re.I)
_NET_MARGIN = re.compile(r"\bnet (?:profit |income )?margin|\bprofit margin", re.I)
_CURRENT_RATIO = re.compile(r"\bcurrent ratio\b", re.I)
_QUICK_RATIO = re.compile(r"\bquick ratio\b|\bacid[- ]test\b", re.I)

# operand rows, by label (lower case)
_REVENUE = re.compile(
    r"^(?:total\s+)?(?:net\s+)?(?:revenues?|sales)(?:,?\s*net)?$|^total (?:net )?(?:revenues?|sales)\b"
)
_COST = re.compile(r"^(?:total\s+)?cost of (?:sales|revenues?|goods sold|products sold)\b")
_GROSS = re.compile(r"^gross (?:profit|margin)\b(?!.*%)")
_OPERATING = re.compile(
    r"^(?:total\s+)?(?:operating income|income from operations|operating profit|earnings from operations)\b"
)
_NET_INCOME = re.compile(r"^net (?:income|earnings)\b(?!.*per share)")
_CURRENT_ASSETS = re.compile(r"^total current assets\b")
_CURRENT_LIABILITIES = re.compile(r"^total current liabilities\b")
_CASH = re.compile(r"^cash and cash equivalents$")
_SHORT_TERM = re.compile(r"^(?:short-term investments|marketable securities)")
_RECEIVABLES = re.compile(r"^(?:accounts |trade )?receivables?(?:,? net)?\b|^accounts receivable")


# -- small text helpers ----------------------------------------------------------------------------


def _stem(word: str) -> str:
    word = word.strip("'-&")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ses") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _tokens(text: str, drop: frozenset[str] = _STOP) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in drop and _stem(w) not in drop]


def _plain(value: float) -> str:
    """A number for a calculator expression: no thousands separators, no exponent."""
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


# -- tables ----------------------------------------------------------------------------------------


@dataclass
class _Cell:
    text: str
    row_header: str
    col_header: str
    year: int
    bbox: BBox | None


@dataclass
class _Row:
    label: str
    cells: dict[int, _Cell]  # year -> cell


@dataclass
class _Table:
    chunk: Chunk
    rank: int
    unit: str
    rows: list[_Row]


def _column_year(header: str) -> int | None:
    years = {int(y) for y in _YEAR.findall(header)}
    return years.pop() if len(years) == 1 else None


def _unit_caption(chunk: Chunk) -> str:
    table = chunk.table
    sources = [
        table.caption if table else "",
        *(" ".join(r) for r in (table.header_rows if table else [])),
    ]
    sources.append(chunk.text[:300])
    for text in sources:
        caption = unit_caption(text or "", bounded=False)
        if caption is not None:
            return f"(in {caption.word})"
    return ""


def _read_table(chunk: Chunk, rank: int) -> _Table | None:
    table = chunk.table
    if table is None:
        return None
    rows: dict[str, _Row] = {}
    order: list[str] = []

    def add(label: str, text: str, col_header: str, bbox: BBox | None) -> None:
        year = _column_year(col_header)
        label = " ".join(label.split())
        if not label or year is None or not has_digit(text):
            return
        if label not in rows:
            rows[label] = _Row(label, {})
            order.append(label)
        rows[label].cells.setdefault(
            year, _Cell(text.strip(), label, col_header.strip(), year, bbox)
        )

    if table.cells:
        for cell in table.cells:
            add(cell.row_header, cell.text, cell.col_header, cell.bbox)
    else:
        for body in table.rows:
            if not body:
                continue
            for col in range(1, len(body)):
                header = " ".join(h[col] for h in table.header_rows if col < len(h) and h[col])
                add(body[0], body[col], header, None)
    if not rows:
        return None
    return _Table(chunk, rank, _unit_caption(chunk), [rows[k] for k in order])


def _row_score(label: str, question_terms: set[str], glossary_terms: set[str]) -> float:
    words = _tokens(label, drop=frozenset({"of", "and", "the", "in", "for", "to", "from", "by"}))
    if not words:
        return 0.0
    total = matched = 0.0
    strong = False
    for word in words:
        weight = 0.3 if word in _WEAK else 1.0
        total += weight
        if word in question_terms:
            matched += weight
            strong = strong or word not in _WEAK
        elif word in glossary_terms:
            matched += 0.8 * weight
            strong = strong or word not in _WEAK
    return matched / total if strong else 0.0


@dataclass
class _Found:
    table: _Table
    row: _Row
    score: float


def _best_row(
    tables: list[_Table], question_terms: set[str], glossary_terms: set[str], years: list[int]
) -> _Found | None:
    best: tuple[float, int, int] | None = None
    found: _Found | None = None
    for table in tables:
        for index, row in enumerate(table.rows):
            score = _row_score(row.label, question_terms, glossary_terms)
            if score < MIN_ROW_SCORE:
                continue
            have = sum(1 for y in years if y in row.cells) if years else len(row.cells)
            # The row holding more of the asked periods wins, then the label, then retrieval rank.
            key = (have, score, -table.rank)
            if best is None or key > (best[0], best[1], best[2]):
                best = key
                found = _Found(table, row, score)
    return found


def _operand(
    tables: list[_Table], pattern: re.Pattern[str], year: int
) -> tuple[_Table, _Cell] | None:
    for table in tables:
        matches = [r for r in table.rows if pattern.search(r.label.lower()) and year in r.cells]
        if matches:
            # "Total net sales" over a product line's "Net sales" when a table has both.
            matches.sort(key=lambda r: not r.label.lower().startswith("total"))
            return table, matches[0].cells[year]
    return None


# -- the answer under construction -----------------------------------------------------------------


@dataclass
class _Draft:
    citations: list[Citation] = field(default_factory=list)
    statements: list[tuple[str, list[Evidence]]] = field(default_factory=list)  # text with [n]
    tool_calls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # figure-free remarks (missing periods)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    max_citations: int = 5

    def cite(self, citation: Citation) -> int | None:
        for i, existing in enumerate(self.citations, start=1):
            if existing.chunk_id == citation.chunk_id and existing.quote == citation.quote:
                return i
        if len(self.citations) >= self.max_citations:
            return None
        self.citations.append(citation)
        return len(self.citations)

    def cite_cell(self, table: _Table, cell: _Cell) -> int | None:
        chunk = table.chunk
        return self.cite(
            Citation(
                doc_id=chunk.doc_id,
                file_name=chunk.file_name,
                page_no=chunk.page_no,
                chunk_id=chunk.chunk_id,
                bbox=cell.bbox or (chunk.bboxes[0] if chunk.bboxes else None),
                quote=f"{cell.row_header} | {cell.col_header}: {cell.text}",
                row_header=cell.row_header,
                col_header=cell.col_header,
            )
        )

    def chunk_evidence(self, chunk: Chunk) -> Evidence:
        if chunk.chunk_id not in self.evidence:
            item = Evidence.from_chunk(chunk)
            if chunk.table is not None:
                # The grid holds the figures even when the chunk text is a summary.
                grid = "\n".join(" | ".join(r) for r in chunk.table.rows)
                cells = "\n".join(f"{c.row_header} | {c.text}" for c in chunk.table.cells)
                item = Evidence(
                    id=item.id, text="\n".join(t for t in (item.text, grid, cells) if t)
                )
            self.evidence[chunk.chunk_id] = item
        return self.evidence[chunk.chunk_id]


def _verb(label: str) -> str:
    # The head noun is before "of" / a comma: "Purchases of property" were, "Cash, net" was.
    head = re.split(r"\s+of\s+|,|\(", label, maxsplit=1)[0].split()
    last = head[-1].lower() if head else ""
    return "were" if last.endswith("s") and not last.endswith(("ss", "us", "is")) else "was"


def _say_cell(draft: _Draft, table: _Table, cell: _Cell) -> bool:
    n = draft.cite_cell(table, cell)
    if n is None:
        return False
    unit = f" {table.unit}" if table.unit else ""
    text = (
        f"{cell.row_header} {_verb(cell.row_header)} {cell.text} in {cell.col_header}{unit} [{n}]."
    )
    draft.statements.append((text, [draft.chunk_evidence(table.chunk)]))
    return True


def _calculate(draft: _Draft, expression: str) -> tuple[float, Evidence] | None:
    try:
        result = evaluate(expression)
    except CalculatorError as exc:
        log.info("extractive: calculator refused %r: %s", expression, exc)
        draft.notes.append(f"The calculation could not be done: {exc}.")
        return None
    draft.tool_calls.append(f"calculator: {result.formula}")
    evidence = Evidence(
        id=f"calculator:{len(draft.tool_calls)}", text=result.formula, percent=result.percent
    )
    return result.value, evidence


def _amount(cell: _Cell) -> float | None:
    text = cell.text.replace("$ ", "$").strip()
    try:
        return parse_amount(text)
    except AmountError:
        return None


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


# -- intents ---------------------------------------------------------------------------------------


def _asked_years(question: str, result: RetrievalResult) -> list[int]:
    years = set(result.resolution.fiscal_years)
    years.update(int(y) for y in _YEAR.findall(question))
    return sorted(years)


def _comparison(draft: _Draft, found: _Found, years: list[int], cagr: bool) -> bool:
    """Growth (or CAGR) of one row between two periods. False when a period is missing."""
    row, table = found.row, found.table
    if len(years) >= 2:
        old_year, new_year = years[0], years[-1]
    else:
        available = sorted(row.cells)
        new_year = years[0] if years else available[-1]
        earlier = [y for y in available if y < new_year]
        old_year = earlier[-1] if earlier else new_year - 1
    missing = [y for y in (old_year, new_year) if y not in row.cells]
    if missing:
        for year in (old_year, new_year):
            if year in row.cells:
                _say_cell(draft, table, row.cells[year])
        shown = " and ".join(str(y) for y in missing)
        draft.notes.append(
            f"No {row.label} figure for {shown} was found in the tables searched, so the "
            f"comparison between {old_year} and {new_year} cannot be made."
        )
        return False
    old_cell, new_cell = row.cells[old_year], row.cells[new_year]
    old, new = _amount(old_cell), _amount(new_cell)
    if old is None or new is None:
        return False
    if cagr and new_year - old_year > 0:
        done = _calculate(draft, f"cagr({_plain(new)}, {_plain(old)}, {new_year - old_year})")
        what = "grew at a compound annual rate of"
    else:
        done = _calculate(draft, f"growth({_plain(new)}, {_plain(old)})")
        what = ""
    if done is None:
        return False
    value, calc = done
    n_old = draft.cite_cell(table, old_cell)
    n_new = draft.cite_cell(table, new_cell)
    refs = "".join(f"[{n}]" for n in dict.fromkeys(x for x in (n_old, n_new) if x))
    if not what:
        what = "increased" if value > 0 else "decreased" if value < 0 else "was unchanged at"
    rate = _percent(abs(value)) if what != "was unchanged at" else ""
    unit = f" {table.unit}" if table.unit else ""
    text = (
        f"{row.label} {what} {rate} from {old_cell.text} ({old_year}) to {new_cell.text} "
        f"({new_year}){unit} {refs}."
    ).replace("  ", " ")
    draft.statements.append((text, [draft.chunk_evidence(table.chunk), calc]))
    return True


def _ratio_intent(question: str) -> str | None:
    for name, pattern in (
        ("gross margin", _GROSS_MARGIN),
        ("operating margin", _OPERATING_MARGIN),
        ("net margin", _NET_MARGIN),
        ("current ratio", _CURRENT_RATIO),
        ("quick ratio", _QUICK_RATIO),
    ):
        if pattern.search(question):
            return name
    return None


def _latest_year(tables: list[_Table]) -> int | None:
    years = {y for t in tables for r in t.rows for y in r.cells}
    return max(years) if years else None


def _metric(draft: _Draft, name: str, tables: list[_Table], year: int) -> bool:
    """A margin or a liquidity ratio for one year, computed from the statement rows."""
    parts: list[tuple[str, tuple[_Table, _Cell]]] = []

    def need(label: str, pattern: re.Pattern[str]) -> tuple[_Table, _Cell] | None:
        got = _operand(tables, pattern, year)
        if got is not None:
            parts.append((label, got))
        return got

    expression = ""
    shown = ""
    missing: list[str] = []
    if name.endswith("margin"):
        revenue = need("revenue", _REVENUE)
        if revenue is None:
            missing.append("revenue")
        numerator = None
        if name == "gross margin":
            numerator = need("gross profit", _GROSS)
            if numerator is None:
                cost = need("cost of sales", _COST)
                if cost is None:
                    missing.append("gross profit or cost of sales")
                elif revenue is not None:
                    r, c = _amount(revenue[1]), _amount(cost[1])
                    if r is not None and c is not None:
                        expression = f"margin({_plain(r)} - {_plain(abs(c))}, {_plain(r)})"
                        shown = (
                            f"(revenue {revenue[1].text} - cost of sales {cost[1].text}) "
                            f"/ revenue {revenue[1].text}"
                        )
        else:
            pattern, label = (
                (_OPERATING, "operating income")
                if name == "operating margin"
                else (_NET_INCOME, "net income")
            )
            numerator = need(label, pattern)
            if numerator is None:
                missing.append(label)
        if numerator is not None and revenue is not None and not expression:
            a, r = _amount(numerator[1]), _amount(revenue[1])
            if a is not None and r is not None:
                expression = f"margin({_plain(a)}, {_plain(r)})"
                shown = f"{parts[-1][0]} {numerator[1].text} / revenue {revenue[1].text}"
    else:
        liabilities = _operand(tables, _CURRENT_LIABILITIES, year)
        if name == "current ratio":
            assets = need("total current assets", _CURRENT_ASSETS)
            if assets is None:
                missing.append("total current assets")
            if liabilities is None:
                missing.append("total current liabilities")
            if assets and liabilities:
                a, b = _amount(assets[1]), _amount(liabilities[1])
                if a is not None and b is not None:
                    expression = f"ratio({_plain(a)}, {_plain(b)})"
                    shown = f"total current assets {assets[1].text} / total current liabilities {liabilities[1].text}"
        else:
            cash = need("cash and cash equivalents", _CASH)
            quick = [
                cash,
                need("short-term investments", _SHORT_TERM),
                need("receivables", _RECEIVABLES),
            ]
            if cash is None:
                missing.append("cash and cash equivalents")
            if liabilities is None:
                missing.append("total current liabilities")
            if cash and liabilities:
                values = [_amount(q[1]) for q in quick if q]
                b = _amount(liabilities[1])
                if None not in values and b is not None:
                    expression = f"ratio({' + '.join(_plain(v) for v in values)}, {_plain(b)})"  # type: ignore[arg-type]
                    shown = " + ".join(f"{q[1].row_header} {q[1].text}" for q in quick if q)
                    shown = f"({shown}) / total current liabilities {liabilities[1].text}"
        if liabilities is not None:
            parts.append(("total current liabilities", liabilities))
    if missing:
        draft.notes.append(
            f"The {name} for {year} cannot be computed: no {', '.join(missing)} row for {year} "
            "was found in the tables searched."
        )
    if not expression:
        for _, (table, cell) in parts:
            _say_cell(draft, table, cell)
        return False
    done = _calculate(draft, expression)
    if done is None:
        return False
    value, calc = done
    refs = []
    for _, (table, cell) in parts:
        n = draft.cite_cell(table, cell)
        if n is not None and n not in refs:
            refs.append(n)
    figure = _percent(value) if name.endswith("margin") else f"{value:.2f}"
    label = name[0].upper() + name[1:]
    evidence = [calc, *(draft.chunk_evidence(t.chunk) for _, (t, _) in parts)]
    marks = "".join(f"[{n}]" for n in refs)
    draft.statements.append((f"{label} was {figure} in {year}: {shown} {marks}.", evidence))
    return True


# -- sentences -------------------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    out = []
    for part in _SENTENCE_SPLIT.split(text):
        part = " ".join(part.split())
        if 20 <= len(part) <= 600:
            out.append(part)
    return out


def _best_sentences(
    question: str, result: RetrievalResult, question_terms: set[str], glossary_terms: set[str]
) -> list[tuple[float, str, Chunk]]:
    if not question_terms:
        return []
    wants_figure = bool(_FIGURE_QUESTION.search(question))
    scored: list[tuple[float, int, str, Chunk]] = []
    seen: set[str] = set()
    for position, hit in enumerate(result.hits[:20]):
        chunk = hit.chunk
        if chunk.table is not None or chunk.modality == "table":
            continue
        context = set(_tokens(" ".join(chunk.section_path)))
        for sentence in _sentences(chunk.text):
            key = sentence.lower()
            if key in seen:
                continue
            seen.add(key)
            if _INJECTION.search(sentence):
                log.info("extractive: skipped an instruction-like sentence in %s", chunk.chunk_id)
                continue
            words = set(_tokens(sentence))
            direct = question_terms & words
            synonyms = (glossary_terms - question_terms) & words
            if not direct and not synonyms:
                continue  # a sentence is chosen for what it says, not only for its heading
            # The section heading ("Item 3. Legal Proceedings") says what a sentence is about.
            from_heading = (question_terms & context) - direct
            weight = len(direct) + 0.5 * len(from_heading) + 0.5 * min(2, len(synonyms))
            coverage = weight / len(question_terms)
            if coverage < MIN_SENTENCE_COVERAGE or weight < min(1.5, len(question_terms)):
                continue
            score = coverage - 0.01 * position
            if wants_figure and has_digit(sentence):
                score += 0.15
            scored.append((score, -position, sentence, chunk))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    picked: list[tuple[float, str, Chunk]] = []
    for s, _, text, chunk in scored:
        # A sentence cut at a chunk boundary repeats the start of its whole twin: keep one.
        folded = text.lower().rstrip(".")
        if any(
            folded in other.lower() or other.lower().rstrip(".") in folded for _, other, _ in picked
        ):
            continue
        picked.append((s, text, chunk))
        if len(picked) == MAX_SENTENCES:
            break
    return picked


# -- scope ---------------------------------------------------------------------------------------


def _unknown_company(question: str, result: RetrievalResult) -> str | None:
    """The company the question names when no filing searched belongs to it, else None.

    When the resolver recognises no company it searches every filing, so without this check
    "Globex's revenue" would be answered with whichever company's revenue row ranks first.
    """
    if result.resolution.companies or result.resolution.tickers:
        return None
    known = {
        w for h in result.hits if h.chunk.company for w in _WORD.findall(h.chunk.company.lower())
    }
    if not known:
        return None  # the chunks do not say whose they are: nothing to compare against
    for match in _POSSESSIVE_NAME.finditer(question):
        words = [w for w in _WORD.findall(match[1].lower()) if w not in _STOP]
        if words and not known.intersection(words):
            return match[1]
    return None


# -- memory ----------------------------------------------------------------------------------------


def _memory_statements(draft: _Draft, result: RetrievalResult) -> list[str]:
    ids: list[str] = []
    for hit in result.memory:
        entry = getattr(hit, "entry", hit)
        if not getattr(entry, "approved", False) or getattr(entry, "retired", False):
            continue
        if getattr(hit, "stale", False):
            continue
        source = entry.source
        where = f"{source.file_name} p.{source.page_no}" if source else "no source recorded"
        who = entry.approved_by or entry.author or "an expert"
        refs = ""
        if source is not None:
            n = draft.cite(source)
            refs = f" [{n}]" if n else ""
        prefix = f"From the memory bank (approved by {who}, source: {where}):"
        # The provenance is quoted metadata: digits in a file name are not figures to check.
        evidence = [
            Evidence(id=f"memory:{entry.entry_id}", text=entry.answer),
            Evidence(id=f"provenance:{entry.entry_id}", text=prefix),
        ]
        answer = entry.answer.strip().rstrip(".")
        draft.statements.append((f"{prefix} {answer}{refs}.", evidence))
        ids.append(entry.entry_id)
        break  # the best approved entry; the rest are paraphrases of other questions
    return ids


# -- assembly --------------------------------------------------------------------------------------


def _verified(draft: _Draft) -> tuple[str, list[Citation], list[str]]:
    """Statements whose every figure is supported, with the citations renumbered to those kept."""
    kept: list[str] = []
    for text, evidence in draft.statements:
        check = verify_answer(text, evidence)  # the verifier reads "[1]" as a citation
        if check.all_supported:
            kept.append(text)
        else:
            log.warning(
                "extractive: dropped a statement with unsupported figures (%s): %s",
                ", ".join(f.reason for f in check.unsupported),
                text,
            )
    used: dict[int, int] = {}
    for text in kept:
        for mark in _CITE.findall(text):
            used.setdefault(int(mark), len(used) + 1)
    citations = [draft.citations[old - 1] for old in sorted(used, key=used.get)]
    body = " ".join(_CITE.sub(lambda m: f"[{used[int(m[1])]}]", t) for t in kept)
    # A last pass over the whole text with all evidence: the sentence-level guard of agent.verify.
    everything = [e for _, ev in draft.statements for e in ev]
    check = verify_answer(body, everything)
    if not check.all_supported:
        body = remove_unsupported(body, check)
    return body, citations, kept


def answer_extractively(question: str, result: RetrievalResult, max_citations: int = 5) -> Answer:
    """Answer ``question`` from ``result`` by quoting and computing, with no model.

    Args:
        question: the user's question.
        result: what :meth:`retrieval.retriever.Retriever.retrieve` returned for it.
        max_citations: the most citations the answer carries.

    Returns:
        An :class:`~core.records.Answer` whose figures all come from cited cells, sentences or
        calculator results (``tool_calls``), with ``abstained=True`` and the searched scope when
        nothing relevant was found.
    """
    resolution = result.resolution
    scope = resolution.scope or result.scope or "all filings you may read"
    drop = set(_STOP)
    for name in [*resolution.companies, *resolution.tickers]:
        drop.update(w for w in _WORD.findall(name.lower()))
    question_terms = set(_tokens(question, frozenset(drop)))
    glossary = expand(question)
    glossary_terms = set(_tokens(glossary.terms, frozenset(drop))) - {"statement"}
    years = _asked_years(question, result)

    stranger = _unknown_company(question, result)
    if stranger is not None:
        text = (
            f"I could not determine this from the filings searched ({scope}). The question is about "
            f"{stranger}, and none of the filings searched is from that company."
        )
        return Answer(text=text, abstained=True, scope=scope)

    draft = _Draft(max_citations=max_citations)
    memory_ids = _memory_statements(draft, result)

    tables = [t for i, h in enumerate(result.hits) if (t := _read_table(h.chunk, i)) is not None]
    answered = False
    metric = _ratio_intent(question)
    if metric and tables:
        targets = years or ([y] if (y := _latest_year(tables)) else [])
        for year in targets[:3]:
            answered = _metric(draft, metric, tables, year) or answered
    if not answered and not metric:
        found = _best_row(tables, question_terms, glossary_terms, years)
        if found is not None:
            if _CAGR.search(question) or _GROWTH.search(question):
                answered = _comparison(draft, found, years, cagr=bool(_CAGR.search(question)))
            else:
                wanted = years or [max(found.row.cells)]
                for year in wanted:
                    cell = found.row.cells.get(year)
                    if cell is not None:
                        answered = _say_cell(draft, found.table, cell) or answered
                    else:
                        draft.notes.append(
                            f"No {found.row.label} figure for {year} was found in the tables searched."
                        )
    if not answered and not draft.statements:
        for _, sentence, chunk in _best_sentences(question, result, question_terms, glossary_terms):
            n = draft.cite(
                Citation(
                    doc_id=chunk.doc_id,
                    file_name=chunk.file_name,
                    page_no=chunk.page_no,
                    chunk_id=chunk.chunk_id,
                    bbox=chunk.bboxes[0] if chunk.bboxes else None,
                    quote=sentence,
                )
            )
            if n is None:
                break
            draft.statements.append((f'"{sentence}" [{n}]', [draft.chunk_evidence(chunk)]))

    body, citations, kept = _verified(draft)
    corpus_cited = any(not k.startswith("From the memory bank") for k in kept)
    notes = " ".join(draft.notes)
    if not body:
        reasons = notes or (
            "No table row or passage in the retrieved pages matched the question's terms "
            f"({', '.join(sorted(question_terms | glossary_terms)[:8]) or 'none recognised'})."
        )
        if years:
            reasons += f" Periods looked for: {', '.join(str(y) for y in years)}."
        text = f"I could not determine this from the filings searched ({scope}). {reasons}"
        return Answer(text=text.strip(), abstained=True, scope=scope, tool_calls=draft.tool_calls)
    text = f"{body} {notes}".strip()
    if memory_ids and not corpus_cited:
        text += " No corpus passage confirming it was found among the retrieved pages."
    return Answer(
        text=text,
        citations=citations,
        memory_entries=memory_ids,
        tool_calls=draft.tool_calls,
        abstained=False,
        scope=scope,
    )


__all__ = ["answer_extractively"]


class ExtractiveAnswerer:
    """The ``extractive`` answerer (:func:`answer_extractively`): no model, nothing to load."""

    name = "extractive"

    def __init__(self, settings: ExtractiveOptions | None = None, **_: object) -> None:
        self.settings = settings or ExtractiveOptions()

    def answer(self, question: str, result: RetrievalResult) -> Answer:
        return answer_extractively(question, result)
