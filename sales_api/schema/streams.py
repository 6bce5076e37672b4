"""Subscriptions: a graphql-transport-ws `subscribe` message's payload turned into a stream
of results, under the same rules as a request over HTTP (persisted documents, the
document cache and its limits, headers, cost) and with the same error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType, subscribe

from sales_api.domain.live import FellBehind
from sales_api.schema.context import SalesContext
from sales_api.schema.execution import SalesExecutionContext
from sales_api.schema.runner import GraphQLRequest, GraphQLRunner, RequestRefused


@dataclass(frozen=True, slots=True)
class Refused:
    """The subscription does not start: the errors of a graphql-transport-ws `error`."""

    errors: list[Any]


Results = AsyncIterator[dict[str, Any]]


class SubscriptionRunner:
    def __init__(self, runner: GraphQLRunner) -> None:
        self._runner = runner

    async def open(self, payload: object, context: SalesContext) -> Refused | Results:
        """The results to send as `next` messages, or why there are none."""
        runner = self._runner
        correlation_id = context.caller.correlation_id
        try:
            request = GraphQLRequest.from_body(payload)
            document = runner.persisted.document(request)
        except RequestRefused as bad:
            return self._refused(
                GraphQLError(str(bad), extensions={"code": "BAD_REQUEST"}), context
            )
        if isinstance(document, GraphQLError):
            return self._refused(document, context)
        if not document:
            return self._refused(
                GraphQLError("No GraphQL query found", extensions={"code": "BAD_REQUEST"}), context
            )
        prepared = runner.documents.prepare(document)
        if prepared.errors:
            return Refused([runner.shape(e, correlation_id).formatted for e in prepared.errors])
        operation = prepared.operation(request.operation_name)
        if operation is None or operation.kind is not OperationType.SUBSCRIPTION:
            return self._refused(
                GraphQLError(
                    "Send one subscription operation here; queries and mutations go over HTTP",
                    extensions={"code": "BAD_REQUEST"},
                ),
                context,
            )
        context.operation = operation
        context.operation_name = operation.name
        variables = request.variables or {}
        cost = operation.cost(runner.schema._schema, variables)
        refusal = runner.refusal(prepared.text_problem, operation, context, variables, cost)
        if refusal is not None:
            return self._refused(refusal, context)
        source = subscribe(
            runner.schema._schema,
            operation.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation.name,
            executor_class=SalesExecutionContext,
        )
        if isawaitable(source):
            source = await source
        if isinstance(source, ExecutionResult):
            return Refused([runner.shape(e, correlation_id).formatted for e in source.errors or []])
        return self._results(source, context)

    def _refused(self, error: GraphQLError, context: SalesContext) -> Refused:
        return Refused([self._runner.shape(error, context.caller.correlation_id).formatted])

    async def _results(
        self, source: AsyncIterator[ExecutionResult], context: SalesContext
    ) -> Results:
        correlation_id = context.caller.correlation_id
        try:
            async for result in source:
                body: dict[str, Any] = {"data": result.data}
                if result.errors:
                    body["errors"] = [
                        self._runner.shape(e, correlation_id).formatted for e in result.errors
                    ]
                yield body
        except FellBehind:
            yield {
                "data": None,
                "errors": [
                    {
                        "message": "This subscription fell too far behind the changes it "
                        "follows and was ended; subscribe again",
                        "extensions": {"code": "SUBSCRIPTION_BEHIND"},
                    }
                ],
            }
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
            await context.reader.close()
