"""STYLE.md's dependency rule between the layers, read from the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sales_api"

# layer -> (allowed first-party layers, forbidden third-party roots)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "domain": ({"domain"}, {"*"}),
    "persistence": ({"domain", "persistence"}, {"strawberry", "starlette", "joserfc", "authlib"}),
    # The read side: SQL straight into answers; it knows no GraphQL library and no web.
    "queries": (
        {"domain", "persistence", "queries"},
        {"strawberry", "graphql", "starlette", "joserfc", "authlib"},
    ),
    "resolvers": (
        {"domain", "schema", "resolvers", "queries"},
        {"sqlalchemy", "sqlmodel", "alembic"},
    ),
    "schema": (
        {"domain", "resolvers", "schema", "queries"},
        {"sqlalchemy", "sqlmodel", "alembic", "starlette"},
    ),
    "web": ({"domain", "web"}, {"sqlalchemy", "sqlmodel", "alembic"}),
    # Adapters that turn domain documents into files and deliver messages.
    "documents": (
        {"domain", "documents"},
        {"sqlalchemy", "sqlmodel", "alembic", "strawberry", "starlette"},
    ),
    "messaging": (
        {"domain", "messaging"},
        {"sqlalchemy", "sqlmodel", "alembic", "strawberry", "starlette"},
    ),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def violations(layer: str, modules: list[Path], root_dir: Path = PACKAGE) -> list[str]:
    allowed, forbidden = RULES[layer]
    found: list[str] = []
    for module in modules:
        for name in _imports(module):
            root = name.split(".")[0]
            where = f"{module.relative_to(root_dir)} imports {name}"
            if root == "sales_api":
                parts = name.split(".")
                if (parts[1] if len(parts) > 1 else "") not in allowed:
                    found.append(where)
            elif layer == "domain":
                if root not in _stdlib():
                    found.append(where)
            elif root in forbidden:
                found.append(where)
    return found


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_imports_only_what_style_allows(layer: str) -> None:
    assert violations(layer, _modules(layer)) == []


def test_every_layer_has_modules() -> None:
    """The rule above would pass vacuously if a layer were renamed."""
    for layer in RULES:
        assert _modules(layer), layer


@pytest.mark.parametrize(
    ("layer", "source"),
    [
        ("domain", "import sqlalchemy\n"),
        ("domain", "from sales_api.persistence.tables import orders\n"),
        ("persistence", "import strawberry\n"),
        ("resolvers", "from sales_api.persistence import tables\n"),
        ("resolvers", "from sqlalchemy import select\n"),
        ("schema", "from sales_api.persistence.loaders import OrderBatchReads\n"),
        ("web", "from sales_api.persistence.unit_of_work import SqlUnitOfWork\n"),
        ("queries", "import strawberry\n"),
        ("queries", "from sales_api.schema.context import SalesContext\n"),
        ("persistence", "from sales_api.queries.reader import Reader\n"),
    ],
)
def test_the_rule_catches_a_violation(tmp_path: Path, layer: str, source: str) -> None:
    module = tmp_path / "bad.py"
    module.write_text(source)
    assert len(violations(layer, [module], tmp_path)) == 1


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names) | {"__future__"}
