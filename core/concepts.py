"""Standard concepts: which line item of which statement a printed row label or an XBRL tag is.

Contract: :func:`concept_of` maps a row label as printed, with the statement kind of its table
(:mod:`ingest.statements` kinds) and the section rows above it, to one standard concept name
(``revenue``, ``ppe_net``, ``capex``...) or None. :func:`concept_of_xbrl` does the same for a
us-gaap element name (``us-gaap:PropertyPlantAndEquipmentNet``). :data:`CONCEPTS` describes each
concept (statements, instant or duration, unit).

Matching is by the normalised label (:func:`normalise`: lowercase, punctuation, "(Note 5)",
"net of ..." and footnote marks dropped), the statement kind and the path, never by company:
"Total" under "Current assets:" is ``current_assets``; "Diluted" under "Earnings per share:" is
``eps_diluted``. A label outside the concept's statements does not match (a segment note's
"Revenue" is not the income statement's), except when no statement is given (``statement=None``
matches any: the vocabulary check of a bare line-item name).

The table (``concepts.toml`` beside this module: data, not code) is general financial vocabulary
(US GAAP captions and their usual variants, us-gaap element names); a malformed file fails at
import naming the entry.

Example:
    >>> concept_of("Total", "balance", ["Assets", "Current assets:"])
    'current_assets'
    >>> concept_of("Property, plant and equipment, net (Note 5)", "balance")
    'ppe_net'
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.records import STATEMENTS

CONCEPTS_FILE = Path(__file__).with_name("concepts.toml")
UNITS = ("USD", "shares", "USD/share")


@dataclass(frozen=True)
class Concept:
    name: str
    statements: tuple[str, ...]
    period: str  # instant | duration
    unit: str  # USD | shares | USD/share
    labels: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    xbrl: tuple[str, ...]


_NOTE = re.compile(r"\((?:see\s+)?notes?\s*[\w\s,&-]*\)|\bnotes?\s+\d+[a-z]?\b", re.I)
_FOOTNOTE = re.compile(r"\((?:[a-z]|\d{1,2}|\*+)\)|\*+|\u2020|\u2021")
# "net of allowances of $132", "net of tax", "net of construction payable": a qualifier of the line
_NET_OF = re.compile(r",?\s*\(?\s*net\s+of\b[^)]*\)?", re.I)
_LESS = re.compile(r",?\s*\(?\s*less\s+(?:allowances?|accumulated)\b[^)]*\)?", re.I)
_PUNCT = re.compile(r"[^a-z0-9]+")
_GENERIC = {"total", "totals", "net", "basic", "diluted", "net total", "total net", "subtotal"}


def normalise(label: str) -> str:
    """A row label reduced to lowercase words: "Inventories, net (Note 6)" -> "inventories net".

    Drops note references, footnote marks, "net of ..." / "less allowance ..." qualifiers,
    apostrophes ("shareholders'" -> "shareholders") and punctuation; mojibake non-breaking
    spaces ("Â") count as spaces.
    """
    text = unicodedata.normalize("NFKC", label.replace("\u00c2", " ").replace("\u00a0", " "))
    text = text.replace("\u2019", "'").replace("'", "")
    text = _NOTE.sub(" ", text)
    text = _FOOTNOTE.sub(" ", text)
    text = _NET_OF.sub(" ", text)
    text = _LESS.sub(" ", text)
    text = text.replace("&", " and ")
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _load(path: Path) -> tuple[Concept, ...]:
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("concept", [])
    out: list[Concept] = []
    for n, entry in enumerate(entries, start=1):
        try:
            statements = tuple(entry["statements"])
            unknown = set(statements) - set(STATEMENTS)
            if unknown:
                raise ValueError(f"unknown statements {sorted(unknown)}; known: {STATEMENTS}")
            if entry["period"] not in ("instant", "duration"):
                raise ValueError(f"period must be instant or duration, not {entry['period']!r}")
            unit = entry.get("unit", "USD")
            if unit not in UNITS:
                raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
            labels = [str(x) for x in entry.get("labels", [])]
            odd = [x for x in labels if normalise(x) != x]
            if odd:
                raise ValueError(f"labels must be written normalised: {odd}")
            if any(c.name == entry["name"] for c in out):
                raise ValueError("duplicate concept name")
            out.append(
                Concept(
                    name=str(entry["name"]),
                    statements=statements,
                    period=entry["period"],
                    unit=unit,
                    labels=frozenset(labels),
                    patterns=tuple(re.compile(p) for p in entry.get("patterns", [])),
                    xbrl=tuple(str(x) for x in entry.get("xbrl", [])),
                )
            )
        except (KeyError, TypeError, re.error, ValueError) as exc:
            raise ValueError(f"{path.name}: concept {n} ({entry.get('name')!r}): {exc}") from exc
    return tuple(out)


CONCEPTS: dict[str, Concept] = {c.name: c for c in _load(CONCEPTS_FILE)}
_BY_XBRL: dict[str, str] = {}
for _c in CONCEPTS.values():
    for _name in _c.xbrl:
        _BY_XBRL.setdefault(_name.lower(), _c.name)


@lru_cache(maxsize=65536)
def _match(text: str, statement: str | None) -> str | None:
    for concept in CONCEPTS.values():
        if statement is not None and statement not in concept.statements:
            continue
        if text in concept.labels or any(p.fullmatch(text) for p in concept.patterns):
            return concept.name
    return None


def concept_of(
    label: str, statement: str | None = None, path: list[str] | tuple[str, ...] = ()
) -> str | None:
    """The standard concept a printed row label names, or None.

    Args:
        label: the row label as printed.
        statement: the statement kind of its table; None matches any statement.
        path: the section rows above it, outermost first ("Current assets:").
    """
    text = normalise(label)
    if not text:
        return None
    section = normalise(path[-1]) if path else ""
    short_total = len(text.split()) <= 2 and text.startswith("total")  # "Total current"
    if text not in _GENERIC:
        found = _match(text, statement)
        if found or not (section and short_total):
            return found
    if not section:
        return None
    # "Total" / "Diluted" say what they are only with their section
    candidates = [f"total {section}"] if text in ("total", "totals") else []
    candidates += [f"{section} {text}", f"{text} {section}"]
    for candidate in candidates:
        found = _match(candidate, statement)
        if found:
            return found
    return None


def concept_of_xbrl(name: str) -> str | None:
    """The standard concept of an XBRL element name ("us-gaap:Revenues" or "Revenues"), or None."""
    return _BY_XBRL.get(name.rsplit(":", 1)[-1].lower())


__all__ = ["CONCEPTS", "Concept", "concept_of", "concept_of_xbrl", "normalise"]
