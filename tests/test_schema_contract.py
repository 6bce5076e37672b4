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
# The public contract and the additions the service has taken in, kept in the repository
# (contract/): sales-v1.graphql, then each fragment written with `extend`.
CONTRACT = ROOT / "contract" / "sales-v1.graphql"
FRAGMENTS = ("edges.graphql", "events.graphql")
# Where the team keeps them, beside a checkout; the copies must not drift from it.
SHARED = ROOT.parent / "shared" / "contract"


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


def test_the_schema_is_a_compatible_superset_of_the_contract_and_its_additions() -> None:
    documents = [CONTRACT.read_text("utf-8")]
    documents += [(ROOT / "contract" / name).read_text("utf-8") for name in FRAGMENTS]
    contract = build_schema("\n".join(documents))
    ours = build_schema(SNAPSHOT.read_text("utf-8"))
    assert [change.description for change in find_breaking_changes(contract, ours)] == []


def test_a_breaking_change_would_be_found() -> None:
    """The check above is not vacuous: a contract field the schema lacks is reported."""
    contract = build_schema(
        CONTRACT.read_text("utf-8").replace("type Order {", "type Order {\n  nope: Int!", 1)
    )
    ours = build_schema(SNAPSHOT.read_text("utf-8"))
    assert [change.description for change in find_breaking_changes(contract, ours)] == [
        "Field Order.nope was removed."
    ]


TOP_LEVEL = ("sales-v1.graphql", "DOMAIN.md", "original-guide.txt")


@pytest.mark.parametrize("name", [*TOP_LEVEL, *FRAGMENTS])
def test_the_kept_copies_are_the_shared_contract(name: str) -> None:
    shared = SHARED / ("" if name in TOP_LEVEL else "next") / name
    if not shared.exists():
        pytest.skip("the team's shared contract is not beside this checkout")
    assert (ROOT / "contract" / name).read_text("utf-8") == shared.read_text("utf-8")
