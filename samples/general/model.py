"""The financial model: each fiscal year of a company as integer display units.

Contract: :func:`model_years` returns consecutive fiscal years, oldest first (the oldest one only
supplies opening balances), whose figures tie out: net income flows to retained earnings and the
cash flow; the cash flow ends at the next balance sheet's cash; the balance sheet balances (a plug
in other liabilities or other assets keeps every line positive); segment and regional revenue add
up to total revenue. :func:`scaled_year` cuts a quarter or a year to date out of a year, with its
totals recomputed from the scaled lines so that statements built from it still add up.

Figures are in the company's minor display unit (:meth:`Company.u`) so that printed totals equal
the sums of the printed lines, with no rounding differences.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from samples.general.company import Company


@dataclass
class Year:
    """Everything known about one fiscal year, in display units (see :meth:`Company.u`)."""

    fy: int
    v: dict[str, int] = field(default_factory=dict)  # named amounts
    rev_lines: list[int] = field(default_factory=list)
    cost_lines: list[int] = field(default_factory=list)
    opex_lines: list[int] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)
    segment_income: list[int] = field(default_factory=list)
    regions: list[int] = field(default_factory=list)
    shares_basic: float = 0.0  # millions of shares
    shares_diluted: float = 0.0


def split_exact(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """``total`` split by ``weights`` into integers that add up to it exactly."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(round(x)) for x in raw[:-1]]
    return parts + [total - sum(parts)]


def model_years(company: Company, last_fy: int, n_years: int = 4) -> list[Year]:
    """``n_years`` consecutive fiscal years ending with ``last_fy`` (oldest first); the oldest
    one only supplies opening balances."""
    if company.profile.archetype == "bank":
        return _model_bank(company, last_fy, n_years)
    if company.profile.archetype == "insurer":
        return _model_insurer(company, last_fy, n_years)
    return _model_general(company, last_fy, n_years)


def _split_revenue(
    company: Company, y: Year, n_segments: int, seg_w: list[float], reg_w: list[float]
) -> None:
    rng = company.rng
    y.segments = split_exact(
        rng, y.v["revenue"], [w * rng.uniform(0.95, 1.05) for w in seg_w[:n_segments]]
    )
    y.regions = split_exact(rng, y.v["revenue"], [w * rng.uniform(0.95, 1.05) for w in reg_w])


def _segment_income(company: Company, y: Year, operating_income: int) -> None:
    rng = company.rng
    corporate = -abs(int(round(operating_income * rng.uniform(0.05, 0.15)))) - company.u(
        rng.uniform(5, 40)
    )
    margins = [max(0.01, rng.uniform(0.6, 1.4)) for _ in y.segments]
    y.segment_income = split_exact(
        rng, operating_income - corporate, [s * m for s, m in zip(y.segments, margins, strict=True)]
    )
    y.v["corporate"] = corporate


def _model_general(company: Company, last_fy: int, n_years: int) -> list[Year]:
    rng, p, u = company.rng, company.profile, company.u
    size = rng.uniform(80, 3000) if company.unit == "thousands" else rng.uniform(400, 40000)
    company.revenue_labels = rng.choice(p.revenue_line_sets)
    n_rev = len(company.revenue_labels)
    rev_w = [rng.uniform(0.4, 1.0) if i == 0 else rng.uniform(0.05, 0.4) for i in range(n_rev)]
    n_segments = rng.choice([2, 3, 3, 4])
    seg_w = [rng.uniform(0.2, 1.0) for _ in range(n_segments)]
    reg_w = [rng.uniform(1.0, 2.0)] + [rng.uniform(0.1, 0.6) for _ in range(rng.choice([2, 3]))]
    gm = rng.uniform(p.gross_margin.low, p.gross_margin.high)
    opex_ratio = [o.share_of_revenue * rng.uniform(0.7, 1.3) for o in p.opex]
    if p.key in ("energy",):
        opex_ratio[-1] = rng.choice([0.0, 0.0, 0.04])  # impairments happen in some years only
    tax_rate = rng.uniform(0.17, 0.26)
    payout = (
        rng.choice([0.0, 0.25, 0.4, 0.6])
        if p.key not in ("software", "pharma")
        else rng.choice([0.0, 0.0, 0.3])
    )
    # revenue per share of $25-250 keeps earnings per share in the usual single and double digits
    shares = size / (rng.uniform(25, 250) if company.unit == "millions" else rng.uniform(8, 60))
    years: list[Year] = []
    revenue_m = size
    prev: Year | None = None
    for k in range(n_years):
        fy = last_fy - n_years + 1 + k
        y = Year(fy)
        if k:
            revenue_m *= 1 + rng.uniform(p.growth.low, p.growth.high)
        y.rev_lines = split_exact(rng, u(revenue_m), [w * rng.uniform(0.9, 1.1) for w in rev_w])
        y.v["revenue"] = sum(y.rev_lines)
        _split_revenue(company, y, n_segments, seg_w, reg_w)
        gm_t = gm + rng.uniform(-0.02, 0.02)
        cost = int(round(y.v["revenue"] * (1 - gm_t)))
        n_cost = min(len(p.cost_lines), max(1, n_rev if len(p.cost_lines) > 1 else 1))
        y.cost_lines = split_exact(rng, cost, [rng.uniform(0.5, 1.0) for _ in range(n_cost)])
        y.opex_lines = [
            int(round(y.v["revenue"] * r * rng.uniform(0.92, 1.08))) for r in opex_ratio
        ]
        if p.key == "energy" and rng.random() < 0.6:
            y.opex_lines[-1] = 0
        y.v["cost"] = cost
        y.v["gross"] = y.v["revenue"] - cost
        y.v["opex"] = sum(y.opex_lines)
        y.v["operating"] = y.v["gross"] - y.v["opex"]
        # opening balances
        if prev is None:
            y.v["cash"] = u(revenue_m * rng.uniform(0.05, 0.25))
            y.v["debt"] = u(revenue_m * rng.uniform(0.1, 0.9 if p.key != "utility" else 1.6))
            y.v["ppe"] = u(revenue_m * (p.capex_share * rng.uniform(3, 6) + 0.05))
            y.v["goodwill"] = u(revenue_m * rng.uniform(0.0, 0.5))
            y.v["intangibles"] = u(revenue_m * rng.uniform(0.0, 0.25))
            y.v["apic"] = u(revenue_m * rng.uniform(0.05, 0.6))
            y.v["treasury"] = -u(revenue_m * rng.uniform(0.0, 0.4))
            y.shares_basic = shares
        else:
            _general_flows(company, y, prev, tax_rate, payout)
        _general_balance(company, y, prev)
        y.shares_diluted = y.shares_basic * rng.uniform(1.002, 1.02)
        _segment_income(company, y, y.v["operating"])
        years.append(y)
        prev = y
    return years


def _general_flows(company: Company, y: Year, prev: Year, tax_rate: float, payout: float) -> None:
    rng, p, u, v = company.rng, company.profile, company.u, y.v
    revenue_m = company.millions(v["revenue"])
    v["interest_expense"] = int(round(prev.v["debt"] * rng.uniform(0.035, 0.06)))
    v["interest_income"] = int(round(prev.v["cash"] * rng.uniform(0.01, 0.045)))
    v["other_income"] = u(revenue_m * rng.uniform(-0.004, 0.004))
    v["pretax"] = v["operating"] - v["interest_expense"] + v["interest_income"] + v["other_income"]
    v["tax"] = (
        int(round(v["pretax"] * (tax_rate + rng.uniform(-0.02, 0.02))))
        if v["pretax"] > 0
        else int(round(v["pretax"] * 0.12))
    )
    v["net_income"] = v["pretax"] - v["tax"]
    # cash flows
    da = next(
        (x for o, x in zip(p.opex, y.opex_lines, strict=True) if "epreciation" in o.label), 0
    ) or int(round(v["revenue"] * rng.uniform(0.02, 0.05)))
    v["da"] = da
    v["sbc"] = u(
        revenue_m
        * (
            rng.uniform(0.02, 0.07)
            if p.key in ("software", "semis", "pharma")
            else rng.uniform(0.003, 0.012)
        )
    )
    v["deferred_tax"] = u(revenue_m * rng.uniform(-0.006, 0.008))
    v["impairment_addback"] = y.opex_lines[-1] if p.key == "energy" else 0
    v["capex"] = -u(revenue_m * p.capex_share * rng.uniform(0.7, 1.3))
    v["acquisitions"] = -u(revenue_m * rng.uniform(0.05, 0.3)) if rng.random() < 0.25 else 0
    v["other_investing"] = u(revenue_m * rng.uniform(-0.004, 0.004))
    v["dividends"] = -int(round(max(0, prev.v.get("net_income", v["net_income"])) * payout))
    v["repayment"] = -int(round(prev.v["debt"] * rng.uniform(0.0, 0.15)))
    v["issuance"] = u(revenue_m * rng.uniform(0.02, 0.15)) if rng.random() < 0.35 else 0
    v["other_financing"] = u(revenue_m * rng.uniform(-0.003, 0.001))
    v["fx"] = u(revenue_m * rng.uniform(-0.003, 0.003)) if rng.random() < 0.6 else 0


def _working_capital(company: Company, y: Year) -> None:
    rng, p, v = company.rng, company.profile, y.v
    rev = v["revenue"]
    v["receivables"] = int(
        round(rev * (rng.uniform(0.02, 0.05) if p.key == "retail" else rng.uniform(0.1, 0.18)))
    )
    v["inventories"] = int(round(v["cost"] * rng.uniform(0.12, 0.3))) if p.inventories else 0
    v["prepaid"] = int(round(rev * rng.uniform(0.01, 0.03)))
    v["payables"] = int(round(v["cost"] * rng.uniform(0.08, 0.16) + rev * 0.01))
    v["accrued"] = int(round(rev * rng.uniform(0.04, 0.08)))
    v["deferred_revenue"] = int(round(rev * rng.uniform(0.15, 0.3))) if p.deferred_revenue else 0
    v["lease_assets"] = int(round(rev * rng.uniform(0.02, 0.12)))
    v["lease_liabilities"] = int(round(v["lease_assets"] * rng.uniform(0.85, 1.0)))
    v["deferred_tax_liab"] = int(round(rev * rng.uniform(0.01, 0.05)))
    v["other_assets"] = int(round(rev * rng.uniform(0.01, 0.04)))
    v["aoci"] = -int(round(rev * rng.uniform(0.0, 0.03)))


def _general_balance(company: Company, y: Year, prev: Year | None) -> None:
    rng, v = company.rng, y.v
    _working_capital(company, y)
    if prev is not None:
        pv = prev.v
        v["wc_receivables"] = -(v["receivables"] - pv["receivables"])
        v["wc_inventories"] = -(v["inventories"] - pv["inventories"])
        v["wc_prepaid"] = -(v["prepaid"] - pv["prepaid"])
        v["wc_payables"] = v["payables"] - pv["payables"]
        v["wc_accrued"] = (
            v["accrued"] - pv["accrued"] + v["deferred_revenue"] - pv["deferred_revenue"]
        )
        v["other_operating"] = company.u(
            company.millions(v["revenue"]) * rng.uniform(-0.005, 0.005)
        )
        v["cfo"] = (
            v["net_income"]
            + v["da"]
            + v["sbc"]
            + v["deferred_tax"]
            + v["impairment_addback"]
            + v["wc_receivables"]
            + v["wc_inventories"]
            + v["wc_prepaid"]
            + v["wc_payables"]
            + v["wc_accrued"]
            + v["other_operating"]
        )
        v["cfi"] = v["capex"] + v["acquisitions"] + v["other_investing"]
        # Repurchases steer cash toward a target; when even none leaves cash short, the company
        # borrows.
        target = int(round(v["revenue"] * rng.uniform(0.06, 0.2)))
        known = (
            pv["cash"]
            + v["cfo"]
            + v["cfi"]
            + v["fx"]
            + v["dividends"]
            + v["repayment"]
            + v["issuance"]
            + v["other_financing"]
        )
        v["repurchases"] = min(0, target - known)
        if known < target:
            v["issuance"] += target - known
        v["cff"] = (
            v["dividends"]
            + v["repayment"]
            + v["issuance"]
            + v["repurchases"]
            + v["other_financing"]
        )
        v["net_change"] = v["cfo"] + v["cfi"] + v["cff"] + v["fx"]
        v["cash_begin"] = pv["cash"]
        v["cash"] = pv["cash"] + v["net_change"]
        v["debt"] = pv["debt"] + v["issuance"] + v["repayment"]
        depreciation = int(round(v["da"] * 0.8))
        amortization = min(
            v["da"] - depreciation, pv["intangibles"] + int(round(-v["acquisitions"] * 0.4))
        )
        depreciation = v["da"] - amortization
        v["ppe"] = pv["ppe"] - v["capex"] - depreciation - (v["impairment_addback"])
        v["goodwill"] = pv["goodwill"] + int(round(-v["acquisitions"] * 0.6))
        v["intangibles"] = (
            pv["intangibles"]
            + (-v["acquisitions"] - int(round(-v["acquisitions"] * 0.6)))
            - amortization
        )
        v["apic"] = pv["apic"] + v["sbc"]
        v["treasury"] = pv["treasury"] + v["repurchases"]
        v["retained"] = pv["retained"] + v["net_income"] + v["dividends"]
        price = max(
            5.0,
            company.millions(v["net_income"]) / max(prev.shares_basic, 1e-6) * rng.uniform(12, 25),
        )
        y.shares_basic = max(
            1.0,
            prev.shares_basic * rng.uniform(0.995, 1.01)
            + company.millions(v["repurchases"]) / price * 0.5,
        )
    v["current_debt"] = int(round(v["debt"] * rng.uniform(0.0, 0.12)))
    v["long_term_debt"] = v["debt"] - v["current_debt"]
    v["current_assets"] = v["cash"] + v["receivables"] + v["inventories"] + v["prepaid"]
    assets = (
        v["current_assets"]
        + v["ppe"]
        + v["lease_assets"]
        + v["goodwill"]
        + v["intangibles"]
        + v["other_assets"]
    )
    v["current_liabilities"] = (
        v["payables"] + v["accrued"] + v["deferred_revenue"] + v["current_debt"]
    )
    liab_known = (
        v["current_liabilities"]
        + v["long_term_debt"]
        + v["lease_liabilities"]
        + v["deferred_tax_liab"]
    )
    if prev is None:
        v["retained"] = (
            assets
            - liab_known
            - v["apic"]
            - v["treasury"]
            - v["aoci"]
            - int(round(v["revenue"] * 0.04))
        )
    equity = v["apic"] + v["retained"] + v["aoci"] + v["treasury"]
    plug = assets - liab_known - equity
    floor = int(round(v["revenue"] * 0.01))
    if plug < floor:  # keep "Other long-term liabilities" positive: the gap sits in other assets
        v["other_assets"] += floor - plug
        assets += floor - plug
        plug = floor
    v["other_liabilities"] = plug
    v["total_assets"] = assets
    v["equity"] = equity


def _model_bank(company: Company, last_fy: int, n_years: int) -> list[Year]:
    rng, u = company.rng, company.u
    assets_m = rng.uniform(300, 3000) * (1 if company.unit == "thousands" else rng.uniform(4, 40))
    years: list[Year] = []
    prev: Year | None = None
    loan_yield, sec_yield, dep_cost = (
        rng.uniform(0.045, 0.065),
        rng.uniform(0.02, 0.04),
        rng.uniform(0.008, 0.025),
    )
    payout, tax_rate = rng.uniform(0.25, 0.45), rng.uniform(0.18, 0.24)
    shares = rng.uniform(20, 300) if company.unit == "millions" else rng.uniform(5, 40)
    for k in range(n_years):
        fy = last_fy - n_years + 1 + k
        y = Year(fy)
        v = y.v
        if k:
            assets_m *= 1 + rng.uniform(company.profile.growth.low, company.profile.growth.high)
        v["cash_due"] = u(assets_m * rng.uniform(0.01, 0.02))
        v["ib_deposits"] = u(assets_m * rng.uniform(0.02, 0.08))
        v["afs"] = u(assets_m * rng.uniform(0.1, 0.18))
        v["htm"] = u(assets_m * rng.uniform(0.0, 0.08))
        v["loans"] = u(assets_m * rng.uniform(0.6, 0.68))
        v["premises"] = u(assets_m * rng.uniform(0.006, 0.012))
        v["goodwill"] = u(assets_m * rng.uniform(0.005, 0.03))
        v["other_assets"] = u(assets_m * rng.uniform(0.02, 0.04))
        v["cash"] = v["cash_due"] + v["ib_deposits"]
        v["stb"] = u(assets_m * rng.uniform(0.0, 0.04))
        v["debt"] = u(assets_m * rng.uniform(0.02, 0.06))
        v["other_liabilities"] = u(assets_m * rng.uniform(0.01, 0.02))
        v["aoci"] = -u(assets_m * rng.uniform(0.0, 0.012))
        v["preferred"] = (
            prev.v["preferred"] if prev else (u(assets_m * 0.01) if rng.random() < 0.4 else 0)
        )
        if prev is None:
            v["allowance"] = -int(round(v["loans"] * rng.uniform(0.009, 0.014)))
            v["apic"] = u(assets_m * rng.uniform(0.03, 0.05))
            v["treasury"] = -u(assets_m * rng.uniform(0.0, 0.01))
            v["retained"] = u(assets_m * rng.uniform(0.03, 0.05))
            y.shares_basic = shares
        else:
            pv = prev.v
            avg_loans = (v["loans"] + pv["loans"]) / 2
            avg_sec = (v["afs"] + v["htm"] + pv["afs"] + pv["htm"]) / 2
            v["ii_loans"] = int(round(avg_loans * loan_yield * rng.uniform(0.95, 1.05)))
            v["ii_securities"] = int(round(avg_sec * sec_yield))
            v["ii_other"] = int(
                round((v["ib_deposits"] + pv["ib_deposits"]) / 2 * rng.uniform(0.02, 0.045))
            )
            v["ie_deposits"] = int(round(pv["deposits_ib"] * dep_cost * rng.uniform(0.9, 1.4)))
            v["ie_borrowings"] = int(round((pv["stb"] + pv["debt"]) * rng.uniform(0.035, 0.055)))
            v["nii"] = (
                v["ii_loans"]
                + v["ii_securities"]
                + v["ii_other"]
                - v["ie_deposits"]
                - v["ie_borrowings"]
            )
            v["provision"] = int(round(avg_loans * rng.uniform(0.001, 0.006)))
            v["charge_offs"] = int(round(v["provision"] * rng.uniform(0.6, 1.0)))
            v["allowance"] = pv["allowance"] - v["provision"] + v["charge_offs"]
            fee_base = company.millions(v["nii"])
            y.rev_lines = [
                u(fee_base * r * rng.uniform(0.85, 1.15)) for r in (0.06, 0.05, 0.08, 0.03, 0.03)
            ]
            y.opex_lines = [
                u(fee_base * r * rng.uniform(0.9, 1.1)) for r in (0.32, 0.07, 0.08, 0.02, 0.1)
            ]
            v["nonint_income"], v["nonint_expense"] = sum(y.rev_lines), sum(y.opex_lines)
            v["pretax"] = v["nii"] - v["provision"] + v["nonint_income"] - v["nonint_expense"]
            v["tax"] = int(round(v["pretax"] * (tax_rate + rng.uniform(-0.015, 0.015))))
            v["net_income"] = v["pretax"] - v["tax"]
            v["pref_div"] = int(round(v["preferred"] * 0.055))
            v["dividends"] = -int(round(max(0, v["net_income"]) * payout))
            v["repurchases"] = -u(company.millions(v["net_income"]) * rng.uniform(0.0, 0.3))
            v["sbc"] = u(company.millions(v["nonint_expense"]) * rng.uniform(0.01, 0.03))
            v["apic"] = pv["apic"] + v["sbc"]
            v["treasury"] = pv["treasury"] + v["repurchases"]
            v["retained"] = pv["retained"] + v["net_income"] + v["dividends"] - v["pref_div"]
            v["revenue"] = v["nii"] + v["nonint_income"]
            y.shares_basic = max(1.0, prev.shares_basic * rng.uniform(0.985, 1.005))
        v["loans_net"] = v["loans"] + v["allowance"]
        v["total_assets"] = (
            v["cash_due"]
            + v["ib_deposits"]
            + v["afs"]
            + v["htm"]
            + v["loans_net"]
            + v["premises"]
            + v["goodwill"]
            + v["other_assets"]
        )
        v["equity"] = v["preferred"] + v["apic"] + v["retained"] + v["aoci"] + v["treasury"]
        deposits = v["total_assets"] - v["stb"] - v["debt"] - v["other_liabilities"] - v["equity"]
        v["deposits_nib"] = int(round(deposits * rng.uniform(0.2, 0.32)))
        v["deposits_ib"] = deposits - v["deposits_nib"]
        v["deposits"] = deposits
        v["liabilities"] = deposits + v["stb"] + v["debt"] + v["other_liabilities"]
        y.shares_diluted = y.shares_basic * rng.uniform(1.001, 1.01)
        if prev is not None:
            pv = prev.v
            v["da"] = int(round(v["premises"] * rng.uniform(0.08, 0.12)))
            v["cf_loans"] = -(v["loans"] - pv["loans"] + v["charge_offs"])
            v["cf_purchases"] = -int(round((v["afs"] + v["htm"]) * rng.uniform(0.15, 0.3)))
            v["cf_maturities"] = -(v["afs"] + v["htm"] - pv["afs"] - pv["htm"]) - v["cf_purchases"]
            v["capex"] = -(v["premises"] - pv["premises"] + v["da"])
            v["cfi"] = v["cf_loans"] + v["cf_purchases"] + v["cf_maturities"] + v["capex"]
            v["cf_deposits"] = v["deposits"] - pv["deposits"]
            v["cf_stb"] = v["stb"] - pv["stb"]
            v["issuance"] = int(round(v["debt"] * rng.uniform(0.1, 0.3)))
            v["repayment"] = v["debt"] - pv["debt"] - v["issuance"]
            v["cff"] = (
                v["cf_deposits"]
                + v["cf_stb"]
                + v["issuance"]
                + v["repayment"]
                + v["dividends"]
                - v["pref_div"]
                + v["repurchases"]
            )
            v["net_change"] = v["cash"] - pv["cash"]
            v["cash_begin"] = pv["cash"]
            v["other_operating"] = (
                v["net_change"]
                - v["cfi"]
                - v["cff"]
                - (v["net_income"] + v["provision"] + v["da"] + v["sbc"])
            )
            v["cfo"] = v["net_income"] + v["provision"] + v["da"] + v["sbc"] + v["other_operating"]
            y.segments = split_exact(rng, v["revenue"], [rng.uniform(0.2, 1.0) for _ in range(3)])
            _segment_income(company, y, v["pretax"])
        years.append(y)
        prev = y
    return years


def _model_insurer(company: Company, last_fy: int, n_years: int) -> list[Year]:
    rng, u = company.rng, company.u
    premiums_m = rng.uniform(200, 2500) * (1 if company.unit == "thousands" else rng.uniform(3, 15))
    loss_ratio, acq_ratio, exp_ratio = (
        rng.uniform(0.58, 0.72),
        rng.uniform(0.14, 0.2),
        rng.uniform(0.08, 0.13),
    )
    inv_yield, payout, tax_rate = (
        rng.uniform(0.03, 0.045),
        rng.uniform(0.1, 0.35),
        rng.uniform(0.17, 0.22),
    )
    shares = rng.uniform(20, 200) if company.unit == "millions" else rng.uniform(5, 40)
    years: list[Year] = []
    prev: Year | None = None
    for k in range(n_years):
        fy = last_fy - n_years + 1 + k
        y = Year(fy)
        v = y.v
        if k:
            premiums_m *= 1 + rng.uniform(company.profile.growth.low, company.profile.growth.high)
        v["premiums"] = u(premiums_m)
        v["fixed_maturities"] = u(premiums_m * rng.uniform(1.6, 2.2))
        v["equity_securities"] = u(premiums_m * rng.uniform(0.05, 0.2))
        v["short_term"] = u(premiums_m * rng.uniform(0.03, 0.1))
        v["investments"] = v["fixed_maturities"] + v["equity_securities"] + v["short_term"]
        v["cash"] = u(premiums_m * rng.uniform(0.02, 0.06))
        v["premiums_receivable"] = u(premiums_m * rng.uniform(0.18, 0.26))
        v["reinsurance_recoverables"] = u(premiums_m * rng.uniform(0.1, 0.3))
        v["dac"] = u(premiums_m * rng.uniform(0.07, 0.1))
        v["goodwill"] = u(premiums_m * rng.uniform(0.0, 0.08))
        v["other_assets"] = u(premiums_m * rng.uniform(0.04, 0.08))
        v["total_assets"] = (
            v["investments"]
            + v["cash"]
            + v["premiums_receivable"]
            + v["reinsurance_recoverables"]
            + v["dac"]
            + v["goodwill"]
            + v["other_assets"]
        )
        v["reserves"] = u(premiums_m * rng.uniform(1.1, 1.5))
        v["unearned"] = u(premiums_m * rng.uniform(0.4, 0.5))
        v["debt"] = prev.v["debt"] if prev else u(premiums_m * rng.uniform(0.05, 0.15))
        v["aoci"] = -u(premiums_m * rng.uniform(0.0, 0.06))
        if prev is None:
            v["apic"] = u(premiums_m * rng.uniform(0.1, 0.2))
            v["treasury"] = -u(premiums_m * rng.uniform(0.0, 0.05))
            v["retained"] = u(premiums_m * rng.uniform(0.25, 0.4))
            y.shares_basic = shares
        else:
            pv = prev.v
            v["nii"] = int(round((v["investments"] + pv["investments"]) / 2 * inv_yield))
            v["gains"] = u(premiums_m * rng.uniform(-0.02, 0.02)) if rng.random() < 0.8 else 0
            v["fees"] = u(premiums_m * rng.uniform(0.005, 0.02))
            v["revenue"] = v["premiums"] + v["nii"] + v["gains"] + v["fees"]
            v["losses"] = int(round(v["premiums"] * (loss_ratio + rng.uniform(-0.05, 0.06))))
            v["acq"] = int(round(v["premiums"] * acq_ratio))
            v["other_opex"] = int(round(v["premiums"] * exp_ratio))
            v["interest_expense"] = int(round(pv["debt"] * rng.uniform(0.04, 0.06)))
            v["expenses"] = v["losses"] + v["acq"] + v["other_opex"] + v["interest_expense"]
            v["pretax"] = v["revenue"] - v["expenses"]
            v["tax"] = (
                int(round(v["pretax"] * tax_rate))
                if v["pretax"] > 0
                else int(round(v["pretax"] * 0.2))
            )
            v["net_income"] = v["pretax"] - v["tax"]
            v["dividends"] = -int(round(max(0, v["net_income"]) * payout))
            v["repurchases"] = -u(
                max(0.0, company.millions(v["net_income"])) * rng.uniform(0.0, 0.4)
            )
            v["sbc"] = u(premiums_m * rng.uniform(0.002, 0.006))
            v["apic"] = pv["apic"] + v["sbc"]
            v["treasury"] = pv["treasury"] + v["repurchases"]
            v["retained"] = pv["retained"] + v["net_income"] + v["dividends"]
            y.shares_basic = max(1.0, prev.shares_basic * rng.uniform(0.98, 1.003))
        v["equity"] = v["apic"] + v["retained"] + v["aoci"] + v["treasury"]
        v["other_liabilities"] = (
            v["total_assets"] - v["reserves"] - v["unearned"] - v["debt"] - v["equity"]
        )
        floor = u(premiums_m * 0.03)
        if v["other_liabilities"] < floor:
            v["reserves"] -= floor - v["other_liabilities"]
            v["other_liabilities"] = floor
        v["liabilities"] = v["reserves"] + v["unearned"] + v["debt"] + v["other_liabilities"]
        y.shares_diluted = y.shares_basic * rng.uniform(1.001, 1.01)
        if prev is not None:
            pv = prev.v
            v["cf_reserves"] = v["reserves"] - pv["reserves"]
            v["cf_unearned"] = v["unearned"] - pv["unearned"]
            v["cf_receivable"] = -(v["premiums_receivable"] - pv["premiums_receivable"])
            v["cf_dac"] = -(v["dac"] - pv["dac"])
            v["cf_gains"] = -v["gains"]
            v["cf_purchases"] = -int(round(v["fixed_maturities"] * rng.uniform(0.2, 0.35)))
            v["cf_sales"] = -(v["investments"] - pv["investments"]) - v["cf_purchases"]
            v["capex"] = -u(premiums_m * rng.uniform(0.003, 0.01))
            v["cfi"] = v["cf_purchases"] + v["cf_sales"] + v["capex"]
            v["cff"] = v["dividends"] + v["repurchases"]
            v["net_change"] = v["cash"] - pv["cash"]
            v["cash_begin"] = pv["cash"]
            known = (
                v["net_income"]
                + v["cf_gains"]
                + v["sbc"]
                + v["cf_reserves"]
                + v["cf_unearned"]
                + v["cf_receivable"]
                + v["cf_dac"]
            )
            v["other_operating"] = v["net_change"] - v["cfi"] - v["cff"] - known
            v["cfo"] = known + v["other_operating"]
            v["combined_ratio"] = round(
                100 * (v["losses"] + v["acq"] + v["other_opex"]) / v["premiums"], 1
            )
            y.segments = split_exact(rng, v["premiums"], [rng.uniform(0.2, 1.0) for _ in range(3)])
            uw = v["premiums"] - v["losses"] - v["acq"] - v["other_opex"]
            y.segment_income = split_exact(rng, uw, [s * rng.uniform(0.6, 1.4) for s in y.segments])
        years.append(y)
        prev = y
    return years


def scaled_year(company: Company, y: Year, f: float) -> Year:
    """A part of fiscal year ``y`` (a quarter or year to date): flows times ``f``, totals recomputed
    from the scaled lines so that every statement built from it still adds up."""
    q = Year(y.fy, {k: (int(round(x * f)) if isinstance(x, int) else x) for k, x in y.v.items()})
    q.rev_lines = [int(round(x * f)) for x in y.rev_lines]
    q.cost_lines = [int(round(x * f)) for x in y.cost_lines]
    q.opex_lines = [int(round(x * f)) for x in y.opex_lines]
    q.shares_basic, q.shares_diluted = y.shares_basic, y.shares_diluted
    v, a = q.v, company.profile.archetype
    if a == "general":
        v["revenue"] = sum(q.rev_lines)
        v["operating"] = v["revenue"] - sum(q.cost_lines) - sum(q.opex_lines)
        v["pretax"] = (
            v["operating"] - v["interest_expense"] + v["interest_income"] + v["other_income"]
        )
        base = v["revenue"]
    elif a == "bank":
        q.rev_lines = q.rev_lines or [0] * 5
        v["nii"] = (
            v["ii_loans"]
            + v["ii_securities"]
            + v["ii_other"]
            - v["ie_deposits"]
            - v["ie_borrowings"]
        )
        v["nonint_income"], v["nonint_expense"] = sum(q.rev_lines), sum(q.opex_lines)
        v["pretax"] = v["nii"] - v["provision"] + v["nonint_income"] - v["nonint_expense"]
        v["revenue"] = base = v["nii"] + v["nonint_income"]
    else:
        v["revenue"] = v["premiums"] + v["nii"] + v["gains"] + v["fees"]
        v["pretax"] = v["revenue"] - (
            v["losses"] + v["acq"] + v["other_opex"] + v["interest_expense"]
        )
        base = v["premiums"]
    v["net_income"] = v["pretax"] - v["tax"]
    q.segments = split_exact(company.rng, base, [max(1, s) for s in y.segments])
    if a == "insurer":
        underwriting = v["premiums"] - v["losses"] - v["acq"] - v["other_opex"]
        q.segment_income = split_exact(company.rng, underwriting, [max(1, s) for s in y.segments])
    else:
        _segment_income(company, q, v["operating"] if a == "general" else v["pretax"])
    return q
