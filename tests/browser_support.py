"""Helpers for the real-browser test: Chromium, a loopback Streamlit server, waiting."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
LOOPBACK = "127.0.0.1"


def ensure_chromium() -> str | None:
    """Install Debian's chromium and chromium-driver if missing; return a skip reason or None."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        return "apt-get is not available, so Chromium cannot be installed"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt_get, "update"], check=True, env=env, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    subprocess.run([apt_get, "install", "-y", "chromium", "chromium-driver"], check=True, env=env,
                   timeout=1800, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        raise RuntimeError("apt-get finished but /usr/bin/chromium or /usr/bin/chromedriver is missing")
    return None


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def start_streamlit(app: Path, port: int, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``streamlit run`` headless on the loopback address; output goes to ``log_path``.
    ``env`` adds environment variables (e.g. the shelf's folders) to this process's own."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", LOOPBACK,
        "--browser.gatherUsageStats", "false",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop_process via the Popen
    return subprocess.Popen(command, cwd=app.parent, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **(env or {})})


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate the server we started (and only it); kill it if it does not stop."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def wait_for_health(port: int, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Wait until /_stcore/health answers "ok"; fail early if the server exits."""
    url = f"http://{LOOPBACK}:{port}/_stcore/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer 'ok' within {timeout:.0f} s")


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.5,
               message: str = "condition") -> object:
    """Poll ``condition`` until it returns something truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # stale elements while the page re-renders
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {message}; last error: {last_error!r}")
