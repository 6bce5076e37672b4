"""Orders over HTTP: paging, every filter operator, sorting, Amount inputs, isolation
between organisations, updateOrder, totals and VAT of orders with lines, statement counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.applications import Starlette

from sales_api.domain.orders import ContactInfo, Order, OrderStatus, Traveller, UserType
from tests.conftest import Api
from tests.factories import build_order, create_order, store_orders
from tests.statements import recorded_statements

APP = "ENT:DistributionChannel:App"
WEB = "ENT:DistributionChannel:Web"
T0 = datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)

ORDERS = """
query Orders($page: Int! = 1, $perPage: Int! = 100, $filter: OrderFilter, $sort: [OrderSort!]) {
  orders(page: $page, perPage: $perPage, filter: $filter, sort: $sort) {
    items { id createdAt totalAmount balance organisationId }
    page perPage totalItems totalPages
  }
}
"""

ORDER = """
query($id: ID!) {
  order(id: $id) {
    id version status totalAmount totalTaxAmount balance currency organisationId
    externalReference contactInfo { name email phoneNumber }
    travellers { id userType name }
    orderLines { id }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateOrderInput!) {
  updateOrder(input: $input) {
    order { id version status externalReference
            contactInfo { name email phoneNumber }
            travellers { id userType name } orderLines { id } }
    errors { code message path }
  }
}
"""

CREATE = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id version }
    errors { code message path }
  }
}
"""


# ------------------------------------------------------------------ helpers


async def list_orders(
    api: Api,
    filter: dict[str, Any] | None = None,
    sort: list[dict[str, Any]] | None = None,
    *,
    page: int = 1,
    per_page: int = 100,
    client_id: str = "demo-app",
) -> dict[str, Any]:
    variables: dict[str, Any] = {"page": page, "perPage": per_page}
    if filter is not None:
        variables["filter"] = filter
    if sort is not None:
        variables["sort"] = sort
    data = await api.gql(ORDERS, variables, client_id=client_id)
    connection: dict[str, Any] = data["orders"]
    return connection


async def ids_of(api: Api, filter: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
    connection = await list_orders(api, filter, **kwargs)
    ids = [item["id"] for item in connection["items"]]
    assert connection["totalItems"] == len(ids)
    return ids


def top_level_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = body.get("errors")
    assert errors, body
    return list(errors)


def shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ paging


async def test_paging_over_45_orders_newest_first_without_overlap(api: Api, app: Starlette) -> None:
    # 15 distinct timestamps, three orders each: the id must break the ties.
    orders = [
        build_order(created_at=T0 + timedelta(minutes=index // 3), line_prices=["10.00"])
        for index in range(45)
    ]
    await store_orders(app, orders)
    pages = [await list_orders(api, page=page, per_page=20) for page in (1, 2, 3, 4)]

    assert [len(p["items"]) for p in pages] == [20, 20, 5, 0]
    for number, page in enumerate(pages, start=1):
        assert (page["page"], page["perPage"]) == (number, 20)
        assert (page["totalItems"], page["totalPages"]) == (45, 3)

    seen = [item["id"] for page in pages for item in page["items"]]
    assert len(seen) == len(set(seen)) == 45
    assert set(seen) == {order.id for order in orders}
    newest_first = sorted(orders, key=lambda o: (o.created_at, o.id), reverse=True)
    assert seen == [order.id for order in newest_first]
    created = [item["createdAt"] for item in pages[0]["items"]]
    assert created == sorted(created, reverse=True)
    assert created[0] == shown(T0 + timedelta(minutes=14))


async def test_empty_list_has_no_pages(api: Api) -> None:
    connection = await list_orders(api, per_page=20)
    assert connection == {"items": [], "page": 1, "perPage": 20, "totalItems": 0, "totalPages": 0}


async def test_default_page_size_is_20(api: Api, app: Starlette) -> None:
    await store_orders(app, [build_order(created_at=T0 + timedelta(seconds=i)) for i in range(21)])
    data = await api.gql("{ orders { items { id } page perPage totalItems totalPages } }")
    assert len(data["orders"]["items"]) == 20
    assert data["orders"]["perPage"] == 20
    assert (data["orders"]["totalItems"], data["orders"]["totalPages"]) == (21, 2)


@pytest.mark.parametrize(
    ("page", "per_page", "field"),
    [(1, 0, "perPage"), (1, 101, "perPage"), (0, 20, "page"), (-1, 20, "page"), (1, -5, "perPage")],
)
async def test_page_arguments_out_of_range_are_validation_errors(
    api: Api, page: int, per_page: int, field: str
) -> None:
    response = await api.post(ORDERS, {"page": page, "perPage": per_page})
    assert response.status_code == 200
    body = response.json()
    errors = top_level_errors(body)
    assert body.get("data") is None
    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert field in errors[0]["message"]


async def test_per_page_100_is_allowed(api: Api, app: Starlette) -> None:
    await store_orders(app, [build_order(created_at=T0 + timedelta(seconds=i)) for i in range(3)])
    connection = await list_orders(api, per_page=100)
    assert (connection["perPage"], connection["totalItems"], connection["totalPages"]) == (
        100,
        3,
        1,
    )


# ------------------------------------------------------------------ the guide's example


async def test_total_amount_gte_and_organisation_eq_like_the_guide(
    api: Api, app: Starlette
) -> None:
    prices = ["999.99", "1000.00", "1446.00", "0.01", "12000.50"]
    mine = [
        build_order(line_prices=[p], created_at=T0 + timedelta(seconds=i))
        for i, p in enumerate(prices)
    ]
    two_lines = build_order(line_prices=["500.00", "500.00"], created_at=T0)  # 1000.00 in all
    others = [
        build_order(organisation_id=2, line_prices=[p], created_at=T0) for p in ("1446.00", "5.00")
    ]
    await store_orders(app, [*mine, two_lines, *others])

    query = """{ orders(perPage: 100, filter: {totalAmount: {gte: "1000.00"},
                                             organisationId: {eq: 1}}) {
                   items { id totalAmount organisationId } totalItems } }"""
    data = await api.gql(query)
    items = data["orders"]["items"]
    expected = {mine[1].id, mine[2].id, mine[4].id, two_lines.id}
    assert {item["id"] for item in items} == expected
    assert data["orders"]["totalItems"] == 4
    assert all(item["organisationId"] == 1 for item in items)
    assert all(Decimal(item["totalAmount"]) >= Decimal("1000.00") for item in items)

    # Another organisation's id in the filter does not widen what the caller sees.
    data = await api.gql(
        "{ orders(filter: {organisationId: {eq: 2}}) { items { id } totalItems } }"
    )
    assert data["orders"] == {"items": [], "totalItems": 0}
    assert sorted(await ids_of(api, {"organisationId": {"eq": 2}}, client_id="other-app")) == (
        sorted(o.id for o in others)
    )


# ------------------------------------------------------------------ every filter operator


@pytest.fixture
async def dataset(app: Starlette) -> dict[str, Order]:
    """Five orders of organisation 1 (a-e) and one of organisation 2 (x).

    name  total    balance  status     cur  pos    channel ref    journeys     shown createdAt
    a      999.99   999.99  DRAFT      NOK  pos-a  APP     ref-a  SJ:1         10:00:00 (.25)
    b     1000.00     0.00  CONFIRMED  NOK  pos-b  WEB     ref-b  SJ:2         10:00:01 (.999999)
    c     1446.00  1000.00  DRAFT      SEK  pos-a  APP     -      SJ:1, SJ:3   10:00:02
    d        0.00     0.00  CANCELLED  NOK  pos-c  WEB     ref-d  -            10:00:03 (.5)
    e     1000.01     0.00  CONFIRMED  NOK  pos-b  APP     ref-a  SJ:3         10:00:04
    x     1446.00  1446.00  DRAFT      NOK  pos-a  APP     ref-a  SJ:1         10:00:01 (org 2)
    """
    orders = {
        "a": build_order(
            line_prices=["999.99"],
            service_journey_id="SJ:1",
            created_at=T0 + timedelta(microseconds=250_000),
            pos="pos-a",
            channel=APP,
            external_reference="ref-a",
        ),
        "b": build_order(
            line_prices=["1000.00"],
            service_journey_id="SJ:2",
            created_at=T0 + timedelta(seconds=1, microseconds=999_999),
            pos="pos-b",
            channel=WEB,
            external_reference="ref-b",
            status=OrderStatus.CONFIRMED,
        ),
        "c": build_order(
            line_prices=["700.00", "746.00"],
            service_journey_id=["SJ:1", "SJ:3"],
            created_at=T0 + timedelta(seconds=2),
            currency="SEK",
            pos="pos-a",
            channel=APP,
            captured_amount="446.00",
        ),
        "d": build_order(
            created_at=T0 + timedelta(seconds=3, microseconds=500_000),
            pos="pos-c",
            channel=WEB,
            external_reference="ref-d",
            status=OrderStatus.CANCELLED,
        ),
        "e": build_order(
            line_prices=["1000.01"],
            service_journey_id="SJ:3",
            created_at=T0 + timedelta(seconds=4),
            pos="pos-b",
            channel=APP,
            external_reference="ref-a",
            status=OrderStatus.CONFIRMED,
        ),
        "x": build_order(
            organisation_id=2,
            line_prices=["1446.00"],
            service_journey_id="SJ:1",
            created_at=T0 + timedelta(seconds=1),
            pos="pos-a",
            channel=APP,
            external_reference="ref-a",
        ),
    }
    await store_orders(app, list(orders.values()))
    return orders


def _resolve(value: Any, orders: dict[str, Order]) -> Any:
    """'@a' -> the id of order a, anywhere inside a filter."""
    if isinstance(value, str) and value.startswith("@"):
        return orders[value[1:]].id
    if isinstance(value, list):
        return [_resolve(v, orders) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, orders) for k, v in value.items()}
    return value


ALL = "abcde"
FILTER_CASES: list[tuple[dict[str, Any], str]] = [
    # id
    ({"id": {"eq": "@a"}}, "a"),
    ({"id": {"ne": "@a"}}, "bcde"),
    ({"id": {"in": ["@a", "@c", "@x"]}}, "ac"),
    ({"id": {"nin": ["@a", "@c"]}}, "bde"),
    ({"id": {"eq": "@x"}}, ""),
    ({"id": {"in": []}}, ""),
    ({"id": {"nin": []}}, ALL),
    # status
    ({"status": {"eq": "DRAFT"}}, "ac"),
    ({"status": {"ne": "DRAFT"}}, "bde"),
    ({"status": {"in": ["CONFIRMED", "CANCELLED"]}}, "bde"),
    ({"status": {"nin": ["CONFIRMED"]}}, "acd"),
    # totalAmount
    ({"totalAmount": {"eq": "1000.00"}}, "b"),
    ({"totalAmount": {"ne": "1000.00"}}, "acde"),
    ({"totalAmount": {"gt": "1000.00"}}, "ce"),
    ({"totalAmount": {"gte": "1000.00"}}, "bce"),
    ({"totalAmount": {"lt": "1000.00"}}, "ad"),
    ({"totalAmount": {"lte": "1000.00"}}, "abd"),
    ({"totalAmount": {"eq": "0.00"}}, "d"),
    ({"totalAmount": {"gt": "-1.00"}}, ALL),
    # balance
    ({"balance": {"eq": "0.00"}}, "bde"),
    ({"balance": {"ne": "0.00"}}, "ac"),
    ({"balance": {"gt": "999.99"}}, "c"),
    ({"balance": {"gte": "999.99"}}, "ac"),
    ({"balance": {"lt": "1000.00"}}, "abde"),
    ({"balance": {"lte": "0.00"}}, "bde"),
    # currency
    ({"currency": {"eq": "SEK"}}, "c"),
    ({"currency": {"ne": "SEK"}}, "abde"),
    ({"currency": {"in": ["SEK", "EUR"]}}, "c"),
    ({"currency": {"nin": ["NOK"]}}, "c"),
    ({"currency": {"nin": ["NOK", "SEK"]}}, ""),
    # pos
    ({"pos": {"eq": "pos-a"}}, "ac"),
    ({"pos": {"ne": "pos-a"}}, "bde"),
    ({"pos": {"in": ["pos-b", "pos-c"]}}, "bde"),
    ({"pos": {"nin": ["pos-a", "pos-b"]}}, "d"),
    # distributionChannelId
    ({"distributionChannelId": {"eq": WEB}}, "bd"),
    ({"distributionChannelId": {"ne": WEB}}, "ace"),
    ({"distributionChannelId": {"in": [APP]}}, "ace"),
    ({"distributionChannelId": {"nin": [APP]}}, "bd"),
    # externalReference (c has none: it is not equal to any reference)
    ({"externalReference": {"eq": "ref-a"}}, "ae"),
    ({"externalReference": {"ne": "ref-a"}}, "bcd"),
    ({"externalReference": {"in": ["ref-b", "ref-d", "nope"]}}, "bd"),
    ({"externalReference": {"nin": ["ref-a"]}}, "bcd"),
    # organisationId
    ({"organisationId": {"eq": 1}}, ALL),
    ({"organisationId": {"eq": 2}}, ""),
    ({"organisationId": {"ne": 1}}, ""),
    ({"organisationId": {"ne": 2}}, ALL),
    ({"organisationId": {"gt": 0}}, ALL),
    ({"organisationId": {"gt": 1}}, ""),
    ({"organisationId": {"gte": 1}}, ALL),
    ({"organisationId": {"gte": 2}}, ""),
    ({"organisationId": {"lt": 2}}, ALL),
    ({"organisationId": {"lt": 1}}, ""),
    ({"organisationId": {"lte": 1}}, ALL),
    ({"organisationId": {"lte": 0}}, ""),
    ({"organisationId": {"in": [1, 2]}}, ALL),
    ({"organisationId": {"in": [2]}}, ""),
    ({"organisationId": {"nin": [1]}}, ""),
    ({"organisationId": {"nin": [2]}}, ALL),
    # serviceJourneyId: orders with at least one line on the journey
    ({"serviceJourneyId": {"eq": "SJ:1"}}, "ac"),
    ({"serviceJourneyId": {"eq": "SJ:3"}}, "ce"),
    ({"serviceJourneyId": {"eq": "SJ:9"}}, ""),
    ({"serviceJourneyId": {"in": ["SJ:2", "SJ:3"]}}, "bce"),
    ({"serviceJourneyId": {"in": ["SJ:1", "SJ:3"]}}, "ace"),
    ({"serviceJourneyId": {"in": []}}, ""),
    # ... and ne / nin: orders with no line on the journey (d has no lines at all)
    ({"serviceJourneyId": {"ne": "SJ:1"}}, "bde"),
    ({"serviceJourneyId": {"nin": ["SJ:1", "SJ:2"]}}, "de"),
    ({"serviceJourneyId": {"nin": []}}, ALL),
    ({"serviceJourneyId": {"eq": "SJ:1", "ne": "SJ:3"}}, "a"),
    # createdAt compares what is shown: whole seconds
    ({"createdAt": {"eq": "2024-03-01T10:00:01Z"}}, "b"),
    ({"createdAt": {"eq": "2024-03-01T10:00:00Z"}}, "a"),
    ({"createdAt": {"eq": "2024-03-01T11:00:03+01:00"}}, "d"),
    ({"createdAt": {"ne": "2024-03-01T10:00:01Z"}}, "acde"),
    ({"createdAt": {"gt": "2024-03-01T10:00:01Z"}}, "cde"),
    ({"createdAt": {"gte": "2024-03-01T10:00:01Z"}}, "bcde"),
    ({"createdAt": {"lt": "2024-03-01T10:00:02Z"}}, "ab"),
    ({"createdAt": {"lte": "2024-03-01T10:00:02Z"}}, "abc"),
    ({"createdAt": {"lt": "2024-03-01T10:00:00Z"}}, ""),
    ({"createdAt": {"gt": "0001-01-01T00:00:00Z"}}, ALL),
    # the last second a DateTime can hold: nothing comes after it
    ({"createdAt": {"gt": "9999-12-31T23:59:59Z"}}, ""),
    ({"createdAt": {"lte": "9999-12-31T23:59:59Z"}}, ALL),
    ({"createdAt": {"eq": "9999-12-31T23:59:59Z"}}, ""),
    ({"createdAt": {"ne": "9999-12-31T23:59:59Z"}}, ALL),
    # several operators on one field are ANDed
    ({"totalAmount": {"gt": "999.99", "lt": "1446.00"}}, "be"),
    ({"totalAmount": {"gte": "1000.00", "lte": "1000.00"}}, "b"),
    ({"totalAmount": {"gt": "1000.00", "lt": "1000.00"}}, ""),
    ({"createdAt": {"gte": "2024-03-01T10:00:01Z", "lt": "2024-03-01T10:00:03Z"}}, "bc"),
    ({"status": {"ne": "DRAFT", "nin": ["CANCELLED"]}}, "be"),
    ({"id": {"in": ["@a", "@b", "@c"], "ne": "@b"}}, "ac"),
    ({"organisationId": {"gte": 1, "lte": 1, "ne": 2}}, ALL),
    # several fields are ANDed
    ({"status": {"eq": "CONFIRMED"}, "totalAmount": {"gt": "1000.00"}}, "e"),
    ({"pos": {"eq": "pos-a"}, "currency": {"eq": "NOK"}}, "a"),
    ({"serviceJourneyId": {"eq": "SJ:1"}, "externalReference": {"eq": "ref-a"}}, "a"),
    ({"balance": {"eq": "0.00"}, "distributionChannelId": {"eq": WEB}}, "bd"),
    (
        {"serviceJourneyId": {"eq": "SJ:3"}, "balance": {"gt": "0.00"}, "currency": {"eq": "SEK"}},
        "c",
    ),
    ({}, ALL),
]


@pytest.mark.parametrize(
    ("filter", "expected"),
    FILTER_CASES,
    ids=[f"{i}-{'+'.join(f.keys()) or 'empty'}" for i, (f, _) in enumerate(FILTER_CASES)],
)
async def test_order_filter(
    api: Api, dataset: dict[str, Order], filter: dict[str, Any], expected: str
) -> None:
    ids = await ids_of(api, _resolve(filter, dataset))
    names = {name for name, order in dataset.items() if order.id in ids}
    assert len(ids) == len(names), "an id was answered that is not in the data set, or twice"
    assert "".join(sorted(names)) == expected


async def test_filters_as_inline_literals(api: Api, dataset: dict[str, Order]) -> None:
    query = """{ orders(filter: {
        status: {in: [DRAFT, CONFIRMED]}, totalAmount: {gte: "1000.00", ne: "1000.01"},
        createdAt: {lt: "2024-03-01T10:00:03Z"}, organisationId: {in: [1]}
      }) { items { id } totalItems } }"""
    data = await api.gql(query)
    assert [item["id"] for item in data["orders"]["items"]] == [dataset["c"].id, dataset["b"].id]


async def test_filters_of_the_other_organisation(api: Api, dataset: dict[str, Order]) -> None:
    assert await ids_of(api, {"externalReference": {"eq": "ref-a"}}, client_id="other-app") == [
        dataset["x"].id
    ]
    assert await ids_of(api, {"serviceJourneyId": {"eq": "SJ:2"}}, client_id="other-app") == []


async def test_created_at_eq_with_the_value_shown(api: Api, dataset: dict[str, Order]) -> None:
    items = (await list_orders(api))["items"]
    for item in items:
        # Stored with fractions of a second; the shown value must still find the order.
        assert await ids_of(api, {"createdAt": {"eq": item["createdAt"]}}) == [item["id"]]
        remaining = await ids_of(api, {"createdAt": {"ne": item["createdAt"]}})
        assert item["id"] not in remaining
        assert len(remaining) == len(items) - 1


async def test_filter_runs_in_sql(api: Api, app: Starlette, dataset: dict[str, Order]) -> None:
    with recorded_statements(app) as statements:
        ids = await ids_of(api, {"totalAmount": {"gte": "1000.00"}})
    assert sorted(ids) == sorted(dataset[n].id for n in "bce")
    filtered = [
        (sql, params)
        for sql, params in statements
        if "FROM orders" in sql and "WHERE" in sql and "orders.total_amount >=" in sql
    ]
    # Both the count (a scalar subquery of the page's statement) and the page filter in
    # the database, in minor units (øre).
    assert len(filtered) == 1, [sql for sql, _ in statements]
    for sql, params in filtered:
        where = sql[sql.index("WHERE") :]
        assert where.count("orders.total_amount >=") == 2
        assert where.count("orders.organisation_id =") == 2
        # SQLite binds the value once per use; PostgreSQL's numbered parameters bind it once.
        assert 100000 in list(params)

    with recorded_statements(app) as statements:
        ids = await ids_of(api, {"serviceJourneyId": {"eq": "SJ:3"}})
    assert sorted(ids) == sorted(dataset[n].id for n in "ce")
    assert any(
        "WHERE" in sql and "EXISTS" in sql.upper() and "order_lines.service_journey_id" in sql
        for sql, _ in statements
    ), [sql for sql, _ in statements]


# ------------------------------------------------------------------ sort


@pytest.fixture
async def sortable(app: Starlette) -> list[Order]:
    """Totals with ties and creation times with ties, so that the id has to break them."""
    specs = [
        ("500.00", 0),
        ("100.00", 1),
        ("500.00", 1),
        ("300.00", 2),
        ("100.00", 3),
        ("500.00", 3),
        ("0.50", 4),
        ("300.00", 5),
    ]
    orders = [
        build_order(line_prices=[price], created_at=T0 + timedelta(seconds=second))
        for price, second in specs
    ]
    return await store_orders(app, orders)


@pytest.mark.parametrize(
    ("sort", "key", "reverse_primary"),
    [
        ([{"field": "TOTAL_AMOUNT", "direction": "ASC"}], "total", False),
        ([{"field": "TOTAL_AMOUNT"}], "total", False),
        ([{"field": "TOTAL_AMOUNT", "direction": "DESC"}], "total", True),
        ([{"field": "CREATED_AT", "direction": "ASC"}], "created", False),
        ([{"field": "CREATED_AT", "direction": "DESC"}], "created", True),
    ],
)
async def test_sort_with_ties_broken_by_id(
    api: Api, sortable: list[Order], sort: list[dict[str, Any]], key: str, reverse_primary: bool
) -> None:
    def primary(order: Order) -> Any:
        return order.total_amount if key == "total" else order.created_at

    by_id = sorted(sortable, key=lambda o: o.id)
    expected = sorted(by_id, key=primary, reverse=reverse_primary)  # stable: id ASC in ties
    ids = await ids_of(api, sort=sort)
    assert ids == [o.id for o in expected]

    # Paging through the same sort three at a time gives the same sequence, no overlap.
    paged: list[str] = []
    for page in (1, 2, 3):
        paged += [
            i["id"] for i in (await list_orders(api, sort=sort, page=page, per_page=3))["items"]
        ]
    assert paged == ids


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_sort_by_id(api: Api, sortable: list[Order], direction: str) -> None:
    ids = await ids_of(api, sort=[{"field": "ID", "direction": direction}])
    assert ids == sorted((o.id for o in sortable), reverse=direction == "DESC")


async def test_sort_by_several_keys(api: Api, sortable: list[Order]) -> None:
    sort = [
        {"field": "TOTAL_AMOUNT", "direction": "DESC"},
        {"field": "CREATED_AT", "direction": "DESC"},
    ]
    expected = sorted(
        sorted(sortable, key=lambda o: o.id),
        key=lambda o: (o.total_amount, o.created_at),
        reverse=True,
    )
    # reverse=True would also reverse the id tie-break; there is no full tie in the data.
    assert len({(o.total_amount, o.created_at) for o in sortable}) == len(sortable)
    assert await ids_of(api, sort=sort) == [o.id for o in expected]


async def test_sort_and_filter_together(api: Api, sortable: list[Order]) -> None:
    ids = await ids_of(
        api,
        {"totalAmount": {"gte": "300.00"}},
        sort=[{"field": "TOTAL_AMOUNT", "direction": "ASC"}],
    )
    expected = sorted(
        (o for o in sorted(sortable, key=lambda o: o.id) if o.total_amount >= 300),
        key=lambda o: o.total_amount,
    )
    assert ids == [o.id for o in expected]


# ------------------------------------------------------------------ Amount inputs


@pytest.mark.parametrize("literal", ['"12.5"', "12.5", '"1e3"', "12", '"12"', '"1,00"', "true"])
async def test_invalid_amount_literal_is_a_graphql_error(
    api: Api, app: Starlette, literal: str
) -> None:
    await create_order(app, line_prices=["12.50"])
    response = await api.post(
        f"{{ orders(filter: {{totalAmount: {{gte: {literal}}}}}) {{ items {{ id }} }} }}"
    )
    body = response.json()
    errors = top_level_errors(body)
    assert body.get("data") is None
    assert any("Amount" in e["message"] for e in errors), errors
    assert all(e["extensions"]["code"] != "INTERNAL_SERVER_ERROR" for e in errors), errors


@pytest.mark.parametrize("value", ["12.5", 12.5, "1e3", 1000, "1000", " 1.00", "NaN", None])
async def test_invalid_amount_variable_is_a_graphql_error(
    api: Api, app: Starlette, value: Any
) -> None:
    await create_order(app, line_prices=["12.50"])
    query = """query($amount: Amount!) {
      orders(filter: {totalAmount: {gte: $amount}}) { items { id } } }"""
    response = await api.post(query, {"amount": value})
    body = response.json()
    errors = top_level_errors(body)
    assert body.get("data") is None
    assert any("Amount" in e["message"] for e in errors), errors
    assert all(e["extensions"]["code"] != "INTERNAL_SERVER_ERROR" for e in errors), errors


async def test_invalid_amount_inside_a_filter_variable(api: Api) -> None:
    for value in ("12.5", 12.5, "1e3"):
        response = await api.post(ORDERS, {"filter": {"balance": {"lt": value}}})
        body = response.json()
        errors = top_level_errors(body)
        assert body.get("data") is None
        assert any("Amount" in e["message"] for e in errors), errors
        assert all(e["extensions"]["code"] != "INTERNAL_SERVER_ERROR" for e in errors), errors


@pytest.mark.parametrize("literal", ['"not-a-date"', '"2024-01-01T00:00:00"'])
async def test_invalid_date_time_literal_is_a_client_error(api: Api, literal: str) -> None:
    response = await api.post(
        f"{{ orders(filter: {{createdAt: {{gt: {literal}}}}}) {{ items {{ id }} }} }}"
    )
    errors = top_level_errors(response.json())
    assert errors
    assert all(e["extensions"]["code"] == "VALIDATION_FAILED" for e in errors), errors


async def test_invalid_date_time_variable_is_a_client_error(api: Api) -> None:
    query = """query($at: DateTime!) {
      orders(filter: {createdAt: {gt: $at}}) { items { id } } }"""
    for value in ("not-a-date", "2024-01-01T00:00:00", "0001-01-01T00:00:00+01:00", 5):
        errors = top_level_errors((await api.post(query, {"at": value})).json())
        assert any("DateTime" in e["message"] for e in errors), errors
        assert all(e["extensions"]["code"] != "INTERNAL_SERVER_ERROR" for e in errors), errors


async def test_too_many_values_in_a_set_filter(api: Api) -> None:
    response = await api.post(ORDERS, {"filter": {"id": {"in": [f"ID{i}" for i in range(101)]}}})
    errors = top_level_errors(response.json())
    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert "100" in errors[0]["message"]
    assert len(await ids_of(api, {"id": {"in": [f"ID{i}" for i in range(100)]}})) == 0


async def test_valid_amount_variable(api: Api, app: Starlette) -> None:
    order = await create_order(app, line_prices=["12.50"])
    await create_order(app, line_prices=["12.49"])
    query = """query($amount: Amount!) {
      orders(filter: {totalAmount: {gte: $amount}}) { items { id totalAmount } } }"""
    data = await api.gql(query, {"amount": "12.50"})
    assert data["orders"]["items"] == [{"id": order.id, "totalAmount": "12.50"}]


# ------------------------------------------------------------------ isolation


async def test_another_organisation_cannot_see_or_change_an_order(api: Api, app: Starlette) -> None:
    order = await create_order(
        app,
        line_prices=["1446.00"],
        external_reference="mine",
        contact_info=ContactInfo("Kari", "kari@example.no"),
    )
    await create_order(app, organisation_id=2, line_prices=["10.00"])

    assert (await api.gql(ORDER, {"id": order.id}, client_id="other-app"))["order"] is None
    assert (await api.gql(ORDER, {"id": order.id}))["order"]["id"] == order.id

    seen = await ids_of(api, client_id="other-app")
    assert len(seen) == 1 and order.id not in seen
    assert await ids_of(api, {"id": {"eq": order.id}}, client_id="other-app") == []
    assert await ids_of(api, {"id": {"in": [order.id]}}, client_id="other-app") == []
    assert await ids_of(api, {"organisationId": {"eq": 1}}, client_id="other-app") == []

    foreign = await api.gql(
        UPDATE,
        {
            "input": {
                "orderId": order.id,
                "externalReference": "stolen",
                "contactInfo": {"email": "thief@example.com"},
            }
        },
        client_id="other-app",
    )
    missing = await api.gql(
        UPDATE,
        {
            "input": {
                "orderId": "NOSUCHORDER2",
                "externalReference": "stolen",
                "contactInfo": {"email": "thief@example.com"},
            }
        },
        client_id="other-app",
    )
    assert foreign["updateOrder"]["order"] is None
    assert foreign["updateOrder"]["errors"][0]["code"] == "NOT_FOUND"
    # Indistinguishable from an order that does not exist.
    assert foreign["updateOrder"] == missing["updateOrder"]

    unchanged = (await api.gql(ORDER, {"id": order.id}))["order"]
    assert unchanged["externalReference"] == "mine"
    assert unchanged["contactInfo"] == {
        "name": "Kari",
        "email": "kari@example.no",
        "phoneNumber": None,
    }
    assert unchanged["version"] == 1


async def test_order_that_does_not_exist_is_null(api: Api) -> None:
    assert (await api.gql(ORDER, {"id": "NOSUCHORDER2"}))["order"] is None


# ------------------------------------------------------------------ updateOrder


async def _new_order(api: Api) -> dict[str, Any]:
    data = await api.gql(
        CREATE,
        {
            "input": {
                "travellers": [{"id": "t1", "userType": "ADULT", "name": "Kari"}],
                "contactInfo": {"name": "Kari", "email": "kari@example.no"},
                "externalReference": "ext-1",
            }
        },
    )
    assert data["createOrder"]["errors"] == []
    order: dict[str, Any] = data["createOrder"]["order"]
    return order


async def test_update_order_changes_contact_info_reference_and_travellers(api: Api) -> None:
    created = await _new_order(api)
    travellers = [
        {"id": "t1", "userType": "ADULT", "name": "Kari"},
        {"id": "t2", "userType": "CHILD", "name": "Ola"},
    ]
    data = await api.gql(
        UPDATE,
        {
            "input": {
                "orderId": created["id"],
                "expectedVersion": 1,
                "contactInfo": {
                    "name": "Kari N",
                    "email": "kari.n@example.no",
                    "phoneNumber": "+47 99999999",
                },
                "externalReference": "ext-2",
                "travellers": travellers,
            }
        },
    )
    payload = data["updateOrder"]
    assert payload["errors"] == []
    assert payload["order"]["externalReference"] == "ext-2"
    assert payload["order"]["contactInfo"] == {
        "name": "Kari N",
        "email": "kari.n@example.no",
        "phoneNumber": "+47 99999999",
    }
    assert payload["order"]["travellers"] == travellers

    read = (await api.gql(ORDER, {"id": created["id"]}))["order"]
    assert read["externalReference"] == "ext-2"
    assert read["contactInfo"]["email"] == "kari.n@example.no"
    assert read["travellers"] == travellers
    assert read["status"] == "DRAFT" and read["version"] == 1

    # Only what is given changes.
    data = await api.gql(UPDATE, {"input": {"orderId": created["id"], "externalReference": "x"}})
    assert data["updateOrder"]["errors"] == []
    read = (await api.gql(ORDER, {"id": created["id"]}))["order"]
    assert read["externalReference"] == "x"
    assert read["travellers"] == travellers
    assert read["contactInfo"]["name"] == "Kari N"


async def test_update_order_version_conflict_changes_nothing(api: Api) -> None:
    created = await _new_order(api)
    before = (await api.gql(ORDER, {"id": created["id"]}))["order"]
    data = await api.gql(
        UPDATE,
        {
            "input": {
                "orderId": created["id"],
                "expectedVersion": 2,
                "externalReference": "changed",
                "contactInfo": {"email": "other@example.no"},
                "travellers": [{"id": "t9", "userType": "SENIOR"}],
            }
        },
    )
    payload = data["updateOrder"]
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["VERSION_CONFLICT"]
    assert payload["errors"][0]["path"] == ["input", "expectedVersion"]
    assert (await api.gql(ORDER, {"id": created["id"]}))["order"] == before


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"contactInfo": {"email": "not-an-email"}}, ["input", "contactInfo", "email"]),
        ({"contactInfo": {"phoneNumber": "call me"}}, ["input", "contactInfo", "phoneNumber"]),
        (
            {"travellers": [{"id": "t1", "userType": "ADULT"}, {"id": "t1", "userType": "CHILD"}]},
            ["input", "travellers", "1", "id"],
        ),
        (
            {"travellers": [{"id": "bad id!", "userType": "ADULT"}]},
            ["input", "travellers", "0", "id"],
        ),
        ({"externalReference": "x" * 101}, ["input", "externalReference"]),
    ],
)
async def test_update_order_validation_failures(
    api: Api, change: dict[str, Any], path: list[str]
) -> None:
    created = await _new_order(api)
    before = (await api.gql(ORDER, {"id": created["id"]}))["order"]
    data = await api.gql(UPDATE, {"input": {"orderId": created["id"], **change}})
    payload = data["updateOrder"]
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["VALIDATION_FAILED"]
    assert payload["errors"][0]["path"] == path
    assert (await api.gql(ORDER, {"id": created["id"]}))["order"] == before


async def test_a_traveller_on_an_order_line_cannot_be_removed(api: Api, app: Starlette) -> None:
    travellers = [Traveller("t1", UserType.ADULT, "Kari"), Traveller("t2", UserType.CHILD, "Ola")]
    order = await create_order(app, line_prices=["500.00", "250.00"], travellers=travellers)
    before = (await api.gql(ORDER, {"id": order.id}))["order"]
    data = await api.gql(
        UPDATE,
        {"input": {"orderId": order.id, "travellers": [{"id": "t1", "userType": "ADULT"}]}},
    )
    payload = data["updateOrder"]
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["VALIDATION_FAILED"]
    assert payload["errors"][0]["path"] == ["input", "travellers"]
    assert "t2" in payload["errors"][0]["message"]
    assert (await api.gql(ORDER, {"id": order.id}))["order"] == before

    # Adding a traveller and renaming one keeps the lines and their totals.
    data = await api.gql(
        UPDATE,
        {
            "input": {
                "orderId": order.id,
                "travellers": [
                    {"id": "t1", "userType": "ADULT", "name": "Kari N"},
                    {"id": "t2", "userType": "CHILD", "name": "Ola"},
                    {"id": "t3", "userType": "SENIOR"},
                ],
            }
        },
    )
    assert data["updateOrder"]["errors"] == []
    after = (await api.gql(ORDER, {"id": order.id}))["order"]
    assert [t["id"] for t in after["travellers"]] == ["t1", "t2", "t3"]
    assert after["orderLines"] == before["orderLines"]
    assert (after["totalAmount"], after["totalTaxAmount"], after["balance"]) == (
        "750.00",
        "80.36",
        "750.00",
    )


async def test_update_of_a_confirmed_order_starts_a_new_draft_version(
    api: Api, app: Starlette
) -> None:
    order = await create_order(app, line_prices=["100.00"], status=OrderStatus.CONFIRMED)
    stale = await api.gql(
        UPDATE, {"input": {"orderId": order.id, "expectedVersion": 2, "externalReference": "a"}}
    )
    assert stale["updateOrder"]["errors"][0]["code"] == "VERSION_CONFLICT"
    data = await api.gql(
        UPDATE,
        {
            "input": {
                "orderId": order.id,
                "expectedVersion": 1,
                "travellers": [
                    {"id": "t1", "userType": "ADULT"},
                    {"id": "t2", "userType": "CHILD"},
                ],
            }
        },
    )
    assert data["updateOrder"]["errors"] == []
    assert (data["updateOrder"]["order"]["version"], data["updateOrder"]["order"]["status"]) == (
        2,
        "DRAFT",
    )
    read = (await api.gql(ORDER, {"id": order.id}))["order"]
    assert (read["version"], read["status"]) == (2, "DRAFT")


# ------------------------------------------------------------------ orders with lines


ORDER_WITH_LINES = """
query($id: ID!) {
  order(id: $id) {
    id totalAmount totalTaxAmount balance currency
    travellers { id userType name }
    orderLines {
      id orderId status
      product { id name fareClass refundable changeable }
      travellers { id userType name }
      price { amount taxAmount taxRate currency }
      travelSpecification { serviceJourneyId from { id name } to { id name }
                            departureTime arrivalTime }
    }
  }
}
"""


async def test_order_with_lines_shows_totals_vat_and_lines(api: Api, app: Starlette) -> None:
    travellers = [Traveller("t1", UserType.ADULT, "Kari"), Traveller("t2", UserType.CHILD)]
    order = await create_order(
        app,
        line_prices=["1000.00", "446.00"],
        travellers=travellers,
        service_journey_id=["SJ:1", "SJ:2"],
    )
    data = await api.gql(ORDER_WITH_LINES, {"id": order.id})
    shown_order = data["order"]
    assert shown_order["totalAmount"] == "1446.00"
    # 1000.00 * 12/112 = 107.142.. -> 107.14; 446.00 * 12/112 = 47.785.. -> 47.79
    assert shown_order["totalTaxAmount"] == "154.93"
    assert shown_order["balance"] == "1446.00"
    assert shown_order["currency"] == "NOK"
    lines = shown_order["orderLines"]
    assert [line["id"] for line in lines] == [line.id for line in order.lines]
    assert [line["price"] for line in lines] == [
        {"amount": "1000.00", "taxAmount": "107.14", "taxRate": "12.00", "currency": "NOK"},
        {"amount": "446.00", "taxAmount": "47.79", "taxRate": "12.00", "currency": "NOK"},
    ]
    assert [line["travellers"] for line in lines] == [
        [{"id": "t1", "userType": "ADULT", "name": "Kari"}],
        [{"id": "t2", "userType": "CHILD", "name": None}],
    ]
    assert all(line["orderId"] == order.id and line["status"] == "DRAFT" for line in lines)
    spec = lines[1]["travelSpecification"]
    assert spec["serviceJourneyId"] == "SJ:2"
    assert spec["from"] == {"id": "NSR:StopPlace:337", "name": "Oslo S"}
    assert spec["to"]["name"] == "Bergen stasjon"
    assert spec["departureTime"].endswith("Z")
    assert lines[0]["product"] == {
        "id": "ENT:FareProduct:Standard",
        "name": "Standard",
        "fareClass": "STANDARD_CLASS",
        "refundable": True,
        "changeable": True,
    }


@pytest.mark.parametrize(
    ("prices", "total", "tax"),
    [
        (["1446.00"], "1446.00", "154.93"),
        (["0.05", "0.05"], "0.10", "0.02"),  # per line: 0.0054 -> 0.01 twice; not 0.0107 -> 0.01
        (["100.00", "100.00", "100.00"], "300.00", "32.13"),  # 10.714 -> 10.71 three times
        (["0.14"], "0.14", "0.02"),  # 0.015 exactly: half up
        ([], "0.00", "0.00"),
    ],
)
async def test_total_tax_is_the_sum_of_line_taxes(
    api: Api, app: Starlette, prices: list[str], total: str, tax: str
) -> None:
    order = await create_order(app, line_prices=prices)
    shown_order = (await api.gql(ORDER, {"id": order.id}))["order"]
    assert (shown_order["totalAmount"], shown_order["totalTaxAmount"], shown_order["balance"]) == (
        total,
        tax,
        total,
    )
    listed = await api.gql("{ orders { items { id totalAmount totalTaxAmount balance } } }")
    assert listed["orders"]["items"] == [
        {"id": order.id, "totalAmount": total, "totalTaxAmount": tax, "balance": total}
    ]


async def test_orders_list_shows_lines_and_travellers_of_each_order(
    api: Api, app: Starlette
) -> None:
    first = build_order(line_prices=["10.00"], created_at=T0, service_journey_id="SJ:1")
    second = build_order(
        line_prices=["20.00", "30.00"],
        created_at=T0 + timedelta(seconds=1),
        travellers=[Traveller("a", UserType.ADULT), Traveller("b", UserType.YOUTH, "B")],
    )
    empty = build_order(created_at=T0 + timedelta(seconds=2), travellers=[])
    await store_orders(app, [first, second, empty])
    data = await api.gql(
        """{ orders { items { id totalAmount travellers { id }
             orderLines { id price { amount } travellers { id name }
                          travelSpecification { from { name } } } } } }"""
    )
    items = {item["id"]: item for item in data["orders"]["items"]}
    assert items[empty.id]["orderLines"] == [] and items[empty.id]["travellers"] == []
    assert [t["id"] for t in items[second.id]["travellers"]] == ["a", "b"]
    assert [
        (line["price"]["amount"], line["travellers"]) for line in items[second.id]["orderLines"]
    ] == [("20.00", [{"id": "a", "name": None}]), ("30.00", [{"id": "b", "name": "B"}])]
    assert items[first.id]["orderLines"][0]["travelSpecification"] == {"from": {"name": "Oslo S"}}
    assert items[first.id]["totalAmount"] == "10.00"


# ------------------------------------------------------------------ statement counts


NESTED = """
query($perPage: Int!) {
  orders(perPage: $perPage) {
    items { id travellers { id } orderLines { id travellers { id } } }
    totalItems
  }
}
"""


async def test_nested_lists_cost_the_same_statements_for_1_or_100_orders(
    api: Api, app: Starlette
) -> None:
    orders = [
        build_order(
            line_prices=["100.00", "50.00"],
            created_at=T0 + timedelta(seconds=index),
            travellers=[Traveller("t1", UserType.ADULT), Traveller("t2", UserType.CHILD)],
        )
        for index in range(105)
    ]
    await store_orders(app, orders)
    await api.gql(NESTED, {"perPage": 1})  # warm up: first connections, dialect set-up

    with recorded_statements(app) as one:
        small = await api.gql(NESTED, {"perPage": 1})
    with recorded_statements(app) as hundred:
        large = await api.gql(NESTED, {"perPage": 100})

    assert len(small["orders"]["items"]) == 1
    items = large["orders"]["items"]
    assert len(items) == 100 and large["orders"]["totalItems"] == 105
    assert len({item["id"] for item in items}) == 100
    for item in items:
        assert [t["id"] for t in item["travellers"]] == ["t1", "t2"]
        assert [line["travellers"] for line in item["orderLines"]] == [
            [{"id": "t1"}],
            [{"id": "t2"}],
        ]

    def select_count(statements: list[tuple[str, Any]]) -> int:
        return sum(1 for sql, _ in statements if sql.lstrip().upper().startswith("SELECT"))

    assert len(hundred) == len(one), ([s for s, _ in one], [s for s, _ in hundred])
    assert select_count(hundred) == select_count(one) <= 4
