"""Any OpenAI-compatible chat-completions endpoint (LLM backend name ``openai``).

Contract: the :class:`~agent.llm.base.LLM` protocol plus streaming and tool calling, over one
``POST {base_url}/chat/completions`` (vLLM, Ollama, llama.cpp server, OpenAI itself).

- ``generate(messages)`` returns the assistant's text, stripped (greedy: ``temperature`` 0).
- ``stream(messages)`` yields text deltas as the server sends them (server-sent events, ending
  at ``data: [DONE]``).
- ``chat(messages, tools)`` returns a :class:`ChatResult`: the text and the parsed tool calls.
  A tool call whose arguments are not a JSON object carries an ``error`` instead of raising,
  so an agent can tell the model what went wrong.

Each :class:`~agent.llm.base.Message` image (a local path) travels as an OpenAI ``image_url``
content part holding a base64 data URL; ``http(s)://`` and ``data:`` URLs pass through as-is.

Every request is bounded by ``settings.timeout_s``; connection errors, timeouts, HTTP 429 and
5xx are retried ``settings.max_retries`` times with short exponential backoff. Other 4xx are not
retried. Failures raise :class:`LLMError` (a :class:`~core.errors.FinragError`) naming the URL
and the setting to check; a missing ``base_url`` or ``model`` raises
:class:`~core.errors.ConfigError` at construction.

Example:
    >>> settings = OpenAIOptions(base_url="http://localhost:8000/v1",
    ...                        model="Qwen/Qwen3-VL-4B-Instruct")
    >>> llm = OpenAICompatLLM(settings)
    >>> llm.generate([Message(role="user", content="Total revenue?", images=["p12.png"])])
    ... # doctest: +SKIP
    'Total revenue was $4.2 billion (page 12).'
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from agent.llm.base import Message
from core.errors import ConfigError, FinragError
from core.options import OpenAIOptions

logger = logging.getLogger(__name__)

BASE_URL_SETTING = "FINRAG_LLM__BASE_URL"
MODEL_SETTING = "FINRAG_LLM__MODEL"
API_KEY_SETTING = "FINRAG_LLM__API_KEY"


class LLMError(FinragError):
    """The LLM endpoint failed (unreachable, timed out, refused the request, bad response)."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class ToolCall(BaseModel):
    """One function call requested by the model."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str = ""  # exactly what the server sent, for error messages and logs
    error: str | None = None  # set when the arguments could not be parsed; arguments is then {}


class ChatResult(BaseModel):
    """The assistant's turn: its text (may be empty when it only calls tools) and tool calls."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None


class OpenAICompatLLM:
    """Chat completions over HTTP against an OpenAI-compatible server."""

    name = "openai"

    def __init__(
        self,
        settings: OpenAIOptions | None = None,
        *,
        temperature: float = 0.0,
        backoff_s: float = 0.25,
        max_backoff_s: float = 4.0,
        transport: httpx.BaseTransport | None = None,
        **_: object,
    ) -> None:
        self.settings = settings or OpenAIOptions()
        if not self.settings.base_url:
            raise ConfigError(
                f"the openai LLM backend needs an endpoint: set {BASE_URL_SETTING} "
                "(e.g. http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for Ollama)"
            )
        if not self.settings.model:
            raise ConfigError(
                f"the openai LLM backend needs a model name: set {MODEL_SETTING} to a model the "
                f"server at {self.settings.base_url} serves"
            )
        self.url = self.settings.base_url.rstrip("/") + "/chat/completions"
        self.temperature = temperature
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._transport = transport
        self._client: httpx.Client | None = None

    # -- public API ---------------------------------------------------------------------------

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None) -> str:
        """The assistant's reply text, stripped."""
        return self.chat(messages, max_new_tokens=max_new_tokens).text.strip()

    def chat(
        self,
        messages: list[Message | dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        max_new_tokens: int | None = None,
    ) -> ChatResult:
        """One completion, with optional tools (OpenAI ``{"type": "function", ...}`` specs).

        Args:
            messages: the conversation; plain dicts pass through unchanged, which is how a
                caller sends ``tool`` results (with ``tool_call_id``) and assistant tool calls.
            tools: function specs offered to the model; ``None`` offers none.
            max_new_tokens: reply budget; default ``settings.max_new_tokens``.

        Returns:
            The text and parsed tool calls; a call with unparseable arguments has ``error`` set.
        """
        payload = self._payload(messages, max_new_tokens=max_new_tokens)
        if tools:
            payload["tools"] = tools
        response = self._send(payload, stream=False)
        try:
            body = response.json()
            choice = body["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMError(
                f"LLM endpoint {self.url} returned no chat completion "
                f"({_excerpt(response.text)!r}); check {BASE_URL_SETTING} points at an "
                "OpenAI-compatible /v1 API",
                url=self.url,
                status=response.status_code,
            ) from None
        return ChatResult(
            text=message.get("content") or "",
            tool_calls=[
                _tool_call(raw, i) for i, raw in enumerate(message.get("tool_calls") or [])
            ],
            finish_reason=choice.get("finish_reason"),
        )

    def stream(
        self, messages: list[Message | dict[str, Any]], *, max_new_tokens: int | None = None
    ) -> Iterator[str]:
        """Yield reply text deltas as they arrive (the request is sent on first ``next``).

        Only the request itself is retried; a failure after text has started raises
        :class:`LLMError` rather than repeating text the caller already has.
        """
        payload = self._payload(messages, max_new_tokens=max_new_tokens)
        payload["stream"] = True
        response = self._send(payload, stream=True)
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": keep-alive" comments, event:/id: fields
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except ValueError:
                    raise LLMError(
                        f"LLM endpoint {self.url} sent an unreadable stream event "
                        f"({_excerpt(data)!r})",
                        url=self.url,
                    ) from None
                if isinstance(event, dict) and event.get("error"):
                    raise LLMError(
                        f"LLM endpoint {self.url} failed mid-stream: {_error_detail(event)}",
                        url=self.url,
                    )
                for choice in event.get("choices") or []:  # usage-only chunks have none
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        except httpx.TimeoutException:
            raise LLMError(
                f"LLM endpoint {self.url} stopped sending for more than "
                f"{self.settings.timeout_s:g}s mid-stream; raise FINRAG_LLM__TIMEOUT_S or check "
                "the server",
                url=self.url,
            ) from None
        except httpx.TransportError as exc:
            raise LLMError(
                f"LLM endpoint {self.url} dropped the stream ({exc}); check the server",
                url=self.url,
            ) from None
        finally:
            response.close()

    def close(self) -> None:
        """Close the pooled HTTP connections (a later call opens new ones)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> OpenAICompatLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _payload(
        self, messages: list[Message | dict[str, Any]], *, max_new_tokens: int | None
    ) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": [m if isinstance(m, dict) else self._message(m) for m in messages],
            "temperature": self.temperature,
            "max_tokens": max_new_tokens or self.settings.max_new_tokens,
        }

    def _message(self, message: Message) -> dict[str, Any]:
        if not message.images:
            # Plain string content: text-only servers (and llama.cpp's templates) reject lists.
            return {"role": message.role, "content": message.content}
        parts: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": self._image_url(p)}} for p in message.images
        ]
        parts.append({"type": "text", "text": message.content})
        return {"role": message.role, "content": parts}

    def _image_url(self, image: str) -> str:
        if image.startswith(("http://", "https://", "data:")):
            return image
        path = Path(image)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LLMError(
                f"cannot read image {path} for the LLM request ({exc.strerror}); re-render the "
                "page or drop the image from the message",
                url=self.url,
            ) from None
        mime = mimetypes.guess_type(path.name)[0] or "image/png"
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def _http(self) -> httpx.Client:
        if self._client is None:
            headers = {"Accept": "application/json"}
            if self.settings.api_key:
                headers["Authorization"] = f"Bearer {self.settings.api_key}"
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.settings.timeout_s),
                headers=headers,
                transport=self._transport,
            )
        return self._client

    def _send(self, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        """POST with retries; returns a 2xx response (open, when ``stream``) or raises."""
        client = self._http()
        attempts = max(0, self.settings.max_retries) + 1
        reason = ""
        status: int | None = None
        for attempt in range(attempts):
            try:
                request = client.build_request("POST", self.url, json=payload)
                response = client.send(request, stream=stream)
            except httpx.TimeoutException:
                status, reason = None, f"no response within {self.settings.timeout_s:g}s"
            except httpx.TransportError as exc:
                status, reason = None, f"cannot connect ({str(exc) or type(exc).__name__})"
            else:
                if response.status_code < 400:
                    return response
                if stream:
                    response.read()
                response.close()
                status = response.status_code
                reason = f"HTTP {status}: {_error_detail(_json_or_text(response))}"
                if status != 429 and status < 500:
                    raise LLMError(
                        f"LLM endpoint {self.url} refused the request ({reason}); "
                        f"{_hint_for(status)}",
                        url=self.url,
                        status=status,
                    )
            if attempt + 1 < attempts:
                delay = min(self.backoff_s * 2**attempt, self.max_backoff_s)
                logger.warning(
                    "LLM request to %s failed (%s); retry %d/%d in %.2fs",
                    self.url,
                    reason,
                    attempt + 1,
                    attempts - 1,
                    delay,
                )
                time.sleep(delay)
        raise LLMError(
            f"LLM endpoint {self.url} failed after {attempts} attempt(s) ({reason}); check the "
            f"server is running and {BASE_URL_SETTING} / {MODEL_SETTING} are right",
            url=self.url,
            status=status,
        )


def _tool_call(raw: dict[str, Any], index: int) -> ToolCall:
    """Parse one OpenAI tool call; bad arguments become ``error``, never an exception."""
    function = raw.get("function") or {}
    name = function.get("name") or ""
    call_id = raw.get("id") or f"call_{index}"
    arguments = function.get("arguments")
    if isinstance(arguments, dict):  # Ollama sends an object rather than a JSON string
        return ToolCall(
            id=call_id, name=name, arguments=arguments, raw_arguments=json.dumps(arguments)
        )
    raw_arguments = arguments if isinstance(arguments, str) else ""
    error: str | None = None
    parsed: dict[str, Any] = {}
    if not name:
        error = "tool call has no function name"
    if raw_arguments.strip():
        try:
            value = json.loads(raw_arguments)
        except ValueError as exc:
            error = f"arguments are not valid JSON ({exc.msg} at char {exc.pos})"
        else:
            if isinstance(value, dict):
                parsed = value
            else:
                error = f"arguments must be a JSON object, got {type(value).__name__}"
    elif arguments is not None and not isinstance(arguments, str):
        error = f"arguments must be a JSON object string, got {type(arguments).__name__}"
    if error:
        logger.warning("tool call %s (%s): %s", call_id, name or "?", error)
    return ToolCall(
        id=call_id, name=name, arguments=parsed, raw_arguments=raw_arguments, error=error
    )


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _error_detail(body: Any) -> str:
    """The server's own error message (OpenAI ``{"error": {"message"}}`` or Ollama style)."""
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, dict):
            error = error.get("message", error)
        return _excerpt(str(error))
    return _excerpt(str(body)) or "empty body"


def _hint_for(status: int) -> str:
    if status in (401, 403):
        return f"check {API_KEY_SETTING}"
    if status == 404:
        return f"check {BASE_URL_SETTING} (usually ends in /v1) and {MODEL_SETTING}"
    return f"check {MODEL_SETTING} and that the server supports this request (images, tools)"


def _excerpt(text: str, limit: int = 200) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
