"""The bench's child processes (the service as `sales-api serve`, the lean baseline), their
memory, and the fresh PostgreSQL database a run works in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The service exactly as a user starts it: the console script of this virtualenv.
SALES_API = str(Path(sys.executable).parent / "sales-api")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children (uvicorn's workers), in KiB."""
    total = rss_kib(pid).get("VmRSS", 0)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            with contextlib.suppress(FileNotFoundError):
                total += tree_rss_kib(int(child))
    return total


@contextlib.contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server as a child process; what it prints goes to `log`, a file rather than a pipe
    nobody reads, whose end is shown if the run fails."""
    with log.open("wb") as output:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        yield child
    except BaseException:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        print(f"--- the end of {log.name}:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def wait_until_up(url: str, child: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(600):
            if child.poll() is not None:
                raise RuntimeError(f"the server exited with {child.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                (await client.get(url)).raise_for_status()
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """The bench's environment without its own SALES_* variables, plus the two the service
    needs; bench/ importable for the baseline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["SALES_DATABASE_URL"] = database_url
    env["SALES_DATA_DIR"] = str(data_dir)
    return env


def service_command(port: int, workers: int = 1) -> list[str]:
    return [SALES_API, "serve", "--port", str(port), "--workers", str(workers)]


def lean_command(database_url: str, data_dir: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "bench.lean", "--database-url", database_url,
        "--data-dir", str(data_dir), "--port", str(port),
    ]  # fmt: skip


# -- PostgreSQL ----------------------------------------------------------------------------


def postgres_reachable(url: str) -> bool:
    from sqlalchemy import make_url

    address = make_url(url)
    try:
        with socket.create_connection((address.host or "127.0.0.1", address.port or 5432), 2):
            return True
    except OSError:
        return False


def own_postgres_database(url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database beside the one named, and the call that drops it (as the tests do)."""
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    base = make_url(url)
    name = f"sales_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def run(statement: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    own = base.set(database=name).render_as_string(hide_password=False)
    return own, lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def vacuum_postgres(url: str) -> None:
    """VACUUM ANALYZE after the bulk load, as autovacuum does on a database in service
    (it may be off, as on the machine these numbers came from, or not have come round
    yet). Without statistics the planner guesses 2 rows a table and picks plans no
    database in service gets (a bitmap scan of every order and a sort for a page; every
    captured transaction for a page's paymentRefs); without the visibility map, counts
    and the page's OFFSET read every row from the heap instead of the index."""
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(make_url(url), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))
        await engine.dispose()

    asyncio.run(run())
