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
