"""``finrag ui``: flags, Streamlit's environment variables, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
import typer
from typer.testing import CliRunner

import ui.cli_ui
from ui.cli_ui import register


def _invoke(monkeypatch, args: list[str], environ: dict[str, str]):
    calls = []
    monkeypatch.setattr(ui.cli_ui, "serve", lambda cmd, env: calls.append((cmd, env)) or 0)
    for name in [n for n in os.environ if n.startswith("STREAMLIT_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    result = CliRunner().invoke(app, ["ui", *args])
    assert result.exit_code == 0, result.output
    ((cmd, env),) = calls
    return dict(zip(cmd[5::2], cmd[6::2], strict=True)), env, result.stderr


def test_flags_reach_streamlit(monkeypatch):
    flags, env, said = _invoke(
        monkeypatch, ["--address", "10.0.0.5", "--port", "9001"], {"STREAMLIT_SERVER_PORT": "1"}
    )
    assert flags == {"--server.address": "10.0.0.5", "--server.port": "9001"}  # flags win
    assert "http://10.0.0.5:9001" in said


def test_streamlit_environment_applies_without_flags(monkeypatch):
    environ = {
        "STREAMLIT_SERVER_PORT": "9002",
        "STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
        "STREAMLIT_CLIENT_TOOLBAR_MODE": "developer",
    }
    flags, env, said = _invoke(monkeypatch, [], environ)
    assert flags == {}  # nothing on the command line to outrank the environment
    assert {k: env[k] for k in environ} == environ
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true" and "http://0.0.0.0:9002" in said


def test_defaults_are_loopback_and_headless(monkeypatch):
    flags, env, said = _invoke(monkeypatch, [], {})
    assert flags == {} and "http://127.0.0.1:8501" in said
    assert env["STREAMLIT_SERVER_ADDRESS"] == "127.0.0.1"
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now (as Streamlit does, past TIME_WAIT)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_finrag_ui_stops_the_streamlit_server(tmp_path, stop):
    port = _free_port()
    env = {**os.environ, "FINRAG_DATA_DIR": str(tmp_path / "data")}
    env = {k: v for k, v in env.items() if not k.startswith("STREAMLIT_")}
    code = "from ui.cli import main; main()"
    args = ["ui", "--address", "127.0.0.1", "--port", str(port)]
    parent = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # our own group: only `parent` is signalled
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                assert parent.poll() is None, parent.stderr.read().decode()
                assert time.monotonic() < deadline, "the app never served"
                time.sleep(0.2)
        (child,) = psutil.Process(parent.pid).children()
        parent.send_signal(stop)
        assert parent.wait(timeout=15) == 0, parent.stderr.read().decode()
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
        gone = time.monotonic() + 5
        while not _port_free(port):
            assert time.monotonic() < gone, f"port {port} still taken"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
