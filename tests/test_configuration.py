"""Configuration in one documented place: every SALES_* setting is described, listed in the
README with its default, and a bad value stops `sales-api` with a message naming it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sales_api.settings import (
    ConfigurationError,
    Settings,
    markdown_table,
    settings_from_environment,
    unknown_variables,
    variable,
)
from tests.served import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SALES_API = Path(sys.executable).parent / "sales-api"  # the console script a user runs


def _readme_table() -> str:
    readme = README.read_text("utf-8")
    start, end = "<!-- settings:start -->\n", "<!-- settings:end -->"
    assert start in readme and end in readme, "the README's configuration table markers"
    return readme[readme.index(start) + len(start) : readme.index(end)]


def test_every_setting_has_a_description() -> None:
    undescribed = [
        variable(name) for name, field in Settings.model_fields.items() if not field.description
    ]
    assert undescribed == [], "give each a Field(description=...) in sales_api/settings.py"


def test_the_readme_lists_every_setting_and_no_other() -> None:
    listed = set(re.findall(r"^\| `(SALES_\w+)` \|", _readme_table(), flags=re.MULTILINE))
    settings = {variable(name) for name in Settings.model_fields}
    assert sorted(settings - listed) == [], "settings missing from the README table"
    assert sorted(listed - settings) == [], "README rows that are no setting"


def test_the_readme_table_is_generated_from_the_settings() -> None:
    assert _readme_table() == markdown_table(), (
        "regenerate the table between the settings markers in README.md: "
        "python -m sales_api.settings"
    )


def test_a_list_setting_reads_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALES_AUTH_ALGORITHMS", "ES256, RS256")
    monkeypatch.setenv("SALES_CORS_ORIGINS", '["https://shop.example"]')
    settings = settings_from_environment()
    assert settings.auth_algorithms == ("ES256", "RS256")
    assert settings.cors_origins == ["https://shop.example"]


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALES_MAX_TOKENS", "1")
    monkeypatch.setenv("SALES_SMTP_URL", "smtp://user:hunter2@mail.example:587")
    with pytest.raises(ConfigurationError) as error:
        settings_from_environment()
    message = str(error.value)
    assert "SALES_MAX_TOKENS: " in message and "SALES_SMTP_URL: " in message
    assert "?from=" in message  # what is missing from the SMTP URL
    assert "hunter2" not in message  # a value may hold a password: never repeated


def test_names_that_are_no_setting_are_found() -> None:
    environ = {
        "SALES_PORT": "8080",
        "SALES_ENV": "development",
        "SALES_TEST_DATABASE_URL": "sqlite+aiosqlite://",  # the test suite's own
        "PATH": "/usr/bin",
    }
    assert unknown_variables(environ) == ["SALES_PORT"]


def _serve(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """`sales-api serve` with these SALES_* variables; it is expected to stop by itself."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SALES_")}
    env.update(
        SALES_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'sales.db'}",
        SALES_DATA_DIR=str(tmp_path / "data"),
    )
    env.update(variables)
    return subprocess.run(
        [str(SALES_API), "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SALES_ENV", "staging"),
        ("SALES_DATABASE_URL", "nonsense://"),
        ("SALES_DATABASE_URL", "postgresql+asyncpg://sales@db:port/sales"),
        ("SALES_MAX_QUERY_DEPTH", "-1"),
        ("SALES_MAX_TOKENS", "lots"),
        ("SALES_EXPIRY_SWEEP_SECONDS", "0"),
        ("SALES_CORS_ORIGINS", "not a url"),
        ("SALES_AUTH_ALGORITHMS", "HS256"),
        ("SALES_AUTH_JWKS_URL", "jwks.example"),
        ("SALES_SMTP_URL", "mail.example:25"),
        ("SALES_SEED_DEMO", "perhaps"),
        ("SALES_TOKEN_LIFETIME_SECONDS", "5"),
        ("SALES_AUTH_AUDIENCE", ""),
    ],
)
def test_a_bad_value_stops_serve_with_a_message_naming_it(
    tmp_path: Path, name: str, value: str
) -> None:
    result = _serve(tmp_path, **{name: value})
    assert result.returncode != 0
    assert result.stderr.startswith(f"sales-api: bad configuration: {name}: "), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "sales.db").exists(), "nothing is done before the settings are read"


def test_a_database_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "sales.db"
    result = _serve(tmp_path, SALES_DATABASE_URL=f"sqlite+aiosqlite:///{missing}")
    assert result.returncode != 0
    assert result.stderr.startswith("sales-api: SALES_DATABASE_URL: cannot open "), result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_dir_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _serve(tmp_path, SALES_DATA_DIR=str(blocker / "data"))
    assert result.returncode != 0
    assert result.stderr.startswith("sales-api: SALES_DATA_DIR: "), result.stderr
    assert "Traceback" not in result.stderr


def test_a_name_that_is_no_setting_is_reported(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SALES_API), "export-schema"],
        env={**os.environ, "SALES_PORT": "abc"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stderr == "sales-api: SALES_PORT is not a setting and is ignored\n"
