"""The primary statements (income, balance sheet, cash flow) built from the model's years.

Contract: :func:`income_statement`, :func:`balance_sheet` and :func:`cash_flow_statement` pick
the layout of the company's archetype (general, bank, insurer) and return a :class:`Statement`
whose totals are rows summing their parts, values newest period first; the caller sets the
period headers. Line labels vary per company (drawn from its random stream), the figures do not.
"""

from __future__ import annotations

from samples.general.company import Company
from samples.general.model import Year
from samples.general.records import Statement


def income_statement(company: Company, years: list[Year], n: int, title: str) -> Statement:
    """The income statement of the ``n`` newest of ``years``, in the company's archetype layout."""
    build = {"general": _income_general, "bank": _income_bank, "insurer": _income_insurer}
    return build[company.profile.archetype](company, years, n, title)


def balance_sheet(company: Company, years: list[Year], title: str) -> Statement:
    """The balance sheet at the two newest of ``years``, in the company's archetype layout."""
    build = {"general": _balance_general, "bank": _balance_bank, "insurer": _balance_insurer}
    return build[company.profile.archetype](company, years, title)


def cash_flow_statement(company: Company, years: list[Year], n: int, title: str) -> Statement:
    """The cash flow statement of the ``n`` newest of ``years``; banks and insurers share one
    layout."""
    general = company.profile.archetype == "general"
    return (_cash_general if general else _cash_financial)(company, years, n, title)


def newest_first(years: list[Year], n: int) -> list[Year]:
    """The ``n`` newest years, newest first."""
    return list(reversed(years[-n:]))


def choose(company: Company, options: list[str]) -> str:
    """One of ``options`` (a wording that varies per company), drawn from its stream."""
    return options[company.rng.randrange(len(options))]


def total_revenue_label(company: Company) -> str:
    """The label of the revenue total row, which some industries word their own way."""
    return {
        "retail": "Total revenue",
        "utility": "Total operating revenues",
        "energy": "Total revenues",
        "transport": "Total operating revenues",
    }.get(company.profile.key, "Total revenue")


def _income_general(company: Company, years: list[Year], n: int, title: str) -> Statement:
    p, ys = company.profile, newest_first(years, n)
    st = Statement("income", title, [])
    rev_labels = list(company.revenue_labels)
    revs = [
        st.add(label, [y.rev_lines[i] for y in ys], dollar=i == 0)
        for i, label in enumerate(rev_labels)
    ]
    total_rev = st.total(total_revenue_label(company), revs) if len(revs) > 1 else revs[0]
    cost_labels = list(p.cost_lines[: len(ys[0].cost_lines)])
    if len(cost_labels) < len(ys[0].cost_lines):
        cost_labels = ["Cost of revenue"]
    opex_labels = [o.label for o in p.opex]
    if p.gross_profit:
        costs = [
            st.add(label, [y.cost_lines[i] for y in ys]) for i, label in enumerate(cost_labels)
        ]
        if len(costs) > 1:
            costs = [st.total("Total cost of revenue", costs)]
        gross = st.total(p.gross_profit, [total_rev] + [(c, -1) for c in costs])
        st.add("Operating expenses:", None)
        opex = [st.add(label, [y.opex_lines[i] for y in ys]) for i, label in enumerate(opex_labels)]
        total_opex = st.total("Total operating expenses", opex)
        operating = st.total("Operating income", [gross, (total_opex, -1)])
    else:
        st.add(
            choose(
                company,
                ["Costs and expenses:", "Operating expenses:", "Operating costs and expenses:"],
            ),
            None,
        )
        costs = [
            st.add(label, [y.cost_lines[i] for y in ys]) for i, label in enumerate(cost_labels)
        ]
        opex = [st.add(label, [y.opex_lines[i] for y in ys]) for i, label in enumerate(opex_labels)]
        total = st.total(
            choose(company, ["Total costs and expenses", "Total operating expenses"]), costs + opex
        )
        operating = st.total(
            choose(company, ["Operating income", "Income from operations"]),
            [total_rev, (total, -1)],
        )
    interest = st.add("Interest expense", [-y.v["interest_expense"] for y in ys])
    income = st.add(
        choose(company, ["Interest income", "Interest and investment income"]),
        [y.v["interest_income"] for y in ys],
    )
    other = st.add("Other income (expense), net", [y.v["other_income"] for y in ys])
    pretax = st.total("Income before income taxes", [operating, interest, income, other])
    tax = st.add(
        choose(
            company,
            [
                "Provision for income taxes",
                "Income tax expense",
                "Provision for (benefit from) income taxes",
            ],
        ),
        [y.v["tax"] for y in ys],
    )
    ni = st.total("Net income", [pretax, (tax, -1)], dollar=True)
    _eps_rows(company, st, ys, ni)
    return st


def _eps(company: Company, net_income: int, shares: float) -> int:
    return int(round(100 * company.millions(net_income) / shares))


def _eps_rows(company: Company, st: Statement, ys: list[Year], ni: int) -> None:
    """Per-share rows computed from the statement's own net income row ``ni``."""
    word = choose(
        company, ["Earnings per share:", "Net income per share:", "Earnings per common share:"]
    )
    income = st.lines[ni].values or []
    st.add(word, None)
    st.add(
        "Basic",
        [_eps(company, income[k], y.shares_basic) for k, y in enumerate(ys)],
        dollar=True,
        kind="eps",
    )
    st.add(
        "Diluted",
        [_eps(company, income[k], y.shares_diluted) for k, y in enumerate(ys)],
        dollar=True,
        kind="eps",
    )
    st.add("Weighted-average shares outstanding:", None)

    def count(shares: float) -> int:
        return (
            int(round(shares * 1000)) * 10
            if company.unit == "thousands"
            else int(round(shares * 10))
        )

    st.add("Basic ", [count(y.shares_basic) for y in ys], kind="shares")
    st.add("Diluted ", [count(y.shares_diluted) for y in ys], kind="shares")


def _income_bank(company: Company, years: list[Year], n: int, title: str) -> Statement:
    ys = newest_first(years, n)
    st = Statement("income", title, [])
    st.add("Interest income:", None)
    a = st.add("Loans, including fees", [y.v["ii_loans"] for y in ys], dollar=True)
    b = st.add("Investment securities", [y.v["ii_securities"] for y in ys])
    c = st.add("Interest-bearing deposits with banks", [y.v["ii_other"] for y in ys])
    ti = st.total("Total interest income", [a, b, c])
    st.add("Interest expense:", None)
    d = st.add("Deposits", [y.v["ie_deposits"] for y in ys])
    e = st.add("Short-term borrowings and long-term debt", [y.v["ie_borrowings"] for y in ys])
    te = st.total("Total interest expense", [d, e])
    nii = st.total("Net interest income", [ti, (te, -1)])
    prov = st.add("Provision for credit losses", [y.v["provision"] for y in ys])
    after = st.total("Net interest income after provision for credit losses", [nii, (prov, -1)])
    st.add("Noninterest income:", None)
    fee_labels = [
        "Service charges on deposit accounts",
        "Card and processing fees",
        "Wealth management and trust fees",
        "Mortgage banking income",
        "Other noninterest income",
    ]
    fees = [st.add(label, [y.rev_lines[i] for y in ys]) for i, label in enumerate(fee_labels)]
    tf = st.total("Total noninterest income", fees)
    st.add("Noninterest expense:", None)
    exp_labels = [
        "Salaries and employee benefits",
        "Occupancy and equipment",
        "Technology and communications",
        "FDIC insurance assessments",
        "Other noninterest expense",
    ]
    exps = [st.add(label, [y.opex_lines[i] for y in ys]) for i, label in enumerate(exp_labels)]
    tx = st.total("Total noninterest expense", exps)
    pretax = st.total("Income before income taxes", [after, tf, (tx, -1)])
    tax = st.add("Income tax expense", [y.v["tax"] for y in ys])
    ni = st.total("Net income", [pretax, (tax, -1)], dollar=True)
    if any(y.v.get("pref_div") for y in ys):
        pref = st.add("Preferred stock dividends", [y.v["pref_div"] for y in ys])
        ni = st.total("Net income available to common shareholders", [ni, (pref, -1)], dollar=True)
    _eps_rows(company, st, ys, ni)
    return st


def _income_insurer(company: Company, years: list[Year], n: int, title: str) -> Statement:
    ys = newest_first(years, n)
    st = Statement("income", title, [])
    st.add("Revenues:", None)
    a = st.add("Net premiums earned", [y.v["premiums"] for y in ys], dollar=True)
    b = st.add("Net investment income", [y.v["nii"] for y in ys])
    c = st.add("Net realized and unrealized investment gains (losses)", [y.v["gains"] for y in ys])
    d = st.add("Fee and other income", [y.v["fees"] for y in ys])
    rev = st.total("Total revenues", [a, b, c, d])
    st.add(choose(company, ["Losses and expenses:", "Benefits, losses and expenses:"]), None)
    e = st.add("Losses and loss adjustment expenses", [y.v["losses"] for y in ys])
    f = st.add("Amortization of deferred policy acquisition costs", [y.v["acq"] for y in ys])
    g = st.add("Other operating expenses", [y.v["other_opex"] for y in ys])
    h = st.add("Interest expense", [y.v["interest_expense"] for y in ys])
    exp = st.total("Total losses and expenses", [e, f, g, h])
    pretax = st.total("Income before income taxes", [rev, (exp, -1)])
    tax = st.add("Income tax expense (benefit)", [y.v["tax"] for y in ys])
    ni = st.total("Net income", [pretax, (tax, -1)], dollar=True)
    _eps_rows(company, st, ys, ni)
    return st


def _balance_general(company: Company, years: list[Year], title: str) -> Statement:
    p, ys = company.profile, newest_first(years, 2)
    st = Statement("balance", title, [])
    col = lambda key: [y.v[key] for y in ys]  # noqa: E731
    st.add("ASSETS" if company.style.upper_titles else "Assets", None)
    st.add("Current assets:", None)
    ca = [
        st.add("Cash and cash equivalents", col("cash"), dollar=True),
        st.add(
            choose(
                company,
                [
                    "Accounts receivable, net",
                    "Receivables, net",
                    "Trade receivables, net of allowances",
                ],
            ),
            col("receivables"),
        ),
    ]
    if p.inventories:
        ca.append(st.add(p.inventories, col("inventories")))
    ca.append(
        st.add(
            choose(company, ["Prepaid expenses and other current assets", "Other current assets"]),
            col("prepaid"),
        )
    )
    tca = st.total("Total current assets", ca)
    ppe_label = {
        "utility": "Utility plant, net",
        "energy": "Oil and natural gas properties, net (successful efforts method)",
    }.get(p.key, "Property, plant and equipment, net")
    nca = [
        st.add(ppe_label, col("ppe")),
        st.add("Operating lease right-of-use assets", col("lease_assets")),
        st.add("Goodwill", col("goodwill")),
        st.add("Intangible assets, net", col("intangibles")),
        st.add(
            choose(
                company,
                ["Other assets", "Other noncurrent assets", "Deferred charges and other assets"],
            ),
            col("other_assets"),
        ),
    ]
    st.total("Total assets", [tca] + nca, dollar=True)
    st.add(
        "LIABILITIES AND SHAREHOLDERS' EQUITY"
        if company.style.upper_titles
        else "Liabilities and stockholders' equity",
        None,
    )
    st.add("Current liabilities:", None)
    cl = [
        st.add("Accounts payable", col("payables"), dollar=True),
        st.add(
            choose(
                company,
                [
                    "Accrued liabilities",
                    "Accrued expenses and other current liabilities",
                    "Accrued compensation and other liabilities",
                ],
            ),
            col("accrued"),
        ),
    ]
    if p.deferred_revenue:
        cl.append(
            st.add(
                choose(company, ["Deferred revenue", "Unearned revenue"]), col("deferred_revenue")
            )
        )
    cl.append(
        st.add(
            choose(
                company,
                [
                    "Current portion of long-term debt",
                    "Short-term debt and current maturities of long-term debt",
                ],
            ),
            col("current_debt"),
        )
    )
    tcl = st.total("Total current liabilities", cl)
    ncl = [
        st.add("Long-term debt", col("long_term_debt")),
        st.add(
            choose(
                company, ["Operating lease liabilities", "Long-term operating lease liabilities"]
            ),
            col("lease_liabilities"),
        ),
        st.add("Deferred income taxes", col("deferred_tax_liab")),
        st.add(
            choose(company, ["Other long-term liabilities", "Other noncurrent liabilities"]),
            col("other_liabilities"),
        ),
    ]
    tl = st.total("Total liabilities", [tcl] + ncl)
    st.add(choose(company, ["Stockholders' equity:", "Shareholders' equity:"]), None)
    eq = [
        st.add("Common stock and additional paid-in capital", col("apic")),
        st.add(
            "Retained earnings"
            if all(y.v["retained"] >= 0 for y in ys)
            else "Retained earnings (accumulated deficit)",
            col("retained"),
        ),
        st.add("Accumulated other comprehensive loss", col("aoci")),
        st.add("Treasury stock, at cost", col("treasury")),
    ]
    te = st.total(choose(company, ["Total stockholders' equity", "Total shareholders' equity"]), eq)
    st.total(
        choose(
            company, ["Total liabilities and stockholders' equity", "Total liabilities and equity"]
        ),
        [tl, te],
        dollar=True,
    )
    return st


def _balance_bank(company: Company, years: list[Year], title: str) -> Statement:
    ys = newest_first(years, 2)
    st = Statement("balance", title, [])
    col = lambda key: [y.v[key] for y in ys]  # noqa: E731
    st.add("Assets", None)
    cash_due = st.add("Cash and due from banks", col("cash_due"), dollar=True)
    ib = st.add("Interest-bearing deposits with banks", col("ib_deposits"))
    afs = st.add("Debt securities available for sale, at fair value", col("afs"))
    htm = st.add("Debt securities held to maturity", col("htm"))
    loans = st.add("Loans held for investment", col("loans"))
    allow = st.add("Allowance for credit losses", col("allowance"))
    net = st.total("Loans, net", [loans, allow])
    rest = [
        st.add("Premises and equipment, net", col("premises")),
        st.add("Goodwill and other intangibles", col("goodwill")),
        st.add("Other assets", col("other_assets")),
    ]
    st.total("Total assets", [cash_due, ib, afs, htm, net] + rest, dollar=True)
    st.add("Liabilities", None)
    d1 = st.add("Noninterest-bearing deposits", col("deposits_nib"), dollar=True)
    d2 = st.add("Interest-bearing deposits", col("deposits_ib"))
    td = st.total("Total deposits", [d1, d2])
    other = [
        st.add("Short-term borrowings", col("stb")),
        st.add("Long-term debt", col("debt")),
        st.add("Accrued expenses and other liabilities", col("other_liabilities")),
    ]
    tl = st.total("Total liabilities", [td] + other)
    st.add("Shareholders' equity", None)
    eq = []
    if any(y.v["preferred"] for y in ys):
        eq.append(st.add("Preferred stock", col("preferred")))
    eq += [
        st.add("Common stock and surplus", col("apic")),
        st.add("Retained earnings", col("retained")),
        st.add("Accumulated other comprehensive loss", col("aoci")),
        st.add("Treasury stock, at cost", col("treasury")),
    ]
    te = st.total("Total shareholders' equity", eq)
    st.total("Total liabilities and shareholders' equity", [tl, te], dollar=True)
    return st


def _balance_insurer(company: Company, years: list[Year], title: str) -> Statement:
    ys = newest_first(years, 2)
    st = Statement("balance", title, [])
    col = lambda key: [y.v[key] for y in ys]  # noqa: E731
    st.add("Assets", None)
    st.add("Investments:", None)
    inv = [
        st.add(
            "Fixed maturities, available for sale, at fair value",
            col("fixed_maturities"),
            dollar=True,
        ),
        st.add("Equity securities, at fair value", col("equity_securities")),
        st.add("Short-term investments", col("short_term")),
    ]
    ti = st.total("Total investments", inv)
    rest = [
        st.add("Cash", col("cash")),
        st.add("Premiums receivable, net", col("premiums_receivable")),
        st.add("Reinsurance recoverables", col("reinsurance_recoverables")),
        st.add("Deferred policy acquisition costs", col("dac")),
        st.add("Goodwill", col("goodwill")),
        st.add("Other assets", col("other_assets")),
    ]
    st.total("Total assets", [ti] + rest, dollar=True)
    st.add("Liabilities", None)
    li = [
        st.add("Reserve for losses and loss adjustment expenses", col("reserves"), dollar=True),
        st.add("Unearned premiums", col("unearned")),
        st.add("Long-term debt", col("debt")),
        st.add("Other liabilities", col("other_liabilities")),
    ]
    tl = st.total("Total liabilities", li)
    st.add("Shareholders' equity", None)
    eq = [
        st.add("Common stock and additional paid-in capital", col("apic")),
        st.add("Retained earnings", col("retained")),
        st.add("Accumulated other comprehensive income (loss)", col("aoci")),
        st.add("Treasury stock, at cost", col("treasury")),
    ]
    te = st.total("Total shareholders' equity", eq)
    st.total("Total liabilities and shareholders' equity", [tl, te], dollar=True)
    return st


def _cash_general(company: Company, years: list[Year], n: int, title: str) -> Statement:
    p, ys = company.profile, newest_first(years, n)
    st = Statement("cash-flow", title, [])
    col = lambda key: [y.v.get(key, 0) for y in ys]  # noqa: E731
    st.add(
        choose(
            company,
            [
                "Operating activities",
                "Cash flows from operating activities:",
                "OPERATING ACTIVITIES",
            ],
        ),
        None,
    )
    ni = st.add("Net income", col("net_income"), dollar=True)
    st.add(
        "Adjustments to reconcile net income to net cash provided by operating activities:", None
    )
    da_label = (
        "Depreciation, depletion and amortization"
        if p.key == "energy"
        else "Depreciation and amortization"
    )
    op = [
        ni,
        st.add(da_label, col("da")),
        st.add(
            choose(company, ["Stock-based compensation", "Share-based compensation expense"]),
            col("sbc"),
        ),
        st.add("Deferred income taxes", col("deferred_tax")),
    ]
    if p.key == "energy":
        op.append(st.add("Impairment of oil and gas properties", col("impairment_addback")))
    st.add("Changes in operating assets and liabilities:", None)
    op += [st.add("Receivables", col("wc_receivables"))]
    if p.inventories:
        op.append(st.add(p.inventories, col("wc_inventories")))
    op += [
        st.add("Prepaid expenses and other assets", col("wc_prepaid")),
        st.add("Accounts payable", col("wc_payables")),
        st.add("Accrued and other liabilities", col("wc_accrued")),
        st.add("Other, net", col("other_operating")),
    ]
    cfo = st.total("Net cash provided by operating activities", op)
    st.add(choose(company, ["Investing activities", "Cash flows from investing activities:"]), None)
    capex_label = {
        "retail": "Capital expenditures",
        "utility": "Utility construction expenditures",
        "energy": "Additions to oil and gas properties",
    }.get(
        p.key,
        choose(company, ["Capital expenditures", "Purchases of property, plant and equipment"]),
    )
    inv = [
        st.add(capex_label, col("capex")),
        st.add("Acquisitions, net of cash acquired", col("acquisitions")),
        st.add("Other investing activities, net", col("other_investing")),
    ]
    cfi = st.total(_flow_label(ys, "cfi", "investing"), inv)
    st.add(choose(company, ["Financing activities", "Cash flows from financing activities:"]), None)
    fin = [
        st.add("Proceeds from issuance of long-term debt", col("issuance")),
        st.add("Repayments of long-term debt", col("repayment")),
        st.add(
            choose(company, ["Repurchases of common stock", "Purchases of treasury stock"]),
            col("repurchases"),
        ),
        st.add("Dividends paid", col("dividends")),
        st.add("Other financing activities, net", col("other_financing")),
    ]
    cff = st.total(_flow_label(ys, "cff", "financing"), fin)
    parts = [cfo, cfi, cff]
    if any(col("fx")):
        parts.append(
            st.add("Effect of exchange rate changes on cash and cash equivalents", col("fx"))
        )
    change = st.total("Net increase (decrease) in cash and cash equivalents", parts)
    begin = st.add("Cash and cash equivalents at beginning of year", col("cash_begin"))
    st.total("Cash and cash equivalents at end of year", [change, begin], dollar=True)
    return st


def _flow_label(ys: list[Year], key: str, what: str) -> str:
    values = [y.v[key] for y in ys]
    if all(v >= 0 for v in values):
        return f"Net cash provided by {what} activities"
    if all(v <= 0 for v in values):
        return f"Net cash used in {what} activities"
    return f"Net cash provided by (used in) {what} activities"


def _cash_financial(company: Company, years: list[Year], n: int, title: str) -> Statement:
    ys = newest_first(years, n)
    bank = company.profile.archetype == "bank"
    st = Statement("cash-flow", title, [])
    col = lambda key: [y.v.get(key, 0) for y in ys]  # noqa: E731
    st.add("Cash flows from operating activities:", None)
    op = [st.add("Net income", col("net_income"), dollar=True)]
    if bank:
        op += [
            st.add("Provision for credit losses", col("provision")),
            st.add("Depreciation and amortization", col("da")),
            st.add("Share-based compensation", col("sbc")),
        ]
    else:
        op += [
            st.add("Net realized and unrealized investment (gains) losses", col("cf_gains")),
            st.add("Share-based compensation", col("sbc")),
            st.add("Change in reserve for losses and loss adjustment expenses", col("cf_reserves")),
            st.add("Change in unearned premiums", col("cf_unearned")),
            st.add("Change in premiums receivable", col("cf_receivable")),
            st.add("Change in deferred policy acquisition costs", col("cf_dac")),
        ]
    op.append(st.add("Other operating activities, net", col("other_operating")))
    cfo = st.total(_flow_label(ys, "cfo", "operating"), op)
    st.add("Cash flows from investing activities:", None)
    if bank:
        inv = [
            st.add("Net increase in loans", col("cf_loans")),
            st.add("Purchases of investment securities", col("cf_purchases")),
            st.add(
                "Proceeds from maturities and sales of investment securities", col("cf_maturities")
            ),
            st.add("Purchases of premises and equipment, net", col("capex")),
        ]
    else:
        inv = [
            st.add("Purchases of fixed maturities and equity securities", col("cf_purchases")),
            st.add("Proceeds from sales and maturities of investments", col("cf_sales")),
            st.add("Purchases of property and equipment", col("capex")),
        ]
    cfi = st.total(_flow_label(ys, "cfi", "investing"), inv)
    st.add("Cash flows from financing activities:", None)
    fin = []
    if bank:
        fin += [
            st.add("Net increase (decrease) in deposits", col("cf_deposits")),
            st.add("Net change in short-term borrowings", col("cf_stb")),
            st.add("Proceeds from issuance of long-term debt", col("issuance")),
            st.add("Repayments of long-term debt", col("repayment")),
        ]
    fin += [st.add("Dividends paid to common shareholders", col("dividends"))]
    if bank and any(col("pref_div")):
        fin.append(st.add("Dividends paid on preferred stock", [-x for x in col("pref_div")]))
    fin.append(st.add("Repurchases of common stock", col("repurchases")))
    cff = st.total(_flow_label(ys, "cff", "financing"), fin)
    change = st.total("Net increase (decrease) in cash and cash equivalents", [cfo, cfi, cff])
    begin = st.add("Cash and cash equivalents at beginning of year", col("cash_begin"))
    st.total("Cash and cash equivalents at end of year", [change, begin], dollar=True)
    return st
