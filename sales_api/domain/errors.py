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
