"""PostgreSQL stopped, then frozen (SIGSTOP), during a stream of sales against a served
process: every answer is a sale step or 503 SERVICE_UNAVAILABLE with Retry-After (never
200 with INTERNAL_SERVER_ERROR, never a 500), no request waits much past the database's
time limit, /health/ready answers within its own, each outage is logged once, the service
recovers by itself, and the books hold afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.faults.cluster import Cluster, private_cluster
from tests.faults.invariants import check_books
from tests.faults.stream import Stream, sell
from tests.served import DEMO_TOKEN_REQUEST, free_port

pytestmark = pytest.mark.slow

DB_TIMEOUT = 2.0
PSP_TIMEOUT = 1.0
OUTAGE = 6.0


@dataclass
class Service:
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path
    env: dict[str, str]

    @property
    def ledger(self) -> Path:
        return self.data_dir / "simulated-psp.db"

    def log_lines(self) -> list[dict[str, object]]:
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


def start(cluster_url: str, data_dir: Path, log: Path, port: int | None = None) -> Service:
    port = port or free_port()
    env = {
        **os.environ,
        "SALES_DATABASE_URL": cluster_url,
        "SALES_DATA_DIR": str(data_dir),
        "SALES_DATABASE_TIMEOUT_SECONDS": str(DB_TIMEOUT),
        "SALES_PSP_TIMEOUT_SECONDS": str(PSP_TIMEOUT),
        "SALES_PSP_RECONCILE_SECONDS": "1",
        "SALES_EXPIRY_SWEEP_SECONDS": "1",
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sales_api", "serve", "--port", str(port)],
            env=env,
            cwd=data_dir.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return Service(base, process, log, data_dir, env)
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"the service did not start:\n{log.read_text()}")


def stop(service: Service) -> None:
    service.process.terminate()
    try:
        service.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster() as made:
        yield made


@pytest.fixture
def service(cluster: Cluster, tmp_path: Path) -> Iterator[Service]:
    running = start(cluster.url, tmp_path / "data", tmp_path / "service.log")
    try:
        yield running
    finally:
        stop(running)


def token(base: str) -> str:
    return str(httpx.post(f"{base}/oauth/token", json=DEMO_TOKEN_REQUEST).json()["access_token"])


async def readiness_during(base: str, seconds: float) -> list[tuple[int, float]]:
    """/health/ready asked every half second: (status, how long it took)."""
    found = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = await client.get("/health/ready")
            found.append((response.status_code, time.monotonic() - started))
            await asyncio.sleep(0.5)
    return found


async def test_a_stopped_then_frozen_database(cluster: Cluster, service: Service) -> None:
    stream = Stream()
    stop_selling = asyncio.Event()
    selling = asyncio.create_task(sell(service.base, token(service.base), stop_selling, stream))
    await asyncio.sleep(4)
    before = len(stream.completed)

    stopped_at = time.monotonic()
    await asyncio.to_thread(cluster.stop)
    ready_stopped = await readiness_during(service.base, OUTAGE)
    await asyncio.to_thread(cluster.start)
    back_at = time.monotonic()
    await asyncio.sleep(5)

    frozen_at = time.monotonic()
    await asyncio.to_thread(cluster.freeze)
    ready_frozen = await readiness_during(service.base, OUTAGE)
    await asyncio.to_thread(cluster.thaw)
    thawed_at = time.monotonic()
    await asyncio.sleep(6)
    stop_selling.set()
    await selling
    await asyncio.sleep(3 * PSP_TIMEOUT + 2)  # the reconciler settles what was left PENDING

    answers = stream.answers
    codes = stream.codes()
    print(f"\nanswers by (status, code): {codes}")
    # Every answer a sale step's own, or 503 SERVICE_UNAVAILABLE with Retry-After.
    assert {status for status, _ in codes} <= {200, 503}, codes
    assert all(code != "INTERNAL_SERVER_ERROR" for _, code in codes), codes
    unavailable = [a for a in answers if a.status == 503]
    assert all(a.code == "SERVICE_UNAVAILABLE" and a.retry_after for a in unavailable)
    in_stop = [a for a in unavailable if stopped_at <= a.at <= back_at]
    in_freeze = [a for a in unavailable if frozen_at <= a.at <= thawed_at]
    assert in_stop and in_freeze, "each outage was met by requests"
    # No request waited on the database past its limit (a capture may add the provider's
    # own time, the event loop a little).
    longest = max(a.seconds for a in answers)
    print(f"longest answer: {longest:.2f} s; 503s: stopped {len(in_stop)}, frozen {len(in_freeze)}")
    assert longest < DB_TIMEOUT + PSP_TIMEOUT + 0.5
    # /health/ready: 503 while the database is away, each answer within its 3 s.
    for status, seconds in ready_stopped + ready_frozen:
        assert seconds < 3.5, (status, seconds)
    assert {s for s, _ in ready_stopped} >= {503} and {s for s, _ in ready_frozen} >= {503}
    # Recovered by itself: sales complete after each outage.
    assert len(stream.completed) > before
    after_stop = [t for t in stream.completed if back_at < t < frozen_at]
    after_freeze = [t for t in stream.completed if t > thawed_at]
    assert after_stop and after_freeze
    print(
        f"recovered {after_stop[0] - back_at:.2f} s after the restart, "
        f"{after_freeze[0] - thawed_at:.2f} s after the thaw; "
        f"{len(stream.completed)} sales completed"
    )
    # Logged once per outage (its start), not per request.
    logged = [
        line
        for line in service.log_lines()
        if line.get("logger") == "sales_api.database" and line.get("level") == "ERROR"
    ]
    assert 2 <= len(logged) <= 4, logged
    assert len(unavailable) > 2 * len(logged)

    books = await check_books(cluster.url, service.ledger)
    print(f"books: {books.summary()}")
    assert books.problems == []
    assert books.charges > 0
