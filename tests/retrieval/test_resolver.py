"""The resolver against a hand-built catalog shaped like FinanceBench's filings."""

from __future__ import annotations

import time
from datetime import date

import pytest

from core.records import Filing
from retrieval.resolver import company_index, filing_label, resolve
from retrieval.resolver.companies import CompanyIndex, name_aliases


def _filing(
    doc_id: str,
    company: str | None,
    ticker: str | None,
    form: str,
    fy: int | None,
    fp: str | None,
    period_end: date | None,
) -> Filing:
    return Filing(
        doc_id=doc_id,
        source_path=f"/data/{doc_id}.pdf",
        file_name=f"{doc_id}.pdf",
        company=company,
        ticker=ticker,
        form=form,
        fiscal_year=fy,
        fiscal_period=fp,
        period_end=period_end,
        filed_at=period_end,
    )


CATALOG = [
    _filing("boeing-10k-2022", "BOEING CO", "BA", "10-K", 2022, "FY", date(2022, 12, 31)),
    _filing("amcor-10k-2023", "Amcor plc", "AMCR", "10-K", 2023, "FY", date(2023, 6, 30)),
    _filing("amcor-8k-2022", "Amcor plc", "AMCR", "8-K", None, None, date(2022, 7, 1)),
    _filing(
        "amcor-er-q4-2023", "AMCOR PLC", None, "earnings-release", 2023, "Q4", date(2023, 6, 30)
    ),
    _filing("bby-10k-2023", "Best Buy Co., Inc.", "BBY", "10-K", 2023, "FY", date(2023, 1, 28)),
    _filing("bby-10q-q2-2024", "Best Buy Co., Inc.", "BBY", "10-Q", 2024, "Q2", date(2023, 7, 29)),
    _filing("pfe-10k-2021", "Pfizer Inc.", "PFE", "10-K", 2021, "FY", date(2021, 12, 31)),
    _filing("pfe-10q-q2-2023", "Pfizer Inc.", "PFE", "10-Q", 2023, "Q2", date(2023, 7, 2)),
    _filing("gis-10k-2020", "General Mills, Inc.", "GIS", "10-K", 2020, "FY", date(2020, 5, 31)),
    _filing("amzn-10k-2017", "Amazon.com, Inc.", "AMZN", "10-K", 2017, "FY", date(2017, 12, 31)),
    _filing(
        "on-10k-2022", "ON Semiconductor Corporation", "ON", "10-K", 2022, "FY", date(2022, 12, 31)
    ),
    _filing("it-10k-2022", "Gartner, Inc.", "IT", "10-K", 2022, "FY", date(2022, 12, 31)),
    _filing("mmm-10k-2018", "3M Company", "MMM", "10-K", 2018, "FY", date(2018, 12, 31)),
]


def ids(question: str, **kw) -> list[str]:
    return resolve(question, CATALOG, **kw).doc_ids


# ---------------------------------------------------------------- companies, aliases, tickers


def test_aliases_drop_legal_suffixes_and_punctuation():
    core, aliases = name_aliases("Best Buy Co., Inc.")
    assert [t.raw for t in core] == ["Best", "Buy"]
    assert "bestbuy" in aliases
    assert "amazon" in name_aliases("Amazon.com, Inc.")[1]
    assert "boeing" in name_aliases("The Boeing Company")[1]
    assert "3m" in name_aliases("3M Company")[1]
    assert "amcor" in name_aliases("Amcor plc")[1]
    assert (
        "philips" in name_aliases("Koninklijke Philips N.V.")[1]
        or "koninklijkephilips" in name_aliases("Koninklijke Philips N.V.")[1]
    )


def test_spellings_of_one_company_are_merged():
    index = CompanyIndex(CATALOG)
    amcor = [e for e in index.entities if e.key == "amcor"]
    assert len(amcor) == 1
    assert sorted(amcor[0].names) == ["AMCOR PLC", "Amcor plc"]
    assert amcor[0].display == "Amcor"
    assert len(amcor[0].filings) == 3


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("What is the FY2018 capital expenditure amount (in USD millions) for 3M?", "mmm-10k-2018"),
        ("Is Boeing's business subject to cyclicality?", "boeing-10k-2022"),
        ("Is BOEING's commercial backlog growing as of FY2022?", "boeing-10k-2022"),
        ("What was The Boeing Company's R&D spend in FY2022?", "boeing-10k-2022"),
        (
            "What drove the reduction in SG&A expense as a percent of net sales in FY2023 "
            "for Best Buy?",
            "bby-10k-2023",
        ),
        ("How did BestBuy's domestic segment perform in fiscal 2023?", "bby-10k-2023"),
        ("What was BBY's inventory turnover in FY23?", "bby-10k-2023"),
        ("What is Amazon's FY2017 days payable outstanding?", "amzn-10k-2017"),
        ("What is AMZN's operating cash flow for 2017?", "amzn-10k-2017"),
        ("What was Amazon.com's net sales growth in 2017?", "amzn-10k-2017"),
        ("What is Pfizer's total debt as of FY2021?", "pfe-10k-2021"),
        ("What was GIS working capital in FY2020?", "gis-10k-2020"),
        ("What was General Mills' free cash flow in FY2020?", "gis-10k-2020"),
        ("Has ON Semiconductor's gross margin expanded in FY2022?", "on-10k-2022"),
        ("What's onsemi's inventory level for 2022?", "on-10k-2022"),
        ("What did $ON report as revenue for 2022?", "on-10k-2022"),
        ("How fast did Gartner (NYSE: IT) grow research revenue in 2022?", "it-10k-2022"),
        ("what is best buy's revenue in fiscal 2023", "bby-10k-2023"),  # all lowercase: case-blind
    ],
)
def test_company_names_aliases_tickers_possessives(question, doc_id):
    assert ids(question) == [doc_id]


@pytest.mark.parametrize(
    "question",
    [
        "How much did the company spend on IT in 2022?",
        "What impairments were recorded ON the balance sheet in 2022?",
        "Which firm has the best buy-back programme in 2022?",
        "Which segment had the highest operating margin in 2022? Is IT growing?",
    ],
)
def test_word_like_tickers_and_lowercase_names_are_not_companies(question):
    r = resolve(question, CATALOG)
    assert r.companies == []
    assert (
        "it-10k-2022" not in r.doc_ids or "boeing-10k-2022" in r.doc_ids
    )  # year only, no Gartner pick
    assert any("no company named" in a for a in r.ambiguities)


def test_ticker_rule_in_all_caps_question():
    r = resolve("WHAT IS THE REVENUE ON BOEING'S FY2022 10-K?", CATALOG)
    assert r.companies == ["BOEING CO"]
    assert r.doc_ids == ["boeing-10k-2022"]


def test_fuzzy_company_is_a_reported_guess():
    r = resolve("What was Pfiser's R&D expense in 2021?", CATALOG)
    assert r.doc_ids == ["pfe-10k-2021"]
    assert r.confidence < 0.8
    assert any("Pfiser" in a and "Pfizer" in a for a in r.ambiguities)


def test_short_capitalised_words_are_not_fuzzy_companies():
    r = resolve("Being a retailer, what is a good inventory turnover?", CATALOG)
    assert r.companies == [] and r.doc_ids == []


# ---------------------------------------------------------------- periods


def test_comparative_years_use_the_next_annual_report():
    r = resolve("How does Boeing's effective tax rate in FY2022 compare to FY2021?", CATALOG)
    assert r.doc_ids == ["boeing-10k-2022"]
    assert r.fiscal_years == [2021, 2022]
    assert any("FY2021 has no filing of its own" in n for n in r.notes)
    assert [s.period for s in r.sub_questions] == ["FY2021", "FY2022"]
    assert r.sub_questions[1].text == "How does Boeing's effective tax rate in FY2022?"
    assert all(s.filters.doc_ids == ["boeing-10k-2022"] for s in r.sub_questions)


def test_three_year_statements_reach_two_years_back():
    r = resolve("Which non-recurring items lifted Pfizer's net income in 2019?", CATALOG)
    assert r.doc_ids == ["pfe-10k-2021"]
    assert any("two-years-earlier" in n for n in r.notes)


def test_year_with_its_own_filing_does_not_pull_in_later_ones():
    catalog = CATALOG + [
        _filing("pfe-10k-2022", "Pfizer Inc.", "PFE", "10-K", 2022, "FY", date(2022, 12, 31)),
    ]
    assert resolve("What was Pfizer's revenue in FY2021?", catalog).doc_ids == ["pfe-10k-2021"]
    assert resolve("What was Pfizer's revenue in FY2020?", catalog).doc_ids == ["pfe-10k-2021"]


def test_full_year_question_takes_10k_and_q4_release():
    r = resolve("Does AMCOR have an improving gross margin profile as of FY2023?", CATALOG)
    assert r.doc_ids == ["amcor-10k-2023", "amcor-er-q4-2023"]
    assert r.ambiguities == [
        "'Amcor FY2023' matches 2 filings: 10-K FY2023, earnings release Q4 FY2023; "
        "searched all of them"
    ]


def test_company_alone_reports_every_filing_it_matches():
    r = resolve("What industry does AMCOR primarily operate in?", CATALOG)
    assert sorted(r.doc_ids) == ["amcor-10k-2023", "amcor-8k-2022", "amcor-er-q4-2023"]
    assert r.ambiguities == [
        "'Amcor' matches 3 filings: 8-K 2022, 10-K FY2023, earnings release Q4 FY2023; "
        "searched all of them"
    ]
    assert r.scope.startswith("Searched Amcor")


def test_scope_for_one_filing():
    r = resolve("Is Boeing's business subject to cyclicality?", CATALOG)
    assert r.scope == "Searched Boeing FY2022 10-K"
    assert r.filters.doc_ids == ["boeing-10k-2022"]
    assert r.tickers == ["BA"]


@pytest.mark.parametrize(
    ("question", "doc_ids", "periods"),
    [
        ("Which Best Buy category grew most in Q2 of FY2024?", ["bby-10q-q2-2024"], ["Q2 FY2024"]),
        (
            "Best Buy comparable sales in the second quarter of fiscal 2024?",
            ["bby-10q-q2-2024"],
            ["Q2 FY2024"],
        ),
        ("Best Buy 2Q24 comparable sales?", ["bby-10q-q2-2024"], ["Q2 FY2024"]),
        ("Best Buy FY2024 Q2 gross margin?", ["bby-10q-q2-2024"], ["Q2 FY2024"]),
        ("Is Pfizer spinning off any segment as of Q2'2023?", ["pfe-10q-q2-2023"], ["Q2 FY2023"]),
        ("Pfizer Q2 2023 revenue by region?", ["pfe-10q-q2-2023"], ["Q2 FY2023"]),
        ("Pfizer's H1 2023 revenue?", ["pfe-10q-q2-2023"], ["H1 FY2023"]),
        ("Amcor Q4 FY2023 adjusted EBITDA?", ["amcor-er-q4-2023"], ["Q4 FY2023"]),
        ("Boeing Q4 2022 deliveries?", ["boeing-10k-2022"], ["Q4 FY2022"]),
        (
            "Did Best Buy's cash fall between FY 2023 and Q2 of FY2024?",
            ["bby-10k-2023", "bby-10q-q2-2024"],
            ["FY2023", "Q2 FY2024"],
        ),
    ],
)
def test_quarters(question, doc_ids, periods):
    r = resolve(question, CATALOG)
    assert r.doc_ids == doc_ids
    assert r.periods == periods


def test_form_number_is_not_a_two_digit_year():
    r = resolve("What does Best Buy's Q2 10-Q say about store closures?", CATALOG)
    assert r.doc_ids == ["bby-10q-q2-2024"]
    assert r.periods == ["Q2 FY2024"]  # the newest year with filings, not FY2010


def test_quarter_implies_quarterly_forms_and_q4_falls_back_to_10k():
    r = resolve("Boeing Q4 2022 deliveries?", CATALOG)
    assert r.forms == ["10-Q", "earnings-release"]
    assert any("Q4 figures are in the 10-K FY2022" in n for n in r.notes)


def test_year_over_year_quarter_uses_prior_year_column():
    r = resolve(
        "Which region had the biggest drop in Q22023 year over year revenues at Pfizer?", CATALOG
    )
    assert r.periods == ["Q2 FY2022", "Q2 FY2023"]
    assert r.doc_ids == ["pfe-10q-q2-2023"]
    assert len(r.sub_questions) == 2


def test_non_december_fiscal_years():
    # General Mills: fiscal 2020 ends in May 2020; a plain year reads as the fiscal year, noted.
    r = resolve("What was General Mills' revenue in 2020?", CATALOG)
    assert r.doc_ids == ["gis-10k-2020"]
    assert any("fiscal year ends in May" in n for n in r.notes)
    # Calendar 2020 straddles General Mills fiscal 2020 and 2021: reported, both searched.
    r = resolve("What was General Mills' free cash flow in calendar 2020?", CATALOG)
    assert r.fiscal_years == [2020, 2021]
    assert any("spans General Mills fiscal 2020" in a for a in r.ambiguities)
    # Best Buy's year ends late January: calendar 2022 is fiscal 2023, no ambiguity.
    r = resolve("Best Buy revenue in calendar 2022?", CATALOG)
    assert r.doc_ids == ["bby-10k-2023"]
    assert r.ambiguities == []
    assert any("calendar 2022 is Best Buy fiscal 2023" in n for n in r.notes)
    # Fiscal 2023 maps to the filing whose fiscal_year is 2023 even though it ends in January 2023.
    assert ids("Best Buy fiscal 2023 operating income?") == ["bby-10k-2023"]


def test_relative_periods_are_anchored_on_the_catalog():
    today = date(2030, 1, 1)  # the wall clock must not matter
    r = resolve("What was Pfizer's revenue in the most recent quarter?", CATALOG, today=today)
    assert (r.periods, r.doc_ids) == (["Q2 FY2023"], ["pfe-10q-q2-2023"])
    r = resolve("What was Pfizer's revenue last year?", CATALOG, today=today)
    assert (r.periods, r.doc_ids) == (["FY2021"], ["pfe-10k-2021"])
    r = resolve("Best Buy's gross margin this year?", CATALOG, today=today)
    assert r.doc_ids == ["bby-10k-2023"]
    r = resolve("What is the latest Best Buy store count?", CATALOG, today=today)
    assert r.doc_ids == ["bby-10q-q2-2024"]
    r = resolve("How did Best Buy's revenue change year-over-year?", CATALOG, today=today)
    assert r.periods == ["FY2022", "FY2023"] and r.doc_ids == ["bby-10k-2023"]


def test_ranges_and_lists_expand_to_sub_questions():
    r = resolve("How did 3M's revenue trend between 2016 and 2018?", CATALOG)
    assert r.periods == ["FY2016", "FY2017", "FY2018"]
    assert r.doc_ids == ["mmm-10k-2018"]
    assert [s.text for s in r.sub_questions] == [
        "How did 3M's revenue trend in FY2016?",
        "How did 3M's revenue trend in FY2017?",
        "How did 3M's revenue trend in FY2018?",
    ]
    r = resolve("What acquisitions did Best Buy make in FY2023, FY2022 and FY2021?", CATALOG)
    assert r.fiscal_years == [2021, 2022, 2023] and r.doc_ids == ["bby-10k-2023"]
    r = resolve("Amazon operating margin FY2017 vs FY2016?", CATALOG)
    assert [s.period for s in r.sub_questions] == ["FY2016", "FY2017"]
    assert r.sub_questions[0].text == "Amazon operating margin FY2016?"


def test_dates_select_by_period_end():
    r = resolve("What was on the agenda of AMCOR's 8-K filing dated 1st July 2022?", CATALOG)
    assert r.doc_ids == ["amcor-8k-2022"]
    assert r.forms == ["8-K"]
    r = resolve("Pfizer results for the quarter ended July 2, 2023?", CATALOG)
    assert r.doc_ids == ["pfe-10q-q2-2023"] and r.periods == ["Q2 FY2023"]


def test_forms():
    assert ids("What does Amcor's earnings release say about FY2023 EBITDA?") == [
        "amcor-er-q4-2023"
    ]
    assert ids("What did Amcor's annual report say about dividends?") == ["amcor-10k-2023"]
    assert ids("Which acquisitions are listed in Pfizer's 10K report?") == ["pfe-10k-2021"]
    assert ids("Pfizer quarterly report: litigation update?") == ["pfe-10q-q2-2023"]


def test_period_not_in_index_keeps_company_and_says_so():
    r = resolve("What production rate changes is Boeing forecasting for FY2025?", CATALOG)
    assert r.doc_ids == ["boeing-10k-2022"]
    assert r.companies == ["BOEING CO"]
    assert any("FY2025 is not in the index for Boeing" in n for n in r.notes)
    assert "period not in the index" in r.scope
    assert r.confidence == 0.5


def test_nothing_recognised_searches_everything():
    r = resolve("What is a reasonable gross margin for a retailer?", CATALOG)
    assert r.filters.is_empty()
    assert r.doc_ids == []
    assert r.scope == "No company or period recognised: searched all 13 filings"
    assert r.confidence == 0.0


def test_matched_text_spans_point_into_the_question():
    q = "Did Pfizer's PP&E grow between FY20 and FY21?"
    r = resolve(q, CATALOG)
    assert r.doc_ids == ["pfe-10k-2021"]
    kinds = {(s.kind, s.value, q[s.start : s.end]) for s in r.matched_text}
    assert ("company", "Pfizer", "Pfizer") in kinds
    assert ("period", "FY2020", "FY20") in kinds
    assert ("period", "FY2021", "FY21") in kinds


# ---------------------------------------------------------------- conversation


def test_follow_up_shifts_the_period_and_keeps_the_company():
    history = ["What was Boeing's operating margin in FY2022?"]
    r = resolve("and the year before?", CATALOG, history=history)
    assert r.periods == ["FY2021"]
    assert r.doc_ids == ["boeing-10k-2022"]
    assert "company" in r.inherited
    r = resolve(
        "What about the year before that?", CATALOG, history=history + ["and the year before?"]
    )
    assert r.periods == ["FY2020"]


def test_follow_up_quarter_takes_the_conversation_year():
    history = ["What was Best Buy's revenue in Q2 FY2024?"]
    r = resolve("what about Q3?", CATALOG, history=history)
    assert r.periods == ["Q3 FY2024"]
    assert r.companies == ["Best Buy Co., Inc."]
    assert any("Q3 FY2024 is not in the index" in n for n in r.notes)
    r = resolve("what about Q2?", CATALOG, history=["Pfizer revenue in FY2023?"])
    assert r.doc_ids == ["pfe-10q-q2-2023"]


def test_follow_up_inherits_form_and_new_company_keeps_period():
    r = resolve("what about the 8-K?", CATALOG, history=["Amcor dividends FY2023?"])
    assert "amcor-8k-2022" in r.doc_ids
    r = resolve("And for Amazon?", CATALOG, history=["Pfizer revenue in FY2017?"])
    assert r.doc_ids == ["amzn-10k-2017"] and "period" in r.inherited
    # A fresh question naming its own company does not inherit the previous period.
    r = resolve("Is Amazon's business seasonal?", CATALOG, history=["Pfizer revenue in FY2021?"])
    assert r.periods == [] and r.doc_ids == ["amzn-10k-2017"]


def test_several_companies_get_one_sub_question_each():
    r = resolve("Compare Boeing and Gartner operating margins in FY2022", CATALOG)
    assert r.doc_ids == ["boeing-10k-2022", "it-10k-2022"]
    assert [(s.company, s.doc_ids) for s in r.sub_questions] == [
        ("Boeing", ["boeing-10k-2022"]),
        ("Gartner", ["it-10k-2022"]),
    ]


def test_filing_labels():
    by_id = {f.doc_id: f for f in CATALOG}
    assert filing_label(by_id["amcor-8k-2022"]) == "8-K 2022"
    assert filing_label(by_id["amcor-er-q4-2023"]) == "earnings release Q4 FY2023"
    assert filing_label(by_id["bby-10q-q2-2024"]) == "10-Q Q2 FY2024"


# ---------------------------------------------------------------- speed


def test_under_five_ms_per_question_on_100_filings():
    names = [
        "Acme Widgets Inc.",
        "Globex Corporation",
        "Initech, Inc.",
        "Umbrella Holdings plc",
        "Stark Industries Co.",
        "Wayne Enterprises, Inc.",
        "Cyberdyne Systems Corp",
        "Soylent Group",
        "Tyrell Corporation",
        "Hooli Inc.",
    ]
    catalog = list(CATALOG)
    i = 0
    while len(catalog) < 100:
        name, year = names[i % len(names)], 2014 + i // len(names)
        quarterly = i % 3 == 0
        catalog.append(
            _filing(
                f"x{i}",
                name,
                name[:3].upper() + "Q",
                "10-Q" if quarterly else "10-K",
                year,
                "Q2" if quarterly else "FY",
                date(year, 12, 31),
            )
        )
        i += 1
    questions = [
        "What is the FY2018 capital expenditure amount (in USD millions) for 3M?",
        "Does AMCOR have an improving gross margin profile as of FY2023?",
        "How did Globex's revenue change between 2016 and 2019?",
        "What was Hooli's revenue in the most recent quarter?",
        "What is a reasonable gross margin for a retailer?",
    ]
    resolve(questions[0], catalog)  # builds and caches the alias tables
    start = time.process_time()
    n = 0
    for _ in range(40):
        for q in questions:
            resolve(q, catalog, history=["What was Boeing's revenue in FY2022?"])
            n += 1
    per_question = (time.process_time() - start) / n
    assert per_question < 0.005, f"{per_question * 1000:.2f} ms per question"


# ---------------------------------------------------------------- fictional multi-filing catalog
# Several filings per company, side by side, as a real corpus holds them. Every company is made up.


def _f(doc_id: str, company: str | None, form: str | None, **kw) -> Filing:
    end = kw.pop("end", None)
    return Filing(
        doc_id=doc_id,
        source_path=f"/data/{doc_id}.pdf",
        file_name=kw.pop("file_name", f"{doc_id}.pdf"),
        company=company,
        form=form,
        period_end=end,
        filed_at=kw.pop("filed", end),
        **kw,
    )


FICTION = [
    # Leading words; several annual reports; an 8-K but no earnings release.
    _f(
        "ng-10k-21",
        "NORTHGATE AEROSPACE CORPORATION",
        "10-K",
        ticker="NGAX",
        fiscal_year=2021,
        fiscal_period="FY",
        end=date(2021, 12, 31),
    ),
    _f(
        "ng-10k-22",
        "Northgate Aerospace Corporation",
        "10-K",
        ticker="NGAX",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 31),
    ),
    _f(
        "ng-10k-23",
        "Northgate Aerospace Corp.",
        "10-K",
        ticker="NGAX",
        fiscal_year=2023,
        fiscal_period="FY",
        end=date(2023, 12, 31),
    ),
    _f("ng-8k-24", "Northgate Aerospace Corporation", "8-K", ticker="NGAX", end=date(2024, 2, 1)),
    # A generic first word: "Pacific" alone is no alias, "Pacific Harbor" is.
    _f(
        "ph-10k-22",
        "Pacific Harbor Works Company, Inc.",
        "10-K",
        ticker="PHWX",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 31),
    ),
    # An initialism.
    _f(
        "aqd-10k-15",
        "Advanced Quantum Devices, Inc.",
        "10-K",
        fiscal_year=2015,
        fiscal_period="FY",
        end=date(2015, 12, 26),
    ),
    # Two initials that are also a finance abbreviation ("GM": gross margin).
    _f(
        "gm-10k-22",
        "Granite Mobility Inc.",
        "10-K",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 31),
    ),
    # An "&" name.
    _f(
        "hj-10k-22",
        "Harlan & Jessop Inc.",
        "10-K",
        ticker="HJX",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 31),
    ),
    # Possessives and plurals; a lowercase ticker with a vowel needs a marker.
    _f(
        "bm-10k-20",
        "Brightmart Inc.",
        "10-K",
        ticker="BRTA",
        fiscal_year=2020,
        fiscal_period="FY",
        end=date(2020, 1, 31),
    ),
    # A misspelling target.
    _f(
        "cp-10k-21",
        "Castellane Pharmaceuticals plc",
        "10-K",
        ticker="CSTP",
        fiscal_year=2021,
        fiscal_period="FY",
        end=date(2021, 12, 31),
    ),
    # Two companies one word fits; a period settles which.
    _f(
        "mf-10k-22",
        "Meridian Foods Inc.",
        "10-K",
        ticker="MDFX",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 31),
    ),
    _f(
        "ml-10k-19",
        "Meridian Logistics Corp.",
        "10-K",
        ticker="MDLX",
        fiscal_year=2019,
        fiscal_period="FY",
        end=date(2019, 12, 31),
    ),
    # A renamed registrant: an exact name for one, leading words of the other.
    _f(
        "cv-10k-16",
        "CORVID SYSTEMS INCORPORATED",
        "10-K",
        fiscal_year=2016,
        fiscal_period="FY",
        end=date(2016, 12, 2),
    ),
    _f(
        "cv-10k-22",
        "CORVID INC.",
        "10-K",
        ticker="CRVD",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 2),
    ),
    # Spelling variants of one company, and a CIK joining a renamed one.
    _f(
        "zp-10k-18",
        "ZENITH PARTS, Inc .",
        "10-K",
        fiscal_year=2018,
        fiscal_period="FY",
        end=date(2018, 5, 31),
    ),
    _f(
        "zp-10k-19",
        "Zenith Parts, Inc.",
        "10-K",
        ticker="ZNPT",
        fiscal_year=2019,
        fiscal_period="FY",
        end=date(2019, 5, 31),
    ),
    _f(
        "ol-10k-17",
        "Olden Widget Corp",
        "10-K",
        cik="0000777001",
        fiscal_year=2017,
        fiscal_period="FY",
        end=date(2017, 12, 31),
    ),
    _f(
        "ol-10k-21",
        "Lumen Widget Inc.",
        "10-K",
        cik="777001",
        fiscal_year=2021,
        fiscal_period="FY",
        end=date(2021, 12, 31),
    ),
    # A June year end; the catalog wrote the calendar year of each 10-Q's period end.
    _f(
        "hv-10k-23",
        "Harborview Packaging plc",
        "10-K",
        ticker="HVPK",
        fiscal_year=2023,
        fiscal_period="FY",
        end=date(2023, 6, 30),
    ),
    _f(
        "hv-10q-dec22",
        "Harborview Packaging plc",
        "10-Q",
        ticker="HVPK",
        fiscal_year=2022,
        fiscal_period="Q2",
        end=date(2022, 12, 31),
    ),
    _f(
        "hv-10q-sep23",
        "Harborview Packaging plc",
        "10-Q",
        ticker="HVPK",
        fiscal_year=2023,
        fiscal_period="Q1",
        end=date(2023, 9, 30),
    ),
    # A quarter's 10-Q, earnings release and 8-K side by side.
    _f(
        "tm-10k-22",
        "Tamarind Retail Group, Inc.",
        "10-K",
        ticker="TMRX",
        fiscal_year=2022,
        fiscal_period="FY",
        end=date(2022, 12, 31),
    ),
    _f(
        "tm-10q-q2-23",
        "Tamarind Retail Group, Inc.",
        "10-Q",
        ticker="TMRX",
        fiscal_year=2023,
        fiscal_period="Q2",
        end=date(2023, 6, 30),
    ),
    _f(
        "tm-er-q2-23",
        "Tamarind Retail Group, Inc.",
        "earnings-release",
        ticker="TMRX",
        fiscal_year=2023,
        fiscal_period="Q2",
        end=date(2023, 6, 30),
    ),
    _f("tm-8k-jul23", "Tamarind Retail Group, Inc.", "8-K", ticker="TMRX", end=date(2023, 7, 27)),
    _f("tm-8k-mar23", "Tamarind Retail Group, Inc.", "8-K", ticker="TMRX", end=date(2023, 3, 10)),
    # Only quarterly filings, a vowel-less ticker, and a filing nothing dates.
    _f(
        "ql-10q-q1-23",
        "Quillon Foods Inc.",
        "10-Q",
        ticker="QLFD",
        fiscal_year=2023,
        fiscal_period="Q1",
        end=date(2023, 3, 31),
    ),
    _f("ql-undated", None, None, ticker="QLFD"),
    # No company name in the catalog: the file name names it.
    _f(
        "ws-10k-16",
        None,
        "10-K",
        fiscal_year=2016,
        fiscal_period="FY",
        end=date(2016, 6, 30),
        file_name="WESTRIDGE_2016_10K.pdf",
    ),
    _f(
        "ws-10k-23",
        None,
        "10-K",
        ticker="WSTR",
        fiscal_year=2023,
        fiscal_period="FY",
        end=date(2023, 6, 30),
        file_name="WESTRIDGE_2023_10K.pdf",
    ),
]


def fids(question: str, **kw) -> list[str]:
    return resolve(question, FICTION, **kw).doc_ids


@pytest.mark.parametrize(
    ("question", "doc_ids", "how"),
    [
        # Leading words of the registered name.
        ("What was Northgate's backlog in FY2022?", ["ng-10k-22"], "prefix"),
        ("How did Pacific Harbor fund its capex in 2022?", ["ph-10k-22"], "prefix"),
        # An initialism in capitals; "&" forms and "and".
        ("What was AQD's gross margin in FY2015?", ["aqd-10k-15"], "initialism"),
        ("What did H&J pay in dividends in 2022?", ["hj-10k-22"], "initialism"),
        ("What did HnJ pay in dividends in 2022?", ["hj-10k-22"], "initialism"),
        ("Did PAHA fund its capex with debt in 2022?", ["ph-10k-22"], "initialism"),
        ("What did Harlan and Jessop pay in dividends in 2022?", ["hj-10k-22"], "name"),
        # Possessives and plurals.
        ("Were Brightmart's margins stable in FY2020?", ["bm-10k-20"], "name"),
        ("Did Brightmarts inventory grow in FY2020?", ["bm-10k-20"], "plural"),
        # Tickers: marked in any case, vowel-less in lowercase, with a capital inside.
        ("What is the FY2020 revenue of ticker: brta?", ["bm-10k-20"], "ticker-marked"),
        ("Revenue of $brta in FY2020?", ["bm-10k-20"], "ticker-marked"),
        ("How much cash did qlfd hold in Q1 2023?", ["ql-undated", "ql-10q-q1-23"], "ticker"),
        # A company the catalog knows only by its file names.
        ("What was Westridge's debt in FY2023?", ["ws-10k-23"], "alias"),
    ],
)
def test_fictional_company_mentions(question, doc_ids, how):
    r = resolve(question, FICTION)
    assert r.doc_ids == doc_ids, r.scope
    hows = {
        m.how for m in CompanyIndex(FICTION).find(question)[0] if m.entity.doc_ids & set(doc_ids)
    }
    assert how in hows


@pytest.mark.parametrize(
    "question",
    [
        "How did Pacific revenue grow in 2022?",  # a generic first word alone
        "What did Northgate Robotics report in 2022?",  # the words go on as another name
        "What was brta revenue in FY2020?",  # a lowercase word with a vowel, not marked
        "What were American sales in 2022?",
        "How did GM change in FY2022?",  # gross margin, not Granite Mobility's initials
        "Which tickers s&p lists grew in FY2022?",
    ],
)
def test_ordinary_words_and_other_names_are_not_leading_word_aliases(question):
    r = resolve(question, FICTION)
    assert r.companies == [], r.companies


def test_fuzzy_spelling_reports_its_confidence():
    r = resolve("What was Castelane Pharmaceuticals' R&D spend in 2021?", FICTION)
    assert r.doc_ids == ["cp-10k-21"]
    assert r.confidence < 0.8
    guess = next(a for a in r.ambiguities if "Castelane" in a)
    assert "Castellane Pharmaceuticals" in guess and "confidence 0.7" in guess
    assert r.scope.startswith("Searched Castellane Pharmaceuticals FY2021 10-K; 'Castelane")
    assert "read as Castellane Pharmaceuticals (close spelling, confidence 0.7" in r.scope


def test_a_mention_fitting_several_companies_searches_only_the_candidates():
    r = resolve("Is Meridian's business seasonal?", FICTION)
    assert sorted(r.doc_ids) == ["mf-10k-22", "ml-10k-19"]
    assert any(
        "'Meridian' fits 2 companies (Meridian Foods, Meridian Logistics)" in a
        for a in r.ambiguities
    )
    # The period settles it: only Meridian Foods has FY2022.
    r = resolve("What was Meridian's revenue in FY2022?", FICTION)
    assert r.doc_ids == ["mf-10k-22"]
    assert r.companies == ["Meridian Foods Inc."]
    assert any("searched Meridian Foods, the only one with filings" in a for a in r.ambiguities)
    assert r.scope == (
        "Searched Meridian Foods FY2022 10-K; "
        "'Meridian' also fits Meridian Logistics, with no filing for the period asked"
    )


def test_a_renamed_registrant_is_found_by_its_new_and_old_name():
    assert fids("What was Corvid's operating margin in FY2016?") == ["cv-10k-16"]
    assert fids("What was Corvid's operating margin in FY2022?") == ["cv-10k-22"]
    r = resolve("Does Corvid have a moat?", FICTION)
    assert sorted(r.doc_ids) == ["cv-10k-16", "cv-10k-22"]
    assert any("fits 2 companies" in a for a in r.ambiguities)


def test_spellings_of_one_company_share_one_canonical_display_name():
    index = company_index(FICTION)
    by_id = {f.doc_id: f for f in FICTION}
    assert {index.display_name(by_id[d]) for d in ("zp-10k-18", "zp-10k-19")} == {"Zenith Parts"}
    # Merged by CIK across a rename; shown by the newest registered name.
    olden = index.entity_of("ol-10k-17")
    assert olden is index.entity_of("ol-10k-21")
    assert olden.display == "Lumen Widget"
    # All capitals become title case; a name's own acronyms stay.
    assert index.display_name(by_id["ng-10k-21"]) == "Northgate Aerospace"
    assert index.display_name(by_id["ws-10k-16"]) == "Westridge"
    assert index.entity_of("ws-10k-16") is index.entity_of("ws-10k-23")
    r = resolve("Zenith Parts revenue in FY2019 vs FY2018?", FICTION)
    assert r.scope == "Searched Zenith Parts FY2018 10-K, FY2019 10-K"
    assert sorted(r.companies) == ["ZENITH PARTS, Inc .", "Zenith Parts, Inc."]
    assert CompanyIndex(CATALOG).by_key("cvshealth") is None
    cvs = CompanyIndex([_filing("c", "CVS HEALTH CORPORATION", "CVS", "10-K", 2022, "FY", None)])
    assert cvs.entities[0].display == "CVS Health"
    # Cover-page text taken for a name, beside a file name that names the company.
    misread = _f(
        "or", "For the transition period from to", "10-K", file_name="ORBITAL_2019_10K.pdf"
    )
    assert CompanyIndex([misread]).entities[0].display == "Orbital"


def test_a_filing_known_only_by_its_cik_is_one_entity():
    only_cik = [
        _f("k1", None, "10-K", cik="12345", fiscal_year=2022),
        _f("k2", None, "8-K", cik="12345"),
    ]
    index = CompanyIndex(only_cik)
    assert [e.display for e in index.entities] == ["CIK 12345"]
    assert resolve("What is a good margin?", only_cik).doc_ids == []


def test_an_ambiguous_mention_is_one_span_naming_its_candidates():
    r = resolve("Is Meridian's business seasonal?", FICTION)
    spans = [(s.kind, s.text, s.value) for s in r.matched_text if s.kind == "company"]
    assert spans == [("company", "Meridian", "Meridian Foods or Meridian Logistics")]


def test_fiscal_calendar_from_the_filings_maps_a_june_year_quarters():
    # Harborview's year ends in June: the quarter ended December 2022 is Q2 FY2023.
    for question in (
        "What was Harborview's restructuring liability as of Q2 FY2023?",
        "Harborview FY2023Q2 net debt?",
        "What did Harborview report in Q2 of FY2023?",
    ):
        r = resolve(question, FICTION)
        assert r.doc_ids == ["hv-10q-dec22"], (question, r.scope)
    assert r.scope == "Searched Harborview Packaging Q2 FY2023 10-Q (period ended 2022-12-31)"
    assert any("fiscal year ends in June" in n for n in r.notes)
    assert fids("Harborview's cash in Q1 FY2024?") == ["hv-10q-sep23"]
    # Q2 FY2022 is no longer that 10-Q's own quarter but its prior-year comparative.
    r = resolve("Harborview's cash in Q2 FY2022?", FICTION)
    assert r.scope == (
        "Searched Harborview Packaging Q2 FY2023 10-Q "
        "(comparatives for Q2 FY2022; period ended 2022-12-31)"
    )


def test_latest_10k_and_the_form_the_question_names():
    assert fids("What risks does Northgate list in its latest 10-K?") == ["ng-10k-23"]
    assert fids("What did Tamarind's Q2 2023 earnings release say about margins?") == [
        "tm-er-q2-23"
    ]
    assert fids("What does the Q2 2023 10-Q of Tamarind say about leases?") == ["tm-10q-q2-23"]
    # The 8-K of that quarter: dated within it or in the weeks after it ended.
    r = resolve("What did Tamarind's 8-K for Q2 2023 announce?", FICTION)
    assert r.doc_ids == ["tm-8k-jul23"]
    assert r.scope == "Searched Tamarind Retail 2023 8-K (dated 2023-07-27)"
    assert fids("What was in Tamarind's 8-K dated July 27, 2023?") == ["tm-8k-jul23"]
    # No form named: both quarterly documents of the quarter, reported.
    r = resolve("Tamarind's Q2 2023 comparable sales?", FICTION)
    assert r.doc_ids == ["tm-10q-q2-23", "tm-er-q2-23"]
    assert any("matches 2 filings" in a for a in r.ambiguities)
    # A release asked of a company that files none: the 8-K furnished after the year ended.
    r = resolve("What did Northgate's FY2023 earnings release say about guidance?", FICTION)
    assert r.doc_ids == ["ng-8k-24"]
    assert any("no earnings release" in n for n in r.notes)


def test_a_period_between_filings_goes_to_the_filing_that_reports_it():
    # A later 10-Q's comparative quarter.
    r = resolve("Tamarind's Q2 2022 revenue?", FICTION)
    assert r.doc_ids == ["tm-10q-q2-23", "tm-er-q2-23"]
    assert "comparatives for Q2 FY2022" in r.scope
    # A 10-K's prior year.
    r = resolve("Tamarind's FY2021 revenue?", FICTION)
    assert r.doc_ids == ["tm-10k-22"]
    assert r.scope == "Searched Tamarind Retail FY2022 10-K (comparatives for FY2021)"
    # A quarter with no quarterly filing: that year's 10-K covers it.
    r = resolve("Did Northgate pay a dividend in Q2 of FY2022?", FICTION)
    assert r.doc_ids == ["ng-10k-22"]
    assert r.scope == "Searched Northgate Aerospace FY2022 10-K (covers Q2 FY2022)"
    # A year with only the next year's 10-Qs: their balance sheets carry its year end.
    r = resolve("What were Quillon's FY2022 year-end inventories?", FICTION)
    assert "ql-10q-q1-23" in r.doc_ids
    assert any("year-end balance sheet" in n for n in r.notes)


def test_a_filing_nothing_dates_is_searched_with_the_company_selection():
    r = resolve("What was Quillon's revenue in Q1 2023?", FICTION)
    assert r.doc_ids == ["ql-undated", "ql-10q-q1-23"]
    assert any("no known period" in n for n in r.notes)
    assert "period unknown" in r.scope


def test_resolving_the_fictional_catalog_is_fast():
    questions = [
        "What was Northgate's backlog in FY2022?",
        "What was Castelane Pharmaceuticals' R&D spend in 2021?",
        "What was Harborview's restructuring liability as of Q2 FY2023?",
        "Is Meridian's business seasonal?",
        "What is a reasonable gross margin for a retailer?",
    ]
    catalog = FICTION * 1 + [
        f.model_copy(update={"doc_id": f"{f.doc_id}-copy{i}"}) for i in range(2) for f in FICTION
    ]
    resolve(questions[0], catalog)
    start = time.process_time()
    for _ in range(20):
        for q in questions:
            resolve(q, catalog)
    per_question = (time.process_time() - start) / (20 * len(questions))
    assert per_question < 0.005, f"{per_question * 1000:.2f} ms per question"
