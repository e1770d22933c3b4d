"""Notes to the financial statements: segments, revenue by geography, debt, EPS, income taxes.

Contract: each function returns a :class:`Statement` whose totals add up: segment revenue to
total revenue, segment profit with corporate costs to operating income (pretax income for banks,
underwriting income for insurers), regions to total revenue, debt instruments to the balance
sheet's debt, current and deferred tax to the provision. The EPS note repeats the income
statement's own rows, so the two cannot disagree.
"""

from __future__ import annotations

from samples.general.company import Company, fiscal_end, long_date
from samples.general.display import money
from samples.general.model import Year, split_exact
from samples.general.profiles import VOCABULARY
from samples.general.records import Statement
from samples.general.statements import choose, newest_first, total_revenue_label


def segment_note(company: Company, years: list[Year], n: int, label: str) -> Statement:
    """Revenue by segment (adds up to total revenue) and segment profit named ``label`` (adds up,
    with corporate, to operating income; for banks to pretax income, for insurers to underwriting
    income)."""
    ys, p = newest_first(years, n), company.profile
    names = list(p.segments[: len(ys[0].segments)])
    st = Statement(
        "segments",
        choose(
            company,
            [
                "Segment information",
                "Financial information by reportable segment",
                "Reportable segment results",
            ],
        ),
        [],
    )
    what = {
        "bank": "Total revenue (net interest income plus noninterest income)",
        "insurer": "Net premiums earned",
    }.get(p.archetype, total_revenue_label(company))
    st.add(
        choose(company, ["Revenue:", "Net sales:"])
        if p.archetype == "general"
        else ("Revenue:" if p.archetype == "bank" else "Net premiums earned:"),
        None,
    )
    rows = [
        st.add(name, [y.segments[i] for y in ys], dollar=i == 0) for i, name in enumerate(names)
    ]
    st.total(what, rows, dollar=True)
    st.add(f"{label}:", None)
    rows = [st.add(f"{name} ", [y.segment_income[i] for y in ys]) for i, name in enumerate(names)]
    if p.archetype != "insurer":
        rows.append(
            st.add(
                choose(
                    company,
                    [
                        "Corporate and other",
                        "Corporate, eliminations and other",
                        "Unallocated corporate expenses",
                    ],
                ),
                [y.v["corporate"] for y in ys],
            )
        )
    st.total(
        {"bank": "Income before income taxes", "insurer": "Total underwriting income"}.get(
            p.archetype, "Total operating income"
        ),
        rows,
        dollar=True,
    )
    return st


def geography_note(company: Company, years: list[Year], n: int) -> Statement:
    """Revenue by region; adds up to total revenue."""
    ys = newest_first(years, n)
    st = Statement(
        "geography",
        choose(
            company,
            [
                "Revenue by geographic area",
                "Disaggregation of revenue by geography",
                "Net sales by region",
            ],
        ),
        [],
    )
    regions = list(VOCABULARY.regions[: len(ys[0].regions)])
    rows = [st.add(r, [y.regions[i] for y in ys], dollar=i == 0) for i, r in enumerate(regions)]
    st.total(total_revenue_label(company), rows, dollar=True)
    return st


def debt_note(company: Company, years: list[Year]) -> tuple[Statement, list[str]]:
    """Debt instruments for the two balance sheet dates, and the note's text; the table ends at
    the balance sheet's long-term debt."""
    rng, ys = company.rng, newest_first(years, 2)
    fy = ys[0].fy
    kinds = [
        f"{rng.choice([2.5, 3.25, 3.875, 4.25, 4.75, 5.1, 5.625, 6.0]):.3f}% Senior Notes due "
        f"{fy + rng.randint(2, 9)}",
        f"{rng.choice([1.95, 2.8, 4.1, 5.35]):.3f}% Senior Notes due {fy + rng.randint(8, 28)}",
        f"Term loan due {fy + rng.randint(1, 5)}",
        "Revolving credit facility",
        f"{rng.choice([0.5, 1.25, 2.0]):.2f}% Convertible Senior Notes due "
        f"{fy + rng.randint(2, 6)}",
        "Finance lease obligations and other",
    ]
    chosen = rng.sample(kinds, rng.randint(2, 4))
    weights = [rng.uniform(0.2, 1.0) for _ in chosen]
    st = Statement("debt", choose(company, ["Long-term debt", "Debt", "Components of debt"]), [])
    key = "debt"
    splits = [split_exact(rng, y.v[key], weights) for y in ys]
    rows = [st.add(name, [sp[i] for sp in splits], dollar=i == 0) for i, name in enumerate(chosen)]
    total = st.total("Total debt", rows)
    archetype = company.profile.archetype
    current = [y.v.get("current_debt", 0) for y in ys]
    if archetype == "general":
        cur = st.add("Less: current portion", [-c for c in current])
        st.total("Long-term debt, net of current portion", [total, cur], dollar=True)
    rate = rng.uniform(3.0, 6.5)
    facility = company.u(company.millions(ys[0].v["revenue"]) * rng.choice([0.1, 0.15, 0.2]))
    text = [
        f"As of {long_date(fiscal_end(company, fy))}, total debt was "
        f"{money(company, ys[0].v[key])}, compared with {money(company, ys[1].v[key])} a year "
        f"earlier. The weighted-average interest rate on our borrowings was {rate:.2f}%.",
        f"We have a {money(company, facility)} unsecured revolving credit facility that matures "
        f"in {fy + rng.randint(2, 5)}. Borrowings bear interest at SOFR plus a margin of "
        f"{rng.choice([1.0, 1.125, 1.25, 1.5]):.3f}% based on our credit ratings.",
        rng.choice(
            [
                "We were in compliance with all debt covenants as of the end of the year.",
                "The credit agreement requires us to maintain a consolidated leverage ratio of "
                "not more than 3.5 to 1.0; we were in compliance.",
                "The senior notes are unsecured and rank equally with our other unsecured "
                "indebtedness.",
            ]
        ),
    ]
    return st, text


def eps_note(company: Company, income: Statement) -> Statement:
    """Basic and diluted EPS from the income statement's own rows (the note repeats them
    exactly)."""
    ni_label = (
        "Net income available to common shareholders"
        if any(line.label == "Net income available to common shareholders" for line in income.lines)
        else "Net income"
    )
    ni = next(line.values for line in income.lines if line.label == ni_label)
    basic = next(line.values for line in income.lines if line.label == "Basic ")
    diluted = next(line.values for line in income.lines if line.label == "Diluted ")
    eps_b = next(line.values for line in income.lines if line.label == "Basic")
    eps_d = next(line.values for line in income.lines if line.label == "Diluted")
    st = Statement(
        "eps",
        choose(
            company,
            [
                "Earnings per share",
                "Computation of basic and diluted earnings per share",
                "Net income per share",
            ],
        ),
        list(income.periods),
    )
    st.add(ni_label, list(ni or []), dollar=True)
    b = st.add(
        "Weighted-average common shares outstanding - basic", list(basic or []), kind="shares"
    )
    d = st.add(
        "Dilutive effect of stock options and restricted stock units",
        [x - y for x, y in zip(diluted or [], basic or [], strict=True)],
        kind="shares",
    )
    st.total("Weighted-average common shares outstanding - diluted", [b, d])
    st.lines[-1].kind = "shares"
    st.add("Basic earnings per share", list(eps_b or []), dollar=True, kind="eps")
    st.add("Diluted earnings per share", list(eps_d or []), dollar=True, kind="eps")
    return st


def tax_note(company: Company, years: list[Year], n: int) -> Statement:
    """Current (federal, state, foreign) and deferred tax; adds up to the provision."""
    rng, ys = company.rng, newest_first(years, n)
    st = Statement(
        "taxes",
        choose(company, ["Components of the provision for income taxes", "Income tax expense"]),
        [],
    )
    weights = [rng.uniform(0.5, 1.0), rng.uniform(0.1, 0.25), rng.uniform(0.05, 0.4)]
    current = [
        split_exact(rng, int(round(y.v["tax"] * rng.uniform(0.8, 1.2))), weights) for y in ys
    ]
    st.add("Current:", None)
    rows = [
        st.add(label, [c[i] for c in current], dollar=i == 0)
        for i, label in enumerate(["Federal", "State and local", "Foreign"])
    ]
    tc = st.total("Total current", rows)
    deferred = st.add("Deferred", [y.v["tax"] - sum(c) for y, c in zip(ys, current, strict=True)])
    st.total(
        choose(company, ["Provision for income taxes", "Total income tax expense"]),
        [tc, deferred],
        dollar=True,
    )
    return st
