"""Any OpenAI-compatible chat-completions endpoint (LLM backend name ``openai``).

Contract: the :class:`~agent.llm.base.LLM` protocol plus streaming and tool calling, through the
official ``openai`` SDK's ``chat.completions.create`` against ``settings.base_url`` (vLLM, Ollama,
llama.cpp server, OpenAI itself).

- ``generate(messages)`` returns the assistant's text, stripped (greedy: ``temperature`` 0).
- ``stream(messages)`` yields text deltas as the server sends them (server-sent events, ending
  at ``data: [DONE]``).
- ``chat(messages, tools)`` returns a :class:`ChatResult`: the text and the parsed tool calls.
  A tool call whose arguments are not a JSON object carries an ``error`` instead of raising,
  so an agent can tell the model what went wrong.

Each :class:`~agent.llm.base.Message` image (a local path) travels as an OpenAI ``image_url``
content part holding a base64 data URL; ``http(s)://`` and ``data:`` URLs pass through as-is.

Every attempt is bounded by ``settings.timeout_s``. The SDK retries connection errors, timeouts,
HTTP 408, 409, 429 and 5xx ``settings.max_retries`` times, waiting ``backoff_s`` doubling up to
``max_backoff_s`` between attempts; other 4xx are not retried, and a stream is retried only until
the server accepts the request. Failures raise :class:`LLMError` (a
:class:`~core.errors.FinragError`) naming the URL and the setting to check; a missing
``base_url`` or ``model`` raises :class:`~core.errors.ConfigError` at construction.

Credentials: ``Authorization: Bearer`` carries ``settings.api_key`` and is left out when it is
unset (local servers). The SDK's own ``OPENAI_API_KEY``, ``OPENAI_ORG_ID`` and
``OPENAI_PROJECT_ID`` environment variables are not used, so they never reach another server.

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, Field

from agent.llm.base import Message
from core.errors import ConfigError, FinragError
from core.options import OpenAIOptions

logger = logging.getLogger(__name__)

BASE_URL_SETTING = "FINRAG_LLM__BASE_URL"
MODEL_SETTING = "FINRAG_LLM__MODEL"
API_KEY_SETTING = "FINRAG_LLM__API_KEY"

# The SDK insists on a key; local servers need none, and the header is dropped per request.
_NO_KEY = "not-needed"
# How many retries the SDK had made when it sent a request (a header it adds to every try).
_RETRY_COUNT_HEADER = "x-stainless-retry-count"


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


class _PacedOpenAI(openai.OpenAI):
    """The SDK client with finrag's retry pacing: ``backoff_s`` doubling up to ``max_backoff_s``.

    The SDK has no backoff setting (openai/openai-python#1167), only this hook; without it a
    local server that is still loading would be waited on 0.5 s to 8 s per try.
    """

    def __init__(self, *, url: str, backoff_s: float, max_backoff_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._url = url
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s

    def _calculate_retry_timeout(
        self, remaining_retries: int, options: Any, response_headers: Any = None
    ) -> float:
        retry = self.max_retries - remaining_retries
        delay = min(self._backoff_s * 2**retry, self._max_backoff_s)
        status = "no response" if response_headers is None else "error reply"
        logger.warning(
            "LLM request to %s failed (%s); retry %d/%d in %.2fs",
            self._url,
            status,
            retry + 1,
            self.max_retries,
            delay,
        )
        return delay


class OpenAICompatLLM:
    """Chat completions through the ``openai`` SDK against an OpenAI-compatible server."""

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
        self.max_retries = max(0, self.settings.max_retries)
        self._transport = transport
        self._client: openai.OpenAI | None = None
        # Without a key the SDK's Authorization header is dropped, as the server expects none.
        self._extra_headers: dict[str, Any] = (
            {} if self.settings.api_key else {"Authorization": openai.omit}
        )

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
        completion = self._create(messages, tools=tools, max_new_tokens=max_new_tokens)
        # The SDK hands back a non-JSON body as a str and a JSON one without choices as-is.
        choices = completion.choices if isinstance(completion, ChatCompletion) else None
        message = choices[0].message if choices else None
        if message is None:
            body = completion if isinstance(completion, str) else completion.to_json(indent=None)
            raise LLMError(
                f"LLM endpoint {self.url} returned no chat completion "
                f"({_excerpt(body)!r}); check {BASE_URL_SETTING} points at an "
                "OpenAI-compatible /v1 API",
                url=self.url,
            )
        return ChatResult(
            text=message.content or "",
            tool_calls=[_tool_call(raw, i) for i, raw in enumerate(message.tool_calls or [])],
            finish_reason=choices[0].finish_reason,
        )

    def stream(
        self, messages: list[Message | dict[str, Any]], *, max_new_tokens: int | None = None
    ) -> Iterator[str]:
        """Yield reply text deltas as they arrive (the request is sent on first ``next``).

        Only the request itself is retried; a failure after text has started raises
        :class:`LLMError` rather than repeating text the caller already has.
        """
        chunks = self._create(messages, max_new_tokens=max_new_tokens, stream=True)
        try:
            for chunk in chunks:
                for choice in chunk.choices or []:  # usage-only chunks have none
                    text = choice.delta.content if choice.delta else None
                    if text:
                        yield text
        except openai.APITimeoutError:
            raise LLMError(
                f"LLM endpoint {self.url} stopped sending for more than "
                f"{self.settings.timeout_s:g}s mid-stream; raise FINRAG_LLM__TIMEOUT_S or check "
                "the server",
                url=self.url,
            ) from None
        except openai.APIConnectionError as exc:
            raise LLMError(
                f"LLM endpoint {self.url} dropped the stream ({_cause(exc)}); check the server",
                url=self.url,
            ) from None
        except openai.APIError as exc:  # an {"error": ...} event
            raise LLMError(
                f"LLM endpoint {self.url} failed mid-stream: {_error_detail(exc.body)}",
                url=self.url,
            ) from None
        except ValueError as exc:
            raise LLMError(
                f"LLM endpoint {self.url} sent an unreadable stream event ({exc})", url=self.url
            ) from None
        finally:
            chunks.close()

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

    def _sdk(self) -> openai.OpenAI:
        if self._client is None:
            self._client = _PacedOpenAI(
                url=self.url,
                backoff_s=self.backoff_s,
                max_backoff_s=self.max_backoff_s,
                base_url=self.settings.base_url,
                api_key=self.settings.api_key or _NO_KEY,
                timeout=self.settings.timeout_s,
                max_retries=self.max_retries,
                default_headers={"OpenAI-Organization": openai.omit, "OpenAI-Project": openai.omit},
                http_client=httpx.Client(transport=self._transport) if self._transport else None,
            )
        return self._client

    def _create(
        self,
        messages: list[Message | dict[str, Any]],
        *,
        max_new_tokens: int | None,
        tools: list[dict[str, Any]] | None = None,
        stream: bool = False,
    ) -> Any:
        """``chat.completions.create`` with SDK errors turned into :class:`LLMError`."""
        params: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [m if isinstance(m, dict) else self._message(m) for m in messages],
            "temperature": self.temperature,
            "max_tokens": max_new_tokens or self.settings.max_new_tokens,
        }
        if tools:
            params["tools"] = tools
        if stream:
            params["stream"] = True
        try:
            return self._sdk().chat.completions.create(**params, extra_headers=self._extra_headers)
        except openai.APIStatusError as exc:
            status = exc.status_code
            reason = f"HTTP {status}: {_error_detail(_json_or_text(exc.response))}"
            attempts = self._attempts(exc.request)
            if status != 429 and status < 500 and attempts == 1:
                raise LLMError(
                    f"LLM endpoint {self.url} refused the request ({reason}); {_hint_for(status)}",
                    url=self.url,
                    status=status,
                ) from None
            raise self._failed(attempts, reason, status) from None
        except openai.APITimeoutError as exc:
            reason = f"no response within {self.settings.timeout_s:g}s"
            raise self._failed(self._attempts(exc.request), reason, None) from None
        except openai.APIConnectionError as exc:
            reason = f"cannot connect ({_cause(exc)})"
            raise self._failed(self._attempts(exc.request), reason, None) from None
        except openai.OpenAIError as exc:
            raise LLMError(f"LLM endpoint {self.url} failed ({exc})", url=self.url) from None

    def _attempts(self, request: Any) -> int:
        try:
            return int(request.headers[_RETRY_COUNT_HEADER]) + 1
        except (AttributeError, KeyError, ValueError):
            return self.max_retries + 1  # no count: assume every retry was used

    def _failed(self, attempts: int, reason: str, status: int | None) -> LLMError:
        return LLMError(
            f"LLM endpoint {self.url} failed after {attempts} attempt(s) ({reason}); check the "
            f"server is running and {BASE_URL_SETTING} / {MODEL_SETTING} are right",
            url=self.url,
            status=status,
        )

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


def _tool_call(raw: Any, index: int) -> ToolCall:
    """Parse one tool call from the SDK; bad arguments become ``error``, never an exception."""
    # The SDK builds replies leniently: fields a server left out are None, and an object sent
    # as arguments (Ollama) stays a dict. Hence attribute reads that tolerate absence.
    function = getattr(raw, "function", None)
    name = getattr(function, "name", None) or ""
    call_id = getattr(raw, "id", None) or f"call_{index}"
    arguments = getattr(function, "arguments", None)
    if isinstance(arguments, dict):
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


def _cause(exc: BaseException) -> str:
    """What the SDK's generic "Connection error." wraps, e.g. ``[Errno 111] Connection refused``."""
    cause = exc.__cause__ or exc
    return str(cause) or type(cause).__name__


def _json_or_text(response: Any) -> Any:
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
