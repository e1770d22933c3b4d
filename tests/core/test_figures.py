"""core.figures: the one reading of amounts, unit captions, numeric cells, months and dates."""

from __future__ import annotations

import re
from datetime import date

import pytest

from core.figures import (
    DATE_MENTIONS,
    MONTH,
    MONTHS,
    PERIOD,
    AmountError,
    dates_in,
    drop_unit_notes,
    find_figures,
    is_amount_cell,
    is_numeric_cell,
    is_unit_line,
    match_amount,
    month_number,
    parse_amount,
    parse_date,
    scale_of,
    unit_caption,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("$1.2 billion", 1.2e9), ("(3,400)", -3400.0), ("-$2.5m", -2.5e6), ("12%", 0.12)],
)
def test_parse_amount(text: str, value: float) -> None:
    assert parse_amount(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "12 apples", "1e19", "1 + 2"])
def test_parse_amount_refuses_what_is_no_amount(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text)


def test_match_amount_reads_one_literal_of_a_formula() -> None:
    amount = match_amount("growth($2,255.4, 1883.4)", 7)
    assert amount is not None
    assert (amount.value, amount.end) == (2255.4, 15)
    assert match_amount("abs(3.4)", 0) is None
    assert match_amount("(3.4) * 2", 0).negative  # type: ignore[union-attr]


def test_scale_words() -> None:
    assert scale_of(" Millions") == 1e6
    assert scale_of("bn") == scale_of("billion") == 1e9
    with pytest.raises(KeyError):
        scale_of("zillion")


def test_find_figures_reads_how_a_figure_is_written() -> None:
    (first, second) = find_figures("a loss of (12.5)% and US$1,234 million")
    assert (first.number, first.percent, first.negative, first.decimals) == (12.5, True, True, 1)
    assert (second.currency, second.scale_word, second.numeral) == ("US$", "million", "1,234")


def test_unit_caption_readings() -> None:
    caption = unit_caption("Revenue (Dollars in millions, except per share)", qualified=True)
    assert caption is not None
    assert (caption.start, caption.word, caption.scale) == (8, "millions", 1e6)
    assert unit_caption("(in thousands)").word == "thousands"  # type: ignore[union-attr]
    # glued PDF text: only the extractive answerer's unbounded reading sees it
    assert unit_caption("(in millionsexcept)") is None
    assert unit_caption("(in millionsexcept)", bounded=False).word == "millions"  # type: ignore[union-attr]
    # no "in": only the synthetic-query reading sees it
    assert unit_caption("($ million)") is None
    assert unit_caption("($ million)", bare=True).word == "millions"  # type: ignore[union-attr]


def test_unit_lines_and_notes() -> None:
    assert is_unit_line("(In millions, except per share data)")
    assert not is_unit_line("Revenue by segment (in millions)")
    assert drop_unit_notes("Revenue (in millions) (unaudited)") == "Revenue"


@pytest.mark.parametrize("text", ["66,608", "(1,234)", "12.5%", "$ 4", "\u2014", "8 pts", "n/a"])
def test_numeric_cells(text: str) -> None:
    assert is_numeric_cell(text)


def test_strict_cells_are_values_a_question_can_quote() -> None:
    assert is_numeric_cell("$ (1,234.5)", strict=True)
    for text in ("\u2014", "8 pts", "1,2345", "\u20ac12", "12*"):
        assert is_numeric_cell(text) and not is_numeric_cell(text, strict=True), text


def test_amount_cells_exclude_years() -> None:
    assert is_numeric_cell("2023") and not is_amount_cell("2023")
    assert is_amount_cell("2,023")


def test_month_pattern_is_exactly_the_month_names() -> None:
    names = {m.group(0).lower() for m in re.finditer(rf"\b{MONTH}\b", " ".join(MONTHS), re.I)}
    assert names == set(MONTHS)
    assert month_number("Sept.") == 9


def test_dates() -> None:
    text = "for the fiscal year ended Sept. 30 , 2023 and February 30, 2022 and June 1, 2021"
    assert parse_date(text) == date(2023, 9, 30)
    assert dates_in(text) == [date(2023, 9, 30), date(2021, 6, 1)]
    assert parse_date("February 30, 2022") is None
    assert any(p.search("on 30 June 2023") for p in DATE_MENTIONS)
    assert PERIOD.search("in FY2023").group(0) == "FY2023"  # type: ignore[union-attr]
