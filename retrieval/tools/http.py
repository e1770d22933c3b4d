"""JSON over HTTP for the live-data tools: bounded in time, cached, and never raising.

:meth:`JsonFetcher.get_json` returns a :class:`Fetched` whose ``status`` follows the tool contract:

- timeout, connection refused or reset, HTTP 5xx, HTTP 429 -> ``"unavailable"`` (provider down or
  rate-limited: try later);
- HTTP 404 -> ``"error"`` ("not found"); other HTTP 4xx -> ``"error"`` (the request was refused);
- a body that is not JSON, or larger than ``max_bytes`` -> ``"error"``.

Time: the call (connect, headers, body) is bounded by ``timeout_s`` from settings; a server that
trickles bytes is cut off at the deadline too. A refused connection, which fails at once, is
retried once after 50 ms (``httpx-retries``); a timeout is not retried (that would double the
wait), nor are 429 and 5xx (the provider's answer: ``"unavailable"``, try later).

Cache: successful replies are kept in process for ``cache_ttl_s`` seconds (a ``cachetools``
``TTLCache`` of ``max_entries``, least recently used out first; ``cache_ttl_s <= 0`` disables it),
keyed by the full URL (query and key included); a cache hit comes back with ``cached=True`` and the
original ``fetched_at``. Callers pass ``accept`` to keep provider error bodies (served with HTTP
200) out of the cache. ``source`` is the URL with secret query parameters (``apikey``...) removed.

Proxies: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` apply as for any httpx
client.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from cachetools import TTLCache
from httpx._utils import get_environment_proxies  # no public equivalent; see _retrying_client
from httpx_retries import Retry, RetryTransport

from core.records import ToolStatus, utc_now
from core.settings import ToolSettings

logger = logging.getLogger(__name__)

SECRET_PARAMS = ("apikey", "api_key", "apiKey", "token", "access_token", "key")
_RETRY_PAUSE_S = 0.05


class _ConnectRetry(Retry):
    """Retry only requests that never reached the provider (a refused connection)."""

    def is_retryable_status_code(self, status_code: int) -> bool:
        # Retry's status list cannot be emptied (an empty one means its defaults): 429 and 5xx
        # are the provider's answer and are reported, not repeated.
        return False


# httpx-retries waits backoff_factor * 2 before the first retry.
_RETRY = _ConnectRetry(
    total=1,
    retry_on_exceptions=[httpx.ConnectError],
    backoff_factor=_RETRY_PAUSE_S / 2,
    backoff_jitter=0.0,
)


def _retrying_client(headers: Mapping[str, str]) -> httpx.Client:
    """An httpx client whose every route (direct or through an environment proxy) retries.

    httpx ignores proxy environment variables once a transport is given (encode/httpx#1122), so
    the routes it would mount are rebuilt from its own reading of the environment, each wrapped
    in the retrying transport.
    """
    mounts: dict[str, httpx.BaseTransport | None] = {
        pattern: RetryTransport(httpx.HTTPTransport(proxy=proxy), retry=_RETRY)
        for pattern, proxy in get_environment_proxies().items()
    }
    return httpx.Client(
        headers=headers,
        follow_redirects=True,
        transport=RetryTransport(httpx.HTTPTransport(), retry=_RETRY),
        mounts=mounts,
    )


@dataclass(frozen=True)
class Fetched:
    """The outcome of one :meth:`JsonFetcher.get_json` call."""

    ok: bool
    status: ToolStatus
    message: str
    source: str
    data: Any = None
    cached: bool = False
    fetched_at: datetime = field(default_factory=utc_now)
    http_status: int | None = None


class JsonFetcher:
    """GET JSON with a deadline, a User-Agent, one retry on refused connections and a TTL cache.

    Example:
        >>> fetcher = JsonFetcher(timeout_s=2.0, cache_ttl_s=60.0)
        >>> fetched = fetcher.get_json("https://example.org/q", {"symbol": "IBM"}, provider="q")
        >>> fetched.status in ("ok", "unavailable", "error")  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        cache_ttl_s: float = 300.0,
        user_agent: str = "finrag/0.1 (analyst tooling)",
        max_entries: int = 256,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.timeout_s = float(timeout_s)
        self.cache_ttl_s = float(cache_ttl_s)
        self.user_agent = user_agent
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        # (fetched_at, data) by URL; None when caching is off
        self._cache: TTLCache[str, tuple[datetime, Any]] | None = (
            TTLCache(maxsize=max_entries, ttl=self.cache_ttl_s) if self.cache_ttl_s > 0 else None
        )
        self._lock = threading.Lock()  # TTLCache is not thread-safe; tools may run in threads
        self._client: httpx.Client | None = None

    @classmethod
    def from_settings(cls, settings: ToolSettings) -> JsonFetcher:
        return cls(
            timeout_s=settings.timeout_s,
            cache_ttl_s=settings.cache_ttl_s,
            user_agent=settings.user_agent,
        )

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = _retrying_client(
                    {"User-Agent": self.user_agent, "Accept": "application/json"}
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def clear_cache(self) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.clear()

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        provider: str = "provider",
        accept: Callable[[Any], bool] | None = None,
    ) -> Fetched:
        """GET ``url`` with ``params`` and decode JSON; never raises.

        Args:
            url: the endpoint (may already carry a query).
            params: query parameters merged into the URL (``None`` values are dropped).
            provider: how messages name the service, e.g. ``"market data provider"``.
            accept: a predicate on the decoded body; replies it rejects are returned but not cached.
        """
        try:
            request_url = httpx.URL(url)
            if params:
                request_url = request_url.copy_merge_params(
                    {k: str(v) for k, v in params.items() if v is not None}
                )
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            return Fetched(
                False, "error", f"{provider} URL {url!r} is not valid: {exc}", source=url
            )
        key = str(request_url)
        source = _redact(request_url)

        hit = self._cache_get(key)
        if hit is not None:
            fetched_at, data = hit
            logger.debug("cache hit %s", source)
            return Fetched(
                True, "ok", "ok", source, data, cached=True, fetched_at=fetched_at, http_status=200
            )

        fetched = self._fetch(request_url, source, provider)
        if fetched.ok and (accept is None or accept(fetched.data)):
            self._cache_put(key, fetched.fetched_at, fetched.data)
        return fetched

    # -- cache ---------------------------------------------------------------------------------

    def _cache_get(self, key: str) -> tuple[datetime, Any] | None:
        if self._cache is None:
            return None
        with self._lock:
            return self._cache.get(key)

    def _cache_put(self, key: str, fetched_at: datetime, data: Any) -> None:
        if self._cache is None:
            return
        with self._lock:
            self._cache[key] = (fetched_at, data)

    # -- network -------------------------------------------------------------------------------

    def _fetch(self, url: httpx.URL, source: str, provider: str) -> Fetched:
        host = url.host or "?"
        try:
            return self._fetch_once(url, source, provider, time.monotonic() + self.timeout_s)
        except httpx.ConnectError as exc:  # after the transport's retry
            return Fetched(
                False,
                "unavailable",
                f"live data unavailable: cannot connect to {provider} at {host} ({exc})",
                source,
            )
        except httpx.TimeoutException:
            return Fetched(
                False,
                "unavailable",
                f"live data unavailable: {provider} at {host} did not answer within "
                f"{self.timeout_s:g} s (raise FINRAG_TOOLS__TIMEOUT_S if it is merely slow)",
                source,
            )
        except httpx.HTTPError as exc:  # reset, protocol error, broken transfer
            return Fetched(
                False,
                "unavailable",
                f"live data unavailable: {provider} at {host} broke the connection "
                f"({type(exc).__name__}: {exc})",
                source,
            )

    def _fetch_once(self, url: httpx.URL, source: str, provider: str, deadline: float) -> Fetched:
        timeout = httpx.Timeout(self.timeout_s)
        with self._http().stream("GET", url, timeout=timeout) as response:
            code = response.status_code
            if code >= 500:
                return Fetched(
                    False,
                    "unavailable",
                    f"live data unavailable: {provider} returned HTTP {code} (server error); "
                    "try later",
                    source,
                    http_status=code,
                )
            if code == 429:
                return Fetched(
                    False,
                    "unavailable",
                    f"live data unavailable: {provider} is rate-limiting requests (HTTP 429); "
                    "try later",
                    source,
                    http_status=code,
                )
            if code == 404:
                return Fetched(
                    False,
                    "error",
                    f"not found: {provider} has nothing at {source} (HTTP 404)",
                    source,
                    http_status=code,
                )
            if code >= 400:
                return Fetched(
                    False,
                    "error",
                    f"{provider} refused the request with HTTP {code}; "
                    "check the URL and key settings",
                    source,
                    http_status=code,
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    return Fetched(
                        False,
                        "error",
                        f"{provider} sent more than {self.max_bytes // (1024 * 1024)} MiB; "
                        "refusing it",
                        source,
                        http_status=code,
                    )
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("deadline passed while reading the body")
        try:
            data = json.loads(body)
        except ValueError:
            snippet = bytes(body[:60]).decode("utf-8", "replace").replace("\n", " ")
            return Fetched(
                False,
                "error",
                f"{provider} returned malformed JSON (starts with {snippet!r})",
                source,
                http_status=code,
            )
        return Fetched(True, "ok", "ok", source, data, http_status=code)


def _redact(url: httpx.URL) -> str:
    for name in SECRET_PARAMS:
        if name in url.params:
            url = url.copy_remove_param(name)
    return str(url)
