"""Measures of GraphQL documents (sales_api/schema/measures.py) against the real schema."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, get_operation_ast, parse

from sales_api.schema.build import build_schema
from sales_api.schema.measures import (
    alias_count,
    fragments_in_order,
    operation_cost,
    operation_depths,
    root_fields,
)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    return operation_cost(schema, document, operation, variables)


def test_every_field_costs_one(schema: GraphQLSchema) -> None:
    assert cost(schema, '{ order(id: "x") { id status totalAmount } }') == 4


def test_a_list_multiplies_its_selection_by_ten(schema: GraphQLSchema) -> None:
    assert cost(schema, '{ order(id: "x") { orderLines { id status } } }') == 1 + 1 + 10 * 2
    assert cost(schema, "{ stopPlaces { id name } }") == 1 + 10 * 2


def test_a_list_of_leaves_costs_one(schema: GraphQLSchema) -> None:
    query = (
        '{ seatMap(serviceJourneyId: "s", fromStopPlaceId: "a", toStopPlaceId: "b") '
        "{ cars { seats { properties } } } }"
    )
    # seatMap 1 + cars (1 + 10 x seats (1 + 10 x properties 1)): a list of strings is one field.
    assert cost(schema, query) == 1 + 1 + 10 * (1 + 10 * 1)


def test_the_items_of_a_paged_field_are_multiplied_by_its_page_size(
    schema: GraphQLSchema,
) -> None:
    assert cost(schema, "{ orders { items { id } totalItems } }") == 1 + 1 + 20 * 1 + 1
    assert cost(schema, "{ payments(perPage: 7) { items { id } } }") == 2 + 7
    assert cost(schema, "query($n: Int!) { credits(perPage: $n) { items { id } } }", {"n": 3}) == 5
    assert cost(schema, "query($n: Int = 4) { receipts(perPage: $n) { items { id } } }") == 6


def test_a_page_size_beyond_the_maximum_counts_as_the_maximum(schema: GraphQLSchema) -> None:
    assert cost(schema, "{ orders(perPage: 100000) { items { id } } }") == 2 + 100
    query = "query($n: Int!) { orders(perPage: $n) { items { id } } }"
    assert cost(schema, query, {"n": "lots"}) == 2 + 100
    assert cost(schema, query, {"n": -5}) == 2 + 1


def test_lists_in_lists_multiply(schema: GraphQLSchema) -> None:
    query = "{ orders(perPage: 10) { items { payments { transactions { id } } } } }"
    # orders 1 + items (1 + 10 x payments (1 + 10 x transactions (1 + 10 x 1)))
    assert cost(schema, query) == 1 + 1 + 10 * (1 + 10 * (1 + 10))


def test_fragments_cost_where_they_are_spread(schema: GraphQLSchema) -> None:
    inline = "{ orders(perPage: 30) { items { id } totalItems } }"
    spread = (
        "{ orders(perPage: 30) { ...Page } } "
        "fragment Page on OrderConnection { ... on OrderConnection { items { ...Id } } totalItems }"
        " fragment Id on Order { id }"
    )
    assert cost(schema, spread) == cost(schema, inline) == 1 + 1 + 30 + 1
    twice = "{ a: orders { ...Page } b: orders { ...Page } } " + spread.split("} } ", 1)[1]
    assert cost(schema, twice) == 2 * (1 + 1 + 20 + 1)


def test_introspection_costs_nothing_and_is_not_deep(schema: GraphQLSchema) -> None:
    query = "{ __typename __schema { types { fields { type { ofType { ofType { name } } } } } } }"
    assert cost(schema, query) == 0
    [(_, depth)] = operation_depths(parse(query))
    assert depth == 0


def test_depth_counts_fields_with_selections(schema: GraphQLSchema) -> None:
    document = parse(
        "query A { orders { items { id } } } "
        "query B { orders { ...Deep } } "
        "fragment Deep on OrderConnection "
        "{ items { orderLines { reservation { seats { seatNumber } } } } }"
    )
    assert [depth for _, depth in operation_depths(document)] == [2, 5]


def test_aliases_in_fragments_count_each_time_they_are_spread() -> None:
    document = parse(
        "query { a: orders { totalItems } ...F ...F } "
        "fragment F on Query { b: orders { c: totalItems } ... on Query { d: __typename } }"
    )
    assert alias_count(document) == 1 + 2 * 3


def test_a_fragment_bomb_is_measured_in_linear_time(schema: GraphQLSchema) -> None:
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(200))
    document = parse("{ ...F0 } " + chain + " fragment F200 on Query { x: orders { totalItems } }")
    assert alias_count(document) == 2**200
    assert cost(schema, "{ ...F0 } " + chain + " fragment F200 on Query { stopPlaces { id } }") == (
        2**200 * 11
    )
    assert [depth for _, depth in operation_depths(document)] == [1]


def test_fragments_come_after_those_they_spread_and_cycles_are_left_out() -> None:
    document = parse(
        "fragment A on Query { ...B ...C } fragment B on Query { ...C } "
        "fragment C on Query { __typename } "
        "fragment X on Query { ...Y } fragment Y on Query { ...X } "
        "fragment Z on Query { ...Unknown }"
    )
    order = [f.name.value for f in fragments_in_order(document)]
    assert sorted(order) == ["A", "B", "C", "Z"]
    assert order.index("C") < order.index("B") < order.index("A")


def test_root_fields_are_response_keys_through_fragments() -> None:
    document = parse(
        "mutation { a: createOrder(input: {}) { order { id } } "
        "createOrder(input: {}) { order { id } } __typename ...M ...M } "
        "fragment M on Mutation { b: cancelOrder(input: {orderId: 1}) { order { id } } "
        "a: createOrder(input: {}) { order { id } } }"
    )
    operation = get_operation_ast(document)
    assert operation is not None
    assert root_fields(document, operation) == {"a", "createOrder", "b"}
