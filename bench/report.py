"""What a run found, as the printed tables and as the short markdown summary written
beside the JSON in bench/results/."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from bench.compare import QUIET_CORES, RSS_LIMIT_MIB
from bench.wrk import version


def machine_facts() -> dict[str, Any]:
    """CPUs, CPU model, kernel, Python and wrk, as the summary states them."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "wrk": version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _target_cell(item: dict[str, Any]) -> str:
    if item["target"] is None:
        return "-"
    return f"<= {item['target']:g}x slower: {item['slowdown']}x {_verdict(item['within_target'])}"


LATENCY_HEADER = (
    "request", "GraphQL req/s", "p50 ms", "p99 ms", "baseline req/s", "p50 ms", "p99 ms",
    "req/s ratio", "p50 ratio", "p99 ratio", "target",
)  # fmt: skip


def latency_rows(kinds: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for item in kinds.values():
        g, b = item["graphql"], item["baseline"]
        rows.append(
            (item["label"], f"{g['requests_per_second']:.0f}", f"{g['p50_ms']:.2f}",
             f"{g['p99_ms']:.2f}", f"{b['requests_per_second']:.0f}", f"{b['p50_ms']:.2f}",
             f"{b['p99_ms']:.2f}", f"{item['ratio_requests_per_second']:.2f}",
             f"{item['ratio_p50']:.2f}", f"{item['ratio_p99']:.2f}", _target_cell(item))
        )  # fmt: skip
    return rows


def other_rows(label: str, result: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    if "seed" in result:
        seed = result["seed"]
        rows.append(
            (label, "seed", f"{seed['orders']} orders, {seed['order_lines']} lines",
             f"{seed['seconds']} s")
        )  # fmt: skip
    if "service_memory_kib" in result:
        memory = result["service_memory_kib"]
        peak = memory["VmHWM"] / 1024
        rows.append(
            (label, "service RSS after the timed rounds",
             f"{memory['VmRSS'] / 1024:.0f} MiB (peak {peak:.0f} MiB)",
             f"peak < {RSS_LIMIT_MIB:.0f} MiB {_verdict(peak < RSS_LIMIT_MIB)}")
        )  # fmt: skip
        lean = result["baseline_memory_kib"]
        rows.append(
            (label, "baseline RSS",
             f"{lean['VmRSS'] / 1024:.0f} MiB (peak {lean['VmHWM'] / 1024:.0f} MiB)", "")
        )  # fmt: skip
    if "service_memory_after_sales_kib" in result:
        memory = result["service_memory_after_sales_kib"]
        rows.append(
            (label, "service RSS after the sales",
             f"{memory['VmRSS'] / 1024:.0f} MiB (peak {memory['VmHWM'] / 1024:.0f} MiB)", "")
        )  # fmt: skip
    for key in ("sales_1_worker", "sales_serve_1_worker", "sales_serve_2_workers"):
        if key in result:
            sales = result[key]
            failed = f", {sales['failed']} FAILED" if sales.get("failed") else ""
            rows.append(
                (label, key, f"{sales['sales_per_second']} sales/s",
                 f"{sales['sales']} sales, {sales['concurrency']} in flight{failed}")
            )  # fmt: skip
            if "rss_kib_all_processes" in sales:
                rss = sales["rss_kib_all_processes"] / 1024
                rows.append((label, f"{key} RSS", f"{rss:.0f} MiB", "all processes"))
    if "two_workers_over_one" in result:
        rows.append(
            (label, "2 workers / 1 worker", f"{result['two_workers_over_one']}x", "sales/s")
        )
    for name, counted in result.get("statement_counts", {}).get("queries", {}).items():
        small, large = counted["selects"]
        grows = "" if small == large else " GROWS"
        runs = "perPage 1 / 100" if counted["paged"] else "small / large"
        entries = "{} / {}".format(*counted["list_entries"])
        rows.append(
            (label, f"SELECTs {name}", f"{small} / {large}{grows}",
             f"{runs}, {entries} list entries")
        )  # fmt: skip
    return rows


def print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def targets_line(found: dict[str, Any]) -> str:
    held = sum(1 for target in found.values() if target["pass"])
    cells = [f"{name}: {t['value']} {_verdict(t['pass'])}" for name, t in found.items()]
    return f"targets {held}/{len(found)}: " + "; ".join(cells)


def quiet_line(kinds: dict[str, Any]) -> str:
    """The most CPU other processes took during a round; when that is more than
    QUIET_CORES, the processes that took it (the most each took in a disturbed round)."""
    busy = max(item["others_cpu_max"] for item in kinds.values())
    waited = sum(item.get("waited_for_quiet_seconds", 0) for item in kinds.values())
    line = f"CPU used by other processes during a round: at most {busy} cores"
    if waited:
        line += f" (after waiting {waited:.0f} s in all for quiet)"
    if busy <= QUIET_CORES:
        return line
    most: dict[str, float] = {}
    for item in kinds.values():
        for rounds in item["rounds"].values():
            for done in rounds:
                if done["cpu"]["others"] > QUIET_CORES:
                    for named in done["busiest_others"]:
                        name, _, cores = named.rpartition(" ")
                        most[name] = max(most.get(name, 0.0), float(cores))
    busiest = ", ".join(f"{name}: {cores:.2f}" for name, cores in sorted(most.items()))
    return f"{line}; NOT QUIET, the numbers are disturbed; busiest others: {busiest}"


def _latency_title(label: str, latency: dict[str, Any]) -> str:
    return (
        f"[{label}] medians of {latency['rounds']} rounds of {latency['seconds']} s per side, "
        f"{latency['connections']} wrk connections; ratios are GraphQL / baseline"
    )


def print_tables(results: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = []
    for label, result in results["databases"].items():
        if "latency" in result:
            latency = result["latency"]
            print(_latency_title(label, latency))
            print_rows([LATENCY_HEADER, *latency_rows(latency["kinds"])])
            print(targets_line(result["targets"]))
            print(quiet_line(latency["kinds"]) + "\n")
        if "skipped" in result:
            rows.append((label, "skipped", result["skipped"], ""))
        rows += other_rows(label, result)
    if rows:
        print_rows(rows)


def _markdown_table(rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return lines + ["| " + " | ".join(row) + " |" for row in rows[1:]]


def markdown(results: dict[str, Any]) -> str:
    """The run in a page: machine, settings, the latency table per database, the targets,
    memory, sales and the statement counts."""
    machine, settings = results["machine"], results["settings"]
    lines = [
        f"# Sales API benchmark, {results['started_at']}",
        "",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Linux "
        f"{machine['kernel']}, Python {machine['python']}, {machine['wrk']}; load average "
        f"at start {', '.join(str(x) for x in machine['load_average_at_start'])}",
        f"- settings: {settings['orders']} orders seeded; {settings['concurrency']} wrk "
        f"connections, {settings['wrk_threads']} thread; {settings['rounds']} rounds of "
        f"{settings['seconds']} s per side and kind after {settings['warmup']} s of warm-up; "
        f"{settings['sales']} sales, {settings['sales_concurrency']} in flight",
        f"- whole run: {results['seconds']} s",
        "",
    ]
    for label, result in results["databases"].items():
        lines += [f"## {label}", ""]
        if "latency" in result:
            latency = result["latency"]
            title = _latency_title(label, latency).partition("] ")[2]
            lines += [title[0].upper() + title[1:] + ":", ""]
            lines += _markdown_table([LATENCY_HEADER, *latency_rows(latency["kinds"])])
            lines += ["", targets_line(result["targets"]), "", quiet_line(latency["kinds"]), ""]
        if "skipped" in result:
            lines += [f"skipped: {result['skipped']}", ""]
        others = [row[1:] for row in other_rows(label, result)]
        if others:
            lines += [*_markdown_table([("what", "value", "note"), *others]), ""]
    return "\n".join(lines)
