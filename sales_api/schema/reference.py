"""The schema reference (docs/schema-reference.md), rendered from the SDL: every query and
mutation with its arguments, then every type with its fields, values and descriptions.

`sales-api export-schema --markdown` prints it; a test keeps the committed file equal to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    build_schema,
    get_named_type,
    is_specified_scalar_type,
    print_ast,
)

GRAPHQL_PATH = "/sales/v1/graphql"
# Kinds in the order the reference lists them, each with its heading.
KINDS: tuple[tuple[type[GraphQLNamedType], str], ...] = (
    (GraphQLObjectType, "Objects"),
    (GraphQLInterfaceType, "Interfaces"),
    (GraphQLUnionType, "Unions"),
    (GraphQLInputObjectType, "Inputs"),
    (GraphQLEnumType, "Enums"),
    (GraphQLScalarType, "Scalars"),
)


def markdown_reference(sdl: str) -> str:
    """The whole reference for the schema written in `sdl`, as Markdown."""
    schema = build_schema(sdl)
    roots = [
        (title, root)
        for title, root in (
            ("Queries", schema.query_type),
            ("Mutations", schema.mutation_type),
            ("Subscriptions", schema.subscription_type),
        )
        if root is not None
    ]
    groups = [(title, _types_of_kind(schema, kind)) for kind, title in KINDS]
    groups = [(title, types) for title, types in groups if types]

    lines = [
        "# Schema reference",
        "",
        "Every query, mutation and type of the Sales API at `" + GRAPHQL_PATH + "`, generated",
        "from the schema (`sales_api/schema/schema.graphql`) by",
        "`sales-api export-schema --markdown > docs/schema-reference.md`; do not edit it by",
        "hand. Business-rule failures of a mutation come in its payload's `errors` with a",
        "stable `code`; the README says which headers every request needs.",
        "",
    ]
    lines += [f"- [{title}](#{title.lower()})" for title, _ in roots + groups]
    for title, root in roots:
        lines += ["", f"## {title}", ""]
        for name, field in root.fields.items():
            lines += _root_field(root.name, name, field)
    for title, types in groups:
        lines += ["", f"## {title}"]
        for named in types:
            lines += ["", f"### {named.name}", ""]
            lines += _description(named.description)
            lines += _body(named)
    return "\n".join(_tidy(lines)) + "\n"


def _types_of_kind(schema: GraphQLSchema, kind: type[GraphQLNamedType]) -> list[GraphQLNamedType]:
    roots = {schema.query_type, schema.mutation_type, schema.subscription_type}
    return sorted(
        (
            named
            for name, named in schema.type_map.items()
            if isinstance(named, kind)
            and not name.startswith("__")
            and named not in roots
            and not (isinstance(named, GraphQLScalarType) and is_specified_scalar_type(named))
        ),
        key=lambda named: named.name,
    )


def _root_field(root: str, name: str, field: GraphQLField) -> list[str]:
    lines = [f"### {root}.{name}", ""]
    lines += _description(field.description)
    lines += _deprecation(field.deprecation_reason)
    lines += ["```graphql", f"{name}{_signature(field.args)}: {field.type}", "```", ""]
    if field.args:
        lines += _arguments(field.args)
    lines += [f"Returns {_type_link(field.type)}.", ""]
    return lines


def _body(named: GraphQLNamedType) -> list[str]:
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        lines = []
        if named.interfaces:
            lines += ["Implements " + ", ".join(_type_link(i) for i in named.interfaces) + ".", ""]
        lines += ["| field | type | description |", "|---|---|---|"]
        for name, field in named.fields.items():
            text = _cell(field.description) + _deprecated_cell(field.deprecation_reason)
            signature = f"`{name}{_signature(field.args)}`"
            lines.append(f"| {signature} | {_type_link(field.type)} | {text} |")
        return lines
    if isinstance(named, GraphQLInputObjectType):
        lines = ["| field | type | default | description |", "|---|---|---|---|"]
        for name, input_field in named.fields.items():
            lines.append(
                f"| `{name}` | {_type_link(input_field.type)} | {_default(input_field)} "
                f"| {_cell(input_field.description)} |"
            )
        return lines
    if isinstance(named, GraphQLEnumType):
        lines = ["| value | description |", "|---|---|"]
        for name, value in named.values.items():
            text = _cell(value.description) + _deprecated_cell(value.deprecation_reason)
            lines.append(f"| `{name}` | {text} |")
        return lines
    if isinstance(named, GraphQLUnionType):
        return ["One of " + ", ".join(_type_link(member) for member in named.types) + "."]
    return []  # a scalar: its description says it all


def _arguments(arguments: dict[str, GraphQLArgument]) -> list[str]:
    lines = ["Arguments:", ""]
    for name, argument in arguments.items():
        default = _default(argument)
        line = f"- `{name}`: {_type_link(argument.type)}"
        if default:
            line += f", default {default}"
        if argument.description:
            line += f": {_cell(argument.description)}"
        lines.append(line)
    return [*lines, ""]


def _signature(arguments: dict[str, GraphQLArgument]) -> str:
    if not arguments:
        return ""
    parts = []
    for name, argument in arguments.items():
        default = _default_literal(argument)
        parts.append(f"{name}: {argument.type}" + (f" = {default}" if default else ""))
    return "(" + ", ".join(parts) + ")"


def _default_literal(value: GraphQLArgument | GraphQLInputField) -> str:
    node = value.ast_node.default_value if value.ast_node is not None else None
    return print_ast(node) if node is not None else ""


def _default(value: GraphQLArgument | GraphQLInputField) -> str:
    literal = _default_literal(value)
    # "= null" is how an optional value prints; it says nothing a reader needs.
    return f"`{literal}`" if literal and literal != "null" else ""


def _type_link(type_: GraphQLType) -> str:
    """`[Order!]!` linked to the section of Order; built-in scalars are not linked."""
    named = get_named_type(type_)
    if isinstance(named, GraphQLScalarType) and is_specified_scalar_type(named):
        return f"`{type_}`"
    return f"[`{type_}`](#{named.name.lower()})"


def _description(text: str | None) -> list[str]:
    return [text.strip(), ""] if text else []


def _deprecation(reason: str | None) -> list[str]:
    return [f"**Deprecated:** {reason}", ""] if reason else []


def _cell(text: str | None) -> str:
    """A description inside a table row: one line, pipes escaped."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _deprecated_cell(reason: str | None) -> str:
    return f" **Deprecated:** {_cell(reason)}" if reason else ""


def _tidy(lines: Iterable[str]) -> list[str]:
    """No trailing spaces and never two blank lines in a row."""
    tidy: list[str] = []
    for line in (line.rstrip() for line in lines):
        if line == "" and tidy and tidy[-1] == "":
            continue
        tidy.append(line)
    while tidy and tidy[-1] == "":
        tidy.pop()
    return tidy
