"""A 10-K and a 10-Q: statements, notes and text assembled into one :class:`GeneratedFiling`.

Contract: :func:`annual_filing` lays out the last year of the model's years with two or three
years of comparatives; :func:`quarterly_filing` a quarter of the year after, whose prior fiscal
year end balance sheet column equals the 10-K's. Each filing carries its ties, the
cross-statement equalities that must hold (the balance sheet balances, net income flows to the
cash flow, cash ends at the balance sheet's cash, ...), checked by :meth:`GeneratedFiling.check`.
"""

from __future__ import annotations

from samples.filings import PAGE_BREAK, _paragraphs
from samples.general.company import Company, fiscal_end, long_date, quarter_end, year_word
from samples.general.display import period_headers, render_table, unit_text
from samples.general.model import Year, scaled_year
from samples.general.narrative import business, cover, mdna, quarterly_mdna, risk_factors
from samples.general.notes import debt_note, eps_note, geography_note, segment_note, tax_note
from samples.general.records import GeneratedFiling, Statement
from samples.general.statements import (
    balance_sheet,
    cash_flow_statement,
    income_statement,
    newest_first,
)


def _statements(
    company: Company, years: list[Year], n: int
) -> tuple[Statement, Statement, Statement]:
    s = company.style
    income = income_statement(company, years, n, s.income_title)
    balance = balance_sheet(company, years, s.balance_title)
    cash = cash_flow_statement(company, years, n, "Consolidated Statements of Cash Flows")
    return income, balance, cash


def _ties(
    company: Company, years: list[Year], income: Statement, balance: Statement, cash: Statement
) -> list[tuple[str, int, int]]:
    cur = years[-1].v
    a = company.profile.archetype
    ta = balance.value("Total assets")
    tle = balance.lines[-1].values[0] if balance.lines[-1].values else 0
    ties = [
        ("balance sheet balances", ta, tle),
        (
            "cash flow ends at balance sheet cash",
            cash.value("Cash and cash equivalents at end of year"),
            cur["cash"],
        ),
        ("net income flows to cash flow", income.value("Net income"), cash.value("Net income")),
    ]
    if a == "general":
        ties.append(
            (
                "cash at end equals balance sheet line",
                cash.value("Cash and cash equivalents at end of year"),
                balance.value("Cash and cash equivalents"),
            )
        )
        ties.append(
            (
                "retained earnings roll forward",
                cur["retained"],
                years[-2].v["retained"] + income.value("Net income") + cash.value("Dividends paid"),
            )
        )
    return ties


def annual_filing(company: Company, years: list[Year]) -> GeneratedFiling:
    """The 10-K for the last of ``years`` (the oldest of them only supplies opening balances)."""
    rng, s, p = company.rng, company.style, company.profile
    fy = years[-1].fy
    n = s.years_shown
    fys = [y.fy for y in newest_first(years, n)]
    income, balance, cash = _statements(company, years, n)
    label_hdr, periods = period_headers(company, fys, "flow")
    bal_hdr, bal_periods = period_headers(company, fys[:2], "balance")
    for st in (income, cash):
        st.periods = periods
    balance.periods = bal_periods
    unit = unit_text(company)
    end = fiscal_end(company, fy)
    html = [
        cover(
            company,
            "10-K",
            "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE "
            "SECURITIES EXCHANGE ACT OF 1934<br/>"
            f"For the fiscal year ended {long_date(end)}",
            end,
        ),
        PAGE_BREAK,
        business(company, fy, years[-1]),
        PAGE_BREAK,
        risk_factors(company),
        PAGE_BREAK,
        mdna(company, years, income),
        PAGE_BREAK,
        "<h2>Item 8. Financial Statements and Supplementary Data</h2>",
        _paragraphs(
            f"The consolidated financial statements of {company.name} and the report of our "
            "independent registered public accounting firm follow."
        ),
    ]
    for st in (income, balance, cash):
        hdr = bal_hdr if st is balance else label_hdr
        html += [
            PAGE_BREAK,
            render_table(
                company, st, hdr, unit_text(company, st is income) if st is not income else unit
            ),
        ]
        html.append(
            _paragraphs(
                rng.choice(
                    [
                        "See accompanying notes to consolidated financial statements.",
                        "The accompanying notes are an integral part of these consolidated "
                        "financial statements.",
                    ]
                )
            )
        )
    notes = [PAGE_BREAK, "<h2>Notes to Consolidated Financial Statements</h2>"]
    note_no = 1
    notes.append(f"<h3>Note {note_no} - Summary of Significant Accounting Policies</h3>")
    notes.append(
        _paragraphs(
            "Basis of presentation. The consolidated financial statements include the accounts "
            f"of {company.name} and its wholly owned subsidiaries and are prepared in accordance "
            "with accounting principles generally accepted in the United States.",
            "Use of estimates. Preparing financial statements requires management to make "
            "estimates and assumptions that affect reported amounts; actual results could differ "
            "from those estimates.",
        )
    )
    extra: list[Statement] = []
    segment_label = {"bank": "Income before income taxes", "insurer": "Underwriting income"}.get(
        p.archetype, "Segment operating income"
    )
    seg = segment_note(company, years, n, segment_label)
    seg.periods = [str(x) for x in fys]
    extra.append(seg)
    if p.archetype == "general":
        geo = geography_note(company, years, n)
        geo.periods = [str(x) for x in fys]
        extra.append(geo)
    debt, debt_text = debt_note(company, years)
    debt.periods = bal_periods
    eps = eps_note(company, income)
    eps.periods = [str(x) for x in fys]
    tax = tax_note(company, years, n)
    tax.periods = [str(x) for x in fys]
    short_unit = unit_text(company, per_share=False)
    for title, st, text in [
        ("Segment Information", seg, []),
        ("Revenue", extra[1] if len(extra) > 1 else None, []),
        ("Debt", debt, debt_text),
        ("Income Taxes", tax, []),
        ("Earnings Per Share", eps, []),
    ]:
        if st is None:
            continue
        note_no += 1
        notes.append(f"<h3>Note {note_no} - {title}</h3>")
        if text:
            notes.append(_paragraphs(*text))
        notes.append(
            render_table(
                company, st, "", short_unit if st is not eps else unit_text(company), heading=False
            )
        )
        if title == "Segment Information":
            notes.append(
                _paragraphs(
                    "Our chief operating decision maker evaluates segment performance based on "
                    f"{segment_label.lower()}. Corporate costs include headquarters functions not "
                    "allocated to the segments."
                )
            )
    html += notes
    statements = [income, balance, cash, *extra, debt, eps, tax]
    ties = _ties(company, years, income, balance, cash)
    if p.archetype == "general":
        ties.append(
            (
                "debt note ends at balance sheet long-term debt",
                debt.lines[-1].values[0] if debt.lines[-1].values else 0,
                balance.value("Long-term debt"),
            )
        )
    segment_total = next(line for line in seg.lines if line.parts)  # the first total: revenue
    ties.append(
        (
            "segments add up to revenue",
            (segment_total.values or [0])[0],
            years[-1].v["revenue" if p.archetype != "insurer" else "premiums"],
        )
    )
    return GeneratedFiling(
        file_name=f"{company.ticker.lower()}_{fy}_10k.pdf",
        company=company.name,
        ticker=company.ticker,
        industry=p.key,
        form="10-K",
        fiscal_year=fy,
        fiscal_period="FY",
        period_end=end,
        running_header=f"{company.name} | {year_word(company, fy).capitalize()} Form 10-K",
        html="".join(html),
        statements=statements,
        ties=ties,
    )


def quarterly_filing(company: Company, years: list[Year], quarter: int) -> GeneratedFiling:
    """A 10-Q for ``quarter`` of the fiscal year after the last 10-K (``years[-1]`` is that
    year)."""
    rng, p, s = company.rng, company.profile, company.style
    cur_year, prior_year = years[-1], years[-2]
    fy = cur_year.fy
    share = [rng.uniform(0.23, 0.27) for _ in range(4)]
    three = share[quarter - 1] / sum(share)
    ytd = sum(share[:quarter]) / sum(share)
    end = quarter_end(company, fy, quarter)
    prior_end = quarter_end(company, fy - 1, quarter)
    months = {1: "Three", 2: "Six", 3: "Nine"}[quarter]
    q_cur, q_prior = scaled_year(company, cur_year, three), scaled_year(company, prior_year, three)
    columns = [q_cur, q_prior]
    headers = [
        f"Three months ended {long_date(end)}",
        f"Three months ended {long_date(prior_end)}",
    ]
    if company.weeks52:
        headers = [f"13 weeks ended {long_date(end)}", f"13 weeks ended {long_date(prior_end)}"]
    y_cur, y_prior = scaled_year(company, cur_year, ytd), scaled_year(company, prior_year, ytd)
    if quarter > 1:
        columns += [y_cur, y_prior]
        weeks = 13 * quarter
        headers += (
            [
                f"{weeks} weeks ended {long_date(end)}",
                f"{weeks} weeks ended {long_date(prior_end)}",
            ]
            if company.weeks52
            else [
                f"{months} months ended {long_date(end)}",
                f"{months} months ended {long_date(prior_end)}",
            ]
        )
    # The statement builders read the newest years first from the end of the list.
    income = income_statement(
        company, list(reversed(columns)), len(columns), "Condensed " + s.income_title
    )
    income.periods = headers
    # Cash flow: year to date, beginning at the prior fiscal year end's cash (the 10-K's figure).
    y_cur.v["cash_begin"], y_prior.v["cash_begin"] = prior_year.v["cash"], years[-3].v["cash"]
    for ycol in (y_cur, y_prior):
        ycol.v["net_change"] = 0
    cash = cash_flow_statement(
        company, [y_prior, y_cur], 2, "Condensed Consolidated Statements of Cash Flows"
    )
    cash.periods = headers[2:] if quarter > 1 else headers
    # Balance sheet at quarter end: the modelled year-end position with cash set to where the
    # cash flow statement ends; the difference sits in the plug liability so it still balances.
    end_cash = cash.value("Cash and cash equivalents at end of year")
    bal_year = Year(fy, dict(cur_year.v))
    delta = end_cash - bal_year.v["cash"]
    bal_year.v["cash"] = end_cash
    bal_year.v["total_assets"] += delta
    if p.archetype == "bank":
        bal_year.v["ib_deposits"] += delta
        bal_year.v["deposits_ib"] += delta
        bal_year.v["deposits"] += delta
    else:
        bal_year.v["other_liabilities"] += delta
    balance = balance_sheet(company, [prior_year, bal_year], "Condensed " + s.balance_title)
    balance.periods = [long_date(end), long_date(fiscal_end(company, fy - 1))]
    for line in cash.lines:  # 10-Q cash flow rows name the period, not the year
        line.label = line.label.replace("at beginning of year", "at beginning of period").replace(
            "at end of year", "at end of period"
        )
    seg = segment_note(
        company,
        list(reversed(columns)),
        len(columns),
        {"bank": "Income before income taxes", "insurer": "Underwriting income"}.get(
            p.archetype, "Segment operating income"
        ),
    )
    seg.periods = headers
    unit = unit_text(company)
    fy_word = year_word(company, fy)
    text = quarterly_mdna(company, quarter, end, q_cur, q_prior, cur_year, income, cash)
    prior_fy_end = fiscal_end(company, fy - 1)
    html = [
        cover(
            company,
            "10-Q",
            "QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE "
            "SECURITIES EXCHANGE ACT OF 1934<br/>"
            f"For the quarterly period ended {long_date(end)}",
            end,
        ),
        PAGE_BREAK,
        "<h2>PART I - FINANCIAL INFORMATION</h2><h2>Item 1. Financial Statements</h2>",
    ]
    for st in (income, balance, cash):
        html.append(
            render_table(
                company, st, "", f"{unit[:-1]}, unaudited)" if st is income else "(unaudited)"
            )
        )
        html.append(PAGE_BREAK)
    html.append("<h2>Notes to Condensed Consolidated Financial Statements (Unaudited)</h2>")
    html.append(
        "<h3>Note 1 - Basis of Presentation</h3>"
        + _paragraphs(
            "The accompanying unaudited condensed consolidated financial statements have been "
            "prepared in accordance with the rules of the Securities and Exchange Commission for "
            "interim reporting and should be read together with the consolidated financial "
            "statements in our Annual Report on Form 10-K for the fiscal year ended "
            f"{long_date(prior_fy_end)}.",
            "Results for interim periods are not necessarily indicative of results for the full "
            "year.",
        )
    )
    html.append(
        "<h3>Note 2 - Segment Information</h3>"
        + render_table(company, seg, "", unit_text(company, False), heading=False)
    )
    html.append(
        PAGE_BREAK
        + "<h2>Item 2. Management's Discussion and Analysis of Financial Condition and Results of "
        "Operations</h2>"
    )
    html.append(_paragraphs(*text))
    html.append(
        "<h2>PART II - OTHER INFORMATION</h2><h2>Item 1A. Risk Factors</h2>"
        + _paragraphs(
            "There have been no material changes to the risk factors disclosed in our Annual "
            f"Report on Form 10-K for the fiscal year ended {long_date(prior_fy_end)}."
        )
    )
    ties = [
        (
            "net income flows to cash flow (ytd)",
            (next(line for line in income.lines if line.label == "Net income").values or [0])[
                -2 if quarter > 1 else 0
            ],
            cash.value("Net income"),
        ),
        (
            "balance sheet balances",
            balance.value("Total assets"),
            (balance.lines[-1].values or [0])[0],
        ),
        (
            "10-Q cash equals balance sheet cash",
            cash.value("Cash and cash equivalents at end of period"),
            bal_year.v["cash"],
        ),
        (
            "prior year-end column equals the 10-K",
            balance.value("Total assets", 1),
            prior_year.v["total_assets"],
        ),
    ]
    return GeneratedFiling(
        file_name=f"{company.ticker.lower()}_{fy}q{quarter}_10q.pdf",
        company=company.name,
        ticker=company.ticker,
        industry=p.key,
        form="10-Q",
        fiscal_year=fy,
        fiscal_period=f"Q{quarter}",
        period_end=end,
        running_header=f"{company.name} | Q{quarter} {fy_word.capitalize()} Form 10-Q",
        html="".join(html),
        statements=[income, balance, cash, seg],
        ties=ties,
    )
