"""The operations of docs/front-end.md are valid against the committed schema (the one
the service serves), fragments included, so a front end copying them gets working code."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import build_schema, parse, validate

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "front-end.md"
SNAPSHOT = ROOT / "sales_api" / "schema" / "schema.graphql"
BLOCK = re.compile(r"```graphql\n(.*?)```", re.DOTALL)


def test_the_front_end_operations_are_valid_against_the_schema() -> None:
    blocks = BLOCK.findall(DOC.read_text("utf-8"))
    assert len(blocks) >= 3, "the page shows its operations in graphql blocks"
    document = parse("\n".join(blocks))  # fragments are shared between the blocks
    errors = validate(build_schema(SNAPSHOT.read_text("utf-8")), document)
    assert [error.message for error in errors] == []
    names = {d.name.value for d in document.definitions if getattr(d, "name", None)}
    assert {"Order", "Reserve", "MyOrders", "Watch", "OrderSummary"} <= names


def test_the_codegen_configuration_points_at_the_committed_schema() -> None:
    text = DOC.read_text("utf-8")
    assert 'schema: "../sales-api/sales_api/schema/schema.graphql"' in text
    for scalar in ("Amount", "DateTime", "Date"):
        assert re.search(rf"\b{scalar}\b", SNAPSHOT.read_text("utf-8")), scalar
