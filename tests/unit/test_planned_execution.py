"""The planned executor answers exactly what graphql-core's own executor answers: the same
data, the same errors at the same paths, the same null propagation."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from sales_api.schema.execution import PlannedExecutionContext
from sales_api.schema.scalars import SCALAR_MAP


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Seat:
    number: str
    car: int
    window: bool


@strawberry.type
class Line:
    id: strawberry.ID
    colour: Colour
    price: Decimal
    at: datetime
    seats: list[Seat]
    note: str | None = None

    @strawberry.field
    def shout(self, suffix: str = "!") -> str:
        return f"{self.id}{suffix}"


@strawberry.type
class Order:
    id: strawberry.ID
    lines: list[Line]
    best: Line | None
    tags: list[str]


def _orders(broken: bool = False) -> list[Order]:
    at = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    lines = [
        Line(
            id=strawberry.ID(f"L{i}"),
            colour=Colour.RED if i % 2 else Colour.GREEN,
            price=Decimal("12.50") * i,
            at=at,
            seats=[Seat(number=str(n), car=1, window=bool(n % 2)) for n in range(i)],
            note=None if i % 2 else f"note {i}",
        )
        for i in range(1, 4)
    ]
    if broken:
        lines[1].seats[0].number = None  # type: ignore[assignment]
    return [
        Order(id=strawberry.ID(f"O{k}"), lines=lines, best=lines[0] if k else None, tags=["a"])
        for k in range(3)
    ]


def _schema(execution_context: type[Any], broken: bool = False) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        async def orders(self) -> list[Order]:
            return _orders(broken)

    return strawberry.Schema(
        query=Query,
        config=strawberry.schema.config.StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=execution_context,
    )


QUERIES = [
    "{ orders { id lines { id colour price at note seats { number car window } } } }",
    "{ orders { a: id b: id lines { x: seats { n: number } y: seats { car } } } }",
    "{ orders { __typename id lines { __typename colour } } }",
    "{ orders { ...O } } fragment O on Order { id best { ...L } } fragment L on Line { id at }",
    "{ orders { id ... on Order { tags lines { id } } } }",
    "query($s: Boolean!) { orders { id @skip(if: $s) lines @include(if: $s) { id } } }",
    '{ orders { lines { id shout shout2: shout(suffix: "?") } } }',
    "{ orders { best { seats { number } } lines { seats { number window } } } }",
]


def _run(execution_context: type[Any], query: str, broken: bool = False) -> dict[str, Any]:
    result = asyncio.run(
        _schema(execution_context, broken).execute(query, variable_values={"s": True})
    )
    return {
        "data": result.data,
        "errors": [(e.message, e.path) for e in result.errors or []],
    }


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("broken", [False, True], ids=["whole", "null-in-non-null"])
def test_planned_and_generic_answers_are_identical(query: str, broken: bool) -> None:
    generic = _run(StrawberryGraphQLCoreExecutionContext, query, broken)
    planned = _run(PlannedExecutionContext, query, broken)
    assert planned == generic
    if broken and "number" in query:
        assert planned["errors"], "the null in a non-null field is reported"


def test_a_planned_answer_keeps_the_order_of_the_selection() -> None:
    answer = _run(PlannedExecutionContext, "{ orders { lines { note __typename id } } }")
    assert list(answer["data"]["orders"][0]["lines"][0]) == ["note", "__typename", "id"]


def test_leaves_are_coerced_by_their_scalars() -> None:
    answer = _run(PlannedExecutionContext, "{ orders { lines { colour price at } } }")
    line = answer["data"]["orders"][0]["lines"][0]
    assert line == {"colour": "RED", "price": "12.50", "at": "2026-11-27T10:15:00Z"}


def test_plain_selections_are_planned_and_resolvers_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned: list[tuple[str, bool]] = []
    original = PlannedExecutionContext._plan_object

    def spy(self: PlannedExecutionContext, return_type: Any, details: Any) -> Any:
        plan = original(self, return_type, details)
        planned.append((return_type.name, plan is not None))
        return plan

    monkeypatch.setattr(PlannedExecutionContext, "_plan_object", spy)
    _run(PlannedExecutionContext, QUERIES[0])
    assert ("Order", True) in planned and ("Seat", True) in planned
    planned.clear()
    _run(PlannedExecutionContext, QUERIES[6])  # Line.shout has a resolver
    assert ("Line", False) in planned and ("Order", False) in planned
