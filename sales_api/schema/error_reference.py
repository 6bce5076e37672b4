"""The error reference (docs/errors.md): the top-level codes with their HTTP statuses, every
payload code with its meaning, and the codes each mutation can answer in its payload.

`MUTATION_ERRORS` is read from the use cases (domain/services) and kept true by
tests/api/test_error_reference.py, which provokes every pair over HTTP. The mutations'
descriptions list their codes from it; `sales-api export-schema --errors` prints the
reference and a test keeps the committed file equal to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sales_api.domain.errors import ERROR_MEANINGS, ErrorCode

E = ErrorCode

# Every mutation of the schema -> the payload codes it can answer (shown in ErrorCode's order).
MUTATION_ERRORS: dict[str, tuple[ErrorCode, ...]] = {
    "createOrder": (E.VALIDATION_FAILED, E.DISTRIBUTION_CHANNEL_NOT_ALLOWED),
    "updateOrder": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "cancelOrder": (
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.PAYMENT_DECLINED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PAYMENT_PROVIDER_UNAVAILABLE,
    ),
    "resetOrder": (
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.PAYMENT_DECLINED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PAYMENT_PROVIDER_UNAVAILABLE,
    ),
    "confirmOrder": (
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PAYMENT_DECLINED,
        E.PAYMENT_PROVIDER_UNAVAILABLE,
    ),
    "reserveOffers": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.OFFER_NOT_FOUND,
        E.OFFER_EXPIRED,
        E.NO_SEATS_AVAILABLE,
        E.SEAT_UNAVAILABLE,
        E.CURRENCY_MISMATCH,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.SERVICE_JOURNEY_DISRUPTED,
    ),
    "changeSeats": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.ORDER_EXPIRED,
        E.SEAT_UNAVAILABLE,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "createPayment": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.CURRENCY_MISMATCH,
        E.AMOUNT_MISMATCH,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "updatePayment": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.AMOUNT_MISMATCH,
        E.PAYMENT_INACTIVE,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "createTransaction": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.ORDER_EXPIRED,
        E.AMOUNT_MISMATCH,
        E.PAYMENT_INACTIVE,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "captureTransaction": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.ORDER_EXPIRED,
        E.AMOUNT_MISMATCH,
        E.PAYMENT_INACTIVE,
        E.PAYMENT_DECLINED,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PAYMENT_PROVIDER_UNAVAILABLE,
    ),
    "cancelTransaction": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "generateTickets": (E.NOT_FOUND, E.INVALID_STATE, E.DISTRIBUTION_CHANNEL_NOT_ALLOWED),
    "distributeTickets": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "sendReceipt": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.RECEIPT_NOT_AVAILABLE,
    ),
    "refundOrder": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.PAYMENT_DECLINED,
        E.NOT_REFUNDABLE,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PAYMENT_PROVIDER_UNAVAILABLE,
    ),
    "exchangeOrderLines": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.OFFER_NOT_FOUND,
        E.OFFER_EXPIRED,
        E.NO_SEATS_AVAILABLE,
        E.SEAT_UNAVAILABLE,
        E.CURRENCY_MISMATCH,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.SERVICE_JOURNEY_DISRUPTED,
        E.NOT_CHANGEABLE,
    ),
    "cancelOrderLines": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "extendOrderExpiry": (
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.HOLD_LIMIT_REACHED,
    ),
    "addFee": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.ORDER_EXPIRED,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
    ),
    "compensateOrder": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.AMOUNT_MISMATCH,
        E.PAYMENT_DECLINED,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PAYMENT_PROVIDER_UNAVAILABLE,
    ),
    "disruptServiceJourney": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.PERMISSION_DENIED,
    ),
    "rebookDisruptedOrderLines": (
        E.VALIDATION_FAILED,
        E.NOT_FOUND,
        E.INVALID_STATE,
        E.VERSION_CONFLICT,
        E.NO_SEATS_AVAILABLE,
        E.IDEMPOTENCY_KEY_REUSED,
        E.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
        E.SERVICE_JOURNEY_DISRUPTED,
    ),
    "createWebhookSubscription": (
        E.VALIDATION_FAILED,
        E.INVALID_STATE,
        E.IDEMPOTENCY_KEY_REUSED,
    ),
    "deleteWebhookSubscription": (E.NOT_FOUND,),
    "redeliverWebhook": (E.NOT_FOUND,),
}


def codes_of(mutation: str) -> list[ErrorCode]:
    """The payload codes `mutation` can answer, in ErrorCode's order."""
    declared = set(MUTATION_ERRORS[mutation])
    return [code for code in ErrorCode if code in declared]


def errors_line(mutation: str) -> str:
    """The last sentence of a mutation's description: the payload codes it can answer."""
    return "Errors: " + ", ".join(code.value for code in codes_of(mutation)) + "."


@dataclass(frozen=True, slots=True)
class TopLevelError:
    code: str
    status: str
    """The HTTP status, under `application/json` and under `graphql-response+json`."""
    meaning: str


# Every `extensions.code` of a top-level error (grep sales_api/web and sales_api/schema).
TOP_LEVEL_ERRORS: tuple[TopLevelError, ...] = (
    TopLevelError(
        "UNAUTHENTICATED",
        "401",
        'No valid bearer token; answered with `WWW-Authenticate: Bearer error="invalid_token"`.',
    ),
    TopLevelError(
        "BAD_REQUEST",
        "400 (405 for GET or another method); 200 / 400 for a missing header",
        "The request cannot be run: not JSON, a batch, no query, an unknown operationName, a"
        " subscription over HTTP, or a missing or malformed `Entur-POS` /"
        " `Entur-Distribution-Channel` header.",
    ),
    TopLevelError(
        "PAYLOAD_TOO_LARGE",
        "413",
        "The request body is over 64 KiB (`SALES_MAX_BODY_BYTES`).",
    ),
    TopLevelError(
        "GRAPHQL_VALIDATION_FAILED",
        "200 / 400",
        "The document does not parse or does not validate against the schema.",
    ),
    TopLevelError(
        "VALIDATION_FAILED",
        "200 / 400 (200 / 200 when raised by a query's resolver)",
        "A variable's value is refused (a bad scalar, text that cannot be stored), or a"
        " query's argument is out of range (`perPage`, an `in` list over 100 values, an"
        " unknown stop place); `path` names the field.",
    ),
    TopLevelError(
        "QUERY_TOO_COMPLEX",
        "200 / 400",
        "A limit of docs/limits.md refuses the operation (tokens, depth, aliases, mutations,"
        " cost); nothing ran.",
    ),
    TopLevelError(
        "FORBIDDEN",
        "200 / 200",
        "The token lacks the permission the field needs (`sales:read`, `sales:write`,"
        " `payments:write`, `refunds:write`); the field is null.",
    ),
    TopLevelError(
        "PERSISTED_QUERY_NOT_FOUND",
        "200 / 400",
        "A persisted-query hash this service does not know yet: send the document with it once.",
    ),
    TopLevelError(
        "PERSISTED_QUERY_NOT_IN_LIST",
        "200 / 400",
        "With `SALES_PERSISTED_QUERIES=registered`, a document that is not in the manifest.",
    ),
    TopLevelError(
        "THROTTLED",
        "429",
        "The client's query cost budget (`SALES_CLIENT_COST_BUDGET`) is spent; retry after"
        " the `Retry-After` seconds.",
    ),
    TopLevelError(
        "SERVICE_UNAVAILABLE",
        "503",
        "The database did not answer in time, or the service is overloaded or stopping;"
        " retry after the `Retry-After` seconds.",
    ),
    TopLevelError(
        "INTERNAL_SERVER_ERROR",
        "200 / 200",
        "An unexpected fault, masked; quote `extensions.correlationId` when reporting it.",
    ),
    TopLevelError(
        "a payload code",
        "200 / 200",
        "A query's resolver refused, e.g. NOT_FOUND for `changeOptions` of an unknown order;"
        " the code means what it means in a payload.",
    ),
)

# Codes that end a subscription over WebSocket (graphql-transport-ws); no HTTP status.
SUBSCRIPTION_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "TOO_MANY_SUBSCRIPTIONS",
        "The connection holds `SALES_MAX_SUBSCRIPTIONS_PER_CONNECTION` subscriptions already.",
    ),
    (
        "SUBSCRIPTION_BEHIND",
        "The subscriber fell more than 1000 commits behind and was ended; subscribe again.",
    ),
)


def _code(code: str) -> str:
    return f"`{code}`" if code.isupper() else code


def markdown_errors() -> str:
    """The whole error reference, as Markdown."""
    lines = [
        "# Error reference",
        "",
        "Generated from the code by `sales-api export-schema --errors > docs/errors.md`; do",
        "not edit it by hand. Every error carries `extensions.correlationId` (top level) or",
        "comes in a mutation payload's `errors` as `{code, message, path}`.",
        "",
        "- [Top-level errors](#top-level-errors)",
        "- [Payload error codes](#payload-error-codes)",
        "- [Codes per mutation](#codes-per-mutation)",
        "",
        "## Top-level errors",
        "",
        "In the answer's `errors`, with `extensions.code`. The status is given as",
        "`application/json` / `application/graphql-response+json` where they differ: under",
        "`Accept: application/graphql-response+json` a request that was never executed is",
        "HTTP 400 without a `data` entry; under `application/json` (or no Accept header)",
        "every GraphQL answer is 200 with `data: null`. Errors answered before the body is",
        "read (401, 405, 413) and 429 and 503 have the same status either way.",
        "",
        "| code | HTTP status | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| {_code(e.code)} | {e.status} | {e.meaning} |" for e in TOP_LEVEL_ERRORS]
    lines += [
        "",
        "Over WebSocket, a subscription is ended with an `error` message carrying:",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in SUBSCRIPTION_ERRORS]
    lines += [
        "",
        "## Payload error codes",
        "",
        "A mutation answers a business-rule failure in its payload's `errors` (HTTP 200, the",
        "payload's objects null): nothing was written, unless the message says so. The",
        "schema's enum `SalesErrorCode`.",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{code.value}` | {ERROR_MEANINGS[code]} |" for code in ErrorCode]
    lines += [
        "",
        "## Codes per mutation",
        "",
        "The payload codes each mutation can answer (also at the end of its description in",
        "the schema). Any operation can also answer the top-level errors above.",
        "",
        "| mutation | codes |",
        "|---|---|",
    ]
    lines += [
        f"| `{name}` | " + ", ".join(f"`{code.value}`" for code in codes_of(name)) + " |"
        for name in MUTATION_ERRORS
    ]
    return "\n".join(lines) + "\n"
