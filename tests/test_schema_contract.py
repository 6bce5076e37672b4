"""The committed SDL snapshot is the exported schema, and it keeps the public contract."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from sales_api.schema.build import build_schema as build_sales_schema
from sales_api.schema.versions import without_beta

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "sales_api" / "schema" / "schema.graphql"
# The public contract and the additions the service has taken in, kept in the repository
# (contract/): sales-v1.graphql, then each fragment written with `extend`.
CONTRACT = ROOT / "contract" / "sales-v1.graphql"
FRAGMENTS = ("edges.graphql", "events.graphql", "after-sale.graphql")
# Where the team keeps them, beside a checkout; the copies must not drift from it.
SHARED = ROOT.parent / "shared" / "contract"


def test_the_snapshot_is_the_exported_schema() -> None:
    exported = without_beta(build_sales_schema()).as_str()
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


@pytest.mark.parametrize("name", [*TOP_LEVEL, *FRAGMENTS, "RULES.md"])
def test_the_kept_copies_are_the_shared_contract(name: str) -> None:
    shared = SHARED / ("" if name in TOP_LEVEL else "next") / name
    if not shared.exists():
        pytest.skip("the team's shared contract is not beside this checkout")
    assert (ROOT / "contract" / name).read_text("utf-8") == shared.read_text("utf-8")


RELEASES = ROOT / "contract" / "releases"


def _release_key(path: Path) -> tuple[int, ...]:
    """contract/releases/v1-0.1.0.graphql -> (0, 1, 0)."""
    return tuple(int(part) for part in path.stem.split("-", 1)[1].split("."))


def test_the_served_schema_breaks_nothing_of_the_last_release() -> None:
    released = sorted(RELEASES.glob("v1-*.graphql"), key=_release_key)
    assert released, "a release's schema is kept in contract/releases/"
    last = build_schema(released[-1].read_text("utf-8"))
    ours = build_schema(SNAPSHOT.read_text("utf-8"))
    assert [change.description for change in find_breaking_changes(last, ours)] == []


def test_the_version_has_a_changelog_section() -> None:
    from importlib.metadata import version

    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert "## Unreleased" in changelog
    assert f", {version('sales-api')} — " in changelog, "the installed version's section"


_DEPRECATION = re.compile(r"Use \S.*Removal not before (\d{4}-\d{2}-\d{2})")


def _deprecations(sdl: str) -> list[tuple[str, str]]:
    schema = build_schema(sdl)
    found: list[tuple[str, str]] = []
    for type_ in schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        for name, field in (getattr(type_, "fields", None) or {}).items():
            if field.deprecation_reason is not None:
                found.append((f"{type_.name}.{name}", field.deprecation_reason))
            for arg_name, arg in (getattr(field, "args", None) or {}).items():
                if arg.deprecation_reason is not None:
                    found.append((f"{type_.name}.{name}({arg_name})", arg.deprecation_reason))
        for name, value in (getattr(type_, "values", None) or {}).items():
            if value.deprecation_reason is not None:
                found.append((f"{type_.name}.{name}", value.deprecation_reason))
    return found


def test_every_deprecation_names_its_replacement_and_a_removal_date() -> None:
    for where, reason in _deprecations(SNAPSHOT.read_text("utf-8")):
        assert _DEPRECATION.search(reason), (where, reason)


def test_the_deprecation_rule_catches_a_bare_deprecation() -> None:
    sdl = """type Query {
      a: Int @deprecated(reason: "Use b. Removal not before 2027-06-01 (v2).")
      b: Int @deprecated
      c(x: Int @deprecated(reason: "gone")): Int
    }"""
    bad = [w for w, r in _deprecations(sdl) if not _DEPRECATION.search(r)]
    assert bad == ["Query.b", "Query.c(x)"]
