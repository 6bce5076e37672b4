"""Schema extensions: the required headers, and errors shaped with codes and correlation ids."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from sales_api.domain.caller import PermissionDenied
from sales_api.domain.errors import SalesError
from sales_api.schema.context import SalesContext
from sales_api.schema.measures import operations

log = logging.getLogger("sales_api.graphql")
_HEADER_VALUE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,199}")
# graphql-core's suggestions, anywhere in a message: "Did you mean 'orders' or 'order'?",
# "Did you mean the enum value 'DRAFT'?" (names never hold a "?").
_SUGGESTIONS = re.compile(r" Did you mean [^?]*\?")


def _bad_request(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_REQUEST"})


def is_introspection_only(operation: OperationDefinitionNode) -> bool:
    """True when every top-level field is __schema, __type or __typename."""
    for selection in operation.selection_set.selections:
        name = getattr(getattr(selection, "name", None), "value", None)
        if name is None or not name.startswith("__"):
            return False
    return True


class RequiredHeaders(SchemaExtension):
    """`Entur-POS` on every operation but introspection; `Entur-Distribution-Channel` on
    every mutation. Checked after validation and before anything executes."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        problem = self._problem()
        if problem is not None:
            context.result = GraphQLExecutionResult(data=None, errors=[_bad_request(problem)])
        yield

    def _problem(self) -> str | None:
        context = self.execution_context
        sales: SalesContext = context.context
        document = context.graphql_document
        if document is None:
            return None
        # `operation_name` falls back to the first operation's name; what the request
        # named is kept apart (Strawberry would run the first of several operations).
        requested = context._provided_operation_name
        if requested is None and len(operations(document)) > 1:
            return "The document has several operations: name the one to run (operationName)"
        operation = get_operation_ast(document, requested)
        if operation is None:
            return None
        caller = sales.caller
        if not is_introspection_only(operation):
            if caller.pos is None or caller.pos == "":
                return "The Entur-POS header is required"
            if not _HEADER_VALUE.fullmatch(caller.pos):
                return "The Entur-POS header must be 1 to 200 printable ASCII characters"
        if context.operation_type is OperationType.MUTATION:
            channel = caller.distribution_channel_id
            if channel is None or channel == "":
                return "The Entur-Distribution-Channel header is required on mutations"
            if not _HEADER_VALUE.fullmatch(channel):
                return "The Entur-Distribution-Channel header must be printable ASCII"
        return None


class OperationNaming(SchemaExtension):
    """Notes the operation's name on the context: the request's operationName, else the
    name the document gives its operation (clients such as curl send no operationName)."""

    def on_operation(self) -> Iterator[None]:
        yield
        sales = self.execution_context.context
        if isinstance(sales, SalesContext):
            sales.operation_name = self.execution_context.operation_name


class ErrorShaping(SchemaExtension):
    """Every top-level error gets `extensions.code` and the correlation id; unexpected
    exceptions are masked as INTERNAL_SERVER_ERROR, their traceback only in the log. With
    `hide_suggestions` (when introspection is off) graphql-core's "Did you mean ...?" is cut,
    as it would tell field, argument and enum names introspection no longer does."""

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        correlation_id = context.caller.correlation_id if isinstance(context, SalesContext) else ""
        result.errors = [self._shape(error, correlation_id) for error in result.errors]

    def _shape(self, error: GraphQLError, correlation_id: str) -> GraphQLError:
        original = error.original_error
        extensions = dict(error.extensions or {})
        message = error.message
        if isinstance(original, SalesError):
            extensions["code"] = original.code.value
            message = original.message if error.path else error.message
        elif isinstance(original, PermissionDenied):
            extensions["code"] = "FORBIDDEN"
        elif original is not None and error.path is None:
            # A scalar refused a value while the request was parsed, validated or its
            # variables coerced: the client's mistake, not a fault of ours.
            extensions.setdefault("code", "VALIDATION_FAILED")
        elif original is not None and not isinstance(original, GraphQLError):
            log.error(
                "unexpected error in %s",
                ".".join(str(p) for p in error.path or []),
                exc_info=(type(original), original, original.__traceback__),
            )
            return GraphQLError(
                "Unexpected error; quote the correlation id when reporting it",
                path=error.path,
                extensions={"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id},
            )
        else:
            extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        extensions["correlationId"] = correlation_id
        if self.hide_suggestions:
            message = _SUGGESTIONS.sub("", message)
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
