"""``finrag ui``: serve the Streamlit analyst app (``ui/app.py``).

Mounted by :mod:`ui.cli` through :func:`register`. The app reads the same
:class:`~core.settings.Settings` as the CLI, so ``FINRAG_DATA_DIR`` chooses the corpus it answers
from; the server runs headless (no browser is opened, no usage prompt) and stops with Ctrl-C.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).with_name("app.py")


def streamlit_command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line for the app on ``host:port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",  # no developer "Deploy" menu for analysts
    ]


def ui(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
) -> None:
    """Serve the analyst web app: ask questions and inspect the cited pages."""
    typer.secho(f"finrag app on http://{host}:{port} (Ctrl-C to stop)", bold=True, err=True)
    try:
        code = subprocess.call(streamlit_command(host, port))
    except KeyboardInterrupt:
        code = 0
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Mount ``ui`` on ``app`` with the CLI's readable error handling."""
    from ui.commands import readable_errors

    app.command("ui")(readable_errors(ui))
