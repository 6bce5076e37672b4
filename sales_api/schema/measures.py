"""Measures of a GraphQL document, taken before anything runs: how deep it nests, how many
aliases and root mutations it has, and what it may cost to answer.

Each fragment is measured once, after the fragments it spreads, and a spread adds the
fragment's measure; so a fragment spread many times, or a chain of fragments each spreading
the next twice, costs time linear in the document's size instead of exponential.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from sales_api.domain.paging import MAX_PER_PAGE

# A list that is not paged (Order.orderLines, Payment.transactions, Query.stopPlaces ...) is
# assumed to hold this many items; a paged one holds its `perPage`.
ASSUMED_LIST_SIZE = 10
PAGE_SIZE_ARGUMENT = "perPage"

T = TypeVar("T")


def _is_meta(field: FieldNode) -> bool:
    """__typename, __schema, __type: answered from memory, never from the database."""
    return field.name.value.startswith("__")


def _spread_names(selection_set: SelectionSetNode) -> set[str]:
    names: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.add(selection.name.value)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return names


def fragments_in_order(document: DocumentNode) -> list[FragmentDefinitionNode]:
    """The document's fragments, each after every fragment it spreads. Fragments in a cycle
    (or spreading one) are left out: validation refuses the document anyway."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    waiting: dict[str, int] = {}
    spread_by: dict[str, list[str]] = defaultdict(list)
    for name, fragment in fragments.items():
        spreads = _spread_names(fragment.selection_set) & fragments.keys()
        waiting[name] = len(spreads)
        for spread in spreads:
            spread_by[spread].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    ordered: list[FragmentDefinitionNode] = []
    while ready:
        name = ready.pop()
        ordered.append(fragments[name])
        for user in spread_by[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return ordered


def _fragment_measures(
    document: DocumentNode, measure: Callable[[FragmentDefinitionNode, dict[str, T]], T]
) -> dict[str, T]:
    measures: dict[str, T] = {}
    for fragment in fragments_in_order(document):
        measures[fragment.name.value] = measure(fragment, measures)
    return measures


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


# ------------------------------------------------------------------ depth and aliases


def _depth(selection_set: SelectionSetNode, fragment_depths: Mapping[str, int]) -> int:
    """Fields nested in fields; introspection is not counted (as Strawberry's limiter)."""
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is not None and not _is_meta(selection):
                deepest = max(deepest, 1 + _depth(selection.selection_set, fragment_depths))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragment_depths))
        elif isinstance(selection, FragmentSpreadNode):
            deepest = max(deepest, fragment_depths.get(selection.name.value, 0))
    return deepest


def operation_depths(document: DocumentNode) -> list[tuple[OperationDefinitionNode, int]]:
    """How deep each operation nests, e.g. `{ orders { items { id } } }` is 2."""
    fragment_depths = _fragment_measures(
        document, lambda fragment, known: _depth(fragment.selection_set, known)
    )
    return [(op, _depth(op.selection_set, fragment_depths)) for op in operations(document)]


def _aliases(selection_set: SelectionSetNode, fragment_aliases: Mapping[str, int]) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1 if selection.alias is not None else 0
            if selection.selection_set is not None:
                count += _aliases(selection.selection_set, fragment_aliases)
        elif isinstance(selection, InlineFragmentNode):
            count += _aliases(selection.selection_set, fragment_aliases)
        elif isinstance(selection, FragmentSpreadNode):
            count += fragment_aliases.get(selection.name.value, 0)
    return count


def alias_count(document: DocumentNode) -> int:
    """Aliases in every operation, a fragment's counted each time it is spread."""
    fragment_aliases = _fragment_measures(
        document, lambda fragment, known: _aliases(fragment.selection_set, known)
    )
    return sum(_aliases(op.selection_set, fragment_aliases) for op in operations(document))


def root_fields(document: DocumentNode, operation: OperationDefinitionNode) -> set[str]:
    """The response keys at the root of an operation (fragments included): each is one
    resolver run, e.g. one mutation."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    keys: set[str] = set()
    seen: set[str] = set()
    pending = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if not _is_meta(selection):
                    keys.add((selection.alias or selection.name).value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return keys


# ------------------------------------------------------------------ cost


@dataclass(frozen=True, slots=True)
class _Cost:
    """The cost of a selection: `fixed` whatever list it is under, plus `per_item` for the
    lists directly in it, times their size (known only from the field the selection is on)."""

    fixed: int = 0
    per_item: int = 0

    def __add__(self, other: _Cost) -> _Cost:
        return _Cost(self.fixed + other.fixed, self.per_item + other.per_item)

    def total(self, list_size: int) -> int:
        return self.fixed + list_size * self.per_item


class _CostCounter:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.variable_defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        self.fragments: dict[str, _Cost] = {}

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> _Cost:
        cost = _Cost()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not _is_meta(selection):
                    cost += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                cost += self.selection(selection.selection_set, on)
            elif isinstance(selection, FragmentSpreadNode):
                cost += self.fragments.get(selection.name.value, _Cost())
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Cost:
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        if node.selection_set is None:
            return _Cost(fixed=1)
        child_type = get_named_type(definition.type) if definition is not None else None
        below = self.selection(node.selection_set, child_type)
        # Lists directly below a paged field (its `items`) hold a page; others an assumed size.
        below_total = below.total(self.page_size(node, definition) or ASSUMED_LIST_SIZE)
        if definition is not None and is_list_type(get_nullable_type(definition.type)):
            return _Cost(fixed=1, per_item=below_total)
        return _Cost(fixed=1 + below_total)

    def page_size(self, node: FieldNode, definition: GraphQLField | None) -> int | None:
        argument = definition.args.get(PAGE_SIZE_ARGUMENT) if definition is not None else None
        if argument is None:
            return None
        value: Any = argument.default_value
        for given in node.arguments or ():
            if given.name.value == PAGE_SIZE_ARGUMENT:
                value = self.value(given.value, value)
        if not isinstance(value, int) or isinstance(value, bool):
            return MAX_PER_PAGE  # not a number: refused when it runs; assume the most
        return min(max(value, 1), MAX_PER_PAGE)

    def value(self, node: ValueNode, argument_default: Any) -> Any:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            default = self.variable_defaults.get(name)
            if default is not None:
                return self.value(default, argument_default)
            return argument_default
        return None


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """What answering `operation` may cost: every field 1, and the selection below a list
    field times the list's size: `perPage` (argument, variable or default) for the items of
    a paged field, ASSUMED_LIST_SIZE for any other list. Introspection costs nothing."""
    counter = _CostCounter(schema, operation, variables or {})
    for fragment in fragments_in_order(document):
        on = schema.get_type(fragment.type_condition.name.value)
        counter.fragments[fragment.name.value] = counter.selection(fragment.selection_set, on)
    root = schema.get_root_type(operation.operation)
    return counter.selection(operation.selection_set, root).total(ASSUMED_LIST_SIZE)
