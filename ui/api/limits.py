"""Request body limits of the HTTP API, enforced before a byte is parsed.

Contract: :class:`BodyLimit` wraps the ASGI app. A request whose ``Content-Length`` exceeds its
limit is answered 413 without being parsed; a body sent without a length (chunked) is counted as
it arrives and cut off with 413 at the limit, so neither can make the server buffer more than the
limit. Uploads (``multipart/form-data`` to an ingest path) get ``upload_bytes``; every other body
gets ``json_bytes``. The rest of an oversized body is read and dropped (up to
:data:`DRAIN_BYTES`) before answering, so the client reads the 413 instead of a reset connection.
The 413 body is JSON ``{"detail": ...}`` naming the limit and the setting that raises it, like
every other error of the API.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

UPLOAD_PREFIX = "/v1/ingest"
# Read and thrown away past a limit, so that a client still sending sees the 413 rather than a
# reset connection; a body larger still is cut off unread.
DRAIN_BYTES = 64 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` inside a route; FastAPI answers it like any HTTPException."""

    def __init__(self, size: int, limit: int, setting: str) -> None:
        super().__init__(413, _message(size, limit, setting))


class BodyLimit:
    """ASGI middleware: 413 for bodies over ``json_bytes`` (``upload_bytes`` for uploads)."""

    def __init__(self, app: Any, *, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes

    def limit_for(self, scope: dict) -> tuple[int, str]:
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        if scope["path"].startswith(UPLOAD_PREFIX) and ctype.startswith("multipart/form-data"):
            return self.upload_bytes, "FINRAG_API__MAX_UPLOAD_MB"
        return self.json_bytes, "FINRAG_API__MAX_JSON_KB"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit_for(scope)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            if int(length) <= limit + DRAIN_BYTES:
                await _drain(receive)
            await _too_large(send, int(length), limit, setting)
            return
        seen = 0
        started = False

        async def counted_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if message.get("more_body"):
                        await _drain(receive)
                    raise BodyTooLarge(seen, limit, setting)
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, seen, limit, setting)


async def _drain(receive: Any) -> None:
    """Read the rest of the body (up to :data:`DRAIN_BYTES`) and drop it."""
    drained = 0
    while drained <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return
        drained += len(message.get("body", b""))


def _message(size: int, limit: int, setting: str) -> str:
    return (
        f"request body too large: {size} bytes or more, over the limit of {limit} bytes for "
        f"this endpoint; send less, or have the operator raise {setting}"
    )


async def _too_large(send: Any, size: int, limit: int, setting: str) -> None:
    body = json.dumps({"detail": _message(size, limit, setting)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
