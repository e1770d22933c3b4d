"""A filing's text: cover page, Items 1 to 3 (business, risk factors, properties, legal), and
the MD&A of a 10-K (Items 5, 7, 7A) and of a 10-Q.

Contract: HTML fragments using :mod:`samples.filings`' paragraph markup. Every figure the prose
quotes comes from the model's years or from the statement passed in, so the text agrees with
the tables; wording (verbs, drivers, which KPIs and risks) is drawn from the company's random
stream and its industry profile.
"""

from __future__ import annotations

from datetime import date, timedelta

# PAGE_BREAK is public in samples.filings; _paragraphs is private there and reused as is (a
# one-line helper, so that both generators emit the same paragraph markup).
from samples.filings import PAGE_BREAK, _paragraphs
from samples.general.company import Company, describe_fy_end, fiscal_end, long_date, year_word
from samples.general.display import money, percent_change
from samples.general.model import Year
from samples.general.profiles import VOCABULARY
from samples.general.records import Statement
from samples.general.statements import total_revenue_label


def cover(company: Company, form: str, period_line: str, period_end: date | None) -> str:
    """The cover page: form, period, registrant, address, listing and shares outstanding."""
    rng = company.rng
    shares = rng.randint(20_000_000, 900_000_000)
    period_end = period_end or date(2000, 1, 1)
    lines = [
        '<div class="cover">',
        "<p>UNITED STATES<br/>SECURITIES AND EXCHANGE COMMISSION<br/>Washington, D.C. 20549</p>",
        f"<h1>FORM {form}</h1>",
        f"<p>{period_line}</p>",
        f"<p>Commission File Number {company.cik}</p>",
        f"<h1>{company.name}</h1>",
        "<p>(Exact name of registrant as specified in its charter)</p>",
        f"<p>{company.state} (State or other jurisdiction of incorporation or organization)</p>",
        f"<p>{rng.randint(10, 9999)} "
        f"{rng.choice(['Commerce', 'Meridian', 'Lakeview', 'Harbor', 'Summit'])} "
        f"{rng.choice(['Drive', 'Parkway', 'Boulevard', 'Street'])}, {company.city}</p>",
        "<p>Securities registered pursuant to Section 12(b) of the Act:</p>",
        "<table><tr><th>Title of each class</th><th>Trading Symbol(s)</th>"
        "<th>Name of each exchange on which registered</th></tr>",
        f"<tr><td>Common Stock, ${rng.choice(['0.01', '0.001', '1.00', '0.10'])} par value</td>"
        f"<td>{company.ticker}</td><td>{company.exchange}</td></tr></table>",
        "<p>Indicate by check mark whether the registrant is a large accelerated filer, an "
        "accelerated filer, a non-accelerated filer or a smaller reporting company. Large "
        "accelerated filer [X]</p>",
        f"<p>As of {long_date(period_end + timedelta(days=rng.randint(30, 60)))}, the registrant "
        f"had {shares:,} shares of common stock outstanding.</p>",
        "</div>",
    ]
    return "\n" + "\n".join(lines) + "\n"


def business(company: Company, fy: int, last: Year) -> str:
    """Part I, Item 1: overview, segments, fiscal year, customers, competition, seasonality,
    human capital and regulation."""
    rng, p = company.rng, company.profile
    employees = rng.randint(8, 400) * 100
    segs = list(p.segments[: max(2, len(last.segments))])
    sales = "revenue" if p.archetype == "general" else "total revenue"
    strengths = [
        "breadth of our offering",
        "technology",
        "customer relationships",
        "brand recognition",
    ]
    parts = [
        "<h2>PART I</h2><h2>Item 1. Business</h2><h3>Overview</h3>",
        _paragraphs(
            f"{company.name} (together with its subsidiaries, the \u201cCompany,\u201d "
            f"\u201cwe\u201d or \u201cour\u201d) {p.business}. "
            f"The Company was incorporated in {company.state} in {rng.randint(1902, 2012)} and is "
            f"headquartered in {company.city}.",
            f"We report {len(segs)} segments: {', '.join(segs[:-1])} and {segs[-1]}. Financial "
            "information about our segments is included in the notes to the consolidated "
            "financial statements.",
            f"Our fiscal year ends on {describe_fy_end(company)}. References to "
            f"{year_word(company, fy)} are to the fiscal year ended "
            f"{long_date(fiscal_end(company, fy))}.",
        ),
        "<h3>Customers</h3>",
        _paragraphs(
            f"We serve {p.customers}. No single customer accounted for more than "
            f"{rng.randint(5, 14)}% of {sales} in {year_word(company, fy)}."
        ),
        "<h3>Competition</h3>",
        _paragraphs(
            f"We compete with {p.competitors}. We compete primarily on the basis of price, "
            f"quality, service and {rng.choice(strengths)}."
        ),
        "<h3>Seasonality</h3>",
        _paragraphs(p.seasonality),
        "<h3>Human Capital</h3>",
        _paragraphs(
            f"As of {long_date(fiscal_end(company, fy))}, we had approximately {employees:,} "
            f"employees, of whom about {rng.randint(10, 70)}% were located outside the United "
            f"States. Approximately {rng.randint(2, 30)}% of our employees are covered by "
            "collective bargaining agreements.",
            "We invest in training, competitive pay and benefits, and programs that support an "
            "inclusive workplace. Our board of directors oversees human capital matters through "
            "its compensation committee.",
        ),
    ]
    if p.archetype == "bank":
        parts.append(
            "<h3>Supervision and Regulation</h3>"
            + _paragraphs(
                "As a bank holding company we are subject to supervision by the Federal Reserve, "
                "and our bank subsidiary is supervised by the Office of the Comptroller of the "
                "Currency and the Federal Deposit Insurance Corporation.",
                "Regulations govern our capital, liquidity, dividends, lending practices and "
                "transactions with affiliates.",
            )
        )
    elif p.archetype == "insurer":
        parts.append(
            "<h3>Insurance Regulation</h3>"
            + _paragraphs(
                "Our insurance subsidiaries are regulated by the insurance departments of their "
                "states of domicile, which review rates, policy forms, reserves, investments and "
                "dividends paid to the holding company.",
                "Risk-based capital requirements set the minimum capital our insurance "
                "subsidiaries must hold.",
            )
        )
    else:
        parts.append(
            "<h3>Government Regulation</h3>"
            + _paragraphs(
                "Our operations are subject to laws on product safety, environmental protection, "
                "employment, data privacy, trade and anti-corruption in the countries where we "
                "operate. Compliance has not had a material effect on our capital expenditures, "
                "earnings or competitive position."
            )
        )
    return "".join(parts)


def risk_factors(company: Company) -> str:
    """Items 1A to 3: a sample of the industry's and the generic risk factors, unresolved staff
    comments, properties and legal proceedings."""
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
            "Investing in our securities involves risks. You should carefully consider the risks "
            "described below, together with the other information in this report, before making "
            "an investment decision."
        ),
    ]
    for title, risks in groups:
        out.append(f"<h3>{title}</h3>" if bold_headings else f"<p><b>{title}</b></p>")
        out.extend(one(r.heading, r.body) for r in risks)
    out.append("<h2>Item 1B. Unresolved Staff Comments</h2>" + _paragraphs("None."))
    out.append(
        "<h2>Item 2. Properties</h2>"
        + _paragraphs(
            f"Our corporate headquarters is located in {company.city}. We own or lease "
            f"{rng.randint(12, 400)} facilities, which we believe are suitable and adequate for "
            "our current needs."
        )
    )
    out.append(
        "<h2>Item 3. Legal Proceedings</h2>"
        + _paragraphs(
            "We are involved in legal proceedings arising in the ordinary course of business. We "
            "do not believe that any pending matter will have a material adverse effect on our "
            "financial position."
        )
    )
    return "".join(out)


def _change(company: Company, label: str, new: int, old: int, fy: int, up: str, down: str) -> str:
    rng = company.rng
    pct = percent_change(new, old)
    period, prior = year_word(company, fy), year_word(company, fy - 1)
    if pct >= 0.05:
        verb = rng.choice(["increased", "rose", "grew"])
        why = rng.choice(["driven by", "primarily due to", "reflecting"])
        return (
            f"{label} {verb} {pct:.1f}% to {money(company, new)} in {period} from "
            f"{money(company, old)} in {prior}, {why} {up}."
        )
    if pct <= -0.05:
        verb = rng.choice(["decreased", "declined", "fell"])
        return (
            f"{label} {verb} {abs(pct):.1f}% to {money(company, new)} in {period} from "
            f"{money(company, old)} in {prior}, primarily as a result of {down}, partially offset "
            f"by {up}."
        )
    return f"{label} was {money(company, new)} in {period}, essentially unchanged from {prior}."


def kpis(company: Company, fy: int, last: Year, n: int) -> list[str]:
    """``n`` of the industry's KPI sentences, filled with random figures."""
    rng = company.rng
    revenue = company.millions(last.v.get("revenue", last.v.get("premiums", 0)))
    # The keys are the placeholders profiles.KPI_PLACEHOLDERS allows in a KPI sentence.
    fill = {
        "a": f"{revenue * rng.uniform(0.3, 1.2):,.0f}",
        "b": f"{rng.uniform(2, 25):.1f}",
        "fy": year_word(company, fy).replace("fiscal ", ""),
        "n": rng.randint(3, 60),
        "m": rng.randint(1, 20),
        "k": rng.randint(40, 2500),
        "p": rng.randint(2, 45),
        "q": rng.randint(1, 9),
        "r": rng.randint(60, 130),
        "s": rng.randint(55, 125),
        "w": rng.randint(6, 16),
        "x": f"{rng.uniform(0.1, 1.4):.2f}",
        "c": f"{last.v.get('combined_ratio', 0):.1f}",
    }
    return [
        t.format(**fill)
        for t in rng.sample(list(company.profile.kpis), min(n, len(company.profile.kpis)))
    ]


def mdna(company: Company, years: list[Year], income: Statement) -> str:
    """Items 5, 7 and 7A of a 10-K for the last of ``years``, compared with the year before;
    diluted EPS is quoted from ``income``."""
    rng, p = company.rng, company.profile
    cur, prev = years[-1], years[-2]
    fy = cur.fy
    v, pv = cur.v, prev.v
    up, down = rng.choice(p.drivers_up), rng.choice(p.drivers_down)
    period = year_word(company, fy)
    out = [
        "<h2>PART II</h2><h2>Item 5. Market for Registrant's Common Equity, Related Stockholder "
        "Matters and Issuer Purchases of Equity Securities</h2>",
        _paragraphs(
            f"Our common stock is traded on the {company.exchange.removeprefix('The ')} under the "
            f"symbol \u201c{company.ticker}.\u201d "
            f"As of {long_date(fiscal_end(company, fy) + timedelta(days=40))}, there were "
            f"approximately {rng.randint(300, 9000):,} holders of record of our common stock."
        ),
        PAGE_BREAK,
        "<h2>Item 7. Management's Discussion and Analysis of Financial Condition and Results of "
        "Operations</h2>",
        "<h3>Overview</h3>",
        _paragraphs(
            "The following discussion should be read together with our consolidated financial "
            "statements and the related notes included in Item 8 of this Annual Report on Form "
            "10-K.",
            *kpis(company, fy, cur, 2),
        ),
        "<h3>Results of Operations</h3>",
    ]
    sentences = []
    if p.archetype == "general":
        rev_label = (
            company.revenue_labels[0]
            if len(company.revenue_labels) == 1
            else total_revenue_label(company)
        )
        sentences.append(_change(company, rev_label, v["revenue"], pv["revenue"], fy, up, down))
        if p.gross_profit:
            gm, pgm = 100 * v["gross"] / v["revenue"], 100 * pv["gross"] / pv["revenue"]
            bps = round((gm - pgm) * 100)
            sentences.append(
                f"{p.gross_profit} as a percentage of {rev_label.lower()} was {gm:.1f}% in "
                f"{period}, compared with {pgm:.1f}% in {year_word(company, fy - 1)}, "
                f"{'an increase' if bps >= 0 else 'a decrease'} of {abs(bps)} basis points."
            )
        for o, new, old in list(zip(p.opex, cur.opex_lines, prev.opex_lines, strict=True))[:3]:
            if new:
                sentences.append(
                    f"{o.label} expenses were {money(company, new)}, or "
                    f"{100 * new / v['revenue']:.1f}% of {rev_label.lower()}, in {period}, "
                    f"compared with {money(company, old)} in {year_word(company, fy - 1)}."
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
            f"Interest expense was {money(company, v['interest_expense'])} in {period} compared "
            f"with {money(company, pv['interest_expense'])} in the prior year."
        )
    elif p.archetype == "bank":
        sentences.append(_change(company, "Net interest income", v["nii"], pv["nii"], fy, up, down))
        sentences.append(
            f"The provision for credit losses was {money(company, v['provision'])} in {period} "
            f"compared with {money(company, pv['provision'])} in {year_word(company, fy - 1)}, "
            "reflecting loan growth and our outlook for credit quality."
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
            f"Noninterest expense was {money(company, v['nonint_expense'])}, and our efficiency "
            f"ratio was {100 * v['nonint_expense'] / v['revenue']:.1f}% in {period}."
        )
        sentences.append(
            f"Total loans were {money(company, v['loans'])} and total deposits were "
            f"{money(company, v['deposits'])} at year end."
        )
    else:
        sentences.append(
            _change(company, "Net premiums earned", v["premiums"], pv["premiums"], fy, up, down)
        )
        sentences.append(
            f"Losses and loss adjustment expenses were {money(company, v['losses'])}, a loss "
            f"ratio of {100 * v['losses'] / v['premiums']:.1f}%, compared with "
            f"{100 * pv['losses'] / pv['premiums']:.1f}% in {year_word(company, fy - 1)}."
        )
        sentences.append(
            f"Our combined ratio was {v['combined_ratio']:.1f}% in {period} compared with "
            f"{pv['combined_ratio']:.1f}% in the prior year."
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
        f"{100 * pv['tax'] / pv['pretax'] if pv['pretax'] else 0.0:.1f}% in "
        f"{year_word(company, fy - 1)}."
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
    for i, (new, old) in enumerate(zip(cur.segments, prev.segments, strict=True)):
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
            what = "profit" if p.archetype == "general" else "income"
            s += f" Segment {what} was {money(company, cur.segment_income[i])}."
        seg.append(s)
    out.append(_paragraphs(*seg))
    out.append(PAGE_BREAK + "<h3>Liquidity and Capital Resources</h3>")
    liq = [
        f"As of {long_date(fiscal_end(company, fy))}, we had cash and cash equivalents of "
        f"{money(company, v['cash'])} and total debt of {money(company, v['debt'])}.",
        f"Net cash provided by operating activities was {money(company, v['cfo'])} in {period}, "
        f"compared with {money(company, pv['cfo'])} in {year_word(company, fy - 1)}."
        if v["cfo"] > 0 and pv.get("cfo", 0) > 0
        else f"Operating activities {'provided' if v['cfo'] >= 0 else 'used'} cash of "
        f"{money(company, abs(v['cfo']))} in {period}.",
    ]
    if v.get("capex"):
        liq.append(
            f"Capital expenditures were {money(company, -v['capex'])} in {period}, primarily for "
            f"{rng.choice(p.capex_uses)}."
        )
    if v.get("dividends") or v.get("repurchases"):
        liq.append(
            f"During {period} we paid dividends of {money(company, -v['dividends'])} and "
            f"repurchased {money(company, -v['repurchases'])} of our common stock."
        )
    liq.append(
        "We believe that cash on hand, cash from operations and available borrowing capacity "
        "will be sufficient to meet our needs for at least the next twelve months."
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
            f"Our most significant estimates relate to {', '.join(estimates[:-1])} and "
            f"{estimates[-1]}. These estimates require judgment about matters that are inherently "
            "uncertain, and actual results may differ."
        )
    )
    sens = company.u(company.millions(v["debt"]) * rng.uniform(0.002, 0.006))
    out.append("<h2>Item 7A. Quantitative and Qualitative Disclosures About Market Risk</h2>")
    out.append(
        _paragraphs(
            "A hypothetical 100 basis point increase in interest rates would change our annual "
            f"interest expense (or net interest income) by approximately {money(company, sens)}.",
            "We use derivative instruments only to manage exposure to interest rates, currencies "
            "and commodity prices, not for trading purposes.",
        )
    )
    return "".join(out)


def quarterly_mdna(
    company: Company,
    quarter: int,
    end: date,
    q_cur: Year,
    q_prior: Year,
    cur_year: Year,
    income: Statement,
    cash: Statement,
) -> list[str]:
    """A 10-Q's MD&A sentences: the quarter's revenue (``q_cur``) against the same quarter a year
    earlier (``q_prior``), net income and diluted EPS from ``income``, year-to-date operating cash
    flow from ``cash``, and one KPI of the fiscal year (``cur_year``)."""
    rng, p = company.rng, company.profile
    fy = cur_year.fy
    qword = ["first", "second", "third"][quarter - 1]
    months = {1: "Three", 2: "Six", 3: "Nine"}[quarter]
    rev_label = (
        "Net interest income"
        if p.archetype == "bank"
        else ("Net premiums earned" if p.archetype == "insurer" else "Revenue")
    )
    rev_key = {"bank": "nii", "insurer": "premiums"}.get(p.archetype, "revenue")
    new, old = q_cur.v[rev_key], q_prior.v[rev_key]
    # money() may draw from the random stream: the draws keep the order of the sentences.
    new_text, old_text = money(company, new), money(company, old)
    why = (
        "driven by " + rng.choice(p.drivers_up)
        if new >= old
        else "primarily due to " + rng.choice(p.drivers_down)
    )
    net_income = money(company, income.value("Net income"))
    cfo = next(
        line.values[0]
        for line in cash.lines
        if line.values and line.label.startswith("Net cash") and "operating" in line.label
    )
    return [
        f"{rev_label} for the {qword} quarter of {year_word(company, fy)} was {new_text}, "
        f"{'an increase' if new >= old else 'a decrease'} of {abs(percent_change(new, old)):.1f}% "
        f"compared with {old_text} in the {qword} quarter of {year_word(company, fy - 1)}, {why}.",
        f"Net income for the quarter was {net_income}, or ${income.value('Diluted') / 100:.2f} "
        "per diluted share.",
        f"Net cash {'provided by' if cfo >= 0 else 'used in'} operating activities for the "
        f"{months.lower()} months ended {long_date(end)} was {money(company, abs(cfo))}.",
        *kpis(company, fy, cur_year, 1),
    ]
