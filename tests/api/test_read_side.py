"""The read side as a client meets it: it reads what the selection names and nothing else,
a request's reads share one connection and one snapshot, and they keep to the caller's
organisation in the statements themselves."""

from __future__ import annotations

from starlette.applications import Starlette

from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.conftest import Api
from tests.statements import recorded_statements

SNAPSHOT_START = ("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


async def a_paid_order(api: Api) -> str:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    await capture(api, (await transact(api, payment["id"], payment["totalAmount"]))["id"])
    return str(order["id"])


async def test_a_selection_reads_only_its_columns_and_relations(api: Api, app: Starlette) -> None:
    order_id = await a_paid_order(api)
    with recorded_statements(app) as one:
        data = await api.gql("query($id: ID!) { order(id: $id) { id status } }", {"id": order_id})
    assert data["order"] == {"id": order_id, "status": "CONFIRMED"}
    [sql] = one.reads  # one statement, no transaction around it
    assert "orders.status" in sql
    for other in ("contact_email", "total_amount", "order_lines", "payments"):
        assert other not in sql, sql

    with recorded_statements(app) as refs:
        data = await api.gql(
            "query($id: ID!) { order(id: $id) { paymentRefs { amount } } }", {"id": order_id}
        )
    assert data["order"]["paymentRefs"] == [{"amount": "1611.00"}]
    [transactions] = [sql for sql in refs.reads if "FROM payments JOIN transactions" in sql]
    # The amount of captured transactions, keyed by order: no operation log, no token.
    assert "transactions.amount" in transactions
    for other in ("operation_log", "payment_token", "psp_reference", "masked_card_number"):
        assert other not in transactions, transactions


async def test_the_reads_of_a_request_share_one_connection_and_snapshot(
    api: Api, app: Starlette
) -> None:
    order_id = await a_paid_order(api)
    query = """query($id: ID!) {
      order(id: $id) { id orderLines { id reservation { id } } payments { transactions { id } } }
      orders(perPage: 5) { totalItems items { id orderLines { id } } }
      changeOptions(orderId: $id) { orderId }
    }"""
    with recorded_statements(app) as recorded:
        data = await api.gql(query, {"id": order_id})
    assert data["order"]["id"] == order_id and data["orders"]["totalItems"] == 1
    assert len(recorded.read_connections) == 1
    reads = recorded.reads
    # One snapshot: begun once, before the first read, and ended once, after the last.
    assert reads[0] in SNAPSHOT_START and reads[-1] == "COMMIT"
    assert [sql for sql in reads if sql in SNAPSHOT_START or sql == "COMMIT"] == [
        reads[0],
        "COMMIT",
    ]
    assert [sql for sql, _ in recorded if sql not in reads] == []  # nothing else was sent


async def test_a_page_reads_on_one_connection_in_a_snapshot(api: Api, app: Starlette) -> None:
    await a_paid_order(api)
    await a_paid_order(api)
    with recorded_statements(app) as recorded:
        data = await api.gql(
            "{ orders(perPage: 10) { items { id orderLines { id reservation { seats "
            "{ seatNumber } } } paymentRefs { amount } } totalItems } }"
        )
    assert data["orders"]["totalItems"] == 2
    assert len(recorded.read_connections) == 1
    # The page with its total, lines, their reservations, the captures: within one snapshot.
    assert recorded.reads[0] in SNAPSHOT_START and recorded.reads[-1] == "COMMIT"
    selects = [sql for sql in recorded.reads if sql.lstrip().startswith("SELECT")]
    assert len(selects) == 4, selects


async def test_reads_keep_to_the_organisation_in_their_statements(api: Api, app: Starlette) -> None:
    order_id = await a_paid_order(api)
    with recorded_statements(app) as recorded:
        data = await api.gql(
            "query($id: ID!) { order(id: $id) { id orderLines { id } } }",
            {"id": order_id},
            client_id="other-app",
        )
    assert data["order"] is None
    [(sql, arguments)] = [(s, a) for s, a in recorded if s.lstrip().startswith("SELECT")]
    assert "organisation_id" in sql and 2 in list(arguments)
