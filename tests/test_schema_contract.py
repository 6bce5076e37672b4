"""The committed SDL snapshot is the exported schema, and it keeps the public contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from sales_api.schema.build import build_schema as build_sales_schema

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "sales_api" / "schema" / "schema.graphql"
CONTRACT = ROOT.parent / "shared" / "contract" / "sales-v1.graphql"


def test_the_snapshot_is_the_exported_schema() -> None:
    exported = build_sales_schema().as_str()
    assert SNAPSHOT.read_text("utf-8").strip() == exported.strip(), (
        "regenerate it: sales-api export-schema > sales_api/schema/schema.graphql"
    )


def test_export_schema_command_prints_the_sdl() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "sales_api", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert output.strip() == SNAPSHOT.read_text("utf-8").strip()


def test_the_schema_is_a_compatible_superset_of_the_contract() -> None:
    if not CONTRACT.exists():
        pytest.skip("the shared contract is not beside this checkout")
    contract = build_schema(CONTRACT.read_text("utf-8"))
    ours = build_schema(SNAPSHOT.read_text("utf-8"))
    assert [change.description for change in find_breaking_changes(contract, ours)] == []
