"""Builds the Strawberry schema: the types and their resolvers. Requests run through
schema/runner.py (limits, caches and error shaping there), not Strawberry's extensions."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from sales_api.schema.execution import SalesExecutionContext
from sales_api.schema.mutation import Mutation
from sales_api.schema.query import Query
from sales_api.schema.scalars import SCALAR_MAP
from sales_api.schema.subscription import Subscription


def build_schema() -> strawberry.Schema:
    """The schema; its limits are described in docs/limits.md."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
        execution_context_class=SalesExecutionContext,
    )
