"""Figure questions over synthetic facts: metrics, definitions, judgements, abstention, format."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest

from agent.figures import answer_from_facts
from agent.figures.questions import definition_formula, read_question
from agent.verify import calculation_evidence, verify_answer
from core.records import Fact

BALANCE = {
    "ppe_net",
    "total_assets",
    "current_assets",
    "current_liabilities",
    "inventories",
    "receivables",
    "payables",
    "cash",
    "short_term_investments",
    "shareholders_equity",
}
STATEMENT = {
    "revenue": "income",
    "operating_income": "income",
    "income_tax_expense": "income",
    "pretax_income": "income",
    "net_income": "income",
    "cost_of_revenue": "income",
    "depreciation_amortization": "cash-flow",
    "capex": "cash-flow",
}


def fact(concept, year, millions, doc="doc-2019", statement=None, period="FY", **kw) -> Fact:
    instant = concept in BALANCE
    fid = hashlib.sha256(f"{concept}{year}{doc}{statement}{period}{millions}".encode()).hexdigest()
    return Fact(
        fact_id=fid[:12],
        doc_id=doc,
        file_name=f"{doc}.pdf",
        page_no=40 if instant else 38,
        chunk_id=f"chunk-{doc}",
        statement=statement or ("balance" if instant else STATEMENT.get(concept, "income")),
        line_item=concept.replace("_", " ").title(),
        concept=concept,
        column=f"Fiscal {year}",
        period_type="instant" if instant else "duration",
        months=None if instant else (12 if period == "FY" else 3),
        fiscal_year=year,
        fiscal_period=period,
        value=millions * 1e6,
        scale=1e6,
        text=f"{millions:,}",
        company="Globex",
        **kw,
    )


@dataclass
class MemoryFacts:
    """An in-memory FactSource (the protocol's contract, filtered naively)."""

    facts: list[Fact]
    calls: list[dict] = field(default_factory=list)

    def query(
        self,
        *,
        acl_groups,
        doc_ids=None,
        companies=None,
        concepts=None,
        fiscal_years=None,
        fiscal_periods=None,
        statements=None,
    ) -> list[Fact]:
        self.calls.append({"doc_ids": doc_ids, "companies": companies, "concepts": concepts})
        return [
            f
            for f in self.facts
            if set(f.acl) & set(acl_groups)
            and (not doc_ids or f.doc_id in doc_ids)
            and (not companies or f.company in companies)
            and (not concepts or f.concept in concepts)
            and (not fiscal_years or f.fiscal_year in fiscal_years)
            and (not fiscal_periods or f.fiscal_period in fiscal_periods)
            and (not statements or f.statement in statements)
        ]


@dataclass
class Resolved:
    doc_ids: list[str] = field(default_factory=lambda: ["doc-2019"])
    companies: list[str] = field(default_factory=lambda: ["Globex"])
    fiscal_years: list[int] = field(default_factory=list)


def ask(question, facts, resolved=None):
    out = answer_from_facts(question, resolved or Resolved(), MemoryFacts(facts), ["public"])
    assert out is not None
    text, calcs, cites = out
    # never a figure without evidence: the computed results and their inputs support the text
    evidence = [calculation_evidence(c, id=f"calc{i}") for i, c in enumerate(calcs)]
    assert verify_answer(text, evidence).unsupported == [], text
    return text, calcs, cites


def test_fixed_asset_turnover_with_average_ppe_and_a_stated_definition():
    facts = [fact("revenue", 2019, 6489), fact("ppe_net", 2019, 253), fact("ppe_net", 2018, 282)]
    text, calcs, cites = ask(
        "What is the FY2019 fixed asset turnover ratio for Globex? Fixed asset turnover ratio is "
        "defined as: FY2019 revenue / (average PP&E between FY2018 and FY2019). Round your "
        "answer to two decimal places.",
        facts,
    )
    calc = calcs[-1]
    assert calc.text == "24.26" and calc.result == pytest.approx(6489 / ((253 + 282) / 2))
    assert {(i.name, i.period) for i in calc.inputs} == {
        ("revenue", "FY2019"),
        ("ppe_net", "FY2019"),
        ("ppe_net", "FY2018"),
    }
    assert all(i.fact_id and i.file_name and i.page_no and "|" in i.quote for i in calc.inputs)
    assert len(cites) == 3 and "[1]" in text and "[3]" in text
    assert text.startswith("The FY2019 fixed asset turnover is 24.26")


def test_three_year_average_capex_percent_of_revenue():
    facts = [fact("revenue", y, r) for y, r in ((2016, 1000), (2017, 1100), (2018, 1250))]
    facts += [fact("capex", y, c) for y, c in ((2016, 50), (2017, 66), (2018, 50))]
    text, calcs, _ = ask(
        "What is Globex's 3-year average capex as a % of revenue from FY2016 to FY2018? Answer "
        "in units of percents and round to one decimal place.",
        facts,
    )
    assert calcs[-1].result == pytest.approx((5.0 + 6.0 + 4.0) / 3)
    assert calcs[-1].text == "5.0%" and len(calcs) == 4 and len(calcs[-1].inputs) == 6


def test_ebitda_margin_with_a_question_stated_definition():
    facts = []
    for y, (rev, oi, da) in {2018: (500, 50, 10), 2019: (600, 60, 12), 2020: (700, 70, 14)}.items():
        facts += [fact("revenue", y, rev), fact("operating_income", y, oi)]
        facts += [fact("depreciation_amortization", y, da)]
    text, calcs, _ = ask(
        "What is the FY2018 - FY2020 3 year average unadjusted EBITDA % margin for Globex? "
        "Define unadjusted EBITDA as unadjusted operating income + D&A (from cash flow "
        "statement). Answer in units of percents and round to one decimal place.",
        facts,
    )
    assert calcs[-1].text == "12.0%"
    assert calcs[0].formula == "(operating_income + depreciation_amortization) / revenue"


def test_question_definitions_win_over_the_catalogue():
    ask_ = read_question(
        "What is Globex's FY2020 EBITDA margin? Define EBITDA as operating income + "
        "depreciation and amortization + interest expense."
    )
    assert ask_.definitions["ebitda"] == (
        "operating_income + depreciation_amortization + interest_expense"
    )
    assert (
        definition_formula(
            "365 * (average accounts payable between FY2017 and FY2018) / (FY2018 COGS + change in "
            "inventory between FY2017 and FY2018)"
        )
        == "365 * ( avg(payables) ) / ( cost_of_revenue + change(inventories) )"
    )


def test_effective_tax_rate():
    facts = [fact("income_tax_expense", 2021, 210), fact("pretax_income", 2021, 1000)]
    text, calcs, _ = ask("What was Globex's effective tax rate in FY2021?", facts)
    assert calcs[-1].text == "21.0%" and "21.0%" in text


def test_quick_ratio_judgement():
    facts = [
        fact("cash", 2022, 300),
        fact("short_term_investments", 2022, 100),
        fact("receivables", 2022, 200),
        fact("current_liabilities", 2022, 800),
    ]
    text, calcs, _ = ask(
        "Does Globex have healthy liquidity based on its quick ratio for FY2022?", facts
    )
    assert calcs[-1].judgement == "No" and calcs[-1].text == "0.75"
    assert "quick ratio >= 1.0" in calcs[-1].rule and text.startswith("No.")


def test_improving_operating_margin_judgement():
    facts = [
        fact("revenue", 2021, 1000),
        fact("operating_income", 2021, 100),
        fact("revenue", 2022, 1200),
        fact("operating_income", 2022, 150),
    ]
    text, calcs, _ = ask("Is Globex's operating margin improving from FY2021 to FY2022?", facts)
    assert calcs[-1].judgement == "Yes"
    assert [c.text for c in calcs] == ["10.0%", "12.5%"] and text.startswith("Yes.")


def test_positive_working_capital():
    facts = [fact("current_assets", 2022, 900), fact("current_liabilities", 2022, 1000)]
    text, calcs, _ = ask("Does Globex have positive working capital based on FY2022 data?", facts)
    assert calcs[-1].judgement == "No" and calcs[-1].result == pytest.approx(-100e6)
    assert "-$100 million" in text


def test_missing_input_abstains_naming_it():
    facts = [fact("revenue", 2019, 6489), fact("ppe_net", 2019, 253)]
    text, calcs, _ = answer_from_facts(
        "What is Globex's FY2019 fixed asset turnover?", Resolved(), MemoryFacts(facts), ["public"]
    )
    assert calcs[-1].result is None and calcs[-1].text == ""
    assert any(m.startswith("ppe_net FY2018") and "doc-2019" in m for m in calcs[-1].missing)
    assert "cannot be computed" in text and "ppe_net FY2018" in text


@pytest.mark.parametrize(
    ("wish", "expected"),
    [
        ("in USD billions", "$6.49 billion"),
        ("in USD millions", "$6,489 million"),
        ("in USD thousands", "$6,489,000 thousand"),
    ],
)
def test_unit_formatting(wish, expected):
    _, calcs, _ = ask(f"What is Globex's FY2019 revenue {wish}?", [fact("revenue", 2019, 6489)])
    assert calcs[-1].text == expected


def test_ratio_as_percent_and_decimals():
    facts = [fact("current_assets", 2022, 1234), fact("current_liabilities", 2022, 1000)]
    _, calcs, _ = ask(
        "What is Globex's FY2022 current ratio? Round to three decimal places.", facts
    )
    assert calcs[-1].text == "1.234"
    _, calcs, _ = ask("What is Globex's FY2022 current ratio as a percentage?", facts)
    assert calcs[-1].text == "123.4%"


def test_comparison_year_from_a_prior_filing():
    facts = [
        fact("revenue", 2019, 6489),
        fact("ppe_net", 2019, 253),
        fact("ppe_net", 2018, 282, doc="doc-2018"),
    ]
    source = MemoryFacts(facts)
    text, calcs, cites = answer_from_facts(
        "What is Globex's FY2019 fixed asset turnover?", Resolved(), source, ["public"]
    )
    assert calcs[-1].text == "24.26"
    assert {c.doc_id for c in cites} == {"doc-2019", "doc-2018"}
    asked = [c for c in source.calls if c["concepts"] == ["ppe_net"]]
    assert asked[0]["doc_ids"] == ["doc-2019"] and asked[-1]["companies"] == ["Globex"]


def test_duplicates_prefer_the_primary_statement_and_fy():
    facts = [
        fact("revenue", 2019, 6400, statement="segment"),
        fact("revenue", 2019, 6489),
        fact("revenue", 2019, 1600, period="Q4"),
    ]
    _, calcs, _ = ask("What is Globex's FY2019 revenue?", facts)
    assert calcs[-1].result == 6489e6


def test_annual_flow_from_four_quarters():
    facts = [fact("capex", 2020, q, period=f"Q{i}") for i, q in enumerate((10, 20, 30, 40), 1)]
    _, calcs, _ = ask("What was Globex's FY2020 capex in USD millions?", facts)
    assert calcs[-1].text == "$100 million" and len(calcs[-1].inputs) == 4


def test_not_a_figure_question():
    assert (
        answer_from_facts("What are Globex's main risks?", Resolved(), MemoryFacts([]), ["public"])
        is None
    )


def test_acl_is_passed_to_the_source():
    hidden = fact("revenue", 2019, 6489, acl=["board"])
    text, calcs, _ = answer_from_facts(
        "What is Globex's FY2019 revenue?", Resolved(), MemoryFacts([hidden]), ["public"]
    )
    assert calcs[-1].result is None and "revenue FY2019" in text


def test_an_amount_paid_counts_at_its_size_and_is_quoted_as_printed():
    facts = [
        fact("revenue", 2019, 6489),
        fact("capex", 2019, -116),
        fact("dividends_paid", 2019, -389),
    ]
    text, calcs, _ = ask("What is Globex's FY2019 capex as a % of revenue?", facts)
    assert calcs[-1].result == pytest.approx(116 / 6489 * 100)
    assert "-$116 million" in text  # the statement's outflow, as printed
    _, calcs, _ = ask(
        "How much (in USD billions) did Globex pay in cash dividends in FY2019?", facts
    )
    assert calcs[-1].text == "$0.39 billion"


def test_a_line_item_margin_and_a_verb_of_growth():
    facts = [fact("revenue", 2019, 4000), fact("revenue", 2018, 3200)]
    facts += [fact("depreciation_amortization", 2019, 168)]
    _, calcs, _ = ask("What is Globex's FY2019 D&A % margin?", facts)
    assert calcs[-1].formula == "depreciation_amortization / revenue"
    assert calcs[-1].text == "4.2%"
    _, calcs, _ = ask("How much did Globex's total revenue grow from FY2018 to FY2019?", facts)
    assert calcs[-1].text == "25.0%"


def test_a_cagr_says_its_span_and_verifies():
    facts = [fact("revenue", 2020, 65398), fact("revenue", 2022, 65984, doc="doc-2022")]
    text, calcs, _ = ask(
        "What is Globex's 2 year total revenue CAGR from FY2020 to FY2022?",
        facts,
        Resolved(doc_ids=["doc-2019", "doc-2022"]),
    )
    assert calcs[-1].text == "0.4%" and "FY2020 to FY2022" in text


def test_yes_no_questions_on_figures():
    facts = [fact("ppe_net", 2021, 14882), fact("ppe_net", 2020, 13745)]
    facts += [fact("dividends_paid", 2022, -4), fact("operating_income", 2022, 6098)]
    facts += [fact("revenue", 2022, 17606), fact("operating_income", 2021, 5802)]
    facts += [fact("revenue", 2021, 15785)]
    text, calcs, _ = ask("Did Globex grow its PPNE between FY20 and FY21?", facts)
    assert calcs[-1].judgement == "Yes" and text.startswith("Yes. The FY2021 growth is 8.3%")
    _, calcs, _ = ask("Has Globex paid dividends to common shareholders in FY2022?", facts)
    assert calcs[-1].judgement == "Yes" and "not zero" in calcs[-1].rule
    # "as of FY2022" with one year: against the year before
    text, calcs, _ = ask(
        "Does Globex have an improving operating margin profile as of FY2022?", facts
    )
    assert [c.text for c in calcs] == ["36.8%", "34.6%"] and calcs[-1].judgement == "No"


def test_a_stated_division_is_a_ratio_unless_a_percent_is_asked():
    facts = [fact("net_income", 2017, 1248), fact("total_assets", 2017, 87896)]
    facts += [fact("total_assets", 2016, 87270)]
    question = (
        "What is the FY2017 return on assets (ROA) for Globex? ROA is defined as: FY2017 net "
        "income / (average total assets between FY2016 and FY2017). Round your answer to two "
        "decimal places."
    )
    _, calcs, _ = ask(question, facts)
    assert (calcs[-1].unit, calcs[-1].text) == ("ratio", "0.01")
    _, calcs, _ = ask("What is Globex's FY2017 return on assets?", facts)
    assert calcs[-1].unit == "percent"


def test_a_line_item_the_filing_does_not_print_is_derived_from_those_it_does():
    facts = [fact("revenue", 2022, 66608), fact("cost_of_revenue", 2022, 63106)]
    text, calcs, cites = ask("What is Globex's FY2022 gross margin?", facts)
    assert calcs[-1].text == "5.3%" and len(cites) == 2
    assert "gross profit FY2022 = " in text
