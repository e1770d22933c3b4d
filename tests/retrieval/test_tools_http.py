"""Live-data tools against a real HTTP server on 127.0.0.1 serving recorded provider replies.

The server runs in a thread on an ephemeral port; each route answers with a recorded body, a
status code, a delay or a trickle, and counts its hits (to prove cache hits never reach it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import BaseModel

from core.settings import Settings, ToolSettings
from retrieval.tools import Tool, ToolRegistry, ToolResult, build_tools
from retrieval.tools.calculator import CalculatorTool
from retrieval.tools.company_facts import CompanyFact, CompanyFactsTool
from retrieval.tools.http import JsonFetcher
from retrieval.tools.market import MarketData, MarketDataTool

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
KEY = "s3cret-key"


@dataclass
class Route:
    body: bytes
    status: int = 200
    delay: float = 0.0
    trickle: float = 0.0  # seconds between single bytes of the body


class RecordedServer:
    """Routes are ``FUNCTION:SYMBOL`` for Alpha Vantage queries, the path otherwise."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                key = (
                    f"{query['function']}:{query.get('symbol')}"
                    if "function" in query
                    else parts.path
                )
                outer.hits[key] += 1
                outer.requests.append(
                    {"key": key, "query": query, "headers": dict(self.headers), "path": self.path}
                )
                route = outer.routes.get(key, Route(b'{"detail": "no route"}', status=404))
                if route.delay and outer.release.wait(route.delay):
                    return
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if route.trickle:
                        for byte in route.body:
                            if outer.release.wait(route.trickle):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first, as it should

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def serve(
        self, key: str, *, file: str | None = None, body: bytes | None = None, **kwargs: Any
    ) -> None:
        payload = (RECORDED / file).read_bytes() if file else (body or b"")
        self.routes[key] = Route(payload, **kwargs)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    recorded = RecordedServer()
    recorded.thread.start()
    yield recorded
    recorded.release.set()
    recorded.httpd.shutdown()
    recorded.httpd.server_close()


def market(server: RecordedServer, **overrides: Any) -> MarketDataTool:
    settings = ToolSettings(
        market_data_url=f"{server.base}/query",
        market_data_key=KEY,
        timeout_s=2.0,
        cache_ttl_s=60.0,
        user_agent="finrag-tests/1.0 (tests@example.org)",
    ).model_copy(update=overrides)
    return MarketDataTool(settings)


# -- market data --------------------------------------------------------------------------------


def test_quote_success_parses_every_field_and_hides_the_key(server: RecordedServer) -> None:
    server.serve("GLOBAL_QUOTE:ACME", file="alphavantage_global_quote_ACME.json")
    result = market(server).quote("acme")
    assert (result.ok, result.status, result.cached) == (True, "ok", False)
    quote = result.output(MarketData).quote
    assert quote is not None
    assert quote.symbol == "ACME"
    assert (
        quote.price == 102.75
        and quote.open == 101.2
        and quote.high == 103.45
        and quote.low == 100.8
    )
    assert quote.volume == 1834512
    assert quote.latest_trading_day == date(2024, 6, 28)
    assert quote.previous_close == 101.5 and quote.change == 1.25
    assert quote.change_percent == pytest.approx(1.2315)
    assert result.message == "ACME last traded at 102.75 on 2024-06-28 (+1.23%)"
    assert result.args == {"operation": "quote", "symbol": "ACME", "start": None, "end": None}
    # the key travels to the provider but never into what the agent shows
    sent = server.requests[-1]
    assert sent["query"] == {"function": "GLOBAL_QUOTE", "symbol": "ACME", "apikey": KEY}
    assert sent["headers"]["User-Agent"] == "finrag-tests/1.0 (tests@example.org)"
    assert KEY not in (result.source or "") and KEY not in result.model_dump_json()
    assert result.source == f"{server.base}/query?function=GLOBAL_QUOTE&symbol=ACME"
    assert result.elapsed_ms > 0


def test_second_call_is_served_from_the_cache(server: RecordedServer) -> None:
    server.serve("GLOBAL_QUOTE:ACME", file="alphavantage_global_quote_ACME.json")
    tool = market(server)
    first, second = tool.quote("ACME"), tool.quote("ACME")
    assert server.hits["GLOBAL_QUOTE:ACME"] == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.data == first.data
    assert second.fetched_at == first.fetched_at  # when the data was fetched, not when served


def test_cache_entries_expire_after_the_ttl(server: RecordedServer) -> None:
    server.serve("GLOBAL_QUOTE:ACME", file="alphavantage_global_quote_ACME.json")
    tool = market(server, cache_ttl_s=0.05)
    assert not tool.quote("ACME").cached
    time.sleep(0.08)
    assert not tool.quote("ACME").cached
    assert server.hits["GLOBAL_QUOTE:ACME"] == 2


def test_history_filters_and_orders_daily_bars(server: RecordedServer) -> None:
    server.serve("TIME_SERIES_DAILY:ACME", file="alphavantage_time_series_daily_ACME.json")
    tool = market(server)
    result = tool.history("ACME", "2024-06-24", "2024-06-27")
    assert result.ok, result.message
    bars = result.output(MarketData).bars
    assert [b.date.isoformat() for b in bars] == [
        "2024-06-24",
        "2024-06-25",
        "2024-06-26",
        "2024-06-27",
    ]
    assert [b.close for b in bars] == [98.25, 99.1, 100.2, 101.5]
    assert bars[0].volume == 1502311 and bars[0].open == 97.5
    assert (
        result.message
        == "4 daily prices for ACME from 2024-06-24 to 2024-06-27: close 98.25 -> 101.50"
    )
    # a start older than the compact window asks for the full series
    assert server.requests[-1]["query"]["outputsize"] == "full"

    empty = tool.history("ACME", "2024-07-01", "2024-07-05")  # same URL: cached, no second hit
    assert (empty.ok, empty.status) == (False, "error")
    assert empty.message.startswith("not found: market data provider has no daily prices for ACME")
    assert "2024-06-21 to 2024-06-28" in empty.message


@pytest.mark.parametrize(
    ("file", "status", "fragment"),
    [
        ("alphavantage_note.json", "unavailable", "5 calls per minute"),
        ("alphavantage_information.json", "unavailable", "25 requests per day"),
        ("alphavantage_error_message.json", "invalid-input", "Invalid API call"),
        ("alphavantage_global_quote_empty.json", "invalid-input", "no quote for symbol ZZZZ"),
    ],
)
def test_provider_error_shapes(
    server: RecordedServer, file: str, status: str, fragment: str
) -> None:
    server.serve("GLOBAL_QUOTE:ZZZZ", file=file)
    tool = market(server)
    result = tool.quote("ZZZZ")
    assert (result.ok, result.status, result.data) == (False, status, None)
    assert fragment in result.message
    if status == "unavailable":
        assert result.message.startswith("live data unavailable: market data provider says:")
    # error bodies are not cached: the next call asks the provider again
    tool.quote("ZZZZ")
    assert server.hits["GLOBAL_QUOTE:ZZZZ"] == 2


def test_timeout_is_reported_quickly(server: RecordedServer) -> None:
    server.serve("GLOBAL_QUOTE:SLOW", file="alphavantage_global_quote_ACME.json", delay=3.0)
    started = time.monotonic()
    result = market(server, timeout_s=0.3).quote("SLOW")
    elapsed = time.monotonic() - started
    assert (result.ok, result.status) == (False, "unavailable")
    assert "did not answer within 0.3 s" in result.message
    assert "FINRAG_TOOLS__TIMEOUT_S" in result.message
    assert elapsed < 1.0
    assert server.hits["GLOBAL_QUOTE:SLOW"] == 1  # a timeout is not retried


def test_a_trickling_body_is_cut_off_at_the_deadline(server: RecordedServer) -> None:
    server.serve("GLOBAL_QUOTE:DRIP", file="alphavantage_global_quote_ACME.json", trickle=0.05)
    started = time.monotonic()
    result = market(server, timeout_s=0.4).quote("DRIP")
    assert result.status == "unavailable"
    assert time.monotonic() - started < 1.0  # the whole body would take ~17 s


@pytest.mark.parametrize(
    ("code", "status", "fragment"),
    [
        (500, "unavailable", "HTTP 500"),
        (503, "unavailable", "HTTP 503"),
        (429, "unavailable", "rate-limiting"),
        (403, "error", "refused the request with HTTP 403"),
        (404, "error", "not found"),
    ],
)
def test_http_error_codes(server: RecordedServer, code: int, status: str, fragment: str) -> None:
    server.serve("GLOBAL_QUOTE:ACME", body=b'{"detail": "down"}', status=code)
    tool = market(server)
    result = tool.quote("ACME")
    assert (result.ok, result.status) == (False, status)
    assert fragment in result.message
    tool.quote("ACME")
    assert server.hits["GLOBAL_QUOTE:ACME"] == 2  # failures are not cached


def test_malformed_json_is_an_error(server: RecordedServer) -> None:
    server.serve("GLOBAL_QUOTE:ACME", body=b'{"Global Quote": {"01. symbol": "ACME", ')
    result = market(server).quote("ACME")
    assert (result.ok, result.status) == (False, "error")
    assert "malformed JSON" in result.message


def test_unexpected_shape_is_an_error_not_an_exception(server: RecordedServer) -> None:
    server.serve(
        "GLOBAL_QUOTE:ACME", body=b'{"Global Quote": {"01. symbol": "ACME", "05. price": "n/a"}}'
    )
    result = market(server).quote("ACME")
    assert (result.ok, result.status) == (False, "error")
    assert "unexpected shape" in result.message and "price" in result.message


def test_connection_refused_is_retried_once_then_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tool = MarketDataTool(
        ToolSettings(market_data_url=f"http://127.0.0.1:{port}/query", timeout_s=1.0)
    )
    started = time.monotonic()
    result = tool.quote("ACME")
    assert (result.ok, result.status) == (False, "unavailable")
    assert result.message.startswith(
        "live data unavailable: cannot connect to market data provider"
    )
    assert time.monotonic() - started < 1.0


def test_a_refused_connection_is_retried_once(
    server: RecordedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve("GLOBAL_QUOTE:ACME", file="alphavantage_global_quote_ACME.json")
    send = httpx.HTTPTransport.handle_request
    attempts: list[str] = []

    def refuse_first(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        if len(attempts) == 1:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return send(transport, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse_first)
    result = market(server).quote("ACME")
    assert (result.ok, result.status) == (True, "ok")
    assert len(attempts) == 2 and server.hits["GLOBAL_QUOTE:ACME"] == 1


def test_proxy_environment_is_honoured(
    server: RecordedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve("GLOBAL_QUOTE:ACME", file="alphavantage_global_quote_ACME.json")
    for name in ("HTTP_PROXY", "http_proxy"):  # either spelling may be set around the tests
        monkeypatch.setenv(name, server.base)  # the recorded server doubles as a forward proxy
    remote = MarketDataTool(
        ToolSettings(market_data_url="http://quotes.finrag.invalid/query", timeout_s=2.0)
    )
    assert remote.quote("ACME").ok
    proxied = server.requests[-1]
    assert proxied["path"].startswith("http://quotes.finrag.invalid/query?")
    assert proxied["headers"]["Host"] == "quotes.finrag.invalid"
    # NO_PROXY (127.0.0.1, set by the fixture) still goes direct
    assert market(server).quote("ACME").ok
    assert server.requests[-1]["path"].startswith("/query?")


def test_unconfigured_market_data_names_the_setting() -> None:
    result = MarketDataTool(ToolSettings()).quote("IBM")
    assert (result.ok, result.status) == (False, "unavailable")
    assert result.message == (
        "live data unavailable: market data provider not configured "
        "(set FINRAG_TOOLS__MARKET_DATA_URL)"
    )


def test_invalid_market_arguments_never_reach_the_provider(server: RecordedServer) -> None:
    tool = market(server)
    cases = [
        ({"symbol": "IBM; DROP TABLE"}, "not a ticker symbol"),
        ({"symbol": "../etc/passwd"}, "not a ticker symbol"),
        ({"operation": "history", "symbol": "IBM"}, "needs a start date"),
        (
            {"operation": "history", "symbol": "IBM", "start": "2024-06-28", "end": "2024-06-01"},
            "before start",
        ),
        ({"operation": "history", "symbol": "IBM", "start": "yesterday"}, "start"),
        ({"operation": "delete", "symbol": "IBM"}, "operation"),
    ]
    for args, fragment in cases:
        result = tool.run(args)
        assert result.status == "invalid-input", args
        assert fragment in result.message, (args, result.message)
    assert server.hits == Counter()


# -- company facts --------------------------------------------------------------------------------

FACTS_PATH = "/api/xbrl/companyfacts/CIK0000000042.json"


def facts_over_http(server: RecordedServer, **overrides: Any) -> CompanyFactsTool:
    server.serve(FACTS_PATH, file="sec_companyfacts_CIK0000000042.json")
    settings = ToolSettings(
        company_facts_url=f"{server.base}/api/xbrl/companyfacts/", timeout_s=2.0, **overrides
    )
    return CompanyFactsTool(settings)


def fact(result: ToolResult) -> CompanyFact:
    assert result.ok, result.message
    return result.output(CompanyFact)


def test_company_fact_over_http_with_restatement_and_dedupe(server: RecordedServer) -> None:
    tool = facts_over_http(server)
    result = tool.fact("Revenues", cik=42, fiscal_year=2023)
    revenue = fact(result)
    # "Revenues" is absent: the alias RevenueFromContractWithCustomerExcludingAssessedTax answers
    assert revenue.concept == "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax"
    assert revenue.entity_name == "Acme Widgets Inc." and revenue.unit == "USD"
    assert (revenue.period_start, revenue.period_end) == (date(2022, 10, 1), date(2023, 9, 30))
    assert (
        revenue.value == 2_255_400_000
        and revenue.form == "10-K"
        and revenue.filed == date(2023, 11, 3)
    )
    assert revenue.restated is True
    assert [(v.value, v.filed) for v in revenue.values] == [
        (2_260_100_000, date(2024, 11, 1)),
        (2_255_400_000, date(2023, 11, 3)),
    ]
    assert result.message == (
        "Acme Widgets Inc. Revenue from Contract with Customer, Excluding Assessed Tax for FY2023 "
        "(period ending 2023-09-30): 2,255,400,000 USD, as reported in 10-K filed 2023-11-03; "
        "also reported as 2,260,100,000 (10-K filed 2024-11-01)"
    )
    assert result.source == f"{server.base}{FACTS_PATH}"
    assert server.requests[-1]["headers"]["User-Agent"] == "finrag/0.1 (analyst tooling)"

    # the same figure in two 10-Ks is one value, from the latest filing
    fy2022 = fact(tool.fact("revenue", cik="CIK0000000042", fiscal_year=2022))
    assert fy2022.value == 1_883_400_000 and not fy2022.restated
    assert [(v.value, v.filed, v.fiscal_year) for v in fy2022.values] == [
        (1_883_400_000, date(2023, 11, 3), 2023)
    ]
    # one download served every call
    assert server.hits[FACTS_PATH] == 1
    assert tool.fact("revenue", cik=42, fiscal_year=2022).cached is True


def test_company_fact_period_selection(server: RecordedServer) -> None:
    tool = facts_over_http(server)
    # before ASC 606 the company used SalesRevenueNet
    fy2018 = fact(tool.fact("net sales", cik=42, fiscal_year=2018))
    assert (fy2018.concept, fy2018.value) == ("us-gaap:SalesRevenueNet", 1_420_000_000)
    # Q2: the three-month figure, not the six-month year-to-date one
    q2 = fact(tool.fact("revenue", cik=42, fiscal_year=2024, fiscal_period="Q2"))
    assert (q2.value, q2.period_start) == (590_000_000, date(2024, 1, 1))
    # Q1 2024: the current quarter, not the prior-year comparative in the same 10-Q
    q1 = fact(tool.fact("revenue", cik=42, fiscal_year=2024, fiscal_period="Q1"))
    assert (q1.value, q1.period_end) == (610_000_000, date(2023, 12, 31))
    # no year: the latest fiscal year reported
    latest = fact(tool.fact("revenue", cik=42))
    assert (latest.fiscal_year, latest.value) == (2024, 2_400_000_000)
    # an amendment (10-K/A) of the same year supersedes the original
    income = fact(tool.fact("net income", cik=42, fiscal_year=2023))
    assert (income.value, income.form) == (312_000_000, "10-K/A")
    assert sorted(v.value for v in income.values) == [310_500_000, 312_000_000]
    assert income.restated is False  # the other figure was filed earlier, not later
    # instants (balance sheet) and per-share units
    assets = fact(tool.fact("total assets", cik=42, fiscal_year=2023))
    assert (assets.value, assets.period_start, assets.period_end) == (
        3_100_000_000,
        None,
        date(2023, 9, 30),
    )
    eps = fact(tool.fact("diluted EPS", cik=42, fiscal_year=2023))
    assert (eps.unit, eps.value) == ("USD/shares", 3.1)
    capex = fact(tool.fact("capex", cik=42, fiscal_year=2023))
    assert (capex.concept, capex.value) == (
        "us-gaap:PaymentsToAcquirePropertyPlantAndEquipment",
        120_000_000,
    )
    # FY2022's own 10-K is not in the data: the comparative in the FY2023 10-K answers
    prior = fact(tool.fact("capex", cik=42, fiscal_year=2022))
    assert (prior.value, prior.period_end, prior.filed) == (
        95_000_000,
        date(2022, 9, 30),
        date(2023, 11, 3),
    )
    prior_assets = fact(tool.fact("Assets", cik=42, fiscal_year=2022))
    assert (prior_assets.value, prior_assets.period_end) == (2_800_000_000, date(2022, 9, 30))
    # FY2021 revenue only appears in the FY2022 10-K, as a comparative
    fy2021 = fact(tool.fact("revenue", cik=42, fiscal_year=2021))
    assert (fy2021.value, fy2021.period_end) == (1_650_000_000, date(2021, 9, 30))


def test_company_fact_not_found_messages(server: RecordedServer) -> None:
    tool = facts_over_http(server)
    missing_year = tool.fact("revenue", cik=42, fiscal_year=2015)
    assert (missing_year.ok, missing_year.status) == (False, "error")
    assert missing_year.message.startswith("not found: Acme Widgets Inc. has no us-gaap:")
    assert "FY2015" in missing_year.message
    missing_concept = tool.fact("GoodwillImpairmentLoss", cik=42, fiscal_year=2023)
    assert missing_concept.message == (
        "not found: Acme Widgets Inc. reports none of GoodwillImpairmentLoss in its company facts"
    )
    wrong_unit = tool.fact("Assets", cik=42, fiscal_year=2023, unit="EUR")
    assert "in EUR (units reported: USD)" in wrong_unit.message
    unknown_company = tool.fact("revenue", cik=7, fiscal_year=2023)
    assert (unknown_company.status, unknown_company.message[:10]) == ("error", "not found:")
    assert "CIK 7" in unknown_company.message


def test_company_facts_from_a_local_folder(tmp_path: Path) -> None:
    shutil.copy(RECORDED / "sec_companyfacts_CIK0000000042.json", tmp_path / "CIK0000000042.json")
    shutil.copy(RECORDED / "sec_company_tickers.json", tmp_path / "company_tickers.json")
    tool = CompanyFactsTool(ToolSettings(company_facts_dir=tmp_path))
    result = tool.fact("revenue", ticker="acme", fiscal_year=2023)
    assert fact(result).value == 2_255_400_000
    assert result.source == str(tmp_path / "CIK0000000042.json")
    assert result.args["ticker"] == "ACME"

    unknown = tool.fact("revenue", ticker="NOPE", fiscal_year=2023)
    assert unknown.status == "invalid-input"
    assert (
        "unknown ticker NOPE" in unknown.message
        and "FINRAG_TOOLS__COMPANY_FACTS_DIR" in unknown.message
    )
    absent = tool.fact("revenue", cik=320193, fiscal_year=2023)
    assert absent.status == "error"
    assert absent.message == f"not found: no company facts file CIK0000320193.json in {tmp_path}"

    (tmp_path / "CIK0000000043.json").write_text("{not json", encoding="utf-8")
    broken = tool.fact("revenue", cik=43)
    assert broken.status == "error" and "cannot read" in broken.message


def test_an_updated_local_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "CIK0000000042.json"
    shutil.copy(RECORDED / "sec_companyfacts_CIK0000000042.json", path)
    tool = CompanyFactsTool(ToolSettings(company_facts_dir=tmp_path))
    assert fact(tool.fact("revenue", cik=42, fiscal_year=2023)).entity_name == "Acme Widgets Inc."
    document = json.loads(path.read_text(encoding="utf-8"))
    document["entityName"] = "Acme Widgets Holdings Inc."
    path.write_text(json.dumps(document), encoding="utf-8")
    later = path.stat().st_mtime_ns + 2_000_000_000  # coarse file-system clocks
    os.utime(path, ns=(later, later))
    renamed = fact(tool.fact("revenue", cik=42, fiscal_year=2023))
    assert renamed.entity_name == "Acme Widgets Holdings Inc."


def test_local_folder_falls_back_to_the_url(server: RecordedServer, tmp_path: Path) -> None:
    server.serve(FACTS_PATH, file="sec_companyfacts_CIK0000000042.json")
    tool = CompanyFactsTool(
        ToolSettings(
            company_facts_dir=tmp_path, company_facts_url=f"{server.base}/api/xbrl/companyfacts"
        )
    )
    assert fact(tool.fact("revenue", cik=42, fiscal_year=2023)).value == 2_255_400_000
    assert server.hits[FACTS_PATH] == 1


def test_unconfigured_company_facts_names_both_settings() -> None:
    result = CompanyFactsTool(ToolSettings()).fact("revenue", cik=42, fiscal_year=2023)
    assert (result.ok, result.status) == (False, "unavailable")
    assert result.message.startswith("live data unavailable: company facts source not configured")
    assert "FINRAG_TOOLS__COMPANY_FACTS_DIR" in result.message
    assert "FINRAG_TOOLS__COMPANY_FACTS_URL" in result.message


def test_company_facts_argument_validation() -> None:
    tool = CompanyFactsTool(ToolSettings())
    for args, fragment in [
        ({"concept": "revenue"}, "cik (preferred) or ticker"),
        ({"cik": "12ab", "concept": "revenue"}, "not a CIK"),
        ({"cik": 42, "concept": "revenue", "fiscal_period": "Q4"}, "fiscal_period"),
        ({"cik": 42, "concept": "revenue", "fiscal_year": 1066}, "fiscal_year"),
    ]:
        result = tool.run(args)
        assert result.status == "invalid-input", args
        assert fragment in result.message, (args, result.message)


# -- registry and fetcher -------------------------------------------------------------------------


def test_registry_from_settings_routes_calls_and_never_raises(
    server: RecordedServer, settings: Settings
) -> None:
    server.serve("GLOBAL_QUOTE:ACME", file="alphavantage_global_quote_ACME.json")
    tools = ToolSettings(market_data_url=f"{server.base}/query", timeout_s=2.0)
    registry = build_tools(settings.model_copy(update={"tools": tools}))
    assert registry.names() == ["calculator", "company_facts", "market_data"]
    assert registry.configured() == ["calculator", "market_data"]
    assert [spec["function"]["name"] for spec in registry.specs()] == registry.names()

    ok = registry.call("market_data", {"operation": "quote", "symbol": "ACME"})
    assert ok.status == "ok" and ok.output(MarketData).quote.price == 102.75  # type: ignore[union-attr]
    unknown = registry.call("stock_picker", {"symbol": "ACME"})
    assert (unknown.status, unknown.message) == (
        "error",
        "unknown tool 'stock_picker'; known tools: calculator, company_facts, market_data",
    )
    invalid = registry.call("market_data", {"symbol": 42, "colour": "red"})
    assert invalid.status == "invalid-input"
    assert "colour: Extra inputs are not permitted" in invalid.message
    assert registry.call("market_data", "not json").status == "invalid-input"
    assert registry.call("market_data", ["ACME"]).status == "invalid-input"  # type: ignore[arg-type]
    facts = registry.call("company_facts", {"cik": 42, "concept": "revenue"})
    assert facts.status == "unavailable"
    # a round trip through JSON (agent state, checkpoints) keeps every field
    assert ToolResult.model_validate(json.loads(ok.model_dump_json())) == ok


def test_registry_offers_only_configured_tools() -> None:
    class OfflineFeed:
        """A Tool written without BaseTool, whose provider is not set up."""

        name = "offline_feed"
        description = "Prices from a feed that is not configured here."
        input_model = BaseModel
        output_model = BaseModel
        configured = False

        def run(self, args: Any) -> ToolResult:
            return ToolResult(tool=self.name, ok=False, status="unavailable", message="no feed")

    feed = OfflineFeed()
    assert isinstance(feed, Tool)
    registry = ToolRegistry([CalculatorTool(), feed])
    assert registry.names() == ["calculator", "offline_feed"]
    assert registry.configured() == ["calculator"]


def test_fetcher_rejects_a_bad_url_without_raising() -> None:
    fetched = JsonFetcher(timeout_s=0.5).get_json("http://[::1", provider="test provider")
    assert (fetched.ok, fetched.status) == (False, "error")
    assert "not valid" in fetched.message
