"""OpenAICompatLLM against a real local HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.llm.base import Message
from agent.llm.openai_compat import ChatResult, LLMError, OpenAICompatLLM
from core.errors import ConfigError, FinragError
from core.options import OpenAIOptions
from tests.agent.llm_conformance import LLMConformance

# A reply is (status, headers, body chunks, seconds to sleep before answering).
Reply = tuple[int, dict[str, str], list[bytes], float]


@dataclass
class FakeServer:
    url: str
    replies: list[Callable[[dict[str, Any]], Reply]] = field(default_factory=list)
    # path, headers (names lower-cased: HTTP ignores case, and clients differ), body
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return len(self.requests)


def completion(text: str | None, *, tool_calls: list[dict] | None = None) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    return 200, {"Content-Type": "application/json"}, [json.dumps(body).encode()], 0.0


def error(status: int, message: str) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
    return status, {"Content-Type": "application/json"}, [body], 0.0


def sse(deltas: list[str]) -> Reply:
    chunks = [b": keep-alive\n\n"]
    for i, text in enumerate(deltas):
        delta = {"role": "assistant", "content": text} if i == 0 else {"content": text}
        event = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
        chunks.append(f"data: {json.dumps(event)}\n\n".encode())
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    chunks.append(f"data: {json.dumps(finish)}\n\n".encode())
    chunks.append(b'data: {"choices": [], "usage": {"completion_tokens": 3}}\n\n')
    chunks.append(b"data: [DONE]\n\n")
    return 200, {"Content-Type": "text/event-stream"}, chunks, 0.0


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )
            # The last reply repeats, so "always 500" is one entry.
            reply = state.replies[min(len(state.requests), len(state.replies)) - 1]
            status, headers, chunks, delay = reply(body)
            time.sleep(delay)
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def make_llm(url: str, **overrides: Any) -> OpenAICompatLLM:
    settings = {"base_url": url, "model": "test-model", "timeout_s": 5.0}
    settings.update(overrides)
    return OpenAICompatLLM(OpenAIOptions(**settings), backoff_s=0.01)


def test_generate_posts_chat_completion(server: FakeServer) -> None:
    server.replies = [lambda body: completion("  Revenue was $4.2 billion.\n")]
    llm = make_llm(server.url, max_new_tokens=77)
    messages = [
        Message(role="system", content="Answer from the filing."),
        Message(role="user", content="Total revenue?"),
    ]

    assert llm.generate(messages) == "Revenue was $4.2 billion."

    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"] == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "Answer from the filing."},
            {"role": "user", "content": "Total revenue?"},
        ],
        "temperature": 0.0,
        "max_tokens": 77,
    }
    assert "authorization" not in request["headers"]
    llm.generate(messages, max_new_tokens=5)
    assert server.requests[1]["body"]["max_tokens"] == 5


def test_bearer_auth_header_sent(server: FakeServer) -> None:
    server.replies = [lambda body: completion("ok")]
    make_llm(server.url, api_key="sk-local-123").generate([Message(role="user", content="hi")])
    assert server.requests[0]["headers"]["authorization"] == "Bearer sk-local-123"


def test_image_sent_as_data_url(server: FakeServer, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    page = tmp_path / "page-12.png"
    page.write_bytes(png)
    server.replies = [lambda body: completion("a chart")]
    message = Message(role="user", content="What is shown?", images=[str(page)])

    assert make_llm(server.url).generate([message]) == "a chart"

    content = server.requests[0]["body"]["messages"][0]["content"]
    assert content[0]["type"] == "image_url"
    url = content[0]["image_url"]["url"]
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == png
    assert content[1] == {"type": "text", "text": "What is shown?"}


def test_missing_image_is_clear_error(server: FakeServer, tmp_path: Path) -> None:
    server.replies = [lambda body: completion("x")]
    message = Message(role="user", content="?", images=[str(tmp_path / "gone.png")])
    with pytest.raises(LLMError, match="gone.png"):
        make_llm(server.url).generate([message])
    assert server.hits == 0


def test_stream_yields_sse_deltas(server: FakeServer) -> None:
    server.replies = [lambda body: sse(["Net ", "income ", "rose ", "12%."])]
    pieces = list(make_llm(server.url).stream([Message(role="user", content="Net income?")]))

    assert pieces == ["Net ", "income ", "rose ", "12%."]
    assert server.requests[0]["body"]["stream"] is True


def test_stream_error_event_raises(server: FakeServer) -> None:
    chunks = [
        b'data: {"choices": [{"delta": {"content": "par"}}]}\n\n',
        b'data: {"error": {"message": "CUDA out of memory"}}\n\n',
    ]
    server.replies = [lambda body: (200, {"Content-Type": "text/event-stream"}, chunks, 0.0)]
    pieces = make_llm(server.url).stream([Message(role="user", content="?")])
    assert next(pieces) == "par"  # text before the error still arrives
    with pytest.raises(LLMError, match="CUDA out of memory"):
        next(pieces)


def test_chat_parses_tool_calls(server: FakeServer) -> None:
    calls = [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "calculator", "arguments": '{"expression": "1+2"}'},
        },
        {
            "id": "call_b",
            "type": "function",
            "function": {"name": "calculator", "arguments": '{"expression": "1+'},
        },
        {"id": "call_c", "type": "function", "function": {"name": "lookup", "arguments": "[1]"}},
    ]
    server.replies = [lambda body: completion(None, tool_calls=calls)]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "calculator",
                "description": "Evaluate arithmetic.",
                "parameters": {
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                },
            },
        }
    ]

    result = make_llm(server.url).chat([Message(role="user", content="1+2?")], tools=tools)

    assert isinstance(result, ChatResult)
    assert result.text == ""
    assert server.requests[0]["body"]["tools"] == tools
    good, bad, not_object = result.tool_calls
    assert (good.id, good.name, good.arguments, good.error) == (
        "call_a",
        "calculator",
        {"expression": "1+2"},
        None,
    )
    assert bad.name == "calculator" and bad.arguments == {}
    assert bad.error is not None and "not valid JSON" in bad.error
    assert bad.raw_arguments == '{"expression": "1+'
    assert not_object.error == "arguments must be a JSON object, got list"


def test_chat_passes_dict_messages_through(server: FakeServer) -> None:
    server.replies = [lambda body: completion("3")]
    tool_result = {"role": "tool", "tool_call_id": "call_a", "content": "3"}
    make_llm(server.url).chat([Message(role="user", content="1+2?"), tool_result])
    assert server.requests[0]["body"]["messages"][1] == tool_result


def test_retries_once_after_500(server: FakeServer) -> None:
    server.replies = [lambda body: error(500, "warming up"), lambda body: completion("fine")]
    assert make_llm(server.url, max_retries=2).generate([Message(role="user", content="?")]) == (
        "fine"
    )
    assert server.hits == 2


def test_retries_429(server: FakeServer) -> None:
    server.replies = [lambda body: error(429, "slow down"), lambda body: completion("ok")]
    assert make_llm(server.url, max_retries=1).generate([Message(role="user", content="?")]) == "ok"
    assert server.hits == 2


def test_persistent_500_fails_after_all_attempts(server: FakeServer) -> None:
    server.replies = [lambda body: error(503, "model loading")]
    llm = make_llm(server.url, max_retries=2)
    with pytest.raises(LLMError) as caught:
        llm.generate([Message(role="user", content="?")])
    assert server.hits == 3
    message = str(caught.value)
    assert "\n" not in message
    assert server.url + "/chat/completions" in message
    assert "3 attempt(s)" in message and "HTTP 503: model loading" in message
    assert "FINRAG_LLM__BASE_URL" in message and "FINRAG_LLM__MODEL" in message
    assert caught.value.status == 503
    assert isinstance(caught.value, FinragError)


def test_stream_retries_before_first_chunk(server: FakeServer) -> None:
    server.replies = [lambda body: error(502, "bad gateway"), lambda body: sse(["a", "b"])]
    llm = make_llm(server.url, max_retries=1)
    assert list(llm.stream([Message(role="user", content="?")])) == ["a", "b"]
    assert server.hits == 2


def test_4xx_is_not_retried(server: FakeServer) -> None:
    server.replies = [lambda body: error(404, "model 'test-model' not found")]
    with pytest.raises(LLMError) as caught:
        make_llm(server.url, max_retries=3).generate([Message(role="user", content="?")])
    assert server.hits == 1
    assert "model 'test-model' not found" in str(caught.value)
    assert "FINRAG_LLM__MODEL" in str(caught.value)
    assert caught.value.status == 404


def test_401_names_api_key_setting(server: FakeServer) -> None:
    server.replies = [lambda body: error(401, "invalid key")]
    with pytest.raises(LLMError, match="FINRAG_LLM__API_KEY"):
        make_llm(server.url, api_key="wrong").generate([Message(role="user", content="?")])
    assert server.hits == 1


def test_slow_response_times_out_quickly(server: FakeServer) -> None:
    server.replies = [lambda body: (*completion("late")[:3], 2.0)]
    llm = make_llm(server.url, timeout_s=0.3, max_retries=1)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"no response within 0\.3s"):
        llm.generate([Message(role="user", content="?")])
    elapsed = time.monotonic() - started
    assert elapsed < 1.5  # two 0.3 s attempts plus a 0.01 s backoff, not the server's 2 s
    assert server.hits == 2


def test_connection_refused_is_retried_then_raises() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = make_llm(f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(LLMError, match=r"failed after 2 attempt\(s\) \(cannot connect"):
        llm.generate([Message(role="user", content="?")])


def test_non_completion_body_is_clear_error(server: FakeServer) -> None:
    server.replies = [lambda body: (200, {"Content-Type": "text/html"}, [b"<html>hi</html>"], 0.0)]
    with pytest.raises(LLMError, match="returned no chat completion"):
        make_llm(server.url).generate([Message(role="user", content="?")])


def test_missing_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="FINRAG_LLM__BASE_URL"):
        OpenAICompatLLM(OpenAIOptions(model="m"))
    with pytest.raises(ConfigError, match="FINRAG_LLM__MODEL"):
        OpenAICompatLLM(OpenAIOptions(base_url="http://127.0.0.1:1/v1"))


def test_registered_as_openai(server: FakeServer) -> None:
    server.replies = [lambda body: completion("registered")]
    settings = OpenAIOptions(base_url=server.url + "/", model="test-model")
    from core.backends import ANSWERERS

    llm = ANSWERERS.create("openai", settings=settings).llm
    assert isinstance(llm, OpenAICompatLLM)
    assert llm.generate([Message(role="user", content="?")]) == "registered"
    assert server.requests[0]["path"] == "/v1/chat/completions"


def test_retries_wait_backoff_s_doubling_up_to_max_backoff_s(server: FakeServer) -> None:
    server.replies = [lambda body: error(503, "model loading")]
    settings = OpenAIOptions(base_url=server.url, model="test-model", max_retries=3)
    llm = OpenAICompatLLM(settings, backoff_s=0.2, max_backoff_s=0.3)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"failed after 4 attempt\(s\)"):
        llm.generate([Message(role="user", content="?")])
    elapsed = time.monotonic() - started
    # 0.2 + 0.3 + 0.3 s of waiting; the SDK's own pacing (0.5, 1, 2 s, jittered) would be >2.6 s
    assert 0.75 <= elapsed < 2.0
    assert server.hits == 4


def test_openai_environment_is_not_sent_to_the_server(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-secret")
    server.replies = [lambda body: completion("ok")]
    assert make_llm(server.url).generate([Message(role="user", content="hi")]) == "ok"
    headers = server.requests[0]["headers"]
    assert "authorization" not in headers
    assert "openai-organization" not in headers and "openai-project" not in headers


def test_injected_transport_carries_the_requests() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, headers, chunks, _ = completion("from the transport")
        return httpx.Response(status, headers=headers, content=b"".join(chunks))

    settings = OpenAIOptions(base_url="http://llm.invalid/v1", model="test-model")
    llm = OpenAICompatLLM(settings, transport=httpx.MockTransport(handle))
    assert llm.generate([Message(role="user", content="?")]) == "from the transport"
    assert [str(r.url) for r in seen] == ["http://llm.invalid/v1/chat/completions"]


def words_reply(body: dict[str, Any]) -> Reply:
    """A reply of at most ``max_tokens`` words, as a server honouring the budget sends."""
    words = ["Total", "revenue", "was", "2,255.4", "million", "dollars", "in", "fiscal", "2023"]
    return completion(" " + " ".join(words[: body["max_tokens"]]) + "\n")


class TestOpenAIConformance(LLMConformance):
    @pytest.fixture
    def llm(self, server: FakeServer) -> OpenAICompatLLM:
        server.replies = [words_reply]
        return make_llm(server.url)
