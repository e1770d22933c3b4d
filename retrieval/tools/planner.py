"""Which live-data tools a question calls for, decided from the question and its resolution.

Contract: :func:`plan_tool_calls` returns ``(tool name, arguments)`` pairs and never calls a tool.
Only configured tools are planned (an unconfigured provider would only add an "unavailable" note
to every answer). The rules are deliberately narrow; the agent asks for the calculator itself once
it has identified operands in the evidence.

* market data: the question asks about a share price, quote, market capitalisation or trading
  history, and exactly one company with a known ticker is resolved.
* company facts: the question asks for a reported metric the tool knows (revenue, net income,
  capital expenditure, ...) for one company and at least one fiscal year.
"""

from __future__ import annotations

import re

from core.records import Filing

_MARKET = re.compile(
    r"\b(stock|share)\s+price|\bmarket\s+cap(italisation|italization)?\b|\bquote\b|\btrading\s+at\b"
    r"|\bshares?\s+(closed|traded|trade)\b",
    re.IGNORECASE,
)


def _metric(question: str) -> str | None:
    from retrieval.tools.company_facts import CONCEPT_ALIASES

    lowered = question.lower()
    best: tuple[int, str] | None = None
    for metric, (_concepts, _unit, names) in CONCEPT_ALIASES.items():
        for name in (metric, *names):
            longer = best is None or len(name) > best[0]
            if longer and re.search(rf"\b{re.escape(name)}\b", lowered):
                best = (len(name), metric)
    return best[1] if best else None


def plan_tool_calls(
    question: str, resolution, filings: list[Filing], tools
) -> list[tuple[str, dict]]:
    configured = set(tools.configured())
    tickers = sorted(
        set(resolution.tickers)
        | {f.ticker for f in filings if f.company in resolution.companies and f.ticker}
    )
    calls: list[tuple[str, dict]] = []
    if len(tickers) == 1 and "market_data" in configured and _MARKET.search(question):
        calls.append(("market_data", {"operation": "quote", "symbol": tickers[0]}))
    if len(resolution.companies) == 1 and resolution.fiscal_years and "company_facts" in configured:
        metric = _metric(question)
        ciks = {f.cik for f in filings if f.company in resolution.companies and f.cik}
        if metric and (ciks or tickers):
            who = {"cik": int(sorted(ciks)[0])} if ciks else {"ticker": tickers[0]}
            period = resolution.fiscal_periods[0] if len(resolution.fiscal_periods) == 1 else "FY"
            for year in sorted(set(resolution.fiscal_years))[:3]:
                calls.append(
                    (
                        "company_facts",
                        {
                            **who,
                            "concept": metric,
                            "fiscal_year": year,
                            "fiscal_period": period if period != "Q4" else "FY",
                        },
                    )
                )
    return calls
