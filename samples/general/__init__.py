"""A corpus of generated, fictional 10-K and 10-Q filings: stage-1 ("general financial") data.

Contract: :func:`write_general_corpus` writes ``companies`` fictional companies' filings as PDFs
into a folder and returns their paths; the same ``(companies, seed)`` gives the same bytes.
:func:`build_filings` returns the same filings before layout (HTML plus every statement as
numbers), which is what tests and debugging look at.

Why generated: stage 1 of reranker fine-tuning needs many filings to mine queries from
(:mod:`finetune.synthetic`), no external data set can be downloaded, and the real
FinanceBench filings are kept for evaluation and stage 2. So each company here is drawn from an
industry profile (retail, software, industrials, banks, utilities, pharma, energy, consumer goods,
semiconductors, insurance, transport, medical devices) that fixes its line items, segments,
risk factors and MD&A drivers, and a seeded random model of its years that keeps the numbers
internally consistent:

* every total is the sum of the lines it names (:meth:`Statement.check` verifies it);
* net income flows from the income statement to the cash flow statement, the EPS note and
  retained earnings; the cash flow statement ends at the balance sheet's cash; the balance sheet
  balances; the debt note ends at the balance sheet's long-term debt; segment revenue adds up to
  total revenue; MD&A sentences quote the statements' own figures;
* a 10-Q's prior fiscal year end balance sheet column equals the 10-K's.

Layout varies per company (column order, "Fiscal 2023" / "2023" / "Year ended June 30, 2023"
headers, units in millions with or without a decimal or in thousands, where the unit is stated,
"$" placement, "—" or "-" for zero, statement titles and capitalisation, fiscal years ending in
December, March, June, September or on the last Saturday of January), so that a reranker trained
on queries mined from it does not learn one template.

Names are invented ("Quorvane Semiconductor, Inc."), tickers all start with ``ZQ`` (no US listing
uses that prefix), and every figure is random: nothing is taken from a real filing.

Example:
    >>> paths = write_general_corpus(Path("/tmp/general"), companies=24, seed=7)  # doctest: +SKIP
    >>> len(paths)  # 24 10-Ks and the 10-Qs of every third company  # doctest: +SKIP
    32
"""

from __future__ import annotations

import calendar
import logging
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

# PAGE_BREAK and write_pdf_from_html are public in samples.filings; _paragraphs is private there
# and reused as is (a one-line helper, so that both generators emit the same paragraph markup).
from samples.filings import PAGE_BREAK, _paragraphs, write_pdf_from_html
from samples.general.profiles import PROFILES, VOCABULARY, Profile

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Statements as numbers


@dataclass
class Line:
    """One printed row. ``values`` are integers in the statement's minor display unit (tenths of
    a million when the table prints one decimal), newest period first; ``parts`` are (row index,
    sign) pairs whose signed sum this row must equal."""

    label: str
    values: list[int] | None = None  # None: a caption row ("Current assets:")
    parts: list[tuple[int, int]] = field(default_factory=list)
    dollar: bool = False
    kind: str = "amount"  # amount | eps | shares | ratio


@dataclass
class Statement:
    """A table of the filing: title, period headers and rows (values newest first)."""

    kind: str  # income | balance | cash-flow | segments | geography | debt | eps | ...
    title: str
    periods: list[str]
    lines: list[Line] = field(default_factory=list)

    def add(
        self, label: str, values: list[int] | None, *, dollar: bool = False, kind: str = "amount"
    ) -> int:
        self.lines.append(
            Line(label, None if values is None else list(values), dollar=dollar, kind=kind)
        )
        return len(self.lines) - 1

    def total(self, label: str, parts: list[int | tuple[int, int]], *, dollar: bool = False) -> int:
        """Add a row equal to the signed sum of ``parts`` (row indexes, or (index, sign))."""
        signed = [(p, 1) if isinstance(p, int) else p for p in parts]
        n = len(self.lines[signed[0][0]].values or [])
        values = [
            sum(s * (self.lines[i].values or [0] * n)[k] for i, s in signed) for k in range(n)
        ]
        self.lines.append(Line(label, values, signed, dollar=dollar))
        return len(self.lines) - 1

    def value(self, label: str, period: int = 0) -> int:
        for line in self.lines:
            if line.label == label and line.values is not None:
                return line.values[period]
        raise KeyError(label)

    def check(self) -> list[str]:
        """Rows whose value differs from the signed sum of their parts (empty when consistent)."""
        problems = []
        for line in self.lines:
            for k, v in enumerate(line.values or []):
                if line.parts and v != sum(
                    s * (self.lines[i].values or [])[k] for i, s in line.parts
                ):
                    problems.append(f"{self.title}: {line.label!r} column {k}")
        return problems


@dataclass
class GeneratedFiling:
    """One filing before layout: what :func:`write_general_corpus` turns into a PDF."""

    file_name: str
    company: str
    ticker: str
    industry: str
    form: str  # 10-K | 10-Q
    fiscal_year: int
    fiscal_period: str  # FY | Q1..Q3
    period_end: date
    running_header: str
    html: str
    statements: list[Statement]
    ties: list[tuple[str, int, int]] = field(default_factory=list)  # (what, a, b): must be equal

    def check(self) -> list[str]:
        """Every inconsistency: a total that is not its sum, or a cross-statement tie broken."""
        problems = [p for s in self.statements for p in s.check()]
        problems += [f"{self.file_name}: {what} {a} != {b}" for what, a, b in self.ties if a != b]
        return problems


# ---------------------------------------------------------------------------------------------
# Company, calendar and display style


@dataclass
class Style:
    newest_first: bool
    header: str  # years-label | fiscal | per-column | unit-label
    unit_where: str  # caption | line | header
    dollar: str  # "$ " | "$" | ""
    zero: str  # "—" | "-"
    upper_titles: bool
    years_shown: int  # 3 or 2
    income_title: str
    balance_title: str
    plain_header: bool = True  # set per company after the rest, so earlier draws keep their values


@dataclass
class Company:
    name: str
    ticker: str
    profile: Profile
    state: str
    city: str
    exchange: str
    cik: str
    fy_month: int
    weeks52: bool  # fiscal year ends on the last Saturday of fy_month
    unit: str  # millions | thousands
    decimals: int
    style: Style
    rng: random.Random
    revenue_labels: tuple[str, ...] = ()  # the profile's revenue line set this company reports

    @property
    def scale(self) -> int:
        """Minor display units per million dollars."""
        return 1000 if self.unit == "thousands" else 10**self.decimals

    def u(self, millions: float) -> int:
        return int(round(millions * self.scale))

    def millions(self, units: int) -> float:
        return units / self.scale


def _fiscal_end(company: Company, year: int) -> date:
    if company.weeks52:
        last = date(year, company.fy_month, calendar.monthrange(year, company.fy_month)[1])
        return last - timedelta(days=(last.weekday() - 5) % 7)
    return date(year, company.fy_month, calendar.monthrange(year, company.fy_month)[1])


def _quarter_end(company: Company, fiscal_year: int, quarter: int) -> date:
    prior = _fiscal_end(company, fiscal_year - 1)
    if company.weeks52:
        return prior + timedelta(weeks=13 * quarter)
    month = (company.fy_month + 3 * quarter - 1) % 12 + 1
    year = prior.year + (company.fy_month + 3 * quarter - 1) // 12
    return date(year, month, calendar.monthrange(year, month)[1])


def _long_date(d: date) -> str:
    return f"{calendar.month_name[d.month]} {d.day}, {d.year}"


def _make_company(index: int, seed: int, used_names: set[str], used_tickers: set[str]) -> Company:
    rng = random.Random(f"general-corpus:{seed}:{index}")
    offset = random.Random(f"general-corpus:{seed}").randrange(len(PROFILES))
    profile = PROFILES[(index + offset) % len(PROFILES)]
    while True:
        root = rng.choice(VOCABULARY.name_prefixes) + rng.choice(VOCABULARY.name_endings)
        if root not in used_names:
            used_names.add(root)
            break
    suffix = rng.choice(profile.name_suffixes)
    name = f"{root} {suffix}"
    letters = [c for c in (root[1:] + suffix).upper() if c.isalpha()]
    ticker = ""
    for _ in range(200):
        ticker = "ZQ" + root[0] + rng.choice(letters)
        if ticker not in used_tickers:
            break
    used_tickers.add(ticker)
    archetype = profile.archetype
    if profile.key == "retail":
        fy_month, weeks52 = rng.choice([(1, True), (1, True), (2, True), (12, False)])
    elif archetype in ("bank", "insurer") or profile.key == "utility":
        fy_month, weeks52 = 12, False
    else:
        fy_month, weeks52 = rng.choice(
            [(12, False)] * 4 + [(6, False), (9, False), (3, False), (10, True)]
        )
    unit = "thousands" if rng.random() < 0.25 else "millions"
    decimals = 0 if unit == "thousands" else rng.choice([0, 0, 1])
    titles = {
        "general": [
            "Consolidated Statements of Operations",
            "Consolidated Statements of Income",
            "Consolidated Statements of Earnings",
            "Consolidated Income Statements",
        ],
        "bank": ["Consolidated Statements of Income", "Consolidated Income Statements"],
        "insurer": ["Consolidated Statements of Income", "Consolidated Statements of Operations"],
    }[archetype]
    balance = [
        "Consolidated Balance Sheets",
        "Consolidated Balance Sheets",
        "Consolidated Statements of Financial Position",
    ]
    if archetype == "bank":
        balance.append("Consolidated Statements of Financial Condition")
    style = Style(
        newest_first=rng.random() < 0.85,
        header=rng.choice(["years-label", "fiscal", "per-column", "unit-label"]),
        unit_where=rng.choice(["caption", "line", "header"]),
        dollar=rng.choice(["$ ", "$", ""]),
        zero=rng.choice(["—", "-"]),
        upper_titles=rng.random() < 0.3,
        years_shown=3 if rng.random() < 0.75 else 2,
        income_title=rng.choice(titles),
        balance_title=rng.choice(balance),
    )
    style.plain_header = rng.random() < 0.6
    return Company(
        name=name,
        ticker=ticker,
        profile=profile,
        state=rng.choice(VOCABULARY.states),
        city=rng.choice(VOCABULARY.cities),
        exchange=rng.choice(VOCABULARY.exchanges),
        cik=f"001-{rng.randrange(10000, 99999)}",
        fy_month=fy_month,
        weeks52=weeks52,
        unit=unit,
        decimals=decimals,
        style=style,
        rng=rng,
    )


# ---------------------------------------------------------------------------------------------
# The financial model: per fiscal year, integer display units


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


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """``total`` split by ``weights`` into integers that add up to it exactly."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(round(x)) for x in raw[:-1]]
    return parts + [total - sum(parts)]


def _model(company: Company, last_fy: int, n_years: int = 4) -> list[Year]:
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
    y.segments = _split(
        rng, y.v["revenue"], [w * rng.uniform(0.95, 1.05) for w in seg_w[:n_segments]]
    )
    y.regions = _split(rng, y.v["revenue"], [w * rng.uniform(0.95, 1.05) for w in reg_w])


def _segment_income(company: Company, y: Year, operating_income: int) -> None:
    rng = company.rng
    corporate = -abs(int(round(operating_income * rng.uniform(0.05, 0.15)))) - company.u(
        rng.uniform(5, 40)
    )
    margins = [max(0.01, rng.uniform(0.6, 1.4)) for _ in y.segments]
    y.segment_income = _split(
        rng, operating_income - corporate, [s * m for s, m in zip(y.segments, margins)]
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
        y.rev_lines = _split(rng, u(revenue_m), [w * rng.uniform(0.9, 1.1) for w in rev_w])
        y.v["revenue"] = sum(y.rev_lines)
        _split_revenue(company, y, n_segments, seg_w, reg_w)
        gm_t = gm + rng.uniform(-0.02, 0.02)
        cost = int(round(y.v["revenue"] * (1 - gm_t)))
        n_cost = min(len(p.cost_lines), max(1, n_rev if len(p.cost_lines) > 1 else 1))
        y.cost_lines = _split(rng, cost, [rng.uniform(0.5, 1.0) for _ in range(n_cost)])
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
        # Repurchases steer cash toward a target; when even none leaves cash short, the company borrows.
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
            y.segments = _split(rng, v["revenue"], [rng.uniform(0.2, 1.0) for _ in range(3)])
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
            y.segments = _split(rng, v["premiums"], [rng.uniform(0.2, 1.0) for _ in range(3)])
            uw = v["premiums"] - v["losses"] - v["acq"] - v["other_opex"]
            y.segment_income = _split(rng, uw, [s * rng.uniform(0.6, 1.4) for s in y.segments])
        years.append(y)
        prev = y
    return years


# ---------------------------------------------------------------------------------------------
# Formatting


def _fmt(company: Company, value: int, dollar: bool = False, kind: str = "amount") -> str:
    s = company.style
    if kind == "eps":
        text = f"{abs(value) / 100:,.2f}"
    elif kind == "shares":  # tenths of a million shares, or whole thousands (stored times ten)
        text = f"{abs(value) // 10:,}" if company.unit == "thousands" else f"{abs(value) / 10:,.1f}"
    elif kind == "ratio":
        text = f"{abs(value) / 10:,.1f}%"
    else:
        if value == 0:
            return s.zero
        text = (
            f"{abs(value) / 10**company.decimals:,.{company.decimals}f}"
            if company.unit == "millions"
            else f"{abs(value):,}"
        )
    if value < 0:
        text = f"({text})"
    return f"{s.dollar}{text}" if dollar and s.dollar else text


def _money(company: Company, units: int) -> str:
    """An amount as MD&A prose writes it: "$4,512 million", "$4.5 billion", "$812.3 million"."""
    m = company.millions(abs(units))
    if m >= 10000 and company.rng.random() < 0.5:
        return f"${m / 1000:,.1f} billion"
    if company.unit == "thousands" or company.decimals:
        return f"${m:,.1f} million"
    return f"${m:,.0f} million"


def _pct(new: int, old: int) -> float:
    return 100.0 * (new - old) / abs(old) if old else 0.0


def _unit_text(company: Company, per_share: bool = True) -> str:
    base = {
        "millions": ["in millions", "In millions", "$ in millions", "Dollars in millions"],
        "thousands": ["in thousands", "In thousands", "$ in thousands", "Dollars in thousands"],
    }[company.unit]
    text = base[company.rng.randrange(len(base))]
    if per_share:
        text += company.rng.choice(
            [", except per share data", ", except per share amounts", ", except per share"]
        )
    return f"({text})"


def _year_word(company: Company, fy: int) -> str:
    """How the text names a fiscal year: "fiscal 2023" for non-calendar years, else "2023"."""
    return f"fiscal {fy}" if company.fy_month != 12 or company.weeks52 else str(fy)


def _period_headers(company: Company, fys: list[int], kind: str) -> tuple[str, list[str]]:
    """(label-column header, one header per period column) for annual statements."""
    s = company.style
    if kind == "balance":
        dates = [_long_date(_fiscal_end(company, fy)) for fy in fys]
        if s.header in ("years-label", "unit-label") and not company.weeks52:
            month = calendar.month_name[company.fy_month]
            day = calendar.monthrange(2001, company.fy_month)[1]
            return (f"As of {month} {day}," if s.header == "years-label" else ""), [
                str(fy) for fy in fys
            ]
        return "", dates
    if s.header == "fiscal" or company.weeks52:
        return "", [f"Fiscal {fy}" for fy in fys]
    if s.header == "per-column":
        return "", [f"Year ended {_long_date(_fiscal_end(company, fy))}" for fy in fys]
    if s.header == "years-label":
        month = calendar.month_name[company.fy_month]
        day = calendar.monthrange(2001, company.fy_month)[1]
        return f"Years ended {month} {day},", [str(fy) for fy in fys]
    return "", [str(fy) for fy in fys]


def _render_table(
    company: Company, st: Statement, label_header: str, unit: str | None, heading: bool = True
) -> str:
    """HTML for one statement; ``unit`` is placed per the company's style."""
    s = company.style
    title = st.title.upper() if s.upper_titles and heading else st.title
    where = s.unit_where if unit else "none"
    out = []
    if heading:
        caption = f"{title} {unit}" if where == "caption" else title
        out.append(f"<h3>{caption}</h3>")
    else:
        caption = f"{title} {unit}" if where == "caption" else title
        out.append(f"<p><b>{caption}</b></p>")
    if where == "line":
        out.append(f"<p>{company.name}<br/>{unit}</p>" if heading else f"<p>{unit}</p>")
    first = unit if where == "header" and not label_header else label_header
    lines = st.lines
    if lines and lines[0].values is None:
        # A caption row right under the period row makes the table reader lose the period row
        # (it takes the caption for the table's title): fold it into the header's label cell.
        first, lines = (first or lines[0].label), lines[1:]
    order = list(range(len(st.periods)))
    if not s.newest_first:
        order.reverse()
    # Plain (not bold) header cells: PyMuPDF's reader takes a short bold line for a heading, and
    # EDGAR statements mostly print their period row in the body font anyway.
    cell = "td" if s.plain_header else "th"
    head = f"<{cell}>{first}</{cell}>" + "".join(
        f'<{cell} class="n">{st.periods[i]}</{cell}>' for i in order
    )
    rows = []
    for line in lines:
        if line.values is None:
            rows.append(f"<tr><td>{line.label}</td>" + "<td></td>" * len(order) + "</tr>")
            continue
        cells = "".join(
            f'<td class="n">{_fmt(company, line.values[i], line.dollar, line.kind)}</td>'
            for i in order
        )
        label = f"<b>{line.label}</b>" if line.parts and not s.upper_titles else line.label
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    out.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Statements


def _cols(years: list[Year], n: int) -> list[Year]:
    """The ``n`` newest years, newest first."""
    return list(reversed(years[-n:]))


def _income_general(company: Company, years: list[Year], n: int, title: str) -> Statement:
    p, ys = company.profile, _cols(years, n)
    st = Statement("income", title, [])
    rev_labels = list(company.revenue_labels)
    revs = [
        st.add(label, [y.rev_lines[i] for y in ys], dollar=i == 0)
        for i, label in enumerate(rev_labels)
    ]
    total_rev = st.total(_total_revenue_label(company), revs) if len(revs) > 1 else revs[0]
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
            _choose(
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
            _choose(company, ["Total costs and expenses", "Total operating expenses"]), costs + opex
        )
        operating = st.total(
            _choose(company, ["Operating income", "Income from operations"]),
            [total_rev, (total, -1)],
        )
    interest = st.add("Interest expense", [-y.v["interest_expense"] for y in ys])
    income = st.add(
        _choose(company, ["Interest income", "Interest and investment income"]),
        [y.v["interest_income"] for y in ys],
    )
    other = st.add("Other income (expense), net", [y.v["other_income"] for y in ys])
    pretax = st.total("Income before income taxes", [operating, interest, income, other])
    tax = st.add(
        _choose(
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


def _choose(company: Company, options: list[str]) -> str:
    return options[company.rng.randrange(len(options))]


def _total_revenue_label(company: Company) -> str:
    return {
        "retail": "Total revenue",
        "utility": "Total operating revenues",
        "energy": "Total revenues",
        "transport": "Total operating revenues",
    }.get(company.profile.key, "Total revenue")


def _eps(company: Company, net_income: int, shares: float) -> int:
    return int(round(100 * company.millions(net_income) / shares))


def _eps_rows(company: Company, st: Statement, ys: list[Year], ni: int) -> None:
    """Per-share rows computed from the statement's own net income row ``ni``."""
    word = _choose(
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
    ys = _cols(years, n)
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
    ys = _cols(years, n)
    st = Statement("income", title, [])
    st.add("Revenues:", None)
    a = st.add("Net premiums earned", [y.v["premiums"] for y in ys], dollar=True)
    b = st.add("Net investment income", [y.v["nii"] for y in ys])
    c = st.add("Net realized and unrealized investment gains (losses)", [y.v["gains"] for y in ys])
    d = st.add("Fee and other income", [y.v["fees"] for y in ys])
    rev = st.total("Total revenues", [a, b, c, d])
    st.add(_choose(company, ["Losses and expenses:", "Benefits, losses and expenses:"]), None)
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
    p, ys = company.profile, _cols(years, 2)
    st = Statement("balance", title, [])
    col = lambda key: [y.v[key] for y in ys]  # noqa: E731
    st.add("ASSETS" if company.style.upper_titles else "Assets", None)
    st.add("Current assets:", None)
    ca = [
        st.add("Cash and cash equivalents", col("cash"), dollar=True),
        st.add(
            _choose(
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
            _choose(company, ["Prepaid expenses and other current assets", "Other current assets"]),
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
            _choose(
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
            _choose(
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
                _choose(company, ["Deferred revenue", "Unearned revenue"]), col("deferred_revenue")
            )
        )
    cl.append(
        st.add(
            _choose(
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
            _choose(
                company, ["Operating lease liabilities", "Long-term operating lease liabilities"]
            ),
            col("lease_liabilities"),
        ),
        st.add("Deferred income taxes", col("deferred_tax_liab")),
        st.add(
            _choose(company, ["Other long-term liabilities", "Other noncurrent liabilities"]),
            col("other_liabilities"),
        ),
    ]
    tl = st.total("Total liabilities", [tcl] + ncl)
    st.add(_choose(company, ["Stockholders' equity:", "Shareholders' equity:"]), None)
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
    te = st.total(
        _choose(company, ["Total stockholders' equity", "Total shareholders' equity"]), eq
    )
    st.total(
        _choose(
            company, ["Total liabilities and stockholders' equity", "Total liabilities and equity"]
        ),
        [tl, te],
        dollar=True,
    )
    return st


def _balance_bank(company: Company, years: list[Year], title: str) -> Statement:
    ys = _cols(years, 2)
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
    ys = _cols(years, 2)
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
    p, ys = company.profile, _cols(years, n)
    st = Statement("cash-flow", title, [])
    col = lambda key: [y.v.get(key, 0) for y in ys]  # noqa: E731
    st.add(
        _choose(
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
            _choose(company, ["Stock-based compensation", "Share-based compensation expense"]),
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
    st.add(
        _choose(company, ["Investing activities", "Cash flows from investing activities:"]), None
    )
    capex_label = {
        "retail": "Capital expenditures",
        "utility": "Utility construction expenditures",
        "energy": "Additions to oil and gas properties",
    }.get(
        p.key,
        _choose(company, ["Capital expenditures", "Purchases of property, plant and equipment"]),
    )
    inv = [
        st.add(capex_label, col("capex")),
        st.add("Acquisitions, net of cash acquired", col("acquisitions")),
        st.add("Other investing activities, net", col("other_investing")),
    ]
    cfi = st.total(_flow_label(ys, "cfi", "investing"), inv)
    st.add(
        _choose(company, ["Financing activities", "Cash flows from financing activities:"]), None
    )
    fin = [
        st.add("Proceeds from issuance of long-term debt", col("issuance")),
        st.add("Repayments of long-term debt", col("repayment")),
        st.add(
            _choose(company, ["Repurchases of common stock", "Purchases of treasury stock"]),
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
    ys = _cols(years, n)
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


# ---------------------------------------------------------------------------------------------
# Notes


def _segment_note(company: Company, years: list[Year], n: int, label: str) -> Statement:
    """Revenue by segment (adds up to total revenue) and segment profit named ``label`` (adds up,
    with corporate, to operating income; for banks to pretax income, for insurers to underwriting
    income)."""
    ys, p = _cols(years, n), company.profile
    names = list(p.segments[: len(ys[0].segments)])
    st = Statement(
        "segments",
        _choose(
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
    }.get(p.archetype, _total_revenue_label(company))
    st.add(
        _choose(company, ["Revenue:", "Net sales:"])
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
                _choose(
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


def _geography_note(company: Company, years: list[Year], n: int) -> Statement:
    ys = _cols(years, n)
    st = Statement(
        "geography",
        _choose(
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
    st.total(_total_revenue_label(company), rows, dollar=True)
    return st


def _debt_note(company: Company, years: list[Year]) -> tuple[Statement, list[str]]:
    """Debt instruments for the two balance sheet dates; ends at the balance sheet's long-term debt."""
    rng, ys = company.rng, _cols(years, 2)
    fy = ys[0].fy
    kinds = [
        f"{rng.choice([2.5, 3.25, 3.875, 4.25, 4.75, 5.1, 5.625, 6.0]):.3f}% Senior Notes due {fy + rng.randint(2, 9)}",
        f"{rng.choice([1.95, 2.8, 4.1, 5.35]):.3f}% Senior Notes due {fy + rng.randint(8, 28)}",
        f"Term loan due {fy + rng.randint(1, 5)}",
        "Revolving credit facility",
        f"{rng.choice([0.5, 1.25, 2.0]):.2f}% Convertible Senior Notes due {fy + rng.randint(2, 6)}",
        "Finance lease obligations and other",
    ]
    chosen = rng.sample(kinds, rng.randint(2, 4))
    weights = [rng.uniform(0.2, 1.0) for _ in chosen]
    st = Statement("debt", _choose(company, ["Long-term debt", "Debt", "Components of debt"]), [])
    key = "debt"
    splits = [_split(rng, y.v[key], weights) for y in ys]
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
        f"As of {_long_date(_fiscal_end(company, fy))}, total debt was {_money(company, ys[0].v[key])}, compared with "
        f"{_money(company, ys[1].v[key])} a year earlier. The weighted-average interest rate on our borrowings was {rate:.2f}%.",
        f"We have a {_money(company, facility)} unsecured revolving credit facility that matures in {fy + rng.randint(2, 5)}. "
        f"Borrowings bear interest at SOFR plus a margin of {rng.choice([1.0, 1.125, 1.25, 1.5]):.3f}% based on our credit ratings.",
        rng.choice(
            [
                "We were in compliance with all debt covenants as of the end of the year.",
                "The credit agreement requires us to maintain a consolidated leverage ratio of not more than 3.5 to 1.0; we were in compliance.",
                "The senior notes are unsecured and rank equally with our other unsecured indebtedness.",
            ]
        ),
    ]
    return st, text


def _eps_note(company: Company, income: Statement) -> Statement:
    """Basic and diluted EPS from the income statement's own rows (the note repeats them exactly)."""
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
        _choose(
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
        [x - y for x, y in zip(diluted or [], basic or [])],
        kind="shares",
    )
    st.total("Weighted-average common shares outstanding - diluted", [b, d])
    st.lines[-1].kind = "shares"
    st.add("Basic earnings per share", list(eps_b or []), dollar=True, kind="eps")
    st.add("Diluted earnings per share", list(eps_d or []), dollar=True, kind="eps")
    return st


def _tax_note(company: Company, years: list[Year], n: int) -> Statement:
    rng, ys = company.rng, _cols(years, n)
    st = Statement(
        "taxes",
        _choose(company, ["Components of the provision for income taxes", "Income tax expense"]),
        [],
    )
    weights = [rng.uniform(0.5, 1.0), rng.uniform(0.1, 0.25), rng.uniform(0.05, 0.4)]
    current = [_split(rng, int(round(y.v["tax"] * rng.uniform(0.8, 1.2))), weights) for y in ys]
    st.add("Current:", None)
    rows = [
        st.add(label, [c[i] for c in current], dollar=i == 0)
        for i, label in enumerate(["Federal", "State and local", "Foreign"])
    ]
    tc = st.total("Total current", rows)
    deferred = st.add("Deferred", [y.v["tax"] - sum(c) for y, c in zip(ys, current)])
    st.total(
        _choose(company, ["Provision for income taxes", "Total income tax expense"]),
        [tc, deferred],
        dollar=True,
    )
    return st


# ---------------------------------------------------------------------------------------------
# Text


def _cover(company: Company, form: str, period_line: str, prior_fy_end: date | None) -> str:
    rng = company.rng
    shares = rng.randint(20_000_000, 900_000_000)
    return f"""
<div class="cover">
<p>UNITED STATES<br/>SECURITIES AND EXCHANGE COMMISSION<br/>Washington, D.C. 20549</p>
<h1>FORM {form}</h1>
<p>{period_line}</p>
<p>Commission File Number {company.cik}</p>
<h1>{company.name}</h1>
<p>(Exact name of registrant as specified in its charter)</p>
<p>{company.state} (State or other jurisdiction of incorporation or organization)</p>
<p>{rng.randint(10, 9999)} {rng.choice(["Commerce", "Meridian", "Lakeview", "Harbor", "Summit"])} {rng.choice(["Drive", "Parkway", "Boulevard", "Street"])}, {company.city}</p>
<p>Securities registered pursuant to Section 12(b) of the Act:</p>
<table><tr><th>Title of each class</th><th>Trading Symbol(s)</th><th>Name of each exchange on which registered</th></tr>
<tr><td>Common Stock, ${rng.choice(["0.01", "0.001", "1.00", "0.10"])} par value</td><td>{company.ticker}</td><td>{company.exchange}</td></tr></table>
<p>Indicate by check mark whether the registrant is a large accelerated filer, an accelerated filer, a non-accelerated filer or a smaller reporting company. Large accelerated filer [X]</p>
<p>As of {_long_date((prior_fy_end or date(2000, 1, 1)) + timedelta(days=rng.randint(30, 60)))}, the registrant had {shares:,} shares of common stock outstanding.</p>
</div>
"""


def _business(company: Company, fy: int, last: Year) -> str:
    rng, p = company.rng, company.profile
    employees = rng.randint(8, 400) * 100
    segs = list(p.segments[: max(2, len(last.segments))])
    parts = [
        "<h2>PART I</h2><h2>Item 1. Business</h2><h3>Overview</h3>",
        _paragraphs(
            f"{company.name} (together with its subsidiaries, the \u201cCompany,\u201d \u201cwe\u201d or \u201cour\u201d) {p.business}. "
            f"The Company was incorporated in {company.state} in {rng.randint(1902, 2012)} and is headquartered in {company.city}.",
            f"We report {len(segs)} segments: {', '.join(segs[:-1])} and {segs[-1]}. Financial information about our segments is "
            f"included in the notes to the consolidated financial statements.",
            f"Our fiscal year ends on {_describe_fy_end(company)}. References to {_year_word(company, fy)} are to the fiscal year ended "
            f"{_long_date(_fiscal_end(company, fy))}.",
        ),
        "<h3>Customers</h3>",
        _paragraphs(
            f"We serve {p.customers}. No single customer accounted for more than {rng.randint(5, 14)}% of "
            f"{'revenue' if p.archetype == 'general' else 'total revenue'} in {_year_word(company, fy)}."
        ),
        "<h3>Competition</h3>",
        _paragraphs(
            f"We compete with {p.competitors}. We compete primarily on the basis of price, quality, service and "
            f"{rng.choice(['breadth of our offering', 'technology', 'customer relationships', 'brand recognition'])}."
        ),
        "<h3>Seasonality</h3>",
        _paragraphs(p.seasonality),
        "<h3>Human Capital</h3>",
        _paragraphs(
            f"As of {_long_date(_fiscal_end(company, fy))}, we had approximately {employees:,} employees, of whom about "
            f"{rng.randint(10, 70)}% were located outside the United States. Approximately {rng.randint(2, 30)}% of our "
            f"employees are covered by collective bargaining agreements.",
            "We invest in training, competitive pay and benefits, and programs that support an inclusive workplace. "
            "Our board of directors oversees human capital matters through its compensation committee.",
        ),
    ]
    if p.archetype == "bank":
        parts.append(
            "<h3>Supervision and Regulation</h3>"
            + _paragraphs(
                "As a bank holding company we are subject to supervision by the Federal Reserve, and our bank subsidiary is "
                "supervised by the Office of the Comptroller of the Currency and the Federal Deposit Insurance Corporation.",
                "Regulations govern our capital, liquidity, dividends, lending practices and transactions with affiliates.",
            )
        )
    elif p.archetype == "insurer":
        parts.append(
            "<h3>Insurance Regulation</h3>"
            + _paragraphs(
                "Our insurance subsidiaries are regulated by the insurance departments of their states of domicile, which review "
                "rates, policy forms, reserves, investments and dividends paid to the holding company.",
                "Risk-based capital requirements set the minimum capital our insurance subsidiaries must hold.",
            )
        )
    else:
        parts.append(
            "<h3>Government Regulation</h3>"
            + _paragraphs(
                "Our operations are subject to laws on product safety, environmental protection, employment, data privacy, "
                "trade and anti-corruption in the countries where we operate. Compliance has not had a material effect on our "
                "capital expenditures, earnings or competitive position."
            )
        )
    return "".join(parts)


def _describe_fy_end(company: Company) -> str:
    month = calendar.month_name[company.fy_month]
    if company.weeks52:
        return f"the last Saturday of {month}; fiscal years contain 52 or 53 weeks"
    return f"{month} {calendar.monthrange(2001, company.fy_month)[1]}"


def _risk_factors(company: Company) -> str:
    rng, p = company.rng, company.profile
    own = rng.sample(list(p.risks), min(len(p.risks), rng.randint(3, 5)))
    generic = rng.sample(list(VOCABULARY.generic_risks), rng.randint(3, 5))
    bold_headings = rng.random() < 0.5

    def one(heading: str, body: str) -> str:
        tails = " ".join(rng.sample(list(VOCABULARY.risk_tails), 2))
        head = f"<p><b>{heading}.</b></p>" if bold_headings else f"<h3>{heading}</h3>"
        return head + _paragraphs(f"{body} {tails}")

    groups = [("Risks Related to Our Business and Industry", own), ("General Risks", generic)]
    out = [
        "<h2>Item 1A. Risk Factors</h2>",
        _paragraphs(
            "Investing in our securities involves risks. You should carefully consider the risks described below, "
            "together with the other information in this report, before making an investment decision."
        ),
    ]
    for title, risks in groups:
        out.append(f"<h3>{title}</h3>" if bold_headings else f"<p><b>{title}</b></p>")
        out.extend(one(r.heading, r.body) for r in risks)
    out.append("<h2>Item 1B. Unresolved Staff Comments</h2>" + _paragraphs("None."))
    out.append(
        "<h2>Item 2. Properties</h2>"
        + _paragraphs(
            f"Our corporate headquarters is located in {company.city}. We own or lease {rng.randint(12, 400)} facilities, "
            f"which we believe are suitable and adequate for our current needs."
        )
    )
    out.append(
        "<h2>Item 3. Legal Proceedings</h2>"
        + _paragraphs(
            "We are involved in legal proceedings arising in the ordinary course of business. We do not believe that any pending "
            "matter will have a material adverse effect on our financial position."
        )
    )
    return "".join(out)


def _change(company: Company, label: str, new: int, old: int, fy: int, up: str, down: str) -> str:
    rng = company.rng
    pct = _pct(new, old)
    period, prior = _year_word(company, fy), _year_word(company, fy - 1)
    if pct >= 0.05:
        verb = rng.choice(["increased", "rose", "grew"])
        why = rng.choice(["driven by", "primarily due to", "reflecting"])
        return (
            f"{label} {verb} {pct:.1f}% to {_money(company, new)} in {period} from {_money(company, old)} in {prior}, "
            f"{why} {up}."
        )
    if pct <= -0.05:
        verb = rng.choice(["decreased", "declined", "fell"])
        return (
            f"{label} {verb} {abs(pct):.1f}% to {_money(company, new)} in {period} from {_money(company, old)} in {prior}, "
            f"primarily as a result of {down}, partially offset by {up}."
        )
    return f"{label} was {_money(company, new)} in {period}, essentially unchanged from {prior}."


def _kpis(company: Company, fy: int, last: Year, n: int) -> list[str]:
    rng = company.rng
    fill = dict(
        a=f"{company.millions(last.v.get('revenue', last.v.get('premiums', 0))) * rng.uniform(0.3, 1.2):,.0f}",
        b=f"{rng.uniform(2, 25):.1f}",
        fy=_year_word(company, fy).replace("fiscal ", ""),
        n=rng.randint(3, 60),
        m=rng.randint(1, 20),
        k=rng.randint(40, 2500),
        p=rng.randint(2, 45),
        q=rng.randint(1, 9),
        r=rng.randint(60, 130),
        s=rng.randint(55, 125),
        w=rng.randint(6, 16),
        x=f"{rng.uniform(0.1, 1.4):.2f}",
        c=f"{last.v.get('combined_ratio', 0):.1f}",
    )
    return [
        t.format(**fill)
        for t in rng.sample(list(company.profile.kpis), min(n, len(company.profile.kpis)))
    ]


def _mdna(company: Company, years: list[Year], income: Statement) -> str:
    rng, p = company.rng, company.profile
    cur, prev = years[-1], years[-2]
    fy = cur.fy
    v, pv = cur.v, prev.v
    up, down = rng.choice(p.drivers_up), rng.choice(p.drivers_down)
    period = _year_word(company, fy)
    out = [
        "<h2>PART II</h2><h2>Item 5. Market for Registrant's Common Equity, Related Stockholder Matters and Issuer Purchases of Equity Securities</h2>",
        _paragraphs(
            f"Our common stock is traded on the {company.exchange.removeprefix('The ')} under the symbol \u201c{company.ticker}.\u201d "
            f"As of {_long_date(_fiscal_end(company, fy) + timedelta(days=40))}, there were approximately "
            f"{rng.randint(300, 9000):,} holders of record of our common stock."
        ),
        PAGE_BREAK,
        "<h2>Item 7. Management's Discussion and Analysis of Financial Condition and Results of Operations</h2>",
        "<h3>Overview</h3>",
        _paragraphs(
            "The following discussion should be read together with our consolidated financial statements and the related "
            "notes included in Item 8 of this Annual Report on Form 10-K.",
            *_kpis(company, fy, cur, 2),
        ),
        "<h3>Results of Operations</h3>",
    ]
    sentences = []
    if p.archetype == "general":
        rev_label = (
            company.revenue_labels[0]
            if len(company.revenue_labels) == 1
            else _total_revenue_label(company)
        )
        sentences.append(_change(company, rev_label, v["revenue"], pv["revenue"], fy, up, down))
        if p.gross_profit:
            gm, pgm = 100 * v["gross"] / v["revenue"], 100 * pv["gross"] / pv["revenue"]
            bps = round((gm - pgm) * 100)
            sentences.append(
                f"{p.gross_profit} as a percentage of {rev_label.lower()} was {gm:.1f}% in {period}, compared with {pgm:.1f}% in "
                f"{_year_word(company, fy - 1)}, {'an increase' if bps >= 0 else 'a decrease'} of {abs(bps)} basis points."
            )
        for o, new, old in list(zip(p.opex, cur.opex_lines, prev.opex_lines, strict=True))[:3]:
            if new:
                sentences.append(
                    f"{o.label} expenses were {_money(company, new)}, or {100 * new / v['revenue']:.1f}% of "
                    f"{rev_label.lower()}, in {period}, compared with {_money(company, old)} in {_year_word(company, fy - 1)}."
                )
        sentences.append(
            _change(
                company,
                "Operating income",
                v["operating"],
                pv["operating"],
                fy,
                "higher revenue and operating leverage",
                "higher operating costs",
            )
        )
        sentences.append(
            f"Interest expense was {_money(company, v['interest_expense'])} in {period} compared with "
            f"{_money(company, pv['interest_expense'])} in the prior year."
        )
    elif p.archetype == "bank":
        sentences.append(_change(company, "Net interest income", v["nii"], pv["nii"], fy, up, down))
        sentences.append(
            f"The provision for credit losses was {_money(company, v['provision'])} in {period} compared with "
            f"{_money(company, pv['provision'])} in {_year_word(company, fy - 1)}, reflecting loan growth and our outlook for credit quality."
        )
        sentences.append(
            _change(
                company,
                "Noninterest income",
                v["nonint_income"],
                pv["nonint_income"],
                fy,
                "higher wealth management and card fees",
                "lower mortgage banking income",
            )
        )
        sentences.append(
            f"Noninterest expense was {_money(company, v['nonint_expense'])}, and our efficiency ratio was "
            f"{100 * v['nonint_expense'] / v['revenue']:.1f}% in {period}."
        )
        sentences.append(
            f"Total loans were {_money(company, v['loans'])} and total deposits were {_money(company, v['deposits'])} at year end."
        )
    else:
        sentences.append(
            _change(company, "Net premiums earned", v["premiums"], pv["premiums"], fy, up, down)
        )
        sentences.append(
            f"Losses and loss adjustment expenses were {_money(company, v['losses'])}, a loss ratio of "
            f"{100 * v['losses'] / v['premiums']:.1f}%, compared with {100 * pv['losses'] / pv['premiums']:.1f}% in {_year_word(company, fy - 1)}."
        )
        sentences.append(
            f"Our combined ratio was {v['combined_ratio']:.1f}% in {period} compared with {pv['combined_ratio']:.1f}% in the prior year."
        )
        sentences.append(
            _change(
                company,
                "Net investment income",
                v["nii"],
                pv["nii"],
                fy,
                "higher reinvestment yields on fixed maturities",
                "lower average invested assets",
            )
        )
    tax_rate = 100 * v["tax"] / v["pretax"] if v["pretax"] else 0.0
    sentences.append(
        f"Our effective tax rate was {tax_rate:.1f}% in {period} compared with "
        f"{100 * pv['tax'] / pv['pretax'] if pv['pretax'] else 0.0:.1f}% in {_year_word(company, fy - 1)}."
    )
    diluted = income.value("Diluted")
    sentences.append(
        _change(
            company,
            "Net income",
            v["net_income"],
            pv["net_income"],
            fy,
            "the factors above",
            "the factors above",
        )
        + f" Diluted earnings per share were ${diluted / 100:.2f}."
    )
    out.append(_paragraphs(*sentences))
    out.append("<h3>Segment Results</h3>")
    names = p.segments
    seg = []
    for i, (new, old) in enumerate(zip(cur.segments, prev.segments)):
        s = _change(
            company,
            f"{names[i]} {'revenue' if p.archetype != 'insurer' else 'net premiums earned'}",
            new,
            old,
            fy,
            rng.choice(p.drivers_up),
            rng.choice(p.drivers_down),
        )
        if cur.segment_income:
            s += f" Segment {'profit' if p.archetype == 'general' else 'income'} was {_money(company, cur.segment_income[i])}."
        seg.append(s)
    out.append(_paragraphs(*seg))
    out.append(PAGE_BREAK + "<h3>Liquidity and Capital Resources</h3>")
    liq = [
        f"As of {_long_date(_fiscal_end(company, fy))}, we had cash and cash equivalents of {_money(company, v['cash'])} and "
        f"total debt of {_money(company, v['debt'])}.",
        f"Net cash provided by operating activities was {_money(company, v['cfo'])} in {period}, compared with "
        f"{_money(company, pv['cfo'])} in {_year_word(company, fy - 1)}."
        if v["cfo"] > 0 and pv.get("cfo", 0) > 0
        else f"Operating activities {'provided' if v['cfo'] >= 0 else 'used'} cash of {_money(company, abs(v['cfo']))} in {period}.",
    ]
    if v.get("capex"):
        liq.append(
            f"Capital expenditures were {_money(company, -v['capex'])} in {period}, primarily for {rng.choice(p.capex_uses)}."
        )
    if v.get("dividends") or v.get("repurchases"):
        liq.append(
            f"During {period} we paid dividends of {_money(company, -v['dividends'])} and repurchased "
            f"{_money(company, -v['repurchases'])} of our common stock."
        )
    liq.append(
        "We believe that cash on hand, cash from operations and available borrowing capacity will be sufficient to meet our "
        "needs for at least the next twelve months."
    )
    out.append(_paragraphs(*liq))
    out.append("<h3>Critical Accounting Estimates</h3>")
    estimates = {
        "general": [
            "revenue recognition for contracts with multiple performance obligations",
            "inventory valuation",
            "impairment of goodwill and long-lived assets",
            "income taxes",
        ],
        "bank": [
            "the allowance for credit losses",
            "fair value of investment securities",
            "goodwill impairment",
        ],
        "insurer": [
            "reserves for losses and loss adjustment expenses",
            "fair value of investments",
            "reinsurance recoverables",
        ],
    }[p.archetype]
    out.append(
        _paragraphs(
            f"Our most significant estimates relate to {', '.join(estimates[:-1])} and {estimates[-1]}. "
            "These estimates require judgment about matters that are inherently uncertain, and actual results may differ."
        )
    )
    sens = company.u(company.millions(v["debt"]) * rng.uniform(0.002, 0.006))
    out.append("<h2>Item 7A. Quantitative and Qualitative Disclosures About Market Risk</h2>")
    out.append(
        _paragraphs(
            f"A hypothetical 100 basis point increase in interest rates would change our annual interest expense "
            f"(or net interest income) by approximately {_money(company, sens)}.",
            "We use derivative instruments only to manage exposure to interest rates, currencies and commodity prices, "
            "not for trading purposes.",
        )
    )
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Filings


def _statements(
    company: Company, years: list[Year], n: int
) -> tuple[Statement, Statement, Statement]:
    a, s = company.profile.archetype, company.style
    income = {"general": _income_general, "bank": _income_bank, "insurer": _income_insurer}[a](
        company, years, n, s.income_title
    )
    balance = {"general": _balance_general, "bank": _balance_bank, "insurer": _balance_insurer}[a](
        company, years, s.balance_title
    )
    cash = (_cash_general if a == "general" else _cash_financial)(
        company, years, n, "Consolidated Statements of Cash Flows"
    )
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


def _annual_filing(company: Company, years: list[Year]) -> GeneratedFiling:
    rng, s, p = company.rng, company.style, company.profile
    fy = years[-1].fy
    n = s.years_shown
    fys = [y.fy for y in _cols(years, n)]
    income, balance, cash = _statements(company, years, n)
    label_hdr, periods = _period_headers(company, fys, "flow")
    bal_hdr, bal_periods = _period_headers(company, fys[:2], "balance")
    for st in (income, cash):
        st.periods = periods
    balance.periods = bal_periods
    unit = _unit_text(company)
    end = _fiscal_end(company, fy)
    html = [
        _cover(
            company,
            "10-K",
            "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934<br/>"
            f"For the fiscal year ended {_long_date(end)}",
            end,
        ),
        PAGE_BREAK,
        _business(company, fy, years[-1]),
        PAGE_BREAK,
        _risk_factors(company),
        PAGE_BREAK,
        _mdna(company, years, income),
        PAGE_BREAK,
        "<h2>Item 8. Financial Statements and Supplementary Data</h2>",
        _paragraphs(
            f"The consolidated financial statements of {company.name} and the report of our independent registered public "
            "accounting firm follow."
        ),
    ]
    for st in (income, balance, cash):
        hdr = bal_hdr if st is balance else label_hdr
        html += [
            PAGE_BREAK,
            _render_table(
                company, st, hdr, _unit_text(company, st is income) if st is not income else unit
            ),
        ]
        html.append(
            _paragraphs(
                rng.choice(
                    [
                        "See accompanying notes to consolidated financial statements.",
                        "The accompanying notes are an integral part of these consolidated financial statements.",
                    ]
                )
            )
        )
    notes = [PAGE_BREAK, "<h2>Notes to Consolidated Financial Statements</h2>"]
    note_no = 1
    notes.append(f"<h3>Note {note_no} - Summary of Significant Accounting Policies</h3>")
    notes.append(
        _paragraphs(
            f"Basis of presentation. The consolidated financial statements include the accounts of {company.name} and its "
            "wholly owned subsidiaries and are prepared in accordance with accounting principles generally accepted in the United States.",
            "Use of estimates. Preparing financial statements requires management to make estimates and assumptions that affect "
            "reported amounts; actual results could differ from those estimates.",
        )
    )
    extra: list[Statement] = []
    segment_label = {"bank": "Income before income taxes", "insurer": "Underwriting income"}.get(
        p.archetype, "Segment operating income"
    )
    seg = _segment_note(company, years, n, segment_label)
    seg.periods = [str(x) for x in fys]
    extra.append(seg)
    if p.archetype == "general":
        geo = _geography_note(company, years, n)
        geo.periods = [str(x) for x in fys]
        extra.append(geo)
    debt, debt_text = _debt_note(company, years)
    debt.periods = bal_periods
    eps = _eps_note(company, income)
    eps.periods = [str(x) for x in fys]
    tax = _tax_note(company, years, n)
    tax.periods = [str(x) for x in fys]
    short_unit = _unit_text(company, per_share=False)
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
            _render_table(
                company, st, "", short_unit if st is not eps else _unit_text(company), heading=False
            )
        )
        if title == "Segment Information":
            notes.append(
                _paragraphs(
                    f"Our chief operating decision maker evaluates segment performance based on "
                    f"{segment_label.lower()}. Corporate costs include headquarters functions not allocated to the segments."
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
        running_header=f"{company.name} | {_year_word(company, fy).capitalize()} Form 10-K",
        html="".join(html),
        statements=statements,
        ties=ties,
    )


def _scaled(company: Company, y: Year, f: float) -> Year:
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
    q.segments = _split(company.rng, base, [max(1, s) for s in y.segments])
    if a == "insurer":
        underwriting = v["premiums"] - v["losses"] - v["acq"] - v["other_opex"]
        q.segment_income = _split(company.rng, underwriting, [max(1, s) for s in y.segments])
    else:
        _segment_income(company, q, v["operating"] if a == "general" else v["pretax"])
    return q


def _quarterly_filing(company: Company, years: list[Year], quarter: int) -> GeneratedFiling:
    """A 10-Q for ``quarter`` of the fiscal year after the last 10-K (``years[-1]`` is that year)."""
    rng, p, s = company.rng, company.profile, company.style
    cur_year, prior_year = years[-1], years[-2]
    fy = cur_year.fy
    share = [rng.uniform(0.23, 0.27) for _ in range(4)]
    three = share[quarter - 1] / sum(share)
    ytd = sum(share[:quarter]) / sum(share)
    end = _quarter_end(company, fy, quarter)
    prior_end = _quarter_end(company, fy - 1, quarter)
    months = {1: "Three", 2: "Six", 3: "Nine"}[quarter]
    q_cur, q_prior = _scaled(company, cur_year, three), _scaled(company, prior_year, three)
    columns = [q_cur, q_prior]
    headers = [
        f"Three months ended {_long_date(end)}",
        f"Three months ended {_long_date(prior_end)}",
    ]
    if company.weeks52:
        headers = [f"13 weeks ended {_long_date(end)}", f"13 weeks ended {_long_date(prior_end)}"]
    y_cur, y_prior = _scaled(company, cur_year, ytd), _scaled(company, prior_year, ytd)
    if quarter > 1:
        columns += [y_cur, y_prior]
        weeks = 13 * quarter
        headers += (
            [
                f"{weeks} weeks ended {_long_date(end)}",
                f"{weeks} weeks ended {_long_date(prior_end)}",
            ]
            if company.weeks52
            else [
                f"{months} months ended {_long_date(end)}",
                f"{months} months ended {_long_date(prior_end)}",
            ]
        )
    # The statement builders read the newest years first from the end of the list.
    income = {"general": _income_general, "bank": _income_bank, "insurer": _income_insurer}[
        p.archetype
    ](company, list(reversed(columns)), len(columns), "Condensed " + s.income_title)
    income.periods = headers
    # Cash flow: year to date, beginning at the prior fiscal year end's cash (the 10-K's figure).
    y_cur.v["cash_begin"], y_prior.v["cash_begin"] = prior_year.v["cash"], years[-3].v["cash"]
    for ycol in (y_cur, y_prior):
        ycol.v["net_change"] = 0
    cash = (_cash_general if p.archetype == "general" else _cash_financial)(
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
    balance = {"general": _balance_general, "bank": _balance_bank, "insurer": _balance_insurer}[
        p.archetype
    ](company, [prior_year, bal_year], "Condensed " + s.balance_title)
    balance.periods = [_long_date(end), _long_date(_fiscal_end(company, fy - 1))]
    for line in cash.lines:  # 10-Q cash flow rows name the period, not the year
        line.label = line.label.replace("at beginning of year", "at beginning of period").replace(
            "at end of year", "at end of period"
        )
    seg = _segment_note(
        company,
        list(reversed(columns)),
        len(columns),
        {"bank": "Income before income taxes", "insurer": "Underwriting income"}.get(
            p.archetype, "Segment operating income"
        ),
    )
    seg.periods = headers
    unit = _unit_text(company)
    qword = ["first", "second", "third"][quarter - 1]
    fy_word = f"fiscal {fy}" if company.fy_month != 12 or company.weeks52 else str(fy)
    v, pv = q_cur.v, q_prior.v
    rev_label = (
        "Net interest income"
        if p.archetype == "bank"
        else ("Net premiums earned" if p.archetype == "insurer" else "Revenue")
    )
    rev_key = {"bank": "nii", "insurer": "premiums"}.get(p.archetype, "revenue")
    mdna = [
        f"{rev_label} for the {qword} quarter of {fy_word} was {_money(company, v[rev_key])}, "
        f"{'an increase' if v[rev_key] >= pv[rev_key] else 'a decrease'} of {abs(_pct(v[rev_key], pv[rev_key])):.1f}% compared with "
        f"{_money(company, pv[rev_key])} in the {qword} quarter of {fy - 1 if fy_word.isdigit() else f'fiscal {fy - 1}'}, "
        f"{'driven by ' + rng.choice(p.drivers_up) if v[rev_key] >= pv[rev_key] else 'primarily due to ' + rng.choice(p.drivers_down)}.",
        f"Net income for the quarter was {_money(company, income.value('Net income'))}, or ${income.value('Diluted') / 100:.2f} per diluted share.",
        f"Net cash {'provided by' if cash.lines[[l.label for l in cash.lines].index(next(l.label for l in cash.lines if l.label.startswith('Net cash') and 'operating' in l.label))].values[0] >= 0 else 'used in'} "
        f"operating activities for the {months.lower()} months ended {_long_date(end)} was "
        f"{_money(company, abs(next(l.values[0] for l in cash.lines if l.label.startswith('Net cash') and 'operating' in l.label)))}.",
        *_kpis(company, fy, cur_year, 1),
    ]
    prior_fy_end = _fiscal_end(company, fy - 1)
    html = [
        _cover(
            company,
            "10-Q",
            "QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934<br/>"
            f"For the quarterly period ended {_long_date(end)}",
            end,
        ),
        PAGE_BREAK,
        "<h2>PART I - FINANCIAL INFORMATION</h2><h2>Item 1. Financial Statements</h2>",
    ]
    for st in (income, balance, cash):
        html.append(
            _render_table(
                company, st, "", f"{unit[:-1]}, unaudited)" if st is income else "(unaudited)"
            )
        )
        html.append(PAGE_BREAK)
    html.append("<h2>Notes to Condensed Consolidated Financial Statements (Unaudited)</h2>")
    html.append(
        "<h3>Note 1 - Basis of Presentation</h3>"
        + _paragraphs(
            "The accompanying unaudited condensed consolidated financial statements have been prepared in accordance with the rules "
            "of the Securities and Exchange Commission for interim reporting and should be read together with the consolidated "
            f"financial statements in our Annual Report on Form 10-K for the fiscal year ended {_long_date(prior_fy_end)}.",
            "Results for interim periods are not necessarily indicative of results for the full year.",
        )
    )
    html.append(
        "<h3>Note 2 - Segment Information</h3>"
        + _render_table(company, seg, "", _unit_text(company, False), heading=False)
    )
    html.append(
        PAGE_BREAK
        + "<h2>Item 2. Management's Discussion and Analysis of Financial Condition and Results of Operations</h2>"
    )
    html.append(_paragraphs(*mdna))
    html.append(
        "<h2>PART II - OTHER INFORMATION</h2><h2>Item 1A. Risk Factors</h2>"
        + _paragraphs(
            f"There have been no material changes to the risk factors disclosed in our Annual Report on Form 10-K for the fiscal year "
            f"ended {_long_date(prior_fy_end)}."
        )
    )
    ties = [
        (
            "net income flows to cash flow (ytd)",
            (income.lines[[l.label for l in income.lines].index("Net income")].values or [0])[
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


# ---------------------------------------------------------------------------------------------
# Public API


def build_filings(
    companies: int = 24, seed: int = 7, quarterly_every: int = 3
) -> list[GeneratedFiling]:
    """The corpus before layout: one 10-K per company, plus a 10-Q for every ``quarterly_every``-th.

    Args:
        companies: how many fictional companies (industries cycle through :data:`PROFILES`).
        seed: everything (names, industries, figures, layout style) follows from it.
        quarterly_every: company ``i`` also gets a 10-Q when ``i % quarterly_every == 0``.

    Returns:
        The filings, in company order, each with its HTML and its statements as numbers.
    """
    names: set[str] = set()
    tickers: set[str] = set()
    out: list[GeneratedFiling] = []
    for i in range(companies):
        company = _make_company(i, seed, names, tickers)
        last_fy = company.rng.choice([2021, 2022, 2023, 2023, 2024])
        years = _model(company, last_fy + 1, n_years=5)  # the extra year feeds the 10-Q
        out.append(_annual_filing(company, years[:-1]))
        if quarterly_every and i % quarterly_every == 0:
            out.append(_quarterly_filing(company, years, company.rng.randint(1, 3)))
    return out


def write_general_corpus(folder: Path, companies: int = 24, seed: int = 7) -> list[Path]:
    """Write the generated filings as PDFs into ``folder`` and return their paths.

    Deterministic: the same ``companies`` and ``seed`` write the same bytes (and so the same doc
    ids), and a file already present is left as is.

    Args:
        folder: where to write (created if missing).
        companies: number of fictional companies; each gets a 10-K, every third also a 10-Q.
        seed: the random seed behind names, figures and layout.

    Returns:
        Paths of the PDFs, in company order.

    Example:
        >>> paths = write_general_corpus(Path("/tmp/general"), companies=3)  # doctest: +SKIP
        >>> [p.name for p in paths]  # doctest: +SKIP
        ['zqkm_2024_10k.pdf', 'zqkm_2025q3_10q.pdf', 'zqpr_2022_10k.pdf', 'zqfn_2024_10k.pdf']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for filing in build_filings(companies, seed):
        problems = filing.check()
        if problems:  # a generator bug, not bad input: log it, the filing is still usable text
            logger.warning(
                "%s: %d inconsistencies, first: %s", filing.file_name, len(problems), problems[0]
            )
        target = folder / filing.file_name
        if not target.exists():
            write_pdf_from_html(filing.html, target, filing.running_header)
        paths.append(target)
    logger.info("general corpus: %d filings of %d companies in %s", len(paths), companies, folder)
    return paths
