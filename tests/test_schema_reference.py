"""docs/schema-reference.md is the reference generated from the schema, and it is whole."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from graphql import build_schema, is_specified_scalar_type

from sales_api.schema.build import build_schema as build_sales_schema
from sales_api.schema.reference import markdown_reference
from sales_api.schema.versions import without_beta

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "schema-reference.md"
REGENERATE = "regenerate it: sales-api export-schema --markdown > docs/schema-reference.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    generated = markdown_reference(without_beta(build_sales_schema()).as_str())
    assert REFERENCE.read_text("utf-8") == generated, REGENERATE


def test_export_schema_markdown_prints_the_reference() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "sales_api", "export-schema", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert output == REFERENCE.read_text("utf-8"), REGENERATE


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_every_operation_and_type_has_a_section_and_every_link_lands() -> None:
    text = REFERENCE.read_text("utf-8")
    headings = re.findall(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)
    schema = build_schema(without_beta(build_sales_schema()).as_str())
    expected = {
        f"{root.name}.{field}"
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
        for field in root.fields
    } | {
        name
        for name, named in schema.type_map.items()
        if not name.startswith("__")
        and name not in ("Query", "Mutation", "Subscription")
        and not is_specified_scalar_type(named)
    }
    assert expected - set(headings) == set()

    anchors = {_anchor(heading) for heading in headings}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and links - anchors == set()
