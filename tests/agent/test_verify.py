"""The verify step's number checker: extraction, support against evidence, sentence removal."""

from __future__ import annotations

import pytest

from agent.verify import (
    Evidence,
    VerifyError,
    extract_numbers,
    remove_unsupported,
    verify_answer,
)
from core.records import Chunk, TableData
from retrieval.tools.calculator import CalculatorTool

TABLE = (
    "Consolidated Statements of Operations\n"
    "(Dollars in millions, except per share data)\n"
    "| | 2023 | 2022 |\n"
    "| Total revenue | 66,608 | 54,263 |\n"
    "| Operating income (loss) | (231) | 1,204 |\n"
    "| Diluted earnings per share | $0.83 | $1.12 |\n"
)


# -- extraction ------------------------------------------------------------------------------------

EXTRACT_CASES = [
    ("$1,234.5 million", "amount", 1_234_500_000.0),
    ("1.2 billion", "amount", 1_200_000_000.0),
    ("$2.1bn", "amount", 2_100_000_000.0),
    ("$300 mm", "amount", 300_000_000.0),
    ("5k", "amount", 5_000.0),
    ("(3.4)", "number", -3.4),
    ("$(231)", "amount", -231.0),
    ("-3.4", "number", -3.4),
    ("12.5%", "percent", 12.5),
    ("12.5 percent", "percent", 12.5),
    ("(2.5%)", "percent", -2.5),
    ("66,608", "number", 66_608.0),
    ("$0.83", "amount", 0.83),
    ("2022", "year", 2022.0),
]


@pytest.mark.parametrize(("text", "kind", "value"), EXTRACT_CASES)
def test_extract_single_figure(text: str, kind: str, value: float) -> None:
    [mention] = extract_numbers(text)
    assert (mention.kind, mention.value) == (kind, pytest.approx(value))
    assert text[mention.start : mention.end].strip() == mention.text


NON_FIGURES = [
    ("Q2", "period"),
    ("FY2023", "period"),
    ("10-K", "form"),
    ("8-K", "form"),
    ("June 30, 2023", "date"),
    ("Item 7", "item"),
    ("Item 7A", "item"),
    ("Note 21", "item"),
    ("Exhibit 31.1", "item"),
    ("3rd", "ordinal"),
]


@pytest.mark.parametrize(("text", "kind"), NON_FIGURES)
def test_non_figures_are_typed_not_valued(text: str, kind: str) -> None:
    [mention] = extract_numbers(f"See {text} here")
    assert mention.kind == kind
    assert mention.value is None


def test_sentence_mixes_kinds_with_spans() -> None:
    text = "In Q2 2023 revenue rose 12.5% to $1.2 billion (see Note 4 of the 10-K)."
    mentions = extract_numbers(text)
    assert [(m.kind, m.text) for m in mentions] == [
        ("period", "Q2 2023"),
        ("percent", "12.5%"),
        ("amount", "$1.2 billion"),
        ("item", "Note 4"),
        ("form", "10-K"),
    ]


def test_header_scale_applies_to_bare_numbers_after_it() -> None:
    by_text = {m.text: m for m in extract_numbers(TABLE)}
    assert by_text["66,608"].value == pytest.approx(66_608e6)
    assert by_text["66,608"].scale_source == "header"
    assert by_text["(231)"].value == pytest.approx(-231e6)
    assert by_text["2023"].kind == "year"


def test_scale_hint_used_only_without_header() -> None:
    [hinted] = extract_numbers("Revenue 1,500", scale_hint=1e3)
    assert hinted.value == 1_500_000
    [own] = list(extract_numbers("(in millions) Revenue 1,500", scale_hint=1e3))
    assert own.value == 1_500e6


def test_negative_cue_words() -> None:
    [loss] = extract_numbers("a net loss of $231 million")
    assert loss.negative_cue and not loss.negative
    [gain] = extract_numbers("net income of $231 million")
    assert not gain.negative_cue


# -- verification ---------------------------------------------------------------------------------

TABLE_EV = [Evidence(id="c1", text=TABLE)]
CALC = Evidence(id="calc", text="growth(66608, 54263) = 22.75%\nvalue: 0.2275", percent=True)
FRACTION_ONLY = Evidence(id="calc2", text="value: 0.1975", percent=True)

# (answer, evidence, supported?, evidence id expected when supported)
VERIFY_CASES = [
    ("Revenue was $66,608 million.", TABLE_EV, True, "c1"),
    ("Revenue was $66.6 billion.", TABLE_EV, True, "c1"),  # rounds down
    ("Revenue was $66.61 billion.", TABLE_EV, True, "c1"),  # rounds up
    ("Revenue was about $67 billion.", TABLE_EV, True, "c1"),
    ("Revenue was 66,608 (in millions).", TABLE_EV, True, "c1"),  # as written
    ("Revenue was $66.7 billion.", TABLE_EV, False, None),  # near miss at stated precision
    ("Revenue was $66,680 million.", TABLE_EV, False, None),  # near miss 66,608 vs 66,680
    ("Revenue was $66.608 thousand.", TABLE_EV, False, None),  # wrong scale
    ("Diluted EPS was $0.83.", TABLE_EV, True, "c1"),  # per-share figure, not scaled
    ("Operating loss was $(231) million.", TABLE_EV, True, "c1"),
    ("Operating loss was -$231 million.", TABLE_EV, True, "c1"),
    ("The company posted an operating loss of $231 million.", TABLE_EV, True, "c1"),
    ("The company posted operating income of $231 million.", TABLE_EV, False, None),  # sign
    ("Revenue grew 22.75%.", [*TABLE_EV, CALC], True, "calc"),
    ("Revenue grew 22.8%.", [*TABLE_EV, CALC], True, "calc"),
    ("Revenue grew 23%.", [*TABLE_EV, CALC], True, "calc"),
    ("Revenue grew 22.9%.", [*TABLE_EV, CALC], False, None),
    ("Growth was 19.75 percent.", [FRACTION_ONLY], True, "calc2"),
    ("Growth was 19.8%.", [FRACTION_ONLY], True, "calc2"),
    ("Growth was 0.1975%.", [Evidence(id="x", text="value: 0.1975")], True, "x"),
    ("Growth was 19.75%.", [Evidence(id="x", text="value: 0.1975")], False, None),  # no flag
    ("Revenue was 1.2 billion.", [Evidence(id="p", text="sales of $1,200 million")], True, "p"),
    ("Revenue was $1.5bn.", [Evidence(id="p", text="revenue 1,500", scale=1e6)], True, "p"),
    ("Revenue was $1.5bn.", [Evidence(id="p", text="revenue 1,500")], True, "p"),  # scale unknown
]


@pytest.mark.parametrize(("answer", "evidence", "supported", "evidence_id"), VERIFY_CASES)
def test_verify_cases(
    answer: str, evidence: list[Evidence], supported: bool, evidence_id: str | None
) -> None:
    result = verify_answer(answer, evidence)
    assert len(result.figures) == 1, [f.mention.text for f in result.figures]
    [check] = result.figures
    assert check.supported is supported, check.reason
    assert check.evidence_id == evidence_id
    assert result.all_supported is supported
    if not supported:
        assert result.unsupported == [check]
        assert check.reason


def test_over_precise_answer_is_not_supported_by_rounded_evidence() -> None:
    result = verify_answer("Revenue was $66,608 million.", [Evidence(id="r", text="$66.6 billion")])
    assert not result.all_supported


def test_years_dates_forms_items_are_ignored() -> None:
    answer = (
        "For the fiscal year ended June 30, 2023, as reported in the 10-K (Item 7, Note 21), "
        "revenue in 2023 and Q2 was $66.6 billion."
    )
    result = verify_answer(answer, TABLE_EV)
    assert [f.mention.text for f in result.figures] == ["$66.6 billion"]
    assert result.all_supported
    assert {m.kind for m in result.ignored} == {"date", "form", "item", "year", "period"}


def test_planted_number_is_caught_with_nearest_reason() -> None:
    answer = (
        "Revenue was $66.6 billion, up from $54.3 billion. Operating income was $1,240 million."
    )
    result = verify_answer(answer, TABLE_EV)
    assert [f.mention.text for f in result.unsupported] == ["$1,240 million"]
    assert "1,204" in result.unsupported[0].reason
    supported = {f.mention.text: f.evidence_id for f in result.figures if f.supported}
    assert supported == {"$66.6 billion": "c1", "$54.3 billion": "c1"}


def test_evidence_from_chunk_reads_table_header_scale() -> None:
    table = TableData(
        caption="(in thousands)", header_rows=[["", "2023"]], rows=[["Revenue", "1,500"]]
    )
    chunk = Chunk(
        chunk_id="k1",
        doc_id="d",
        page_no=3,
        modality="table",
        text="| Revenue | 1,500 |",
        table=table,
    )
    result = verify_answer("Revenue was $1.5 million.", [Evidence.from_chunk(chunk)])
    assert result.all_supported
    assert result.figures[0].evidence_id == "k1"


def test_evidence_from_calculator_tool_result() -> None:
    tool_result = CalculatorTool().run({"expression": "growth(2255.4, 1883.4)"})
    evidence = Evidence.from_tool_result(tool_result, id="call-1")
    assert evidence.percent
    result = verify_answer(
        "Sales grew 19.7% (19.75% exactly) to $2,255.4 million.",
        [Evidence(id="c", text="Net sales $2,255.4 million"), evidence],
    )
    checks = {f.mention.text: f for f in result.figures}
    assert not checks["19.7%"].supported  # 19.75 rounds to 19.8, not 19.7
    assert checks["19.75%"].evidence_id == "call-1"
    assert checks["$2,255.4 million"].evidence_id == "c"


# -- removal ---------------------------------------------------------------------------------------


def test_remove_unsupported_keeps_supported_sentences() -> None:
    answer = (
        "Revenue was $66.6 billion in fiscal 2023, up 22.75% from $54.3 billion. "
        "Operating income was $1,240 million. Diluted EPS was $0.83 (U.S. GAAP)."
    )
    verification = verify_answer(answer, [*TABLE_EV, CALC])
    assert [f.mention.text for f in verification.unsupported] == ["$1,240 million"]
    trimmed = remove_unsupported(answer, verification)
    assert trimmed == (
        "Revenue was $66.6 billion in fiscal 2023, up 22.75% from $54.3 billion. "
        "Diluted EPS was $0.83 (U.S. GAAP)."
    )
    assert verify_answer(trimmed, [*TABLE_EV, CALC]).all_supported


def test_remove_unsupported_drops_bullet_lines() -> None:
    answer = "Key figures:\n- Revenue: $66.6 billion\n- Backlog: $9.9 billion\n- EPS: $0.83"
    verification = verify_answer(answer, TABLE_EV)
    assert remove_unsupported(answer, verification) == (
        "Key figures:\n- Revenue: $66.6 billion\n- EPS: $0.83"
    )


def test_remove_unsupported_rejects_other_text() -> None:
    verification = verify_answer("Revenue was $66.6 billion.", TABLE_EV)
    with pytest.raises(VerifyError, match="verify_answer"):
        remove_unsupported("Revenue was $70 billion.", verification)


def test_citation_markers_are_not_figures():
    from agent.verify import Evidence, extract_numbers, verify_answer

    kinds = [m.kind for m in extract_numbers("Revenue was 2,255.4 [1][2] and 1,883.4 [12].")]
    assert kinds == ["number", "citation", "citation", "number", "citation"]
    check = verify_answer(
        "Revenue was 2,255.4 [1].", [Evidence(id="c1", text="Total revenue 2,255.4")]
    )
    assert check.all_supported and len(check.figures) == 1


# -- amounts written in full, scale words and captions (the "$4,200,000,000" regression) ---------


@pytest.mark.parametrize(
    ("answer", "evidence"),
    [
        ("$4,200,000,000", "Revenue $4,200,000,000"),  # exact, large: float tolerance was > 0.5
        ("$4,200,000,000", "(in millions)\nRevenue 4,200"),
        ("$4,200,000,000", "Revenue was 4.2 billion"),
        ("$4,200,000,000", "(in thousands)\nRevenue 4,200,000"),
        ("$4.2 billion", "(in millions)\nRevenue 4,200"),
        ("$4.2bn", "(in thousands)\nRevenue 4,200,000"),
        ("$4,200mm", "(in millions)\nRevenue 4,200"),
        ("$4,200 million", "Revenue was $4.2 billion"),
        ("4,200 thousand", "(in thousands)\nRevenue 4,200"),
        ("22.9%", "margin 22.94%"),
    ],
)
def test_amounts_in_full_and_scaled_are_supported(answer, evidence):
    result = verify_answer(f"Revenue was {answer}.", [Evidence(id="e", text=evidence)])
    assert result.unsupported == [], result.unsupported[0].reason


@pytest.mark.parametrize(
    ("answer", "evidence"),
    [
        ("$4,000,000,000", "(in millions)\nRevenue 4,200"),  # trailing zeros are not a licence
        ("$4,210,000,000", "Revenue was 4.2 billion"),  # more precision than the evidence
        ("$66,680 million", "(in millions)\nRevenue 66,608"),
        ("23.9%", "margin 22.94%"),
    ],
)
def test_wrong_or_overprecise_amounts_stay_unsupported(answer, evidence):
    result = verify_answer(f"Revenue was {answer}.", [Evidence(id="e", text=evidence)])
    assert len(result.unsupported) == 1


def test_a_calculation_is_evidence_for_its_result_and_inputs():
    from agent.verify import calculation_evidence
    from core.records import Calculation, CalculationInput

    calc = Calculation(
        metric="fixed asset turnover",
        formula="revenue / avg(ppe_net)",
        inputs=[
            CalculationInput(name="revenue", period="FY2019", value=6.489e9),
            CalculationInput(name="ppe_net", period="FY2019", value=2.53e8),
        ],
        result=24.2579,
        text="24.26",
    )
    text = "The FY2019 fixed asset turnover is 24.26: revenue $6,489 million, PP&E $253 million."
    assert verify_answer(text, [calculation_evidence(calc)]).unsupported == []
    assert verify_answer("It is 24.31.", [calculation_evidence(calc)]).unsupported
