"""A fictional company (name, ticker, domicile, fiscal calendar, display unit, layout style) and
the dates of its fiscal periods.

Contract: :func:`make_company` gives the same :class:`Company` for the same ``(index, seed)`` and
the same names and tickers already taken (it adds its own to them). The company's ``rng`` is the
one random stream behind everything generated for it afterwards (model, statements, text, in
that order), so moving a draw from one place to another changes the corpus.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date, timedelta

from samples.general.profiles import PROFILES, VOCABULARY, Profile


@dataclass
class Style:
    """How a company lays out its statements; drawn once per company."""

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
    """One fictional registrant; ``rng`` draws everything generated for it."""

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


def fiscal_end(company: Company, year: int) -> date:
    """The last day of fiscal ``year``: month end, or the last Saturday of the month."""
    if company.weeks52:
        last = date(year, company.fy_month, calendar.monthrange(year, company.fy_month)[1])
        return last - timedelta(days=(last.weekday() - 5) % 7)
    return date(year, company.fy_month, calendar.monthrange(year, company.fy_month)[1])


def quarter_end(company: Company, fiscal_year: int, quarter: int) -> date:
    """The last day of ``quarter`` (1 to 3) of ``fiscal_year``: 13 weeks per quarter for a
    52-53 week year, else a month end."""
    prior = fiscal_end(company, fiscal_year - 1)
    if company.weeks52:
        return prior + timedelta(weeks=13 * quarter)
    month = (company.fy_month + 3 * quarter - 1) % 12 + 1
    year = prior.year + (company.fy_month + 3 * quarter - 1) // 12
    return date(year, month, calendar.monthrange(year, month)[1])


def long_date(d: date) -> str:
    """A date as filings print it: "June 30, 2023"."""
    return f"{calendar.month_name[d.month]} {d.day}, {d.year}"


def year_word(company: Company, fy: int) -> str:
    """How the text names a fiscal year: "fiscal 2023" for non-calendar years, else "2023"."""
    return f"fiscal {fy}" if company.fy_month != 12 or company.weeks52 else str(fy)


def describe_fy_end(company: Company) -> str:
    """Item 1's "Our fiscal year ends on ..." phrase."""
    month = calendar.month_name[company.fy_month]
    if company.weeks52:
        return f"the last Saturday of {month}; fiscal years contain 52 or 53 weeks"
    return f"{month} {calendar.monthrange(2001, company.fy_month)[1]}"


def make_company(index: int, seed: int, used_names: set[str], used_tickers: set[str]) -> Company:
    """Company ``index`` of the corpus for ``seed``; its name root and ticker are not among
    ``used_names`` and ``used_tickers``, to which they are added."""
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
