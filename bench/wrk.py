"""Load from outside the servers: `wrk` (the Debian package) with a Lua script that POSTs
JSON bodies with random pages or order ids.

The script is written into the bench's temporary folder and takes everything from
`BENCH_*` environment variables, so one script serves every kind of request and both
servers. Its random draws are seeded per round: a GraphQL round and the baseline round
after it get the same inputs, in the same order.

Every round must be clean: a non-2xx answer, a socket error or a body with GraphQL
`errors` (counted by the script's `response()`) stops the run, as a fast error would
otherwise pass for a fast answer."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCRIPT = r"""-- bench/wrk.py writes this for wrk; its inputs are BENCH_* environment variables.
local path = os.getenv("BENCH_PATH")
local before = os.getenv("BENCH_BEFORE")   -- the body up to the drawn value
local after = os.getenv("BENCH_AFTER")     -- and after it
local draw = os.getenv("BENCH_DRAW")       -- "none", "page" or "id"
local pages = tonumber(os.getenv("BENCH_PAGES"))
local seed = tonumber(os.getenv("BENCH_SEED"))
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
  ["Content-Type"] = "application/json",
  ["Entur-POS"] = "bench",
}
local ids = {}
local threads = {}
wrong = 0  -- a global, so that done() can read each thread's count

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed + number)
  if draw == "id" then
    for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
  end
end

function request()
  local value = ""
  if draw == "page" then
    value = tostring(math.random(pages))
  elseif draw == "id" then
    value = ids[math.random(#ids)]
  end
  return wrk.format("POST", path, headers, before .. value .. after)
end

-- wrk takes the latency before it calls this, so the check is not in the numbers.
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true)
      or not string.find(body, '"data"', 1, true) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("wrong") end
  io.write(string.format("BENCH wrong answers: %d\n", total))
end
"""

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def version() -> str:
    """wrk's first line of `-v`, e.g. "wrk debian/4.1.0-3+b2 [epoll] ..."."""
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0]


class WrkFailed(RuntimeError):
    """A round with errors, or output wrk does not normally print."""


@dataclass(frozen=True)
class Load:
    """What one side is sent: POST `path` with `before + drawn value + after`."""

    path: str
    before: str
    after: str
    draw: str = "none"  # "page": 1..pages; "id": a line of ids_file
    pages: int = 1
    ids_file: Path | None = None


@dataclass(frozen=True)
class Round:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    cpu: dict[str, float]  # cores used: by the servers, wrk, PostgreSQL, everything else
    busiest_others: list[str]  # the other processes that used most, "name cores"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Wrk:
    """wrk's settings for a run: the script, connections, threads and the timeout."""

    script: Path
    connections: int
    threads: int
    timeout_seconds: int = 30

    @classmethod
    def prepare(cls, folder: Path, connections: int, threads: int) -> Wrk:
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
        script = folder / "bench.lua"
        script.write_text(SCRIPT)
        return cls(script, connections, threads)

    def run(
        self,
        url: str,
        load: Load,
        *,
        token: str,
        seed: int,
        seconds: int,
        server_pids: Sequence[int],
        postgres_database: str | None = None,
    ) -> Round:
        """One timed round against `url`; the CPU of `server_pids` (and of the PostgreSQL
        backends of `postgres_database`) is counted apart."""
        command = [
            "wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s",
            f"--timeout={self.timeout_seconds}s", "--latency", "-s", str(self.script), url,
        ]  # fmt: skip
        cpu = CpuMeter(server_pids, postgres_database)
        done = subprocess.run(
            command,
            env=self._environment(load, token, seed),
            capture_output=True,
            text=True,
            timeout=seconds + self.timeout_seconds + 30,
        )
        used, busiest = cpu.read()
        if done.returncode != 0:
            raise WrkFailed(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
        return parse(done.stdout, used, busiest)

    def _environment(self, load: Load, token: str, seed: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            BENCH_PATH=load.path,
            BENCH_BEFORE=load.before,
            BENCH_AFTER=load.after,
            BENCH_DRAW=load.draw,
            BENCH_PAGES=str(load.pages),
            BENCH_IDS=str(load.ids_file or ""),
            BENCH_SEED=str(seed),
            BENCH_TOKEN=token,
        )
        return env


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * UNITS_MS[unit]


def _number(pattern: str, output: str) -> re.Match[str]:
    found = re.search(pattern, output, re.MULTILINE)
    if found is None:
        raise WrkFailed(f"no {pattern!r} in wrk's output:\n{output}")
    return found


def parse(output: str, cpu: dict[str, float], busiest_others: list[str]) -> Round:
    """Requests/s and the 50 % and 99 % latencies of wrk's `--latency` output; any error
    (socket errors, non-2xx answers, GraphQL errors in a body) raises WrkFailed."""
    problems = []
    socket_errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    if socket_errors:
        problems.append(f"socket errors ({socket_errors.group(1)})")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        problems.append(f"{non_2xx.group(1)} non-2xx or 3xx responses")
    wrong = int(_number(r"^BENCH wrong answers: (\d+)$", output).group(1))
    if wrong:
        problems.append(f"{wrong} answers with errors or without data")
    requests = _number(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", output)
    if int(requests.group(1)) == 0:
        problems.append("no request answered")
    if problems:
        raise WrkFailed("; ".join(problems) + f"\n{output}")
    p50 = _number(r"^\s*50(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output)
    p99 = _number(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output)
    return Round(
        requests_per_second=float(_number(r"^Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=round(_milliseconds(*p50.groups()), 3),
        p99_ms=round(_milliseconds(*p99.groups()), 3),
        requests=int(requests.group(1)),
        seconds=round(_milliseconds(requests.group(2), requests.group(3)) / 1000, 2),
        cpu=cpu,
        busiest_others=busiest_others,
    )


class CpuMeter:
    """CPU used while a round runs, in cores: by the server processes (all their threads),
    by wrk (a child, reaped by then), by the PostgreSQL backends connected to the servers'
    database (`postgres_database`, named in their process titles) and by everything else on
    the machine, other databases' backends included. "Others" well above zero means the
    machine was not quiet, and the round is worth less; the busiest others are named."""

    def __init__(self, server_pids: Sequence[int], postgres_database: str | None = None) -> None:
        self.pids = set(server_pids)
        self.title = None if postgres_database is None else f" {postgres_database} "
        self.started = os.times().elapsed
        self.machine = _machine_busy_seconds()
        self.processes = _all_processes()
        self.children = _children_cpu_seconds()

    def read(self) -> tuple[dict[str, float], list[str]]:
        wall = max(os.times().elapsed - self.started, 1e-9)
        machine = _machine_busy_seconds() - self.machine
        wrk = _children_cpu_seconds() - self.children
        servers = database = 0.0
        others: dict[int, float] = {}
        for pid, (name, seconds) in _all_processes().items():
            used = seconds - self.processes.get(pid, (name, 0.0))[1]
            if pid in self.pids:
                servers += used
            elif self.title and name == "postgres" and self.title in _command_line(pid):
                database += used
            elif used > 0:
                others[pid] = used
        rest = max(machine - servers - wrk - database, 0.0)
        busiest = sorted(others.items(), key=lambda item: -item[1])[:3]
        return (
            {
                "server": round(servers / wall, 2),
                "wrk": round(wrk / wall, 2),
                "postgres": round(database / wall, 2),
                "others": round(rest / wall, 2),
            },
            [f"{_label(pid)} {used / wall:.2f}" for pid, used in busiest if used / wall >= 0.05],
        )


def wait_for_quiet(most_seconds: float, cores: float) -> float:
    """Waits (up to `most_seconds`) for a second in which the whole machine uses at most
    `cores` (the servers idle between rounds); the seconds waited."""
    started = os.times().elapsed
    while True:
        before, at = _machine_busy_seconds(), os.times().elapsed
        time.sleep(1)
        busy = (_machine_busy_seconds() - before) / max(os.times().elapsed - at, 1e-9)
        waited = os.times().elapsed - started
        if busy <= cores or waited >= most_seconds:
            return round(waited - 1, 1)


def _command_line(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    return " ".join(w.decode(errors="replace") for w in words if w)


def _label(pid: int) -> str:
    """A process as `ps` would show it, shortened: "python -m pytest -q (1234)"."""
    if pid == os.getpid():
        return f"bench.run itself ({pid})"
    first, _, rest = _command_line(pid).partition(" ")
    shown = " ".join([Path(first).name, *rest.split()[:3]])
    return f"{shown[:48]} ({pid})"


TICKS = os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """All CPUs' busy time from /proc/stat (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def _all_processes() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU time (user + system, all threads) from /proc."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
