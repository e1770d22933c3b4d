"""``finrag ui``: serve the Streamlit analyst app (``ui/app.py``).

Mounted by :mod:`ui.cli` through :func:`register`. The app reads the same
:class:`~core.settings.Settings` as the CLI, so ``FINRAG_DATA_DIR`` chooses the corpus it answers
from.

Contract: ``--address`` / ``--port`` given on the command line win; otherwise Streamlit's own
environment variables (``STREAMLIT_SERVER_ADDRESS``, ``STREAMLIT_SERVER_PORT``,
``STREAMLIT_SERVER_HEADLESS``, ...) do; otherwise finrag's defaults: loopback only
(127.0.0.1), port 8501, headless (no browser, no usage prompt), no usage statistics, the minimal
toolbar. The defaults travel as environment variables of the Streamlit process, not as flags,
because Streamlit ranks a flag above its environment variables.

Stopping: Ctrl-C (SIGINT), SIGTERM or SIGHUP to ``finrag ui`` is passed on to the Streamlit
server as SIGTERM; ``finrag ui`` waits for it to exit (killing it after :data:`STOP_GRACE_S`), so
no server is left holding the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).with_name("app.py")
STOP_GRACE_S = 10.0

# Streamlit settings finrag chooses unless the environment already does (Streamlit's variable
# for option ``section.nameInCamel`` is ``STREAMLIT_SECTION_NAME_IN_CAMEL``).
DEFAULTS = {
    "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
    "STREAMLIT_SERVER_HEADLESS": "true",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_CLIENT_TOOLBAR_MODE": "minimal",  # no developer "Deploy" menu for analysts
}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def streamlit_command(address: str | None = None, port: int | None = None) -> list[str]:
    """The ``streamlit run`` command line for the app; only the given options become flags."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP)]
    if address is not None:
        command += ["--server.address", address]
    if port is not None:
        command += ["--server.port", str(port)]
    return command


def streamlit_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with finrag's :data:`DEFAULTS` added where it sets none of them."""
    return {**DEFAULTS, **environ}


def serve(command: list[str], env: Mapping[str, str], grace_s: float = STOP_GRACE_S) -> int:
    """Run the server ``command`` until it exits; a stop signal to us stops it too.

    Returns:
        its exit status (128 + N when it died of signal N).
    """
    child = subprocess.Popen(command, env=dict(env))
    deadline: list[float] = []

    def stop(signum: int, frame: object) -> None:
        if not deadline:
            deadline.append(time.monotonic() + grace_s)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        while True:
            try:
                code = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if deadline and time.monotonic() > deadline[0]:
                    child.kill()  # ignored SIGTERM for the whole grace period
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:  # we are leaving on an exception: never leave it running
            child.kill()
            child.wait()
    return 128 - code if code < 0 else code


def ui(
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            "--host",
            help="Address to listen on (0.0.0.0: all). Default: $STREAMLIT_SERVER_ADDRESS, "
            "else 127.0.0.1.",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port to listen on. Default: $STREAMLIT_SERVER_PORT, else 8501."),
    ] = None,
) -> None:
    """Serve the analyst web app: ask questions and inspect the cited pages."""
    env = streamlit_environment(os.environ)
    shown_address = address or env["STREAMLIT_SERVER_ADDRESS"]
    shown_port = port or env.get("STREAMLIT_SERVER_PORT", "8501")
    typer.secho(
        f"finrag app on http://{shown_address}:{shown_port} (Ctrl-C to stop)", bold=True, err=True
    )
    code = serve(streamlit_command(address, port), env)
    if code and code - 128 not in STOP_SIGNALS:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Mount ``ui`` on ``app`` with the CLI's readable error handling."""
    from ui.commands import readable_errors

    app.command("ui")(readable_errors(ui))
