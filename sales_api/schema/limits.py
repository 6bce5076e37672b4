"""Query limits: documents too big, too deep, too costly or with too many mutations are
refused before anything runs, with `extensions.code = "QUERY_TOO_COMPLEX"`.

The measures themselves are in `measures.py`; here they are wired into Strawberry: tokens
while parsing, depth and aliases as validation rules (cached with the validation), mutations
and cost just before execution, when the chosen operation and its variables are known.
The limits and their settings are listed in docs/limits.md.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    ValidationRule,
    get_operation_ast,
    parse,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language.visitor import SKIP, VisitorAction
from strawberry.extensions import SchemaExtension

from sales_api.schema.measures import alias_count, operation_cost, operation_depths, root_fields

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
# A fragment bomb may cost 2^200; `extensions.cost` reports at most this (the largest integer
# a JSON reader in JavaScript keeps exact, and well inside orjson's 64 bits).
MAX_REPORTED_COST = 2**53 - 1

# Shared by every request, like Strawberry's ParserCache: the same texts come again and again.
_cached_parse = functools.lru_cache(maxsize=256)(parse)


def too_complex(message: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": QUERY_TOO_COMPLEX})


def _name(operation: OperationDefinitionNode) -> str:
    return f"Operation '{operation.name.value}'" if operation.name else "The operation"


def document_rules(*, max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """The depth and alias limits as validation rules. Made once per schema: the validation
    cache is keyed by the rules, so rules made per request would never hit it."""

    class DocumentLimits(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: object) -> VisitorAction:
            for operation, depth in operation_depths(node):
                if depth > max_depth:
                    self.report_error(
                        too_complex(
                            f"{_name(operation)} nests fields {depth} deep; "
                            f"the maximum depth is {max_depth}",
                            operation,
                        )
                    )
            aliases = alias_count(node)
            if aliases > max_aliases:
                self.report_error(
                    too_complex(
                        f"The document has {aliases} aliases (a fragment's counted each time "
                        f"it is used); at most {max_aliases} are allowed"
                    )
                )
            return SKIP

    return [DocumentLimits]


class LimitedParser(SchemaExtension):
    """Parses through a shared cache and stops at `max_tokens` tokens; a document over the
    limit is refused as QUERY_TOO_COMPLEX. (Replaces ParserCache and MaxTokensLimiter.)"""

    def __init__(self, *, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        if context.graphql_document is None and context.query:
            # A document that does not parse is left to Strawberry, which parses it again
            # inside its error handling: so its error is answered, and shaped, like any other.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _cached_parse(context.query, max_tokens=self.max_tokens)
        yield
        for error in context.pre_execution_errors or ():
            if self._is_over_limit(error):
                error.extensions = {**(error.extensions or {}), "code": QUERY_TOO_COMPLEX}

    def _is_over_limit(self, error: GraphQLError) -> bool:
        return isinstance(error, GraphQLSyntaxError) and (
            f"Document contains more than {self.max_tokens} tokens" in error.message
        )


class QueryLimits(SchemaExtension):
    """Measures the chosen operation with its variables just before it runs: more root
    mutations than `max_mutations`, or a cost above `max_cost`, and nothing runs. The cost is
    reported in the response's `extensions.cost`, refused or not."""

    def __init__(self, *, max_cost: int, max_mutations: int) -> None:
        self.max_cost = max_cost
        self.max_mutations = max_mutations
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        refusal = self._refusal()
        if refusal is not None and context.result is None:
            context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def _refusal(self) -> GraphQLError | None:
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return None
        self.cost = operation_cost(
            context.schema._schema, document, operation, context.variables or {}
        )
        if operation.operation is OperationType.MUTATION:
            mutations = len(root_fields(document, operation))
            if mutations > self.max_mutations:
                return too_complex(
                    f"{_name(operation)} has {mutations} mutations; at most "
                    f"{self.max_mutations} are allowed in one request",
                    operation,
                )
        if self.cost > self.max_cost:
            return too_complex(
                f"{_name(operation)} may cost {self.cost}; the maximum is {self.max_cost} "
                "(every field costs 1, and a list multiplies the cost of its selection by "
                "its size: perPage, or 10 for a list that is not paged). Ask for fewer "
                "fields or smaller pages",
                operation,
            )
        return None

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": min(self.cost, MAX_REPORTED_COST), "maximum": self.max_cost}}
