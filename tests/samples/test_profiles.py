"""The generated corpus' industry profiles and word lists: the shipped files validate, and a
malformed file fails at load with a message that names the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from samples.general.profiles import (
    ARCHETYPES,
    HERE,
    KPI_PLACEHOLDERS,
    MIN_SEGMENTS,
    PROFILES,
    VOCABULARY,
    ProfileError,
    load_profiles,
    load_vocabulary,
)

GENERAL = """
[[industry]]
key = "widgets"
archetype = "general"
name_suffixes = ["Widgets, Inc."]
business = "makes widgets"
customers = "manufacturers"
competitors = "other widget makers"
seasonality = "Our business is not seasonal."
revenue_line_sets = [["Net sales"]]
cost_lines = ["Cost of sales"]
gross_profit = "Gross profit"
gross_margin = { low = 0.3, high = 0.4 }
opex = [{ label = "Selling, general and administrative", share_of_revenue = 0.2 }]
growth = { low = -0.02, high = 0.08 }
deferred_revenue = false
capex_share = 0.04
segments = ["North", "South", "East", "West"]
drivers_up = ["higher volumes"]
drivers_down = ["lower volumes"]
capex_uses = ["new lines"]
kpis = ["Backlog was ${a} million at the end of {fy}."]

[[industry.risks]]
heading = "Demand may fall"
body = "Our customers may buy fewer widgets."
"""

BANK = """
[[industry]]
key = "lender"
archetype = "bank"
name_suffixes = ["Bancorp"]
business = "is a bank holding company"
customers = "households"
competitors = "other banks"
seasonality = "Our business is not seasonal."
growth = { low = 0.0, high = 0.05 }
segments = ["Retail", "Commercial", "Wealth"]
drivers_up = ["loan growth"]
drivers_down = ["deposit costs"]
capex_uses = ["branches"]
kpis = ["Our CET1 ratio was {w}.{q}%."]

[[industry.risks]]
heading = "Credit losses may rise"
body = "Borrowers may default."
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "industries.toml"
    path.write_text(text)
    return load_profiles(path)


def test_shipped_profiles_have_what_the_model_needs():
    assert len(PROFILES) == 12
    assert len({p.key for p in PROFILES}) == len(PROFILES)
    assert {p.archetype for p in PROFILES} == set(ARCHETYPES)
    for p in PROFILES:
        assert len(p.segments) >= MIN_SEGMENTS[p.archetype], p.key
        assert p.name_suffixes and p.drivers_up and p.drivers_down and p.capex_uses, p.key
        assert p.risks and all(r.heading and r.body for r in p.risks), p.key
        for sentence in p.kpis:  # every placeholder is one the narrative fills
            sentence.format(**dict.fromkeys(KPI_PLACEHOLDERS, "1"))
        assert p.growth.low <= p.growth.high
        if p.archetype == "general":
            assert p.revenue_line_sets and all(p.revenue_line_sets), p.key
            assert p.cost_lines and p.opex, p.key
            assert 0 < p.gross_margin.low <= p.gross_margin.high < 1, p.key
        else:  # banks and insurers print fixed lines: no general-archetype fields
            assert not (p.revenue_line_sets or p.cost_lines or p.opex or p.gross_profit), p.key
    assert len(VOCABULARY.generic_risks) >= 5 and len(VOCABULARY.regions) >= 4


def test_a_minimal_profile_loads_with_named_fields(tmp_path):
    widgets, lender = load(tmp_path, GENERAL + BANK)
    assert widgets.opex[0].label == "Selling, general and administrative"
    assert widgets.opex[0].share_of_revenue == 0.2
    assert widgets.gross_margin.high == 0.4 and widgets.inventories is None
    assert lender.archetype == "bank" and lender.opex == () and lender.gross_profit is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GENERAL.replace('segments = ["North", "South", "East", "West"]\n', ""),
            "industry 1 ('widgets'): field 'segments' is missing",
        ),
        (
            GENERAL.replace(
                'segments = ["North", "South", "East", "West"]', 'segments = ["North"]'
            ),
            "field 'segments' needs at least 4 entries, has 1",
        ),
        (
            GENERAL.replace("capex_share = 0.04", 'capex_share = "4%"'),
            "field 'capex_share' must be a number, got '4%'",
        ),
        (
            GENERAL.replace('archetype = "general"', 'archetype = "utility"'),
            "field 'archetype' must be one of general, bank, insurer, got 'utility'",
        ),
        (
            GENERAL.replace("{ low = 0.3, high = 0.4 }", "{ low = 0.4, high = 0.3 }"),
            "field 'gross_margin' has low 0.4 above high 0.3",
        ),
        (GENERAL.replace("{fy}.", "{year}."), "field 'kpis' uses unknown placeholder(s) ['year']"),
        (GENERAL.replace("{fy}.", "{fy."), "field 'kpis' has a malformed sentence"),
        (
            GENERAL.replace("capex_share = 0.04", "capex_share = 0.04\ncapex = 0.04"),
            "industry 1 ('widgets'): unknown field(s) 'capex'",
        ),
        (
            GENERAL.replace("share_of_revenue = 0.2", "share = 0.2"),
            "opex[0]: field 'share_of_revenue' is missing",
        ),
        (
            BANK.replace(
                'capex_uses = ["branches"]', 'capex_uses = ["branches"]\ncost_lines = ["x"]'
            ),
            "field 'cost_lines' applies to the general archetype only, not bank",
        ),
        (GENERAL + GENERAL, "industry 2 ('widgets'): field 'key' repeats 'widgets'"),
        (GENERAL.replace("[[industry.risks]]", "[industry.risks]"), "field 'risks' must be"),
        ("industry = [", "industries.toml: not valid TOML"),
        ("", "industries.toml: field 'industry' is missing"),
    ],
)
def test_a_malformed_profile_is_rejected_with_where_and_why(tmp_path, text, message):
    with pytest.raises(ProfileError) as error:
        load(tmp_path, text)
    assert message in str(error.value)
    assert str(error.value).startswith("industries.toml")


def test_vocabulary_too_short_for_its_draws_is_rejected(tmp_path):
    path = tmp_path / "vocabulary.toml"
    shipped = (HERE / "vocabulary.toml").read_text()
    path.write_text(shipped.replace('"Latin America",', ""))
    assert load_vocabulary(path).regions == VOCABULARY.regions[:3] + VOCABULARY.regions[4:]
    path.write_text(shipped.replace('"Latin America",', "").replace('"Canada",', ""))
    with pytest.raises(ProfileError, match="field 'regions' needs at least 4 entries, has 3"):
        load_vocabulary(path)
