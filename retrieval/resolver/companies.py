"""Company names, aliases and tickers from the catalog, and where a question mentions them.

Contract: :class:`CompanyIndex` groups the catalog's filings into :class:`Entity` objects (one per
company, however its name is spelled across filings); :meth:`CompanyIndex.find` lists the
:class:`CompanyMatch` es in a question. Nothing here knows a particular company: every alias is
derived from the catalog, plus a small table of well-known abbreviations that is used only for
companies the catalog holds.

Name rules (case-, punctuation- and possessive-insensitive):

* A name is tokenised into runs of letters/digits (``&`` reads as ``and``; ``Pfizer's`` is
  ``pfizer``). Aliases are the full name, the name without a leading "The", and each step of
  dropping trailing legal suffixes (Inc, Corp, Corporation, Co, Company, plc, Ltd, Limited,
  Holding(s), Group, N.V., S.A., AG, SE, LLC, L.P., and a ``.com``): "Best Buy Co., Inc." gives
  "best buy co inc", "best buy co", "best buy"; "Amazon.com, Inc." gives "amazon com", "amazon".
* Aliases are compared with spaces removed, so "BestBuy", "Best Buy" and "Best-Buy" all match.
* A mention must start with a capital letter or digit ("Target", "3M"), unless the question has no
  capital letters at all: this keeps "the target ratio" or "a visa fee" from naming a company.
* Companies are merged when they share their suffix-free name or their ticker, so "The Boeing
  Company" and "BOEING CO" are one entity.

Ticker rule: a ticker is only read when it is written in capitals and is a catalog ticker, and

* written as a ticker: ``$ON``, ``NYSE: ON`` (also inside parentheses), ``Nasdaq: IT``,
  ``ticker IT``, ``symbol IT`` -- always accepted; or
* a bare capitalised token (``BBY``, ``AMZN``, ``(GIS)``) -- accepted only when it is at least two
  letters and not an English word or finance acronym (:data:`TICKER_STOPWORDS`: IT, ON, ALL, A,
  EPS, GAAP, ...). So "IT spending" or "ON the balance sheet" never select Gartner or onsemi.

Fuzzy matching (rapidfuzz) runs only when no exact company mention was found: a capitalised token
of at least 6 characters within Damerau-Levenshtein distance 1 of an alias of at least 6
characters ("Pfiser" -> Pfizer; "Being" is too short to be read as Boeing). Such matches carry a
lower confidence and are reported.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from core.records import Filing

MatchHow = Literal["name", "alias", "ticker", "ticker-marked", "fuzzy"]

_TOKEN = re.compile(r"([A-Za-z0-9]+)(?:['\u2019]s\b|(?<=s)['\u2019](?![A-Za-z]))?|&")

# Longest first, so "n v" is tried before a one-token suffix.
_LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {
            ("inc",),
            ("incorporated",),
            ("corp",),
            ("corporation",),
            ("co",),
            ("company",),
            ("companies",),
            ("plc",),
            ("ltd",),
            ("limited",),
            ("holdings",),
            ("holding",),
            ("group",),
            ("n", "v"),
            ("nv",),
            ("s", "a"),
            ("sa",),
            ("ag",),
            ("se",),
            ("llc",),
            ("l", "p"),
            ("lp",),
            ("com",),
        },
        key=len,
        reverse=True,
    )
)

# Well-known other names, keyed by the suffix-free name (squashed). Used only when the catalog
# holds that company; the derivation above is what makes any catalog company findable.
BUILTIN_ALIASES: dict[str, tuple[str, ...]] = {
    "3m": ("Minnesota Mining and Manufacturing",),
    "onsemiconductor": ("onsemi",),
    "alphabet": ("Google",),
    "metaplatforms": ("Facebook", "Meta"),
    "johnsonandjohnson": ("J&J",),
    "procterandgamble": ("P&G",),
    "walmart": ("Wal-Mart",),
    "cocacola": ("Coke",),
    "internationalbusinessmachines": ("IBM",),
    "generalelectric": ("GE",),
    "jpmorganchase": ("JPMorgan", "JP Morgan"),
    "berkshirehathaway": ("Berkshire",),
}

# Capitalised words that are tickers of some company but are far more often words or acronyms
# in a financial question. Such tickers need an explicit marker ($ON, (NYSE: ON), ticker ON).
TICKER_STOPWORDS: frozenset[str] = frozenset(
    [
        "A",
        "AI",
        "AM",
        "AN",
        "AND",
        "ANY",
        "ARE",
        "AS",
        "AT",
        "BE",
        "BIG",
        "BY",
        "CAN",
        "CAR",
        "CASH",
        "CAT",
        "DAY",
        "DO",
        "EAT",
        "EYE",
        "FAST",
        "FOR",
        "FUN",
        "GO",
        "GOOD",
        "GOLD",
        "HAS",
        "HE",
        "HOME",
        "ICE",
        "IF",
        "IN",
        "IS",
        "IT",
        "KEY",
        "LIFE",
        "LOVE",
        "LOW",
        "MAIN",
        "MAN",
        "ME",
        "MIND",
        "MOVE",
        "MY",
        "NET",
        "NEW",
        "NICE",
        "NO",
        "NOW",
        "OF",
        "OLD",
        "ON",
        "ONE",
        "OPEN",
        "OR",
        "OUT",
        "PEAK",
        "PLAY",
        "PLUS",
        "POST",
        "REAL",
        "RENT",
        "RUN",
        "SAFE",
        "SAVE",
        "SEE",
        "SHOP",
        "SKY",
        "SO",
        "SPOT",
        "SUN",
        "TEAM",
        "TECH",
        "THE",
        "TO",
        "TRUE",
        "TV",
        "TWO",
        "UP",
        "US",
        "WE",
        "WELL",
        "WIN",
        "WORK",
        "YOU",
        "EPS",
        "EBIT",
        "EBITDA",
        "GAAP",
        "ROE",
        "ROA",
        "ROI",
        "ROIC",
        "CEO",
        "CFO",
        "COO",
        "CTO",
        "USD",
        "EUR",
        "FX",
        "SGA",
        "PPE",
        "PPNE",
        "DPO",
        "DSO",
        "DIO",
        "FCF",
        "CAPEX",
        "COGS",
        "YOY",
        "TTM",
        "LTM",
        "ESG",
        "IPO",
        "NYSE",
        "SEC",
        "USA",
        "UK",
        "EU",
        "FY",
        "CY",
        "QOQ",
        "MD",
        "NA",
        "OK",
        "HR",
        "PR",
        "IR",
        "LLC",
        "INC",
        "CO",
        "LTD",
        "PLC",
        "RD",
        "OCF",
        "EV",
        "PE",
        "NAV",
        "AUM",
        "ARR",
        "MRR",
        "NII",
        "NIM",
        "CET",
        "REIT",
        "TAM",
    ]
)

_MARKED_TICKER = re.compile(
    r"\$([A-Z]{1,5}(?:\.[A-Z])?)\b"
    r"|\b(?:NYSE|NASDAQ|Nasdaq|AMEX|NYSE American|ASX|LSE|TSX)\s*:\s*([A-Z]{1,5})\b"
    r"|\b(?:[Tt]icker|[Ss]ymbol)(?:\s+symbol)?\s*[:=]?\s*\$?([A-Z]{1,5})\b"
)


@dataclass(frozen=True)
class Token:
    norm: str  # lowercase, possessive dropped, "&" -> "and"
    start: int
    end: int
    raw: str


def tokenize(text: str) -> list[Token]:
    """Word tokens with their character spans; possessives are not part of the span."""
    out = []
    for m in _TOKEN.finditer(text):
        if m.group(0) == "&":
            out.append(Token("and", m.start(), m.end(), "&"))
        else:
            out.append(Token(m.group(1).lower(), m.start(1), m.end(1), m.group(1)))
    return out


def name_aliases(name: str) -> tuple[list[Token], set[str]]:
    """The suffix-free core tokens of a company name and every squashed alias derived from it.

    Example:
        >>> core, aliases = name_aliases("Best Buy Co., Inc.")
        >>> [t.raw for t in core], sorted(aliases)
        (['Best', 'Buy'], ['bestbuy', 'bestbuyco', 'bestbuycoinc'])
    """
    toks = tokenize(name)
    aliases = {"".join(t.norm for t in toks)}
    if len(toks) > 1 and toks[0].norm == "the":
        toks = toks[1:]
        aliases.add("".join(t.norm for t in toks))
    stripped = True
    while stripped and len(toks) > 1:
        stripped = False
        norms = tuple(t.norm for t in toks)
        for suffix in _LEGAL_SUFFIXES:
            n = len(suffix)
            if len(toks) > n and norms[-n:] == suffix:
                toks = toks[:-n]
                stripped = True
                break
        if len(toks) > 1 and toks[-1].norm == "and":  # "JPMorgan Chase & Co." -> "JPMorgan Chase"
            toks = toks[:-1]
            stripped = True
        if stripped:
            aliases.add("".join(t.norm for t in toks))
    aliases.discard("")
    return toks, aliases


def squash(text: str) -> str:
    return "".join(t.norm for t in tokenize(text))


@dataclass(eq=False)
class Entity:
    """One company of the catalog, however its name is spelled across filings."""

    key: str  # the squashed suffix-free name (or the ticker when no name is known)
    display: str  # "Best Buy", "Boeing", "3M"
    names: list[str] = field(default_factory=list)  # catalog spellings
    tickers: list[str] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)  # squashed: derived from names + built-in
    name_keys: set[str] = field(default_factory=set)  # squashed aliases derived from names only
    filings: list[Filing] = field(default_factory=list)

    @property
    def doc_ids(self) -> set[str]:
        ids = self.__dict__.get("_doc_ids")
        if ids is None:
            ids = self.__dict__["_doc_ids"] = {f.doc_id for f in self.filings}
        return ids


@dataclass(frozen=True)
class CompanyMatch:
    entity: Entity
    start: int
    end: int
    text: str
    how: MatchHow
    confidence: float


def _display(name: str) -> str:
    core, _ = name_aliases(name)
    if not core:
        return name.strip()
    shown = name[core[0].start : core[-1].end]
    if shown.isupper():  # "BEST BUY" -> "Best Buy"; short acronyms ("IBM", "3M", "AT&T") stay
        shortest = 3 if " " in shown else 4
        shown = re.sub(rf"[A-Z]{{{shortest},}}", lambda m: m.group(0).capitalize(), shown)
    return shown


class CompanyIndex:
    """Alias and ticker tables for one catalog; the resolver builds one per catalog and keeps it."""

    def __init__(self, filings: list[Filing]) -> None:
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: str, b: str) -> None:
            parent[find(a)] = find(b)

        keys: list[str | None] = []
        for f in filings:
            node = None
            if f.company and f.company.strip():
                core, _ = name_aliases(f.company)
                node = "n:" + "".join(t.norm for t in core)
                find(node)
            if f.ticker and f.ticker.strip():
                tnode = "t:" + f.ticker.strip().upper()
                if node is None:
                    node = tnode
                    find(node)
                else:
                    union(tnode, node)
            keys.append(node)

        groups: dict[str, list[Filing]] = {}
        for f, node in zip(filings, keys, strict=True):
            if node is not None:
                groups.setdefault(find(node), []).append(f)
        self.entities: list[Entity] = []
        self.unassigned = [f for f, node in zip(filings, keys, strict=True) if node is None]
        self._alias: dict[str, Entity] = {}
        self._lowercase_ok: set[str] = set()  # built-in aliases spelled in lowercase ("onsemi")
        self._ticker: dict[str, list[Entity]] = {}
        for members in groups.values():
            names = sorted({f.company.strip() for f in members if f.company and f.company.strip()})
            tickers = sorted(
                {f.ticker.strip().upper() for f in members if f.ticker and f.ticker.strip()}
            )
            # Prefer a spelling in mixed case for display ("Boeing" over "BOEING").
            shown = sorted(names, key=lambda n: (n.isupper(), len(n)))
            display = _display(shown[0]) if shown else tickers[0]
            name_keys: set[str] = set()
            for n in names:
                name_keys |= name_aliases(n)[1]
            key = squash(display) or tickers[0].lower()
            extras = BUILTIN_ALIASES.get(key, ())
            aliases = name_keys | {squash(extra) for extra in extras}
            self._lowercase_ok |= {squash(x) for x in extras if x[0].islower()}
            ent = Entity(
                key=key,
                display=display,
                names=names,
                tickers=tickers,
                aliases=aliases,
                name_keys=name_keys,
                filings=members,
            )
            self.entities.append(ent)
            for a in aliases:
                self._alias.setdefault(a, ent)
            for t in tickers:
                self._ticker.setdefault(t, []).append(ent)
        self._max_ngram = 1 + max(
            (sum(1 for _ in tokenize(n)) for e in self.entities for n in e.names), default=1
        )
        self._fuzzy_choices = sorted(a for a in self._alias if len(a) >= 6 and not a.isdigit())

    def by_key(self, key: str) -> Entity | None:
        return next((e for e in self.entities if e.key == key), None)

    def find(self, question: str) -> tuple[list[CompanyMatch], list[str]]:
        """Company mentions in ``question`` (in text order) and notes about guesses made."""
        toks = tokenize(question)
        case_blind = not any(c.isupper() for c in question)
        matches: list[CompanyMatch] = []
        used = [False] * len(toks)
        # Names and aliases: longest n-gram first, squashed so "BestBuy" == "Best Buy".
        for i in range(len(toks)):
            if used[i]:
                continue
            for n in range(min(self._max_ngram, len(toks) - i), 0, -1):
                span = toks[i : i + n]
                if any(used[i : i + n]):
                    continue
                key = "".join(t.norm for t in span)
                ent = self._alias.get(key)
                if ent is None:
                    continue
                first = span[0].raw[0]
                if not (
                    case_blind or first.isupper() or first.isdigit() or key in self._lowercase_ok
                ):
                    continue
                start, end = span[0].start, span[-1].end
                how: MatchHow = "name" if key in ent.name_keys else "alias"
                matches.append(
                    CompanyMatch(
                        ent, start, end, question[start:end], how, 1.0 if how == "name" else 0.95
                    )
                )
                for j in range(i, i + n):
                    used[j] = True
                break
        # Tickers written as tickers, then bare capitalised tickers.
        taken = [(m.start, m.end) for m in matches]
        for m in _MARKED_TICKER.finditer(question):
            sym = next(g for g in m.groups() if g)
            for ent in self._ticker.get(sym, []):
                matches.append(
                    CompanyMatch(ent, m.start(), m.end(), m.group(0), "ticker-marked", 1.0)
                )
                taken.append((m.start(), m.end()))
        for t in toks:
            if not (t.raw.isupper() and t.raw.isalpha() and len(t.raw) >= 2):
                continue
            if t.raw in TICKER_STOPWORDS or any(s <= t.start < e for s, e in taken):
                continue
            for ent in self._ticker.get(t.raw, []):
                matches.append(CompanyMatch(ent, t.start, t.end, t.raw, "ticker", 0.9))
        notes: list[str] = []
        if not matches and self._fuzzy_choices:
            matches, notes = self._fuzzy(question, toks)
        matches.sort(key=lambda m: m.start)
        return matches, notes

    def _fuzzy(self, question: str, toks: list[Token]) -> tuple[list[CompanyMatch], list[str]]:
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        found: list[CompanyMatch] = []
        notes: list[str] = []
        for t in toks:
            if len(t.norm) < 6 or not t.raw[0].isupper() or t.norm in self._alias:
                continue
            best = process.extractOne(
                t.norm, self._fuzzy_choices, scorer=DamerauLevenshtein.distance, score_cutoff=1
            )
            if best is None:
                continue
            ent = self._alias[best[0]]
            found.append(CompanyMatch(ent, t.start, t.end, t.raw, "fuzzy", 0.7))
            notes.append(f"read '{t.raw}' as {ent.display} (close spelling, not an exact match)")
        return found, notes


def fiscal_year_end(entity: Entity) -> tuple[int, int] | None:
    """(month, day) on which the entity's fiscal year ends, from its annual filings' period ends."""
    ends = [
        (f.period_end.month, f.period_end.day)
        for f in entity.filings
        if f.period_end and (f.fiscal_period == "FY" or (f.form or "").upper().startswith("10-K"))
    ]
    if not ends:
        return None
    return Counter(ends).most_common(1)[0][0]
