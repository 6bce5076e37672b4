"""Builds the Strawberry schema with its limits, caches and error shaping."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from sales_api.schema.extensions import ErrorShaping, RequiredHeaders
from sales_api.schema.mutation import Mutation
from sales_api.schema.query import Query
from sales_api.schema.scalars import SCALAR_MAP


class SalesSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Unexpected exceptions are logged by ErrorShaping with the correlation id; client
        mistakes (validation, bad input) are not server errors and are not logged here."""


def build_schema(
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 3000,
    introspection: bool = True,
) -> strawberry.Schema:
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        RequiredHeaders,
        ErrorShaping,
    ]
    if not introspection:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    return SalesSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )


__all__ = ["SchemaExtension", "build_schema"]
