"""Company names, aliases and tickers from the catalog, and where a question mentions them.

Contract: :class:`CompanyIndex` groups the catalog's filings into :class:`Entity` objects (one per
company, however its name is spelled across filings) and gives each one canonical display name
(:meth:`CompanyIndex.display_name`, used by the scope text and the app's filters);
:meth:`CompanyIndex.find` lists the :class:`CompanyMatch` es in a question, in text order. A
mention that fits several companies yields one match per candidate on the same span (the
resolver reports the ambiguity and searches the candidates only). Nothing here knows a particular
company: every alias is derived from the catalog, plus a small table of well-known abbreviations
used only for companies the catalog holds. The ordinary-word lists that keep words from being
read as companies are data (``words.toml`` beside this module).

Entities: filings are merged when they share a CIK, a suffix-free name (``and``/``&`` ignored),
or a ticker; a filing with no company name is named by its file name's leading words when the
file name reads like ``NAME_2022_10K.pdf`` or ``name-20221231.htm`` (those words are an alias of
every filing's company too). The display name comes from the spelling that looks most like a
registered name (a legal suffix, then the newest filing, then mixed case), or from the file
names when the only spelling has no legal suffix and no word in common with them. "NIKE, Inc ."
and "NIKE, Inc." are one entity, shown "Nike"; "THE BOEING COMPANY" is shown "Boeing", "CVS
HEALTH CORPORATION" "CVS Health".

Name rules (case-, punctuation- and possessive-insensitive; a mention starts with a capital
letter or digit unless the question has no capitals at all, so "the target ratio" names no one):

* full names: each step of dropping a leading "The" and trailing legal suffixes (Inc, Corp,
  Corporation, Co, Company, plc, Ltd, Holding(s), Group, N.V., S.A., AG, SE, LLC, L.P., ``.com``):
  "Best Buy Co., Inc." gives "best buy co inc", "best buy co", "best buy". Compared with spaces
  removed, so "BestBuy", "Best Buy" and "Best-Buy" match; "&" reads as "and" ("Johnson and
  Johnson" is "Johnson & Johnson"), and the name without its "and" is an alias too.
* leading words: every proper prefix of the suffix-free name ("Lockheed" for Lockheed Martin,
  "American Water" for American Water Works) that does not start or end with an ordinary word
  ("American" alone, "Bank of" are not aliases), is at least 4 letters (3 when typed in
  capitals: "CVS" for CVS Health) and is not followed by another capitalised name word ("Kraft
  Foods" is not Kraft Heinz).
* initialisms, only when typed in capitals (or with a capital inside: "JnJ", "AmEx"): the
  first letters of the name's words ("AMD" for Advanced Micro Devices; at least three letters,
  no finance acronym), with the "&" ("P&G", "J&J", "JnJ"), or the first two letters of the
  first two words ("AMEX" for American Express).
* plurals: "Walmarts", "Lowes" read as "Walmart", "Lowe's".
* possessives: "Pfizer's", "Adobe's", "Lowe's" are the name.

Ticker rule: a ticker is read only when it is a catalog ticker and

* written as a ticker, in any case: ``$ON``, ``NYSE: ON`` (also inside parentheses),
  ``Nasdaq: IT``, ``ticker: jnj``, ``symbol IT`` (a lowercase ordinary word is not a ticker); or
* a bare token in capitals (``BBY``, ``(GIS)``) or with a capital inside (``JnJ``) -- accepted only
  when it is at least two letters (three for ``JnJ`` forms) and not an English word or finance
  acronym (:data:`TICKER_STOPWORDS`: IT, ON, ALL, A, EPS, GAAP, ...); or
* in lowercase, a token of at least three letters that is no ordinary word and has no vowel
  ("msft", "jnj"), or any such token in a question written all in lowercase ("amzn", never
  "cost" or "it").

Fuzzy matching (rapidfuzz) runs only when no exact mention was found: one to three words
starting with a capital, squashed to at least 6 characters and no ordinary word, within
Damerau-Levenshtein distance 1 (2 from 10 characters) of a name or leading-words alias of at least
6 characters ("Pfiser" -> Pfizer, "Lockhead" -> Lockheed Martin; "Being" is too short to be
Boeing). Its confidence is ``0.8 * (1 - distance / length)``, reported with the guess.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from core.records import Filing

MatchHow = Literal[
    "name", "alias", "prefix", "initialism", "plural", "ticker", "ticker-marked", "fuzzy"
]

# How sure each kind of reading is; a fuzzy reading's confidence comes from its distance.
CONFIDENCE: dict[str, float] = {
    "name": 1.0,
    "ticker-marked": 1.0,
    "alias": 0.95,
    "ticker": 0.9,
    "prefix": 0.9,
    "plural": 0.9,
    "initialism": 0.85,
}

# The mean length of a fiscal quarter in days (a 52/53-week year's quarters are 13 weeks).
QUARTER_DAYS = 91.3

_WORDS = tomllib.loads(Path(__file__).with_name("words.toml").read_text(encoding="utf-8"))

# Capitalised words that are tickers of some company but are far more often words or acronyms
# in a financial question. Such tickers need an explicit marker ($ON, (NYSE: ON), ticker ON).
TICKER_STOPWORDS: frozenset[str] = frozenset(_WORDS["ticker_stopwords"])
FUNCTION_WORDS: frozenset[str] = frozenset(_WORDS["function_words"])
# Ordinary words: never a leading-words alias alone, a lowercase ticker or a fuzzy guess.
COMMON_WORDS: frozenset[str] = (
    FUNCTION_WORDS | frozenset(_WORDS["name_words"]) | frozenset(_WORDS["finance_words"])
)

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
_SUFFIX_WORDS = frozenset(w for s in _LEGAL_SUFFIXES for w in s if len(w) > 1)

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

_MARKED_TICKER = re.compile(
    r"\$([A-Za-z]{1,5}(?:\.[A-Za-z])?)\b"
    r"|\b(?:NYSE|NASDAQ|Nasdaq|AMEX|NYSE American|ASX|LSE|TSX)\s*:\s*([A-Za-z]{1,5})\b"
    r"|\b(?:[Tt]icker|[Ss]ymbol)\b(?:\s+symbol)?\s*[:=]?\s*\$?([A-Za-z]{1,5})\b"
)
# A file name that reads "NAME_2022_10K" or "name-20221231": leading words, then a year.
_FILE_SPLIT = re.compile(r"[_\-\s.]+")
_FILE_FORM_WORD = re.compile(
    r"^(?:annual|quarterly|report|earnings|release|filing|form|10k|10q|8k|20f|draft|final|copy)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    norm: str  # lowercase, possessive dropped, "&" -> "and"
    start: int
    end: int
    raw: str
    possessive: bool = False


def tokenize(text: str) -> list[Token]:
    """Word tokens with their character spans; possessives are not part of the span."""
    out = []
    for m in _TOKEN.finditer(text):
        if m.group(0) == "&":
            out.append(Token("and", m.start(), m.end(), "&"))
        else:
            out.append(
                Token(m.group(1).lower(), m.start(1), m.end(1), m.group(1), m.end() > m.end(1))
            )
    return out


def _strip(toks: list[Token]) -> tuple[list[Token], list[list[Token]], bool]:
    """The suffix-free core of a name, every step on the way, and whether a suffix was dropped."""
    steps = [toks]
    if len(toks) > 1 and toks[0].norm == "the":
        toks = toks[1:]
        steps.append(toks)
    had_suffix = False
    stripped = True
    while stripped and len(toks) > 1:
        stripped = False
        norms = tuple(t.norm for t in toks)
        for suffix in _LEGAL_SUFFIXES:
            n = len(suffix)
            if len(toks) > n and norms[-n:] == suffix:
                toks = toks[:-n]
                stripped = had_suffix = True
                break
        if len(toks) > 1 and toks[-1].norm == "and":  # "JPMorgan Chase & Co." -> "JPMorgan Chase"
            toks = toks[:-1]
            stripped = True
        if stripped:
            steps.append(toks)
    return toks, steps, had_suffix


def name_aliases(name: str) -> tuple[list[Token], set[str]]:
    """The suffix-free core tokens of a company name and every squashed alias derived from it.

    Example:
        >>> core, aliases = name_aliases("Best Buy Co., Inc.")
        >>> [t.raw for t in core], sorted(aliases)
        (['Best', 'Buy'], ['bestbuy', 'bestbuyco', 'bestbuycoinc'])
    """
    toks, steps, _ = _strip(tokenize(name))
    aliases = {"".join(t.norm for t in step) for step in steps}
    if any(t.norm == "and" for t in toks[1:-1]):  # "Procter Gamble" for "Procter & Gamble"
        aliases.add(_key(toks))
    aliases.discard("")
    return toks, aliases


def _key(toks: list[Token]) -> str:
    """The grouping key of a core name: squashed, "and" dropped ("johnsonjohnson")."""
    return "".join(t.norm for t in toks if t.norm != "and") or "".join(t.norm for t in toks)


def squash(text: str) -> str:
    return squash_tokens(tokenize(text))


def squash_tokens(toks: list[Token]) -> str:
    return "".join(t.norm for t in toks)


def _prefixes(core: list[Token]) -> set[str]:
    """Leading-words aliases of a core name: "lockheed" for Lockheed Martin (see module doc)."""
    out: set[str] = set()
    if not core or core[0].norm in FUNCTION_WORDS:
        return out
    for k in range(1, len(core)):
        head = core[:k]
        last = head[-1].norm
        if last == "and" or last in FUNCTION_WORDS or (k == 1 and last in COMMON_WORDS):
            continue
        key = "".join(t.norm for t in head)
        if len(key) >= 3 and not key.isdigit():
            out.add(key)
    return out


def _initialisms(core: list[Token]) -> set[str]:
    """'amd' for Advanced Micro Devices; 'pandg', 'png' for Procter & Gamble; 'amex' for
    American Express (the first two letters of the first two words)."""
    if len(core) < 2:
        return set()
    out = {
        "".join(t.norm[0] for t in core if t.norm != "and"),
        "".join("and" if t.norm == "and" else t.norm[0] for t in core),
        "".join("n" if t.norm == "and" else t.norm[0] for t in core),
        "".join(t.norm[0] for t in core if t.norm not in FUNCTION_WORDS),
    }
    words = [t.norm for t in core if t.norm != "and"]
    if len(words) >= 2 and all(len(w) >= 3 and w.isalpha() for w in words[:2]):
        out.add(words[0][:2] + words[1][:2])
    # Two letters are too often an abbreviation ("GM" gross margin, "AR"); "&" forms are kept.
    return {i for i in out if "and" in i or (len(i) >= 3 and i.upper() not in TICKER_STOPWORDS)}


def file_name_words(file_name: str | None) -> list[str]:
    """The leading words of a file name that reads like ``NAME_2022_10K.pdf`` (else none).

    Example:
        >>> file_name_words("AMERICANWATERWORKS_2021_10K.pdf"), file_name_words("report.pdf")
        (['AMERICANWATERWORKS'], [])
    """
    if not file_name:
        return []
    parts = [p for p in _FILE_SPLIT.split(Path(file_name).stem) if p]
    words: list[str] = []
    for p in parts:
        if not p.isalpha():
            break
        words.append(p)
    rest = parts[len(words) :]
    if not words or not rest or not re.match(r"(?:19|20)\d{2}", rest[0]):
        return []
    if any(_FILE_FORM_WORD.match(w) for w in words):
        return []
    key = "".join(words).lower()
    if len(key) < 3 or key in COMMON_WORDS:
        return []
    return words


@dataclass(eq=False)
class Entity:
    """One company of the catalog, however its name is spelled across filings."""

    key: str  # the squashed suffix-free name (or the ticker when no name is known)
    display: str  # the canonical display name: "Best Buy", "Boeing", "3M"
    names: list[str] = field(default_factory=list)  # catalog spellings
    tickers: list[str] = field(default_factory=list)
    ciks: list[str] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)  # squashed: derived from names + built-in
    name_keys: set[str] = field(default_factory=set)  # squashed aliases derived from names only
    prefixes: set[str] = field(default_factory=set)  # squashed leading-words aliases
    initialisms: set[str] = field(default_factory=set)
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


def _display(name: str, tickers: list[str]) -> str:
    core, _ = name_aliases(name)
    if not core:
        return name.strip()
    shown = name[core[0].start : core[-1].end]
    if shown.isupper():  # "BEST BUY" -> "Best Buy", "CVS HEALTH" -> "CVS Health"; "IBM" stays
        one_word = not re.search(r"\s", shown)

        def case(m: re.Match[str]) -> str:
            w = m.group(0)
            keep = w in tickers or (len(w) <= 3 and (one_word or not re.search(r"[AEIOU]", w)))
            return w if keep else w.capitalize()

        shown = re.sub(r"[A-Z]{2,}", case, shown)
    return re.sub(r"\s+", " ", shown)


def _newest(f: Filing) -> date:
    d = f.period_end or f.filed_at
    if d is None and f.fiscal_year:
        d = date(f.fiscal_year, 12, 31)
    return d or date.min


def _canonical_name(members: list[Filing]) -> str | None:
    """The catalog spelling that looks most like a registered name (see module doc)."""
    newest: dict[str, date] = {}
    for f in members:
        if f.company and f.company.strip():
            n = f.company.strip()
            newest[n] = max(newest.get(n, date.min), _newest(f))
    if not newest:
        return None

    def rank(n: str) -> tuple:
        return (_strip(tokenize(n))[2], newest[n], not n.isupper(), -len(n))

    return max(newest, key=rank)


def _unlike(name: str, file_name: str) -> bool:
    """A catalog name that reads like no registered name and shares no word with the file name.

    Such a name is text the cover-page reader took by mistake; the file name is shown instead.
    """
    if _strip(tokenize(name))[2]:
        return False
    key = squash(file_name)
    return not any(len(t.norm) >= 3 and t.norm in key for t in tokenize(name))


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

        catalog_tickers = {
            f.ticker.strip().upper() for f in filings if f.ticker and f.ticker.strip()
        }
        file_words: dict[str, list[str]] = {}
        keys: list[str | None] = []
        for f in filings:
            nodes = []
            if f.company and f.company.strip():
                core, _ = name_aliases(f.company)
                nodes.append("n:" + _key(core))
            if f.ticker and f.ticker.strip():
                nodes.append("t:" + f.ticker.strip().upper())
            if f.cik and f.cik.strip():
                nodes.append("c:" + f.cik.strip().lstrip("0"))
            words = file_name_words(f.file_name)
            if words:
                file_words[f.doc_id] = words
                if not (f.company and f.company.strip()):
                    joined = "".join(words)
                    upper = joined.upper()
                    nodes.append(
                        "t:" + upper if upper in catalog_tickers else "n:" + joined.lower()
                    )
            for node in nodes:
                find(node)
            for node in nodes[1:]:
                union(node, nodes[0])
            keys.append(nodes[0] if nodes else None)

        groups: dict[str, list[Filing]] = {}
        for f, node in zip(filings, keys, strict=True):
            if node is not None:
                groups.setdefault(find(node), []).append(f)
        self.entities: list[Entity] = []
        self.unassigned = [f for f, node in zip(filings, keys, strict=True) if node is None]
        self._by_doc: dict[str, Entity] = {}
        self._alias: dict[str, list[Entity]] = {}
        self._prefix: dict[str, list[Entity]] = {}
        self._initialism: dict[str, list[Entity]] = {}
        self._lowercase_ok: set[str] = set()  # built-in aliases spelled in lowercase ("onsemi")
        self._ticker: dict[str, list[Entity]] = {}
        for members in groups.values():
            ent = self._entity(members, file_words)
            self.entities.append(ent)
            for f in members:
                self._by_doc[f.doc_id] = ent
            for table, keys_ in (
                (self._alias, ent.aliases),
                (self._prefix, ent.prefixes - ent.aliases),
                (self._initialism, ent.initialisms),
            ):
                for a in keys_:
                    table.setdefault(a, []).append(ent)
            for t in ent.tickers:
                self._ticker.setdefault(t, []).append(ent)
        self._max_ngram = 1 + max(
            (sum(1 for _ in tokenize(n)) for e in self.entities for n in e.names), default=1
        )
        self._fuzzy_choices = sorted(
            a for a in set(self._alias) | set(self._prefix) if len(a) >= 6 and not a.isdigit()
        )

    def _entity(self, members: list[Filing], file_words: dict[str, list[str]]) -> Entity:
        names = sorted({f.company.strip() for f in members if f.company and f.company.strip()})
        tickers = sorted(
            {f.ticker.strip().upper() for f in members if f.ticker and f.ticker.strip()}
        )
        ciks = sorted({f.cik.strip() for f in members if f.cik and f.cik.strip()})
        from_files = [
            " ".join(w.capitalize() if w.isupper() and len(w) > 3 else w for w in words)
            for f in members
            if (words := file_words.get(f.doc_id))
        ]
        canonical = _canonical_name(members)
        file_name = Counter(from_files).most_common(1)[0][0] if from_files else None
        if canonical and file_name and _unlike(canonical, file_name):
            canonical = None  # "For the transition period from to" beside COCACOLA_2017_10K.pdf
        if canonical:
            display = _display(canonical, tickers)
        elif file_name:
            display = file_name
        else:
            display = tickers[0] if tickers else f"CIK {ciks[0]}"
        name_keys: set[str] = set()
        prefixes: set[str] = set()
        initialisms: set[str] = set()
        for n in names:
            core, aliases = name_aliases(n)
            name_keys |= aliases
            prefixes |= _prefixes(core)
            initialisms |= _initialisms(core)
        key = squash(display)
        extras = BUILTIN_ALIASES.get(key, ())
        aliases = set(name_keys) | {squash(extra) for extra in extras}
        # A file name that reads "MICROSOFT_2016_10K" names the company too (file_name_words).
        aliases |= {
            "".join(file_words[f.doc_id]).lower() for f in members if f.doc_id in file_words
        }
        self._lowercase_ok |= {squash(x) for x in extras if x[0].islower()}
        return Entity(
            key=key,
            display=display,
            names=names,
            tickers=tickers,
            ciks=ciks,
            aliases=aliases,
            name_keys=name_keys,
            prefixes=prefixes,
            initialisms=initialisms,
            filings=members,
        )

    def by_key(self, key: str) -> Entity | None:
        return next((e for e in self.entities if e.key == key), None)

    def entity_of(self, doc_id: str) -> Entity | None:
        """The entity a filing belongs to (None for a filing with no name, ticker or CIK)."""
        return self._by_doc.get(doc_id)

    def display_name(self, filing: Filing) -> str | None:
        """The canonical display name of a filing's company (its own spelling when ungrouped).

        Example:
            >>> index.display_name(nike_10k_2018), index.display_name(nike_10k)  # doctest: +SKIP
            ('Nike', 'Nike')
        """
        ent = self._by_doc.get(filing.doc_id)
        if ent is not None:
            return ent.display
        return filing.company.strip() if filing.company and filing.company.strip() else None

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
                if any(used[i : i + n]):
                    continue
                found = self._lookup(question, toks, i, n, case_blind)
                if not found:
                    continue
                start, end = toks[i].start, toks[i + n - 1].end
                for ent, how in found:
                    matches.append(
                        CompanyMatch(ent, start, end, question[start:end], how, CONFIDENCE[how])
                    )
                for j in range(i, i + n):
                    used[j] = True
                break
        # Tickers written as tickers, then bare tickers.
        taken = [(m.start, m.end) for m in matches]
        for m in _MARKED_TICKER.finditer(question):
            sym = next(g for g in m.groups() if g)
            if sym.islower() and (len(sym) < 2 or sym in COMMON_WORDS):
                continue
            for ent in self._ticker.get(sym.upper(), []):
                matches.append(
                    CompanyMatch(ent, m.start(), m.end(), m.group(0), "ticker-marked", 1.0)
                )
                taken.append((m.start(), m.end()))
        for t in toks:
            sym = self._bare_ticker(t, case_blind)
            if sym is None or any(s <= t.start < e for s, e in taken):
                continue
            for ent in self._ticker.get(sym, []):
                how: MatchHow = "ticker"
                matches.append(CompanyMatch(ent, t.start, t.end, t.raw, how, CONFIDENCE[how]))
        notes: list[str] = []
        if not matches and self._fuzzy_choices:
            matches, notes = self._fuzzy(question, toks)
        matches.sort(key=lambda m: m.start)
        return matches, notes

    def _lookup(
        self, question: str, toks: list[Token], i: int, n: int, case_blind: bool
    ) -> list[tuple[Entity, MatchHow]]:
        """Entities the n words at ``i`` name, exact readings first; empty when none."""
        span = toks[i : i + n]
        key = "".join(t.norm for t in span)
        first = span[0].raw[0]
        capital = case_blind or first.isupper() or first.isdigit()
        found: list[tuple[Entity, MatchHow]] = []
        if capital or key in self._lowercase_ok:
            found += [
                (e, "name" if key in e.name_keys else "alias") for e in self._alias.get(key, ())
            ]
        if capital and key in self._prefix and self._prefix_ok(question, toks, i, n, key):
            found += [(e, "prefix") for e in self._prefix[key]]
        if capital and not found and len(key) > 4 and key.endswith("s") and not span[-1].possessive:
            stem = key[:-1]
            found += [(e, "plural") for e in self._alias.get(stem, ())]
            if stem in self._prefix and self._prefix_ok(question, toks, i, n, stem):
                found += [(e, "plural") for e in self._prefix[stem]]
        written_caps = all(t.raw == "&" or (t.raw.isupper() and t.raw.isalpha()) for t in span)
        camel = n == 1 and span[0].raw.isalpha() and span[0].raw[0].isupper()
        camel = camel and any(c.isupper() for c in span[0].raw[1:])  # "JnJ", "AmEx"
        if (written_caps or camel) and key in self._initialism and span[0].raw != "&":
            found += [(e, "initialism") for e in self._initialism[key]]
        seen: set[int] = set()
        out = []
        for e, how in found:
            if id(e) not in seen:
                seen.add(id(e))
                out.append((e, how))
        return out

    def _prefix_ok(self, question: str, toks: list[Token], i: int, n: int, key: str) -> bool:
        """A leading-words alias stands for the company unless the words go on as another name."""
        span = toks[i : i + n]
        if len(key) < 4 and not all(t.raw.isupper() for t in span):
            return False  # "CVS" in capitals, never "cvs" or "Cvs"
        if span[-1].possessive or i + n >= len(toks):
            return True
        nxt = toks[i + n]
        between = question[span[-1].end : nxt.start]
        goes_on = (
            between.strip() in ("", "-")
            and len(nxt.raw) >= 3
            and nxt.raw[0].isupper()
            and nxt.raw[1:].islower()
            and nxt.norm not in COMMON_WORDS
            and nxt.norm not in _SUFFIX_WORDS
        )
        return not goes_on

    def _bare_ticker(self, t: Token, case_blind: bool) -> str | None:
        """The catalog ticker a bare token stands for under the ticker rule, if any."""
        raw = t.raw
        if not raw.isalpha() or len(raw) < 2:
            return None
        sym = raw.upper()
        if sym not in self._ticker or sym in TICKER_STOPWORDS:
            return None
        if raw.isupper():
            return sym
        if len(raw) >= 3 and any(c.isupper() for c in raw[1:]):  # "JnJ"
            return sym
        if (
            len(raw) >= 3
            and t.norm not in COMMON_WORDS
            and (case_blind or not re.search(r"[aeiou]", t.norm))
        ):  # "msft", "jnj": no English word has no vowel
            return sym
        return None

    def _fuzzy(self, question: str, toks: list[Token]) -> tuple[list[CompanyMatch], list[str]]:
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        found: list[CompanyMatch] = []
        notes: list[str] = []
        i = 0
        while i < len(toks):
            # The closest reading of the one to three words starting here (longer on a tie).
            best: tuple[int, int, str] | None = None
            for n in (1, 2, 3):
                span = toks[i : i + n]
                if len(span) < n or not span[0].raw[0].isupper():
                    break
                if any(not t.raw.isalpha() or t.norm in COMMON_WORDS for t in span):
                    break
                if any(t.possessive for t in span[:-1]):  # "Acme's R" is not one name
                    break
                key = "".join(t.norm for t in span)
                if len(key) < 6 or key in self._alias or key in self._prefix:
                    continue
                hit = process.extractOne(
                    key,
                    self._fuzzy_choices,
                    scorer=DamerauLevenshtein.distance,
                    score_cutoff=1 if len(key) < 10 else 2,
                )
                if hit is not None and (best is None or hit[1] <= best[0]):
                    best = (hit[1], n, hit[0])
            if best is None:
                i += 1
                continue
            distance, n, choice = best
            span = toks[i : i + n]
            confidence = round(0.8 * (1 - distance / max(len(choice), len(squash_tokens(span)))), 2)
            text = question[span[0].start : span[-1].end]
            ents = list(dict.fromkeys(self._alias.get(choice, []) + self._prefix.get(choice, [])))
            for ent in ents:
                found.append(
                    CompanyMatch(ent, span[0].start, span[-1].end, text, "fuzzy", confidence)
                )
            shown = " or ".join(e.display for e in ents)
            notes.append(
                f"read '{text}' as {shown} (close spelling, not an exact match; "
                f"confidence {confidence:.2f})"
            )
            i += n
        return found, notes


def month_end(d: date) -> date:
    """``d`` moved back to the previous month's end when it falls in a month's first week.

    A quarter end plus whole quarters lands a day or two after the year end ("1 July" for a year
    ending 30 June); a 52/53-week year's end ("2 February") stays in its own month's reading.
    """
    return d.replace(day=1) - timedelta(days=1) if d.day <= 7 else d


def fiscal_year_end(entity: Entity) -> tuple[int, int] | None:
    """(month, day) on which the entity's fiscal year ends.

    From its annual filings' period ends; without one, from a quarterly filing's period end and
    quarter (the Q2 10-Q for the quarter ended 31 December says the year ends in June).
    """
    ends = [
        (f.period_end.month, f.period_end.day)
        for f in entity.filings
        if f.period_end and (f.fiscal_period == "FY" or (f.form or "").upper().startswith("10-K"))
    ]
    if not ends:
        for f in entity.filings:
            q = (f.fiscal_period or "").upper()
            if f.period_end and len(q) == 2 and q[0] == "Q" and q[1] in "1234":
                end = month_end(f.period_end + timedelta(days=QUARTER_DAYS * (4 - int(q[1]))))
                ends.append((end.month, end.day))
    if not ends:
        return None
    return Counter(ends).most_common(1)[0][0]
