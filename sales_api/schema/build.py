"""Builds the Strawberry schema with its limits, caches and error shaping."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from sales_api.schema.execution import PlannedExecutionContext
from sales_api.schema.extensions import ErrorShaping, OperationNaming, RequiredHeaders
from sales_api.schema.limits import LimitedParser, QueryLimits, document_rules
from sales_api.schema.mutation import Mutation
from sales_api.schema.query import Query
from sales_api.schema.scalars import SCALAR_MAP
from sales_api.schema.text_input import RefuseUnstorableText


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
    max_cost: int = 50_000,
    max_mutations: int = 5,
    introspection: bool = True,
) -> strawberry.Schema:
    """The schema; the limits are described in docs/limits.md. Without introspection,
    validation errors carry no "Did you mean ...?" suggestions either."""
    # The rule classes are made once: rules made per request (as QueryDepthLimiter and
    # MaxAliasesLimiter do) would never hit the validation cache, which is keyed by the rules.
    limit_rules = document_rules(max_depth=max_depth, max_aliases=max_aliases)
    extensions: list[Any] = [
        lambda: LimitedParser(max_tokens=max_tokens),
        lambda: ValidationCache(maxsize=256),
        lambda: AddValidationRules(limit_rules),
        RequiredHeaders,
        RefuseUnstorableText,
        lambda: QueryLimits(max_cost=max_cost, max_mutations=max_mutations),
        lambda: ErrorShaping(hide_suggestions=not introspection),
        OperationNaming,
    ]
    if not introspection:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    return SalesSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
        execution_context_class=PlannedExecutionContext,
    )


__all__ = ["SchemaExtension", "build_schema"]
