"""A PostgreSQL cluster of the test's own, on another port: made, stopped, frozen and
removed by the test (the shared server at 5432 is never touched)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.served import free_port


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@dataclass
class Cluster:
    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/sales"

    def stop(self) -> None:
        _run("pg_ctlcluster", self.version, self.name, "stop", "-m", "fast")

    def start(self) -> None:
        _run("pg_ctlcluster", self.version, self.name, "start")

    def _pids(self) -> list[int]:
        pid_file = Path(f"/var/lib/postgresql/{self.version}/{self.name}/postmaster.pid")
        postmaster = int(pid_file.read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """Every process of the cluster stopped (SIGSTOP): connections stay open, nothing
        answers."""
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's cluster tools (pg_createcluster) and root")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    cluster = Cluster(version, f"faults_{uuid.uuid4().hex[:8]}", free_port())
    _run("pg_createcluster", version, cluster.name, "-p", str(cluster.port), "--", "--auth=trust")
    try:
        cluster.start()
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-c",
             "CREATE DATABASE sales"],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.thaw()
        _run("pg_dropcluster", "--stop", version, cluster.name)
