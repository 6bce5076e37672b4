"""Fair use: a budget of query cost per client that refills over time (a token bucket).

Each client id starts with `capacity` points and gets `per_second` back every second, up
to `capacity`. An operation takes its cost (the same cost the per-operation limit uses)
before it runs; when the budget holds less than that, the operation is not run and the
answer is HTTP 429 with Retry-After: the seconds until enough has come back. Budgets live
in the process: with N processes behind a load balancer a client gets about N times the
rate (docs/limits.md). Memory is bounded: the budgets of the clients seen least recently
are forgotten past `max_clients` (a forgotten client starts full again)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Spent:
    """What a client's budget holds after (or, when `refused`, instead of) an operation."""

    remaining: int
    capacity: int
    per_second: int
    refused: bool = False
    retry_after: int = 0
    """Whole seconds until the operation's cost has come back (when refused)."""

    def as_extension(self) -> dict[str, int]:
        return {
            "remaining": self.remaining,
            "capacity": self.capacity,
            "refillPerSecond": self.per_second,
        }


class CostBudgets:
    def __init__(
        self,
        capacity: int,
        per_second: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._max_clients = max_clients
        self._clock = clock
        self._budgets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """client id -> (points, when they were counted)"""

    def spend(self, client_id: str, cost: int) -> Spent:
        """Takes `cost` from the client's budget, or refuses and takes nothing. An operation
        costing more than the whole budget takes the whole budget (it can run when full)."""
        cost = min(cost, self.capacity)
        now = self._clock()
        points, counted = self._budgets.pop(client_id, (float(self.capacity), now))
        points = min(float(self.capacity), points + (now - counted) * self.per_second)
        refused = cost > points
        if not refused:
            points -= cost
        self._budgets[client_id] = (points, now)
        while len(self._budgets) > self._max_clients:
            self._budgets.popitem(last=False)
        if not refused:
            return Spent(int(points), self.capacity, self.per_second)
        needed = cost - points
        wait = max(1, math.ceil(needed / self.per_second))
        return Spent(int(points), self.capacity, self.per_second, refused=True, retry_after=wait)
