"""The service as a separate process on a real port, for tests that need one."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# The body of POST /oauth/token for the demo client of organisation 1.
DEMO_TOKEN_REQUEST = {
    "grant_type": "client_credentials",
    "client_id": "demo-app",
    "client_secret": "demo-secret",
    "audience": "sales-api",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_service(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    port: int,
    ready_path: str = "/health/ready",
    timeout: float = 60,
) -> Iterator[str]:
    """Starts `command` (which serves on `port`), waits until `ready_path` answers 200 and
    yields the base URL; stops it afterwards and prints what it wrote."""
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}{ready_path}", timeout=1).status_code == 200:
                    break
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.2)
        else:
            pytest.fail(f"the service did not become ready within {timeout:.0f} s")
        yield base
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output)


@contextlib.contextmanager
def sales_service(
    data_dir: Path, database_url: str, **settings: str
) -> Iterator[tuple[str, dict[str, str]]]:
    """`python -m sales_api serve` on a free port, as a user runs it; yields the base URL
    and its environment. `settings` are SALES_* variables (without the prefix)."""
    import os
    import sys

    port = free_port()
    env = {
        **os.environ,
        "SALES_DATABASE_URL": database_url,
        "SALES_DATA_DIR": str(data_dir),
        **{f"SALES_{name.upper()}": value for name, value in settings.items()},
    }
    command = [sys.executable, "-m", "sales_api", "serve", "--port", str(port)]
    with running_service(
        command, env=env, cwd=data_dir.parent, port=port, ready_path="/.well-known/jwks.json"
    ) as base:
        yield base, env


def demo_token(base: str) -> str:
    response = httpx.post(f"{base}/oauth/token", json=DEMO_TOKEN_REQUEST, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])
