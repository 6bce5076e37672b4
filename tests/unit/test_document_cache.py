"""Prepared documents: made once per text, kept within bounds, failures kept too."""

from __future__ import annotations

from sales_api.schema.build import build_schema
from sales_api.schema.operations import DocumentCache

SCHEMA = build_schema()._schema


def cache(**bounds: int) -> DocumentCache:
    return DocumentCache(
        SCHEMA, max_tokens=3000, max_depth=12, max_aliases=30, introspection=True, **bounds
    )


def test_a_document_is_prepared_once() -> None:
    documents = cache()
    first = documents.prepare("{ orders { totalItems } }")
    assert documents.prepare("{ orders { totalItems } }") is first
    assert (documents.hits, documents.misses) == (1, 1)
    [operation] = first.operations
    assert (operation.root_fields, operation.page_size_variables) == (1, ())


def test_failures_are_kept_too() -> None:
    documents = cache()
    broken = documents.prepare("{ orders { nope } }")
    assert broken.errors and documents.prepare("{ orders { nope } }") is broken
    syntax = documents.prepare("{ orders { ")
    assert syntax.errors and documents.prepare("{ orders { ") is syntax


def test_the_least_recently_used_go_first_by_count_and_by_size() -> None:
    documents = cache(max_documents=2)
    a = documents.prepare("{ a: orders { totalItems } }")
    documents.prepare("{ b: orders { totalItems } }")
    documents.prepare("{ a: orders { totalItems } }")  # used again: kept
    documents.prepare("{ c: orders { totalItems } }")
    assert documents.prepare("{ a: orders { totalItems } }") is a
    assert documents.misses == 3
    big = "{ orders { totalItems } }" + " " * 5000
    sized = cache(max_characters=6000)
    sized.prepare(big)
    sized.prepare(big + " ")  # together over the limit: the first goes
    sized.prepare(big + " ")
    sized.prepare(big)
    assert (sized.hits, sized.misses) == (1, 3)


def test_the_cost_is_kept_per_page_size() -> None:
    documents = cache()
    [operation] = documents.prepare(
        "query($n: Int!) { orders(perPage: $n) { items { id } } }"
    ).operations
    assert operation.page_size_variables == ("n",)
    assert operation.cost(SCHEMA, {"n": 10}) < operation.cost(SCHEMA, {"n": 100})
    assert len(operation.costs) == 2
    assert operation.cost(SCHEMA, {"n": 10, "other": 1}) == operation.cost(SCHEMA, {"n": 10})
    assert len(operation.costs) == 2
