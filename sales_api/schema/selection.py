"""What a query asks for below a field, for the read side: a neutral `Selection` made from
graphql-core's field nodes (aliases, fragments, inline fragments, @skip and @include).
Made once per field of a prepared document (and per value of the variables its
directives read), then taken from the prepared operation."""

from __future__ import annotations

from typing import Any, cast

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)

from sales_api.queries.selection import Selected, Selection
from sales_api.schema.context import Info


def selection_of(info: Info) -> Selection:
    """The selection below the field being resolved."""
    raw = info._raw_info
    nodes: list[FieldNode] = list(raw.field_nodes)
    # Strawberry's resolve info carries the coerced variables as a plain dict.
    variables: dict[str, Any] = cast(dict[str, Any], raw.variable_values or {})
    operation = getattr(info.context, "operation", None)
    if operation is None:
        return _below(nodes, raw.fragments, variables)
    key = (id(nodes[0]), tuple(variables.get(n) for n in operation.directive_variables))
    found: Selection | None = operation.selections.get(key)
    if found is None:
        found = operation.selections[key] = _below(nodes, raw.fragments, variables)
    return found


def _below(nodes: list[FieldNode], fragments: Any, variables: dict[str, Any]) -> Selection:
    sets = [node.selection_set for node in nodes if node.selection_set is not None]
    return _merge(sets, fragments, variables)


def _merge(sets: list[SelectionSetNode], fragments: Any, variables: dict[str, Any]) -> Selection:
    """The fields of several selection sets of one object, merged by response key."""
    grouped: dict[str, tuple[str, list[FieldNode]]] = {}

    def collect(selection_set: SelectionSetNode) -> None:
        for node in selection_set.selections:
            if not _included(node, variables):
                continue
            if isinstance(node, FieldNode):
                key = (node.alias or node.name).value
                entry = grouped.get(key)
                if entry is None:
                    grouped[key] = (node.name.value, [node])
                else:
                    entry[1].append(node)
            elif isinstance(node, InlineFragmentNode):
                collect(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                definition = getattr(fragment, "definition", fragment)
                if isinstance(definition, FragmentDefinitionNode):
                    collect(definition.selection_set)

    for selection_set in sets:
        collect(selection_set)
    fields = []
    for key, (name, nodes) in grouped.items():
        below = [node.selection_set for node in nodes if node.selection_set is not None]
        fields.append(Selected(key, name, _merge(below, fragments, variables) if below else None))
    return Selection(tuple(fields))


def _included(node: Any, variables: dict[str, Any]) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        argument = next((a for a in directive.arguments if a.name.value == "if"), None)
        if argument is None:
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            condition = bool(variables.get(value.name.value))
        elif isinstance(value, BooleanValueNode):
            condition = value.value
        else:
            continue
        if (name == "skip") == condition:
            return False
    return True
