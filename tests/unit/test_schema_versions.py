"""v1 and v1beta from one schema: beta root fields (and the types only they reach) are
served by the beta schema and absent from v1, which still executes everything else."""

from __future__ import annotations

import strawberry
from graphql import graphql_sync, parse, validate

from sales_api.schema.build import build_schema
from sales_api.schema.versions import BETA, beta_fields, without_beta


@strawberry.type
class Stop:
    name: str


@strawberry.type
class Exchange:
    """A type only a beta field reaches."""

    fee: str


@strawberry.type
class Query:
    @strawberry.field
    def stop(self) -> Stop:
        return Stop(name="Oslo S")

    @strawberry.field(metadata=BETA)
    def exchange_quote(self) -> Exchange:
        return Exchange(fee="50.00")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def ping(self) -> str:
        return "pong"

    @strawberry.mutation(metadata=BETA)
    def exchange(self) -> Exchange:
        return Exchange(fee="50.00")


FULL = strawberry.Schema(query=Query, mutation=Mutation)


def test_v1_leaves_out_beta_fields_and_the_types_only_they_reach() -> None:
    v1 = without_beta(FULL)
    assert beta_fields(FULL._schema) == ["Query.exchangeQuote", "Mutation.exchange"]
    assert beta_fields(v1._schema) == []
    sdl = v1.as_str()
    assert "exchange" not in sdl.lower() and "Exchange" not in v1._schema.type_map
    assert "exchangeQuote" in FULL.as_str(), "the beta schema keeps them"


def test_v1_executes_what_it_keeps_and_refuses_beta_documents() -> None:
    v1 = without_beta(FULL)
    answer = graphql_sync(v1._schema, "{ stop { name } }")
    assert answer.errors is None and answer.data == {"stop": {"name": "Oslo S"}}
    assert graphql_sync(v1._schema, "mutation { ping }").data == {"ping": "pong"}
    refused = validate(v1._schema, parse("{ exchangeQuote { fee } }"))
    assert refused and "exchangeQuote" in refused[0].message
    beta = graphql_sync(FULL._schema, "{ stop { name } exchangeQuote { fee } }")
    assert beta.data == {"stop": {"name": "Oslo S"}, "exchangeQuote": {"fee": "50.00"}}


def test_the_served_schema_has_no_beta_today_and_v1_is_all_of_it() -> None:
    """Nothing is beta yet: v1 is the whole schema (the same object)."""
    schema = build_schema()
    assert beta_fields(schema._schema) == []
    assert without_beta(schema) is schema
