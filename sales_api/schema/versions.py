"""v1 and v1beta from one schema.

A root field marked beta (`strawberry.field(metadata=BETA)`: a query, mutation or
subscription still changing) is served at /sales/v1beta/graphql together with all of v1,
and never at /sales/v1/graphql. The v1 schema is the whole one without its beta root
fields and without the types only they reach: its SDL (sales_api/schema/schema.graphql)
shows nothing of beta, and a document using a beta field does not validate against it.
Only root fields can be beta: a field added to an existing type is part of v1.
"""

from __future__ import annotations

import copy
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema

BETA: dict[str, Any] = {"beta": True}
"""The metadata of a beta root field."""


def is_beta(field: GraphQLField) -> bool:
    definition = (field.extensions or {}).get("strawberry-definition")
    return bool(definition is not None and (definition.metadata or {}).get("beta"))


def beta_fields(schema: GraphQLSchema) -> list[str]:
    """The beta root fields, as Type.field."""
    return [
        f"{root.name}.{name}"
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
        for name, field in root.fields.items()
        if is_beta(field)
    ]


def _without_beta(root: GraphQLObjectType | None) -> GraphQLObjectType | None:
    if root is None:
        return None
    fields = {name: field for name, field in root.fields.items() if not is_beta(field)}
    if not fields:
        return None
    return GraphQLObjectType(
        root.name,
        fields=fields,
        description=root.description,
        extensions=root.extensions,
        ast_node=root.ast_node,
    )


def without_beta(schema: strawberry.Schema) -> strawberry.Schema:
    """The schema as v1 serves it. The same types, fields and resolvers (shared, not
    copied); only the root types are rebuilt, and the types no remaining field reaches
    are left out (graphql-core collects the types reachable from the roots)."""
    full = schema._schema
    if not beta_fields(full):
        return schema
    v1 = GraphQLSchema(
        query=_without_beta(full.query_type),
        mutation=_without_beta(full.mutation_type),
        subscription=_without_beta(full.subscription_type),
        directives=full.directives,
        description=full.description,
        extensions=full.extensions,
    )
    served = copy.copy(schema)
    served._schema = v1
    # Strawberry finds its own schema from graphql-core's while it resolves.
    v1._strawberry_schema = served  # type: ignore[attr-defined]
    return served
