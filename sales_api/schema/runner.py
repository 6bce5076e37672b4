"""One GraphQL request, from its JSON body to its answer, in as few steps as it can be.

The document comes prepared from the cache (operations.py); what is left is what depends
on the request: which operation it runs, its headers, its variables (their text, and the
cost they give), and then graphql-core's executor over the Strawberry schema. Errors are
shaped here (a code and the correlation id on each, unexpected ones masked and logged)
and the cost is reported in `extensions.cost`.

Persisted queries follow Apollo's automatic persisted queries: `extensions.persistedQuery`
{version 1, sha256Hash}. A hash the service does not know answers PERSISTED_QUERY_NOT_FOUND
and the client sends the document with its hash once. With a manifest of registered
documents (SALES_PERSISTED_QUERIES_FILE) and SALES_PERSISTED_QUERIES=registered, only those
documents run.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from inspect import isawaitable
from pathlib import Path
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, execute
from strawberry.execution import optimized_is_awaitable

from sales_api.domain.caller import Caller, PermissionDenied
from sales_api.domain.errors import SalesError
from sales_api.schema.budgets import CostBudgets, Spent
from sales_api.schema.context import SalesContext
from sales_api.schema.execution import SalesExecutionContext
from sales_api.schema.limits import MAX_REPORTED_COST, QUERY_TOO_COMPLEX
from sales_api.schema.operations import DocumentCache, PreparedOperation
from sales_api.schema.text_input import UNSTORABLE_MESSAGE, holds_unstorable_text

log = logging.getLogger("sales_api.graphql")
_HEADER_VALUE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,199}")
_SUGGESTIONS = re.compile(r" Did you mean [^?]*\?")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class RequestRefused(Exception):
    """The request cannot be taken at all (HTTP 400 with a BAD_REQUEST error)."""


class Throttled(Exception):
    """The client's cost budget holds less than the operation costs (HTTP 429)."""

    def __init__(self, spent: Spent) -> None:
        super().__init__("cost budget spent")
        self.spent = spent


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None

    @classmethod
    def from_body(cls, body: object) -> GraphQLRequest:
        """The request in a decoded JSON body, or RequestRefused saying what is wrong."""
        if not isinstance(body, dict):
            raise RequestRefused("The request body must be a JSON object")
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestRefused("The GraphQL operation's `query` must be a string or null")
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise RequestRefused("`variables` must be a JSON object or null")
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestRefused("`operationName` must be a string or null")
        extensions = body.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise RequestRefused("`extensions` must be a JSON object or null")
        return cls(query, variables, operation_name, extensions)


class PersistedQueries:
    """Documents known by their SHA-256: registered ones (a manifest) and, unless only
    registered documents may run, those clients sent with their hash (bounded)."""

    def __init__(self, registered: Mapping[str, str], *, registered_only: bool) -> None:
        self.registered = dict(registered)
        self._registered_texts = set(registered.values())
        self.registered_only = registered_only
        self._learned: OrderedDict[str, str] = OrderedDict()
        self._max_learned = 1000

    @classmethod
    def from_manifest(cls, path: Path | None, *, registered_only: bool) -> PersistedQueries:
        """Apollo's persisted query manifest: {"operations": [{"id", "body", ...}]}."""
        registered: dict[str, str] = {}
        if path is not None:
            manifest = orjson.loads(path.read_bytes())
            for operation in manifest.get("operations", []):
                body = operation["body"]
                registered[hashlib.sha256(body.encode()).hexdigest()] = body
        return cls(registered, registered_only=registered_only)

    def document(self, request: GraphQLRequest) -> str | GraphQLError | None:
        """The document to run, or the error that answers the request."""
        persisted = (request.extensions or {}).get("persistedQuery")
        if persisted is None:
            if (
                self.registered_only
                and request.query is not None
                and request.query not in self._registered_texts
            ):
                return _persisted_error("Only registered documents run here")
            return request.query
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise RequestRefused("extensions.persistedQuery must be {version: 1, sha256Hash}")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise RequestRefused("persistedQuery.sha256Hash must be 64 lowercase hex digits")
        if request.query is not None:
            if hashlib.sha256(request.query.encode()).hexdigest() != digest:
                raise RequestRefused("provided sha does not match query")
            if self.registered_only and digest not in self.registered:
                return _persisted_error("Only registered documents run here")
            if digest not in self.registered:
                self._learn(digest, request.query)
            return request.query
        found = self.registered.get(digest) or self._learned.get(digest)
        if found is None:
            if self.registered_only:
                return _persisted_error("Only registered documents run here")
            return GraphQLError(
                "PersistedQueryNotFound", extensions={"code": "PERSISTED_QUERY_NOT_FOUND"}
            )
        return found

    def _learn(self, digest: str, query: str) -> None:
        self._learned[digest] = query
        self._learned.move_to_end(digest)
        while len(self._learned) > self._max_learned:
            self._learned.popitem(last=False)


def _persisted_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "PERSISTED_QUERY_NOT_IN_LIST"})


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: dict[str, Any]
    operation_name: str | None
    failed: bool
    """The answer carries errors."""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    request_error: bool = False
    """Nothing was executed: the request was refused before execution (its `data` is
    null only because nothing ran)."""


Unavailable = Callable[[BaseException], bool]
"""Whether a failure is the database being away (and notes it): the request is answered
503 SERVICE_UNAVAILABLE with Retry-After, never 200 with INTERNAL_SERVER_ERROR."""

RETRY_AFTER_SECONDS = 5


class GraphQLRunner:
    def __init__(
        self,
        schema: Any,
        documents: DocumentCache,
        context_factory: Callable[[Caller], SalesContext],
        *,
        unavailable: Unavailable,
        max_cost: int,
        max_mutations: int,
        hide_suggestions: bool,
        persisted: PersistedQueries,
        budgets: CostBudgets | None = None,
    ) -> None:
        self.schema = schema
        self.documents = documents
        self.context_factory = context_factory
        self.unavailable = unavailable
        self.max_cost = max_cost
        self.max_mutations = max_mutations
        self.hide_suggestions = hide_suggestions
        self.persisted = persisted
        self.budgets = budgets

    async def respond(self, body: object, caller: Caller) -> HttpAnswer:
        """A decoded JSON body answered: 200 with the GraphQL result, 400 with one
        BAD_REQUEST error when there is nothing to run, 503 with SERVICE_UNAVAILABLE and
        Retry-After when the database did not answer in time."""
        context = self.context_factory(caller)
        try:
            try:
                result = await self.run(GraphQLRequest.from_body(body), context)
            finally:
                await self._close(context)
        except RequestRefused as refusal:
            refused = self._one_error(400, _bad_request(str(refusal)), caller, None)
            return replace(refused, request_error=True)
        except Throttled as throttled:
            return self._throttled(throttled.spent, caller, context.operation_name)
        except Exception as error:
            if not self.unavailable(error):
                raise
            return self._unavailable(caller, context.operation_name)
        if context.unavailable:
            return self._unavailable(caller, context.operation_name)
        return HttpAnswer(
            200,
            result,
            context.operation_name,
            context.failed,
            request_error=context.failed and not context.executed,
        )

    async def _close(self, context: SalesContext) -> None:
        try:
            await context.reader.close()
        except Exception as error:
            if not self.unavailable(error):
                raise
            context.unavailable = True

    def _unavailable(self, caller: Caller, operation_name: str | None) -> HttpAnswer:
        error = GraphQLError(
            "The database is not answering; nothing was changed by this request unless its "
            "answer said so. Retry after the Retry-After seconds",
            extensions={"code": "SERVICE_UNAVAILABLE"},
        )
        answer = self._one_error(503, error, caller, operation_name)
        retry = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
        return HttpAnswer(answer.status, answer.body, operation_name, True, (retry,))

    def _throttled(self, spent: Spent, caller: Caller, operation_name: str | None) -> HttpAnswer:
        error = GraphQLError(
            f"This client's query cost budget is spent ({spent.remaining} of {spent.capacity} "
            f"left, {spent.per_second} back every second); retry after {spent.retry_after} s",
            extensions={"code": "THROTTLED"},
        )
        answer = self._one_error(429, error, caller, operation_name)
        body = {**answer.body, "extensions": {"cost": {"budget": spent.as_extension()}}}
        retry = (b"retry-after", str(spent.retry_after).encode())
        return HttpAnswer(429, body, operation_name, True, (retry,), request_error=True)

    def _one_error(
        self, status: int, error: GraphQLError, caller: Caller, operation_name: str | None
    ) -> HttpAnswer:
        shaped = self.shape(error, caller.correlation_id).formatted
        return HttpAnswer(status, {"data": None, "errors": [shaped]}, operation_name, True)

    async def run(self, request: GraphQLRequest, context: SalesContext) -> dict[str, Any]:
        """The answer's JSON body; RequestRefused when there is nothing to run."""
        document = self.persisted.document(request)
        if isinstance(document, GraphQLError):
            return self._answer(None, [document], context, None)
        if not document:
            raise RequestRefused("No GraphQL query found in the request")
        prepared = self.documents.prepare(document)
        if prepared.errors:
            context.operation_name = request.operation_name or prepared.name
            return self._answer(None, prepared.errors, context, None)
        operation = prepared.operation(request.operation_name)
        if operation is None:
            if request.operation_name is not None:
                raise RequestRefused(f'Unknown operation named "{request.operation_name}".')
            problem = "The document has several operations: name the one to run (operationName)"
            return self._answer(None, [_bad_request(problem)], context, None)
        context.operation = operation
        context.operation_name = operation.name or request.operation_name
        if operation.kind is OperationType.SUBSCRIPTION:
            raise RequestRefused(
                "Subscriptions run over WebSocket (graphql-transport-ws) at this address"
            )
        variables = request.variables or {}
        cost = operation.cost(self.schema._schema, variables)
        refusal = self.refusal(prepared.text_problem, operation, context, variables, cost)
        if refusal is not None:
            return self._answer(None, [refusal], context, cost)
        if self.budgets is not None:
            context.budget = self.budgets.spend(context.caller.client_id, cost)
            if context.budget.refused:
                raise Throttled(context.budget)
        context.reader.single_use = (
            operation.kind is OperationType.QUERY and operation.root_fields == 1
        )
        context.executed = True
        result = execute(
            self.schema._schema,
            operation.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation.name,
            executor_class=SalesExecutionContext,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            context.executed = False  # the variables were refused: nothing ran
        return self._answer(result.data, result.errors, context, cost)

    # -------------------------------------------------------------- checks

    def refusal(
        self,
        text_problem: GraphQLError | None,
        operation: PreparedOperation,
        context: SalesContext,
        variables: dict[str, Any],
        cost: int,
    ) -> GraphQLError | None:
        """Why an operation is not run: a header, text that cannot be stored, a limit."""
        return (
            self._header_problem(operation, context)
            or self._text_problem(text_problem, variables)
            or self._limit_problem(operation, cost)
        )

    def _header_problem(
        self, operation: PreparedOperation, context: SalesContext
    ) -> GraphQLError | None:
        """`Entur-POS` on every operation but introspection; `Entur-Distribution-Channel`
        on every mutation."""
        caller = context.caller
        if not operation.introspection_only:
            if not caller.pos:
                return _bad_request("The Entur-POS header is required")
            if not _HEADER_VALUE.fullmatch(caller.pos):
                return _bad_request(
                    "The Entur-POS header must be 1 to 200 printable ASCII characters"
                )
        if operation.kind is OperationType.MUTATION:
            channel = caller.distribution_channel_id
            if not channel:
                return _bad_request(
                    "The Entur-Distribution-Channel header is required on mutations"
                )
            if not _HEADER_VALUE.fullmatch(channel):
                return _bad_request("The Entur-Distribution-Channel header must be printable ASCII")
        return None

    @staticmethod
    def _text_problem(
        literal: GraphQLError | None, variables: dict[str, Any]
    ) -> GraphQLError | None:
        if literal is not None:
            return literal
        if holds_unstorable_text(variables):
            return GraphQLError(
                f"{UNSTORABLE_MESSAGE}; found in the variables",
                extensions={"code": "VALIDATION_FAILED"},
            )
        return None

    def _limit_problem(self, operation: PreparedOperation, cost: int) -> GraphQLError | None:
        named = f"Operation '{operation.name}'" if operation.name else "The operation"
        if operation.kind is OperationType.MUTATION and operation.root_fields > self.max_mutations:
            return GraphQLError(
                f"{named} has {operation.root_fields} mutations; at most "
                f"{self.max_mutations} are allowed in one request",
                operation.node,
                extensions={"code": QUERY_TOO_COMPLEX},
            )
        if cost > self.max_cost:
            return GraphQLError(
                f"{named} may cost {cost}; the maximum is {self.max_cost} "
                "(every field costs 1, and a list multiplies the cost of its selection by "
                "its size: perPage, or 10 for a list that is not paged). Ask for fewer "
                "fields or smaller pages",
                operation.node,
                extensions={"code": QUERY_TOO_COMPLEX},
            )
        return None

    # -------------------------------------------------------------- the answer

    def _answer(
        self,
        data: Any,
        errors: list[GraphQLError] | None,
        context: SalesContext,
        cost: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"data": data}
        if errors and any(
            error.original_error is not None and self.unavailable(error.original_error)
            for error in errors
        ):
            context.unavailable = True  # answered 503 instead
            return body
        if errors:
            correlation_id = context.caller.correlation_id
            body["errors"] = [self.shape(error, correlation_id).formatted for error in errors]
            context.failed = True
        if cost is not None:
            reported = min(cost, MAX_REPORTED_COST)
            body["extensions"] = {"cost": {"requested": reported, "maximum": self.max_cost}}
            if context.budget is not None:
                body["extensions"]["cost"]["budget"] = context.budget.as_extension()
        return body

    def shape(self, error: GraphQLError, correlation_id: str) -> GraphQLError:
        """Every error gets `extensions.code` and the correlation id; unexpected exceptions
        are masked as INTERNAL_SERVER_ERROR, their traceback only in the log."""
        original = error.original_error
        extensions = dict(error.extensions or {})
        message = error.message
        if isinstance(original, SalesError):
            extensions["code"] = original.code.value
            message = original.message if error.path else error.message
        elif isinstance(original, PermissionDenied):
            extensions["code"] = "FORBIDDEN"
        elif original is not None and error.path is None:
            # A scalar refused a value while the variables were coerced: the client's
            # mistake, not a fault of ours.
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


def _bad_request(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_REQUEST"})
