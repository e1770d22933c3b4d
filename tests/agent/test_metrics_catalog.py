"""The metric catalogue (agent/metrics.toml) validates; every formula parses over known names."""

from __future__ import annotations

import pytest

from agent.figures.catalog import CATALOG, load
from agent.figures.formulas import RESERVED, FormulaError, parse

FACT_CONCEPTS = {
    "revenue",
    "cost_of_revenue",
    "gross_profit",
    "operating_income",
    "net_income",
    "income_tax_expense",
    "pretax_income",
    "interest_expense",
    "depreciation_amortization",
    "capex",
    "ppe_net",
    "total_assets",
    "current_assets",
    "current_liabilities",
    "total_liabilities",
    "inventories",
    "receivables",
    "payables",
    "cash",
    "short_term_investments",
    "long_term_debt",
    "current_debt",
    "shareholders_equity",
    "dividends_paid",
    "operating_cash_flow",
    "shares_outstanding",
    "weighted_shares_diluted",
    "eps_basic",
    "eps_diluted",
    "sga",
    "r_and_d",
}


def test_concepts_are_the_fact_layers_standard_names():
    assert set(CATALOG.concepts) == FACT_CONCEPTS


@pytest.mark.parametrize("metric", [*CATALOG.metrics.values(), *CATALOG.templates.values()])
def test_every_formula_parses_and_names_known_concepts(metric):
    parse(metric.formula)
    used = CATALOG.concepts_of(metric.formula) - RESERVED - {"item"}
    assert used <= FACT_CONCEPTS
    assert used or metric.template  # a template's operand is the line item the question names


def test_the_asked_metrics_are_covered():
    wanted = [
        "gross margin",
        "operating margin",
        "net margin",
        "ebitda margin",
        "fixed asset turnover",
        "total asset turnover",
        "inventory turnover",
        "days inventory outstanding",
        "days sales outstanding",
        "days payables outstanding",
        "receivables turnover",
        "current ratio",
        "quick ratio",
        "cash ratio",
        "working capital",
        "capex % revenue",
        "capex intensity",
        "payout ratio",
        "effective tax rate",
        "ebitda",
        "free cash flow",
        "debt to equity",
        "debt to assets",
        "interest coverage",
        "return on assets",
        "return on equity",
        "revenue growth",
        "revenue cagr",
    ]
    assert set(wanted) <= set(CATALOG.metrics)
    assert {"change", "growth", "cagr"} <= set(CATALOG.templates)


def test_a_malformed_catalogue_fails_naming_the_entry(tmp_path):
    bad = tmp_path / "metrics.toml"
    bad.write_text(
        '[concept.revenue]\nkind = "duration"\naliases = ["revenue"]\n'
        '[[metric]]\nname = "bad"\naliases = ["bad"]\nformula = "revenue / goodwill"\n'
    )
    with pytest.raises(ValueError, match="bad.*goodwill"):
        load(bad)
    bad.write_text('[[metric]]\nname = "evil"\naliases = ["e"]\nformula = "__import__(1)"\n')
    with pytest.raises(ValueError, match="evil"):
        load(bad)


def test_formulas_outside_the_language_are_rejected():
    for formula in ("revenue.real", "open('x')", "'a' + revenue", "avg(revenue + 1)"):
        with pytest.raises(FormulaError):
            parse(formula)


def test_every_concept_a_question_can_name_is_one_ingest_reads():
    from core.concepts import CONCEPTS

    assert set(CATALOG.concepts) <= set(CONCEPTS)
    for concept in CATALOG.concepts.values():  # the same instant/duration reading on both sides
        assert concept.kind == CONCEPTS[concept.id].period, concept.id
