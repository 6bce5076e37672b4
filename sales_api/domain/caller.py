"""Who is calling: the verified token's organisation and permissions, and the request's headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Permission(StrEnum):
    SALES_READ = "sales:read"
    SALES_WRITE = "sales:write"
    PAYMENTS_WRITE = "payments:write"
    REFUNDS_WRITE = "refunds:write"
    SALES_DISRUPTIONS = "sales:disruptions"


class PermissionDenied(Exception):
    """The token lacks a permission the operation needs (a top-level FORBIDDEN error)."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(f"The access token lacks the permission {permission.value!r}")
        self.permission = permission


@dataclass(frozen=True, slots=True)
class Caller:
    organisation_id: int
    client_id: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    pos: str | None = None
    distribution_channel_id: str | None = None
    correlation_id: str = ""

    def require(self, permission: Permission) -> None:
        if permission.value not in self.permissions:
            raise PermissionDenied(permission)
