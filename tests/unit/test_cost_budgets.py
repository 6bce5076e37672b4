"""The cost budget of a client (a token bucket), on a clock the test moves."""

from __future__ import annotations

from sales_api.schema.budgets import CostBudgets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_budget_is_spent_refused_then_refilled_over_time() -> None:
    clock = Clock()
    budgets = CostBudgets(100, 10, clock=clock)
    assert budgets.spend("a", 60).remaining == 40
    refused = budgets.spend("a", 50)
    assert refused.refused and refused.remaining == 40
    assert refused.retry_after == 1, "10 more points come back within a second"
    assert budgets.spend("a", 40).remaining == 0, "a refusal took nothing"
    clock.now += 2.5
    assert budgets.spend("a", 25).remaining == 0
    clock.now += 1000
    assert budgets.spend("a", 0).remaining == 100, "never more than the capacity"


def test_clients_have_budgets_of_their_own() -> None:
    budgets = CostBudgets(100, 10, clock=Clock())
    budgets.spend("a", 100)
    assert budgets.spend("a", 1).refused
    assert not budgets.spend("b", 100).refused


def test_retry_after_is_the_time_until_the_cost_has_come_back() -> None:
    budgets = CostBudgets(1000, 7, clock=Clock())
    budgets.spend("a", 1000)
    assert budgets.spend("a", 50).retry_after == 8  # 50 / 7 = 7.1 s


def test_an_operation_costing_more_than_the_budget_runs_on_a_full_one() -> None:
    clock = Clock()
    budgets = CostBudgets(100, 10, clock=clock)
    assert budgets.spend("a", 5000).remaining == 0
    refused = budgets.spend("a", 5000)
    assert refused.refused and refused.retry_after == 10


def test_memory_is_bounded_by_forgetting_the_least_recent_clients() -> None:
    clock = Clock()
    budgets = CostBudgets(100, 1, max_clients=2, clock=clock)
    budgets.spend("a", 100)
    budgets.spend("b", 100)
    budgets.spend("c", 100)  # "a" is forgotten
    assert budgets.spend("a", 100).refused is False
    assert budgets.spend("c", 1).refused is True
