"""What a filing's first pages print about the filing, read as clues.

Contract: :func:`front_lines` turns the first pages of a :class:`~core.records.ParsedDocument`
into :class:`Line` items (element index, page, box, cleaned text); every ``*_clues`` reader takes
those lines and returns :class:`Clue` items: a field, a value, the rule that read it, that rule's
confidence (:data:`RULE_CONFIDENCE`) and the line it came from. Readers never decide between
clues; :mod:`ingest.metadata` weighs them and keeps a value only when it is sure enough.

Each rule reads a convention of the SEC forms' cover pages (the same items on every 10-K, 10-Q
and 8-K: "(Exact name of registrant as specified in its charter)", "Commission File Number", the
"Title of each class / Trading Symbol(s) / Name of each exchange" table, "For the fiscal year
ended", "Date of Report (Date of earliest event reported)") or of earnings press releases (a
headline "X Reports Fourth Quarter 2022 Results", a dateline "City, State, Date -- X (NYSE: XYZ)
today reported ..."; those readers live in :mod:`ingest.releases`). Nothing is keyed to a
company, a file name or a question.

Geometry matters on covers: PyMuPDF's reading order interleaves the columns of a two-column
cover (the registrant's name, then "(I.R.S. Employer Identification No.)" from the right column,
then the name's caption), so the registrant is the nearest line *above the caption in the same
column*, not the previous line of text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.figures import DATE, MONTH, dates_in, month_number, parse_date
from core.records import BBox, Element, ParsedDocument

COVER_PAGES = 2  # SEC cover pages fit on one page, sometimes spilling onto the next
BODY_PAGES = 15  # enough for the 10-K reference, the statement headers and "the Company" wording

# How far one reading alone is trusted. A value needs MIN_CONFIDENCE (ingest.metadata) to be kept;
# the weak rules sit below it on purpose: they count only when another rule agrees.
RULE_CONFIDENCE: dict[str, float] = {
    # form
    "form-heading": 0.95,  # "FORM 10-K" on the cover
    "report-wording": 0.85,  # "QUARTERLY REPORT PURSUANT TO SECTION 13 ..."
    "release-headline": 0.8,  # "X Reports ... Results", no SEC cover
    # company
    "registrant-caption": 0.95,  # nearest line above "(Exact name of registrant ...)", same column
    "registrant-inline": 0.85,  # the caption's own element starts with the name
    "identity-block": 0.6,  # most prominent line between the file number and the state/IRS line
    "release-dateline": 0.6,  # "City, Date -- X (NYSE: XYZ) today reported"
    "self-definition": 0.45,  # 'the terms "X," "Company," ... mean X'; 'X ("the Company")'
    "subsidiaries-heading": 0.45,  # "X AND SUBSIDIARIES" over statements and contents
    "mentions": 0.3,  # the name recurs in the text; corroborates only, never proposes
    # identifiers
    "trading-symbol-table": 0.95,
    "trading-symbol": 0.9,  # "Section 12(b)" text: the symbol before the exchange's name
    "exchange-colon": 0.75,  # "(NYSE: MGM)"
    "cik": 0.9,
    "file-number": 0.9,
    "file-number-caption": 0.8,  # "(Commission File Number)" under a row of values
    # dates
    "fiscal-year-ended": 0.95,  # "For the fiscal year ended June 30, 2023"
    "quarterly-period-ended": 0.95,
    "earliest-event": 0.95,  # an 8-K's "(Date of earliest event reported)"
    "date-of-report": 0.9,
    "release-period-ended": 0.7,  # "quarter ended December 31, 2022" in a release's opening
    "release-date": 0.8,  # the dateline's date
    # fiscal calendar
    "prior-annual-report": 0.9,  # "Form 10-K for the fiscal year ended January 28, 2023"
    "fiscal-year-ends": 0.85,  # "Our fiscal year ends on the Saturday nearest the end of January"
    "fiscal-year-ended-mention": 0.6,  # any other "fiscal year ended <date>"
    "statement-headers": 0.8,  # "Six Months Ended" -> second quarter
    "quarter-label": 0.8,  # "second quarter of fiscal 2023"
    "fiscal-label": 0.7,  # the leading "fiscal 2023" / "FY23" of the text
    "headline-period": 0.85,  # "Fourth Quarter and Full Year 2022" in a release headline
    "release-wording": 0.7,  # the same words in a release's opening paragraphs
}


@dataclass(frozen=True)
class Line:
    """One element of the first pages: where it is and its cleaned text."""

    index: int  # into ParsedDocument.elements (the "e<index>" of chunk ids)
    page: int
    text: str
    bbox: BBox | None = None
    kind: str = "text"

    @property
    def height(self) -> float:
        return self.bbox.y1 - self.bbox.y0 if self.bbox else 0.0


@dataclass(frozen=True)
class Clue:
    """One reading of one field: a value, the rule, its confidence and the line it came from."""

    field: str
    value: Any
    rule: str
    confidence: float
    line: Line | None = None
    quote: str = ""  # the words read, when narrower than the line

    @classmethod
    def of(cls, field: str, value: Any, rule: str, line: Line | None, quote: str = "") -> Clue:
        return cls(field, value, rule, RULE_CONFIDENCE[rule], line, quote)


def clean(text: str) -> str:
    """NFKC (ligatures such as "ﬁscal", odd spaces) and single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _element_text(el: Element) -> str:
    if el.table is not None:
        rows = el.table.header_rows + el.table.rows
        return "\n".join(" ".join(c for c in row if c) for row in rows) or el.text
    return el.text


def front_lines(doc: ParsedDocument, max_page: int = BODY_PAGES) -> list[Line]:
    """The elements of pages ``1..max_page`` with text, as :class:`Line` items."""
    return [
        Line(i, el.page_no, clean(_element_text(el)), el.bbox, el.kind)
        for i, el in enumerate(doc.elements)
        if el.page_no <= max_page and _element_text(el).strip()
    ]


def search_lines(
    lines: list[Line], pattern: re.Pattern[str], max_page: int = BODY_PAGES
) -> list[tuple[re.Match[str], Line]]:
    """Matches of ``pattern`` in each line, and across a line and the next one (a phrase that
    wraps into the following element); each match with the line where it starts."""
    out: list[tuple[re.Match[str], Line]] = []
    for k, line in enumerate(lines):
        if line.page > max_page:
            break
        out += [(m, line) for m in pattern.finditer(line.text)]
        if k + 1 < len(lines) and lines[k + 1].page == line.page:
            joined = f"{line.text} {lines[k + 1].text}"
            # only the matches that need both lines: the others were found above
            out += [
                (m, line)
                for m in pattern.finditer(joined)
                if m.start() < len(line.text) < m.end() - 1
            ]
    return out


# ---------------------------------------------------------------------------------------------
# form

_FORM_HEADING = re.compile(r"\bFORM\s+(10-K|10-Q|8-K|20-F|40-F|6-K)(?:\s*/\s*(A))?\b")
_REPORT_KIND = [
    (re.compile(r"QUARTERLY\s+REPORT\s+PURSUANT\s+TO\s+SECTION\s+13", re.I), "10-Q"),
    (re.compile(r"CURRENT\s+REPORT\s+PURSUANT\s+TO\s+SECTION\s+13", re.I), "8-K"),
    (re.compile(r"\bCURRENT\s+REPORT\b"), "8-K"),
    (re.compile(r"ANNUAL\s+REPORT\s+PURSUANT\s+TO\s+SECTION\s+13", re.I), "10-K"),
]


def form_clues(lines: list[Line]) -> list[Clue]:
    """The SEC form from the cover: its "FORM 10-K" heading, else its report wording."""
    cover = [ln for ln in lines if ln.page <= COVER_PAGES]
    for line in cover:
        if m := _FORM_HEADING.search(line.text):
            form = m.group(1) + ("/A" if m.group(2) else "")
            return [Clue.of("form", form, "form-heading", line, m.group(0))]
    for pattern, form in _REPORT_KIND:
        for line in cover:
            if m := pattern.search(line.text):
                return [Clue.of("form", form, "report-wording", line, m.group(0))]
    return []


# ---------------------------------------------------------------------------------------------
# company names

_EXACT_NAME = re.compile(r"\(\s*exact\s+name\s+of\s+(?:the\s+)?registrant", re.I)
_NAME_NOISE = re.compile(
    r"(commission\s+file\s+(?:number|no\.?)\s*:?\s*[\d-]+\.?|_{2,}|-{3,}|\(mark one\))", re.I
)
# Cover-page wording that is never a registrant's name.
_COVER_WORDING = re.compile(
    r"\b(?:report|pursuant|section\s+\d|securities\s+exchange\s+act|transition\s+period|"
    r"commission\s+file|file\s+(?:number|no)|identification|incorporation|jurisdiction|"
    r"organization\)|principal\s+executive|telephone|zip\s+code|registrant|fiscal\s+year|"
    r"quarterly\s+period|date\s+of|mark\s+one|form\s+(?:10|8|20|40|6)-|washington,\s+d\.?\s?c|"
    r"exact\s+name|check\s+mark|indicate|securities\s+registered|title\s+of\s+each)\b",
    re.I,
)
_LEGAL_SUFFIX = {
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "ltd",
    "limited",
    "llc",
    "lp",
    "sa",
    "nv",
    "ag",
    "se",
}


def looks_like_name(text: str) -> bool:
    """Short, mostly letters, and none of the cover's own wording."""
    letters = sum(ch.isalpha() for ch in text)
    return (
        2 <= len(text) <= 90
        and len(text.split()) <= 12
        and letters >= 2
        and letters >= 0.5 * len(text.replace(" ", ""))
        and not text.startswith("(")
        and text.lower() not in {"or", "none", "and"}
        and not _COVER_WORDING.search(text)
    )


def name_key(name: str) -> tuple[str, ...]:
    """Words of a name for comparison: case, punctuation, "the" and legal suffixes ignored.

    Example:
        >>> name_key("THE COCA-COLA COMPANY"), name_key("The Coca-Cola Company")
        (('coca', 'cola'), ('coca', 'cola'))
    """
    words = re.sub(r"[^a-z0-9 ]", " ", clean(name).lower().replace("&", " and ")).split()
    while words and words[0] == "the":
        words = words[1:]
    while words and words[-1] in _LEGAL_SUFFIX:
        words = words[:-1]
    return tuple(words)


def same_name(a: str, b: str) -> bool:
    """One name's words begin the other's ("MGM Resorts" and "MGM Resorts International")."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return False
    short, long = sorted((ka, kb), key=len)
    return long[: len(short)] == short


def tidy_name(text: str) -> str:
    """Strip punctuation at the ends and undo small-caps spacing ("MGM R ESORTS I NTERNATIONAL").

    Small caps printed as a large capital plus smaller capitals often carry a real space glyph
    between the two parts. The spacing is undone only when every single-letter word is followed by
    a capitalised word, so initials such as "J C PENNEY" or "U S STEEL" stay as printed.
    """
    name = re.sub(r"\s+([.,])", r"\1", clean(text)).strip(" ,;:*")
    singles = re.findall(r"(?:^|\s)([A-Z])(?=\s)", name)
    glued = re.findall(r"(?:^|\s)[A-Z]\s(?=[A-Z]{2,})", name)
    if singles and len(singles) == len(glued):
        name = re.sub(r"(^|\s)([A-Z])\s(?=[A-Z]{2,})", r"\1\2", name)
    return name


def _strip_noise(text: str) -> str:
    parts = [p for p in _NAME_NOISE.split(text) if p and not _NAME_NOISE.fullmatch(p)]
    return tidy_name(parts[-1]) if parts else ""


def _overlaps_column(a: BBox, b: BBox) -> bool:
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    return overlap > 0.3 * min(a.x1 - a.x0, b.x1 - b.x0)


def registrant_clues(lines: list[Line]) -> list[Clue]:
    """The registrant's name printed over its "(Exact name of registrant ...)" caption.

    The name is read from the caption's own element when it starts with it, else from the nearest
    line above the caption in the same column (skipping rules and a "Commission File Number"
    prefix); a line that reads like cover wording ("For the transition period from ... to") means
    the name is not in the text layer (a logo) and nothing is proposed.
    """
    cover = [ln for ln in lines if ln.page <= COVER_PAGES]
    for k, cap in enumerate(cover):
        m = _EXACT_NAME.search(cap.text)
        if not m:
            continue
        inline = _strip_noise(cap.text[: m.start()])
        if inline and looks_like_name(inline):
            return [Clue.of("company", inline, "registrant-inline", cap, inline)]
        if cap.bbox is not None:
            above = _column_above(cover, cap)
        else:  # no geometry (HTML, DOCX): the previous elements in reading order
            above = [cover[j] for j in range(k - 1, max(-1, k - 4), -1)]
        for line in above:
            name = _strip_noise(line.text)
            if not name:
                continue  # a rule or a bare file number between name and caption
            if looks_like_name(name):
                return [Clue.of("company", name, "registrant-caption", line, name)]
            break
        return []
    return []


def _column_above(cover: list[Line], cap: Line, max_gap: float = 48.0) -> list[Line]:
    assert cap.bbox is not None
    box = cap.bbox
    candidates = [
        ln
        for ln in cover
        if ln.page == cap.page
        and ln.index != cap.index
        and ln.bbox is not None
        and ln.bbox.y0 < box.y0
        and ln.bbox.y1 <= box.y0 + 3  # a name box may touch its caption
        and box.y0 - ln.bbox.y1 <= max_gap
        and _overlaps_column(ln.bbox, box)
    ]
    return sorted(candidates, key=lambda ln: box.y0 - ln.bbox.y1)  # type: ignore[union-attr]


_BLOCK_START = re.compile(
    r"commission\s+file|for\s+the\s+(?:fiscal\s+year|quarterly\s+period|transition\s+period)|"
    r"date\s+of\s+report",
    re.I,
)
_BLOCK_END = re.compile(
    r"^\(|\((?:state|i\.?\s?r\.?\s?s|address|exact\s+name)|incorporation|identification|"
    r"securities\s+registered|indicate\s+by\s+check\s+mark",
    re.I,
)


def identity_block_clues(lines: list[Line]) -> list[Clue]:
    """The most prominent name-like line between the cover's file number and its state/IRS line.

    For covers that print no "(Exact name of registrant ...)" caption: the registrant's name is
    set large between the report wording / commission file number and the incorporation line.
    """
    block: list[Line] | None = None  # None until the block starts
    end: Line | None = None
    for line in (ln for ln in lines if ln.page == 1):
        if _BLOCK_START.search(line.text):
            block = []  # the block starts after the last report / file-number line
        elif block is not None and _BLOCK_END.search(line.text):
            end = line
            break
        elif block is not None:
            block.append(line)
    if not block:
        return []
    if end is not None and end.bbox is not None and not _EXACT_NAME.search(end.text):
        # The state of incorporation is printed just over (or beside) its caption: a value of the
        # caption row, not the name ("Delaware" over "(State or other jurisdiction ...)").
        top = end.bbox.y0
        block = [ln for ln in block if ln.bbox is None or ln.bbox.y1 < top - 4]
    names = [ln for ln in block if looks_like_name(tidy_name(ln.text))]
    if not names:
        return []
    best = max(names, key=lambda ln: (ln.kind in ("title", "heading"), ln.height))
    name = tidy_name(best.text)
    return [Clue.of("company", name, "identity-block", best, name)]


_CAPWORDS = r"(?:[A-Z][\w.&'\-]*|&)(?:,?\s+(?:[A-Z][\w.&'\-]*|&|of|and|de|du))*"
_TERMS_MEAN = re.compile(
    rf"\bthe\s+terms?\s+\"(?P<name>{_CAPWORDS})[,.]?\"[^.]{{0,240}}?\bmeans?\s+(?P<meant>{_CAPWORDS})"
)
_AS_THE_COMPANY = re.compile(
    rf"(?P<name>{_CAPWORDS})\s*(?:\((?:NYSE|NASDAQ|Nasdaq)[^)]*\)\s*)?"
    r"\((?:together\s+with[^)]{0,80}?|collectively[^)]{0,80}?)?[^()]{0,80}?"
    r"(?:the\s+)?\"(?:the\s+)?Company\""
)
_SUBSIDIARIES = re.compile(
    r"^(?P<name>[A-Z][\w.,&'\- ]{1,60}?)\s+(?:AND|and)\s+(?:ITS\s+|its\s+)?"
    r"(?:CONSOLIDATED\s+|Consolidated\s+)?(?:SUBSIDIARIES|Subsidiaries)\b"
)


def self_name_clues(lines: list[Line]) -> list[Clue]:
    """Weak readings from the body: how the document names itself.

    * 'In this report, the terms "The Coca-Cola Company," "Company," ... mean The Coca-Cola
      Company ...' and 'Acme Corp. (together with its subsidiaries, "the Company")';
    * "X AND SUBSIDIARIES" over statements and contents.
    """
    out: list[Clue] = []
    for line in lines:
        text = line.text.replace("\u201c", '"').replace("\u201d", '"')
        for m in _TERMS_MEAN.finditer(text):
            if same_name(m.group("name"), m.group("meant")) and looks_like_name(m.group("name")):
                name = tidy_name(m.group("name"))
                out.append(Clue.of("company", name, "self-definition", line, m.group(0)))
        for m in _AS_THE_COMPANY.finditer(text):
            name = tidy_name(_subject(m.group("name")))
            if looks_like_name(name) and len(name_key(name)) >= 1:
                out.append(Clue.of("company", name, "self-definition", line, m.group(0)))
        for cell in text.split("\n"):
            if m := _SUBSIDIARIES.match(cell.strip()):
                name = tidy_name(m.group("name"))
                if looks_like_name(name):
                    out.append(Clue.of("company", name, "subsidiaries-heading", line, m.group(0)))
    return out


# Capitalised words that open a sentence before a name ("At Acme Corp.'s (the "Company")").
_LEADING_WORDS = re.compile(
    r"^(?:(?:at|in|on|for|by|as|with|under|from|to|of|and|between|among|whereas|"
    r"pursuant|including)\s+)+",
    re.I,
)


def _subject(text: str) -> str:
    """The name in a capitalised run: from its last sentence, without opening prepositions or a
    possessive ("... results. At Acme Corp.'s" -> "Acme Corp.")."""
    text = re.split(r"[.;:]\s+(?=[A-Z])", text)[-1]
    text = _LEADING_WORDS.sub("", text)
    return re.sub(r"['’]s$", "", text)


def mention_clues(lines: list[Line], names: list[str]) -> list[Clue]:
    """For each proposed name, a corroborating clue when its words recur in the text (>= 3 times).

    A logo-like heading or a capitalised cover line that is really the company's name is named
    again and again in the report; cover wording that slipped through is not.
    """
    text = " ".join(" ".join(name_key(ln.text)) for ln in lines)
    out = []
    for name in names:
        key = " ".join(name_key(name))
        if key and len(re.findall(rf"\b{re.escape(key)}\b", text)) >= 3:
            out.append(Clue.of("company", name, "mentions", None, key))
    return out


# ---------------------------------------------------------------------------------------------
# ticker and identifiers

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
_FILE_NUMBER = re.compile(
    r"commission\s+file\s+(?:number|no\.?)\s*:?\s*(\d{1,3}-\d{3,6})(?!\d)|"
    r"\b(\d{3}-\d{5})\s*\(\s*commission\s+file",
    re.I,
)


def ticker_clues(doc: ParsedDocument, lines: list[Line], release: bool) -> list[Clue]:
    """The cover's trading-symbol table or text; for a release, "(NYSE: XYZ)" wording."""
    out: list[Clue] = []
    by_index = {ln.index: ln for ln in lines}
    for i, el in enumerate(doc.elements):
        if el.page_no > COVER_PAGES or el.table is None:
            continue
        for header in el.table.header_rows:
            for col, cell in enumerate(header):
                if "trading symbol" in cell.lower() and el.table.rows:
                    row = el.table.rows[0]
                    value = row[col].strip() if col < len(row) else ""
                    if re.fullmatch(r"[A-Z]{1,5}(?:\.[A-Z])?", value):
                        out.append(
                            Clue.of("ticker", value, "trading-symbol-table", by_index.get(i), value)
                        )
    # Only past "Section 12(b)" so that a name like "AMCOR PLC" above is not mistaken.
    started = False
    for line in lines if not release else []:
        if line.page > COVER_PAGES:
            break
        if re.search(r"section\s+12\s*\(b\)|trading\s+symbol", line.text, re.I):
            started = True
        if not started:
            continue
        hit = next(
            (m for m in _SYMBOL_BEFORE_EXCHANGE.finditer(line.text) if m[1] not in _NOT_TICKERS),
            None,
        )
        if hit:
            out.append(Clue.of("ticker", hit[1], "trading-symbol", line, hit.group(0)))
            break
        if re.search(r"section\s+12\s*\(g\)|indicate\s+by\s+check\s+mark", line.text, re.I):
            started = False
    for line in lines if release or not out else []:
        if m := _EXCHANGE_COLON.search(line.text):
            out.append(Clue.of("ticker", m[1], "exchange-colon", line, m.group(0)))
            break
    return out


def identifier_clues(lines: list[Line]) -> list[Clue]:
    """CIK and SEC file number from the cover: "Commission File Number 001-38932", or a
    "(Commission File Number)" caption under a row of values ("Jersey 001-38932 98-1455367")."""
    out: list[Clue] = []
    cover = [ln for ln in lines if ln.page <= COVER_PAGES]
    for line in cover:
        if m := _CIK.search(line.text):
            out.append(Clue.of("cik", m[1].zfill(10), "cik", line, m.group(0)))
        if m := _FILE_NUMBER.search(line.text):
            out.append(Clue.of("file_number", m[1] or m[2], "file-number", line, m.group(0)))
        elif line.bbox is not None and _FILE_NUMBER_CAPTION.search(line.text):
            out += _file_number_over(cover, line)
    return out


_FILE_NUMBER_CAPTION = re.compile(r"\(\s*commission\s+file\s+(?:number|no\.?)\s*\)", re.I)
# SEC file numbers: "1-442", "0-20355", "001-38932". Not IRS numbers (two digits, a dash, seven)
# nor a telephone number's "720-3700" (three digits, then four).
_FILE_NUMBER_TOKEN = re.compile(r"(?<![\d)-])(\d{1,2}-\d{3,6}|\d{3}-\d{5,6})(?![\d-])")


def _file_number_over(cover: list[Line], caption: Line, reach: float = 30.0) -> list[Clue]:
    """The one file-number-shaped value on the caption's own line or just above it."""
    assert caption.bbox is not None
    near = [
        ln
        for ln in cover
        if ln.page == caption.page
        and ln.bbox is not None
        and caption.bbox.y0 - reach <= ln.bbox.y0 <= caption.bbox.y0 + 2
    ]
    found = {(m[1], ln) for ln in near for m in _FILE_NUMBER_TOKEN.finditer(ln.text)}
    values = {value for value, _ in found}
    if len(values) != 1:
        return []
    value, line = min(found, key=lambda f: f[1].index)
    return [Clue.of("file_number", value, "file-number-caption", line, value)]


# ---------------------------------------------------------------------------------------------
# cover dates

_FY_ENDED = re.compile(rf"for\s+the\s+fiscal\s+year\s+ended\s*:?\s*({DATE})", re.I)
_Q_ENDED = re.compile(rf"for\s+the\s+quarterly\s+period\s+ended\s*:?\s*({DATE})", re.I)
_DATE_OF_REPORT = re.compile(
    r"date\s+of\s+report\s*\(?\s*\(\s*date\s+of\s+earliest\s+event\s+reported\s*\)\s*\)?\s*:?", re.I
)
_DATES_AFTER = re.compile(rf"^\s*((?:\(?\s*{DATE}\s*\)?\s*)+)", re.I)


def period_end_clues(lines: list[Line], form: str | None) -> list[Clue]:
    """The cover's period: "For the fiscal year ended", "For the quarterly period ended"."""
    out: list[Clue] = []
    cover = [ln for ln in lines if ln.page <= COVER_PAGES]
    if form not in ("10-Q", "10-Q/A", "8-K"):
        for m, line in search_lines(cover, _FY_ENDED, COVER_PAGES):
            # "Form 10-K for the fiscal year ended" refers to another report; the cover's own line
            # is a bare "For the fiscal year ended".
            if re.search(r"10-K\s*$", line.text[: m.start()]):
                continue
            if d := parse_date(m[1]):
                out.append(Clue.of("period_end", d, "fiscal-year-ended", line, m.group(0)))
                break
    if form not in ("8-K",):
        for m, line in search_lines(cover, _Q_ENDED, COVER_PAGES):
            if d := parse_date(m[1]):
                out.append(Clue.of("period_end", d, "quarterly-period-ended", line, m.group(0)))
                break
    return out


def report_date_clues(lines: list[Line]) -> list[Clue]:
    """An 8-K's "Date of Report (Date of earliest event reported): July 1, 2022 (June 30, 2022)".

    The first date is the report's (field ``report_date``), the parenthesised one, when given,
    the earliest event's (``period_end``). The dates may follow the caption, or stand on the line
    above it in the same column (covers that print captions under their values).
    """
    cover = [ln for ln in lines if ln.page <= COVER_PAGES]
    for k, line in enumerate(cover):
        m = _DATE_OF_REPORT.search(line.text)
        if not m:
            continue
        sources = [(line, line.text[m.end() :])]
        if line.bbox is not None:
            sources += [(ln, ln.text) for ln in _column_above(cover, line, max_gap=24.0)[:1]]
        if k + 1 < len(cover):
            sources.append((cover[k + 1], cover[k + 1].text))
        for source, text in sources:
            dm = _DATES_AFTER.match(text)
            found = dates_in(dm.group(1)) if dm else []
            if found:
                quote = dm.group(1).strip() if dm else ""
                out = [Clue.of("report_date", found[0], "date-of-report", source, quote)]
                out.append(Clue.of("period_end", min(found), "earliest-event", source, quote))
                return out
        return []
    return []


# ---------------------------------------------------------------------------------------------
# fiscal calendar

ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4}

_PRIOR_10K = re.compile(rf"form\s+10-K\s+for\s+the\s+(?:fiscal\s+)?year\s+ended\s+({DATE})", re.I)
_FY_ENDS = re.compile(
    r"\bfiscal\s+year\s*(?:-\s*)?end(?:s|ing)?\s+(?:is\s+|on\s+|in\s+)?"
    r"(?:the\s+(?:last\s+)?\w+\s+(?:nearest|closest)\s+(?:to\s+)?(?:the\s+end\s+of\s+)?)?"
    rf"(?P<month>{MONTH})\b(?:\s+(?P<day>\d{{1,2}})\b)?",
    re.I,
)
_FY_ENDED_ANY = re.compile(rf"\bfiscal\s+year\s+ended\s+({DATE})", re.I)
_YTD = re.compile(r"\b(nine|six|three)\s+months\s+ended|\b(39|26|13)\s+weeks\s+ended", re.I)
_FISCAL_LABEL = re.compile(r"\bfiscal\s+(?:year\s+)?((?:19|20)\d{2})\b", re.I)
_FY_SHORT = re.compile(r"\bFY\s?'?(\d{2}|(?:19|20)\d{2})\b")
_QUARTER_LABELS = [
    re.compile(
        r"\b(?P<q>first|second|third|fourth)[\s-]+quarter\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?"
        r"(?P<y>(?:19|20)\d{2})\b",
        re.I,
    ),
    re.compile(
        r"\bfiscal\s+(?:year\s+)?(?P<y>(?:19|20)\d{2})\s+(?P<q>first|second|third|fourth)"
        r"[\s-]+quarter\b",
        re.I,
    ),
    re.compile(r"\bQ(?P<q>[1-4])\s*(?:FY|fiscal)?\s*'?(?P<y>(?:19|20)\d{2}|\d{2})\b"),
]


def fiscal_year_end_clues(lines: list[Line]) -> list[Clue]:
    """The month and day a company's fiscal year ends, as ``(month, day)`` values (day 0 when
    unknown), from a 10-Q's reference to the last 10-K, a "fiscal year ends ..." statement, or any
    "fiscal year ended <date>"."""
    out: list[Clue] = []
    for m, line in search_lines(lines, _PRIOR_10K):
        if d := parse_date(m[1]):
            out.append(
                Clue.of("fiscal_year_end", (d.month, d.day), "prior-annual-report", line, m[0])
            )
    for m, line in search_lines(lines, _FY_ENDS):
        day = int(m["day"]) if m["day"] else 0
        month = month_number(m["month"])
        out.append(Clue.of("fiscal_year_end", (month, day), "fiscal-year-ends", line, m.group(0)))
    for m, line in search_lines(lines, _FY_ENDED_ANY):
        if (d := parse_date(m[1])) and not re.search(
            r"10-K\s+for\s+the\s+$", line.text[: m.start()]
        ):
            out.append(
                Clue.of(
                    "fiscal_year_end", (d.month, d.day), "fiscal-year-ended-mention", line, m[0]
                )
            )
    return out


def statement_quarter(lines: list[Line]) -> Clue | None:
    """The quarter of an interim report from its statement headers: "Nine Months Ended" -> 3,
    "Six Months Ended" -> 2, only "Three Months Ended" -> 1."""
    kinds: dict[str, tuple[Line, str]] = {}
    for m, line in search_lines(lines, _YTD):
        kinds.setdefault((m[1] or m[2]).lower(), (line, m.group(0)))
    for words, quarter in ((("nine", "39"), 3), (("six", "26"), 2), (("three", "13"), 1)):
        for word in words:
            if word in kinds:
                line, quote = kinds[word]
                return Clue.of("quarter", quarter, "statement-headers", line, quote)
    return None


def quarter_labels(lines: list[Line]) -> list[tuple[int, int, Line, str]]:
    """(quarter, year, line, words) for "second quarter of fiscal 2023", "Q2 FY23" wording."""
    out = []
    for pattern in _QUARTER_LABELS:
        for m, line in search_lines(lines, pattern):
            q = m["q"]
            quarter = int(q) if q.isdigit() else ORDINAL[q.lower()]
            year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
            out.append((quarter, year, line, m.group(0)))
    return out


def leading_fiscal_label(lines: list[Line]) -> Clue | None:
    """The most frequent "fiscal 2023" / "FY23" label of the text, when it clearly leads."""
    counts: Counter[int] = Counter()
    first: dict[int, tuple[Line, str]] = {}
    for pattern in (_FISCAL_LABEL, _FY_SHORT):
        for m, line in search_lines(lines, pattern):
            year = int(m[1]) + (2000 if len(m[1]) == 2 else 0)
            counts[year] += 1
            first.setdefault(year, (line, m.group(0)))
    if not counts:
        return None
    (top, n), *rest = counts.most_common(2) + [(0, 0)]
    if n <= rest[0][1]:
        return None
    line, words = first[top]
    return Clue.of("fiscal_label", top, "fiscal-label", line, words)


def snap_to_month_end(d: date) -> tuple[int, int]:
    """(year, month) of the month a period really closes: 52/53-week years end on a weekday near
    a month end, so a date in the first week of a month closes the month before (a year ending
    "January 1, 2023" is the 2022 year)."""
    month = closing_month(d.month, d.day)
    return (d.year - 1 if month > d.month else d.year), month


def closing_month(month: int, day: int) -> int:
    """The month a period ending on ``month``/``day`` closes (see :func:`snap_to_month_end`);
    day 0 means the day is not known."""
    if 1 <= day <= 7:
        return month - 1 if month > 1 else 12
    return month
