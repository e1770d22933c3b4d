"""How figures are written: results in the unit and rounding the question asks, inputs in millions.

Contract: :func:`result_text` writes a metric's result ("24.26", "22.9%", "$6.49 billion",
"45.2 days"); :func:`money` writes a reported amount so that the verifier can match it to the fact
("$6,489 million"); :func:`quote` and :func:`citation` cite a fact as a table cell
("line item | column: text").
"""

from __future__ import annotations

from agent.figures.questions import Format
from core.records import Citation, Fact

_SCALE_WORDS = {1e3: "thousand", 1e6: "million", 1e9: "billion"}
_DEFAULT_DECIMALS = {"ratio": 2, "percent": 1, "days": 1}


def _digits(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _exact_decimals(value: float, most: int = 3) -> int:
    for decimals in range(most + 1):
        if abs(round(value, decimals) - value) < 1e-9 * max(1.0, abs(value)):
            return decimals
    return most


def money(value: float, scale: float | None = None, decimals: int | None = None) -> str:
    """A USD amount: in millions by default (as filings print them), exact unless rounded."""
    if scale is None:
        scale = 1e6 if abs(value) >= 1e6 else 1.0
    shown = value / scale
    if decimals is None:
        decimals = _exact_decimals(shown)
    sign = "-" if shown < 0 else ""
    word = f" {_SCALE_WORDS[scale]}" if scale in _SCALE_WORDS else ""
    return f"{sign}${_digits(abs(shown), decimals)}{word}"


def plain(value: float, unit: str) -> str:
    """A reported figure that is not an amount (shares, per-share)."""
    if unit == "USD/share":
        return f"${value:,.2f}"
    return _digits(value, _exact_decimals(value))


def figure(value: float, unit: str) -> str:
    return money(value) if unit == "USD" else plain(value, unit)


def result_text(value: float, unit: str, wish: Format) -> str:
    """The result as the answer states it. ``value`` is in ``unit`` (percent: points)."""
    if unit == "USD":
        decimals = wish.decimals
        if decimals is None and wish.scale is not None and wish.scale >= 1e9:
            decimals = 2
        return money(value, wish.scale, decimals)
    if wish.percent and unit == "ratio":
        value, unit = value * 100.0, "percent"
    decimals = wish.decimals if wish.decimals is not None else _DEFAULT_DECIMALS[unit]
    if unit == "percent":
        return f"{_digits(value, decimals)}%"
    if unit == "days":
        return f"{_digits(value, decimals)} days"
    return _digits(value, decimals)


def quote(fact: Fact) -> str:
    return f"{fact.line_item} | {fact.column}: {fact.text or plain(fact.value, fact.unit)}"


def citation(fact: Fact) -> Citation:
    return Citation(
        doc_id=fact.doc_id,
        file_name=fact.file_name,
        page_no=fact.page_no,
        chunk_id=fact.chunk_id,
        bbox=fact.bbox,
        quote=quote(fact),
        row_header=fact.line_item,
        col_header=fact.column,
    )
