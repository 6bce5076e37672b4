"""Business errors with stable codes that clients branch on."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    """Mirrors the contract's `SalesErrorCode`."""

    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_STATE = "INVALID_STATE"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    ORDER_EXPIRED = "ORDER_EXPIRED"
    OFFER_NOT_FOUND = "OFFER_NOT_FOUND"
    OFFER_EXPIRED = "OFFER_EXPIRED"
    NO_SEATS_AVAILABLE = "NO_SEATS_AVAILABLE"
    SEAT_UNAVAILABLE = "SEAT_UNAVAILABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    PAYMENT_INACTIVE = "PAYMENT_INACTIVE"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    NOT_REFUNDABLE = "NOT_REFUNDABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    DISTRIBUTION_CHANNEL_NOT_ALLOWED = "DISTRIBUTION_CHANNEL_NOT_ALLOWED"
    RECEIPT_NOT_AVAILABLE = "RECEIPT_NOT_AVAILABLE"
    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    HOLD_LIMIT_REACHED = "HOLD_LIMIT_REACHED"
    SERVICE_JOURNEY_DISRUPTED = "SERVICE_JOURNEY_DISRUPTED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_CHANGEABLE = "NOT_CHANGEABLE"


# What each code means, one line each: the error reference (docs/errors.md) and the schema
# are generated from it; a test keeps it whole.
ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_FAILED: "An input value is malformed or out of range; `path` names it.",
    ErrorCode.NOT_FOUND: (
        "No such order, order line, reservation, payment, transaction, webhook subscription or"
        " delivery for the caller's organisation (another organisation's ids answer the same)."
    ),
    ErrorCode.INVALID_STATE: (
        "The thing is not in a state that allows this now (cancelled order, balance not 0.00,"
        " transaction already captured, refund pending, ...); the message says which."
    ),
    ErrorCode.VERSION_CONFLICT: (
        "`expectedVersion` (or `orderVersion`) is not the order's current version;"
        " nothing was changed."
    ),
    ErrorCode.ORDER_EXPIRED: (
        "The DRAFT order passed its `expireAt`: its unconfirmed changes are discarded and"
        " its seats free; reserve again."
    ),
    ErrorCode.OFFER_NOT_FOUND: (
        "The offer id is not one this service issued, or its product is no longer sold."
    ),
    ErrorCode.OFFER_EXPIRED: (
        "The offer passed its `expireAt` (15 minutes) or its train has left; search again."
    ),
    ErrorCode.NO_SEATS_AVAILABLE: "Not enough free seats in the product's class on the segment.",
    ErrorCode.SEAT_UNAVAILABLE: "A requested seat is taken on an overlapping segment.",
    ErrorCode.CURRENCY_MISMATCH: "The currency given differs from the order's currency.",
    ErrorCode.AMOUNT_MISMATCH: (
        "The amount exceeds what is left to pay (the order's balance, or what is unpaid on"
        " the payment)."
    ),
    ErrorCode.PAYMENT_INACTIVE: (
        "The payment is deactivated, or was opened for another version of the order;"
        " reactivate it with updatePayment or open a new one."
    ),
    ErrorCode.PAYMENT_DECLINED: (
        "The payment provider refused the capture or the credit; nothing was charged, or"
        " nothing given back (retry a refund with the same idempotencyKey)."
    ),
    ErrorCode.NOT_REFUNDABLE: (
        "The order line's product is not refundable, or its train has left."
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: (
        "The idempotencyKey was used for a different request (keys are kept at least 24 hours)."
    ),
    ErrorCode.DISTRIBUTION_CHANNEL_NOT_ALLOWED: (
        "The Entur-Distribution-Channel header names a channel that is not registered for the"
        " caller's organisation."
    ),
    ErrorCode.RECEIPT_NOT_AVAILABLE: (
        "No receipt for that order version: only the current version, when it had a payment"
        " or a credit."
    ),
    ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE: (
        "The payment provider did not answer in time; the capture or credit stays pending and"
        " is settled later (never twice): retry with the same idempotencyKey."
    ),
    ErrorCode.HOLD_LIMIT_REACHED: (
        "The hold cannot be extended further (the order's longest hold is reached)."
    ),
    ErrorCode.SERVICE_JOURNEY_DISRUPTED: (
        "The service journey is disrupted: it is no longer sold."
    ),
    ErrorCode.PERMISSION_DENIED: ("The caller's token lacks the permission this operation needs."),
    ErrorCode.NOT_CHANGEABLE: (
        "The line cannot be exchanged: its product is not changeable, or it has departed."
    ),
}


class SalesError(Exception):
    """A business rule said no. Mutations answer it in their payload; nothing is written."""

    def __init__(self, code: ErrorCode, message: str, path: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = list(path) if path is not None else None

    def __repr__(self) -> str:
        return f"SalesError({self.code.value}, {self.message!r}, path={self.path!r})"


class NotFound(SalesError):
    """The thing does not exist for this caller (other organisations' data included)."""

    def __init__(self, what: str, path: Sequence[str] | None = None) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{what} not found", path)


class ValidationFailed(SalesError):
    def __init__(self, message: str, path: Sequence[str] | None = None) -> None:
        super().__init__(ErrorCode.VALIDATION_FAILED, message, path)
