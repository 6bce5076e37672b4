"""`sales-api` as a user types it: help with defaults, a version, options checked, a busy
port said before any banner, a banner naming the database, readable `db upgrade` and
`seed`, and `token` saying where it looked for the service's key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sales_api.cli import shown_url
from tests.served import free_port

CLI = [sys.executable, "-m", "sales_api"]


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_the_options_with_their_defaults_and_a_version(tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("sales-api 0."), version
    help_text = run("serve", "--help", cwd=tmp_path).stdout
    for option, default in [("--host", "127.0.0.1"), ("--port", "8000"), ("--workers", "1")]:
        assert option in help_text and f"(default: {default})" in help_text, help_text


@pytest.mark.parametrize(
    ("option", "value"), [("--workers", "0"), ("--workers", "-3"), ("--port", "70000")]
)
def test_options_out_of_range_are_refused(tmp_path: Path, option: str, value: str) -> None:
    result = run("serve", option, value, cwd=tmp_path)
    assert result.returncode == 2, result
    assert f"argument {option}" in result.stderr and "between" in result.stderr
    assert not (tmp_path / "sales.db").exists(), "nothing done"


def test_a_busy_port_is_said_before_any_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert "Sales API" not in result.stdout, "no banner for a service that cannot start"


def test_db_upgrade_and_seed_say_what_they_did(tmp_path: Path) -> None:
    first = run("db", "upgrade", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("sqlite+aiosqlite:///./sales.db: migrated from an empty")
    again = run("db", "upgrade", cwd=tmp_path)
    assert "nothing to migrate" in again.stdout
    seeded = run("seed", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "loaded the demo catalogue" in seeded.stdout


def test_token_from_another_folder_says_where_it_looked_and_makes_no_key(tmp_path: Path) -> None:
    result = run("token", "--client-id", "demo-app", cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    key = tmp_path.resolve() / ".sales" / "issuer-key.json"
    assert f"no issuer key at {key}" in result.stderr
    assert "SALES_DATA_DIR" in result.stderr
    assert not key.exists(), "a new key would sign tokens the service refuses"


def test_the_banner_names_the_database_and_what_was_migrated_and_seeded(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("Get a token" in ln for ln in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        process.terminate()
        process.communicate(timeout=15)
    text = "".join(lines)
    assert f"at http://127.0.0.1:{port}/sales/v1/graphql" in text, text
    assert (
        "Database: sqlite+aiosqlite:///./sales.db (migrated from an empty database to revision"
        in text
    ), text
    assert "the demo catalogue loaded" in text
    assert "token --client-id demo-app" in text


def test_a_password_in_the_database_url_is_never_printed() -> None:
    shown = shown_url("postgresql+asyncpg://sales:s3cret@db.example/sales")
    assert "s3cret" not in shown and shown.startswith("postgresql+asyncpg://sales:***@")
