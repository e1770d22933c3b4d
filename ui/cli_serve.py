"""``finrag serve``: the HTTP API (:mod:`ui.api`) under uvicorn.

Mounted by :mod:`ui.cli` through :func:`register`. The command opens the corpus of
``FINRAG_DATA_DIR`` and one agent over it for the life of the process (an embedded index can be
opened by one process, so this server is its one owner), serves until SIGTERM or Ctrl-C, lets
requests in flight finish (up to ``GRACE_S`` seconds) and closes the agent and the corpus.
Without API keys and without a trusted identity header every caller is the local operator, so
the command then refuses to listen anywhere but a loopback address.
"""

from __future__ import annotations

import ipaddress
import signal
from typing import Annotated

import typer

from core.errors import ConfigError
from core.settings import Settings

GRACE_S = 30


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve the keyless local-operator mode beyond loopback.

    Raises:
        ConfigError: no keys, no identity header, and ``host`` is not a loopback address.
    """
    if settings.api.keys or settings.users.identity_header or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to listen on {host} without authentication: every caller would be the local "
        'operator. Set FINRAG_API__KEYS (e.g. \'{"KEY": "alice"}\') or '
        "FINRAG_USERS__IDENTITY_HEADER behind a sign-in proxy, or listen on 127.0.0.1"
    )


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API (ask, search, filings, facts, memory, ingest jobs); docs at /docs."""
    import uvicorn

    from agent.graph import Agent
    from ui.api.app import create_app
    from ui.commands import load_settings, open_corpus

    settings = load_settings()
    check_exposure(settings, host)
    with open_corpus(settings) as corpus, Agent(corpus) as agent:
        app = create_app(settings, corpus, agent)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=GRACE_S,
        )
        typer.secho(
            f"finrag API on http://{host}:{port} (docs at /docs; Ctrl-C or SIGTERM to stop)",
            bold=True,
            err=True,
        )
        _run_until_signalled(uvicorn.Server(config))
    typer.secho("finrag API stopped", err=True)


class _Stopped(Exception):
    pass


def _run_until_signalled(server) -> None:
    """Run ``server`` until SIGTERM or SIGINT, then return (so the corpus is closed).

    uvicorn shuts down gracefully on either signal and then re-raises it with the handlers that
    were installed before it started; a SIGTERM would then kill the process before the corpus is
    closed. These handlers turn that re-raised signal into a normal return instead.
    """

    def stop(signum: int, frame: object) -> None:
        raise _Stopped

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(app: typer.Typer) -> None:
    """Mount ``serve`` on ``app`` with the CLI's readable error handling."""
    from ui.commands import readable_errors

    app.command("serve")(readable_errors(serve))
