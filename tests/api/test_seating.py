"""Seats over HTTP: sold per segment, requested or allocated, moved with changeSeats, freed when
a hold expires; offers that expire or are tampered with; the reservations list; and the SQL
statements nested reservations cost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from sales_api.domain.services.lifecycle import expire_orders
from tests.api.test_sale_flow import (
    BERGEN,
    DRAMMEN,
    GEILO,
    GOL,
    HONEFOSS,
    OSLO,
    RESERVE,
    offers_for,
    tomorrow,
)
from tests.conftest import Api, MovableClock
from tests.statements import recorded_statements

WEST = "DEMO:ServiceJourney:F4-west"
ADULT = [{"id": "a1", "userType": "ADULT"}]

SEAT_MAP = """
query($j: ID!, $f: ID!, $t: ID!) {
  seatMap(serviceJourneyId: $j, fromStopPlaceId: $f, toStopPlaceId: $t) {
    serviceJourneyId from { id } to { id }
    cars { number fareClass seats { seatNumber available properties } }
  }
}
"""

CHANGE_SEATS = """
mutation($input: ChangeSeatsInput!) {
  changeSeats(input: $input) {
    reservation { id orderId orderLineId status seats { carNumber seatNumber travellerId } }
    errors { code message path }
  }
}
"""

RESERVATIONS = """
query($page: Int! = 1, $perPage: Int! = 20, $filter: ReservationFilter) {
  reservations(page: $page, perPage: $perPage, filter: $filter) {
    items { id orderId orderLineId status serviceJourneyId from { id } to { id }
            seats { carNumber seatNumber travellerId } expireAt createdAt }
    page perPage totalItems totalPages
  }
}
"""

ORDER = """
query($id: ID!) {
  order(id: $id) {
    id status version expireAt
    orderLines { id orderId status
                 reservation { id orderId orderLineId status seats { carNumber seatNumber } } }
    reservations { id orderId orderLineId status serviceJourneyId from { id } to { id }
                   seats { carNumber seatNumber travellerId } expireAt }
  }
}
"""

CANCEL = """
mutation($input: OrderRefInput!) {
  cancelOrder(input: $input) { order { id status } errors { code message path } }
}
"""

COUNTS = "{ orders { totalItems } reservations { totalItems } }"


def journey(run: str = "0825") -> str:
    return f"{WEST}-{run}:{tomorrow()}"


async def offer_id(
    api: Api,
    origin: str,
    destination: str,
    *,
    product: str = "Flex",
    travellers: list[dict[str, str]] | None = None,
    run: str = "0825",
    **kwargs: Any,
) -> str:
    offers = await offers_for(
        api, travellers or ADULT, origin, destination, journey=journey(run), **kwargs
    )
    found = next(o for o in offers if o["product"]["name"] == product)
    return str(found["id"])


async def reserve_seats(
    api: Api,
    origin: str,
    destination: str,
    seats: list[tuple[int, str]] | None,
    *,
    product: str = "Flex",
    travellers: list[dict[str, str]] | None = None,
    run: str = "0825",
    client_id: str = "demo-app",
    **input_fields: Any,
) -> dict[str, Any]:
    """reserveOffers of one fresh offer, with these seats (None: allocated)."""
    oid = await offer_id(
        api,
        origin,
        destination,
        product=product,
        travellers=travellers,
        run=run,
        client_id=client_id,
    )
    configuration: dict[str, Any] = {"offerId": oid}
    if seats is not None:
        configuration["seats"] = [{"carNumber": c, "seatNumber": s} for c, s in seats]
    variables = {"input": {"offerConfigurations": [configuration], **input_fields}}
    data = await api.gql(RESERVE, variables, client_id=client_id)
    return dict(data["reserveOffers"])


async def seat_map(
    api: Api, origin: str, destination: str, run: str = "0825"
) -> dict[tuple[int, str], bool]:
    data = await api.gql(SEAT_MAP, {"j": journey(run), "f": origin, "t": destination})
    return {
        (car["number"], seat["seatNumber"]): seat["available"]
        for car in data["seatMap"]["cars"]
        for seat in car["seats"]
    }


async def counts(api: Api) -> tuple[int, int]:
    data = await api.gql(COUNTS)
    return data["orders"]["totalItems"], data["reservations"]["totalItems"]


async def change_seats(
    api: Api, reservation_id: str, seats: list[tuple[int, str]], **kwargs: Any
) -> dict[str, Any]:
    requested = [{"carNumber": car, "seatNumber": number} for car, number in seats]
    variables = {"input": {"reservationId": reservation_id, "seats": requested}}
    data = await api.gql(CHANGE_SEATS, variables, **kwargs)
    return dict(data["changeSeats"])


def seats_of(result: dict[str, Any]) -> list[tuple[int, str]]:
    return [
        (seat["carNumber"], seat["seatNumber"])
        for reservation in result["reservations"]
        for seat in reservation["seats"]
    ]


def codes(result: dict[str, Any]) -> list[str]:
    return [error["code"] for error in result["errors"]]


# ------------------------------------------------------------------ seats per segment


async def test_seat_12_sold_a_to_c_is_free_c_to_e_and_taken_b_to_d(api: Api) -> None:
    sold = await reserve_seats(api, OSLO, HONEFOSS, [(2, "12")])
    assert sold["errors"] == []
    assert seats_of(sold) == [(2, "12")]

    assert (await seat_map(api, HONEFOSS, GEILO))[(2, "12")] is True  # touches only
    assert (await seat_map(api, GOL, BERGEN))[(2, "12")] is True
    assert (await seat_map(api, DRAMMEN, GOL))[(2, "12")] is False  # shares Drammen-Hønefoss
    assert (await seat_map(api, OSLO, DRAMMEN))[(2, "12")] is False
    assert (await seat_map(api, OSLO, BERGEN))[(2, "12")] is False
    assert (await seat_map(api, DRAMMEN, GOL))[(2, "11")] is True
    # Another run of the same day is another train.
    assert (await seat_map(api, OSLO, HONEFOSS, run="1225"))[(2, "12")] is True

    after = await reserve_seats(api, HONEFOSS, GEILO, [(2, "12")])
    assert after["errors"] == []
    assert seats_of(after) == [(2, "12")]

    before = await counts(api)
    clash = await reserve_seats(api, DRAMMEN, GOL, [(2, "12")])
    assert codes(clash) == ["SEAT_UNAVAILABLE"]
    assert clash["errors"][0]["path"] == ["input", "offerConfigurations", "0", "seats", "0"]
    assert clash["order"] is None and clash["reservations"] == []
    assert await counts(api) == before

    # Seat 12 is now sold Oslo S -> Geilo in two parts; Geilo -> Bergen is still free.
    assert (await seat_map(api, OSLO, GEILO))[(2, "12")] is False
    assert (await seat_map(api, GEILO, BERGEN))[(2, "12")] is True


async def test_seat_map_shows_both_cars_and_the_segment(api: Api) -> None:
    data = await api.gql(SEAT_MAP, {"j": journey(), "f": DRAMMEN, "t": GOL})
    seat_map_data = data["seatMap"]
    assert seat_map_data["serviceJourneyId"] == journey()
    assert (seat_map_data["from"]["id"], seat_map_data["to"]["id"]) == (DRAMMEN, GOL)
    cars = {car["number"]: car for car in seat_map_data["cars"]}
    assert cars[1]["fareClass"] == "PREMIUM_CLASS" and len(cars[1]["seats"]) == 24
    assert cars[2]["fareClass"] == "STANDARD_CLASS" and len(cars[2]["seats"]) == 48
    assert all(seat["available"] for car in cars.values() for seat in car["seats"])
    assert "WINDOW" in cars[2]["seats"][0]["properties"]


async def test_a_seat_map_of_a_segment_the_journey_does_not_serve(api: Api) -> None:
    response = await api.post(SEAT_MAP, {"j": journey(), "f": BERGEN, "t": OSLO})
    body = response.json()
    assert body.get("data") is None or body["data"].get("seatMap") is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


# ------------------------------------------------------------------ requested seats


async def test_requested_seats_are_honoured_per_traveller(api: Api) -> None:
    travellers = [{"id": "a1", "userType": "ADULT"}, {"id": "c1", "userType": "CHILD"}]
    oid = await offer_id(api, OSLO, BERGEN, travellers=travellers)
    seats = [
        {"carNumber": 2, "seatNumber": "7", "travellerId": "c1"},
        {"carNumber": 2, "seatNumber": "30"},
    ]
    data = await api.gql(
        RESERVE, {"input": {"offerConfigurations": [{"offerId": oid, "seats": seats}]}}
    )
    result = data["reserveOffers"]
    assert result["errors"] == []
    by_traveller = {
        line["travellers"][0]["id"]: line["reservation"]["seats"]
        for line in result["order"]["orderLines"]
    }
    assert by_traveller == {
        "a1": [{"carNumber": 2, "seatNumber": "30", "travellerId": "a1"}],
        "c1": [{"carNumber": 2, "seatNumber": "7", "travellerId": "c1"}],
    }
    taken = await seat_map(api, OSLO, BERGEN)
    assert not taken[(2, "7")] and not taken[(2, "30")] and taken[(2, "8")]


async def test_a_premium_product_sits_in_the_premium_car(api: Api) -> None:
    allocated = await reserve_seats(api, OSLO, BERGEN, None, product="Premium Flex")
    assert allocated["errors"] == []
    assert [car for car, _ in seats_of(allocated)] == [1]
    requested = await reserve_seats(api, OSLO, BERGEN, [(1, "24")], product="Premium Flex")
    assert seats_of(requested) == [(1, "24")]


async def test_automatic_seats_skip_taken_ones_and_keep_a_group_together(api: Api) -> None:
    await reserve_seats(api, OSLO, BERGEN, [(2, "2")])
    group = [{"id": f"a{n}", "userType": "ADULT"} for n in range(3)]
    result = await reserve_seats(api, DRAMMEN, GOL, None, travellers=group)
    assert result["errors"] == []
    seats = seats_of(result)
    assert {car for car, _ in seats} == {2}
    numbers = sorted(int(number) for _, number in seats)
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert 2 not in numbers


async def test_requests_for_seats_that_do_not_exist_are_validation_failures(api: Api) -> None:
    before = await counts(api)
    for seats in ([(2, "49")], [(2, "0")], [(9, "1")], [(1, "1")], [(2, "12"), (2, "12")]):
        result = await reserve_seats(api, OSLO, BERGEN, seats)
        assert codes(result) == ["VALIDATION_FAILED"], seats
        path = result["errors"][0]["path"]
        assert path[:4] == ["input", "offerConfigurations", "0", "seats"], (seats, path)
        assert result["order"] is None
    assert await counts(api) == before


async def test_a_taken_seat_is_refused_and_nothing_is_written(api: Api) -> None:
    first = await reserve_seats(api, OSLO, BERGEN, [(2, "5")])
    assert first["errors"] == []
    before = await counts(api)
    map_before = await seat_map(api, OSLO, BERGEN)

    # Two configurations: the first one alone would succeed; the second fails the request.
    free_offer = await offer_id(api, OSLO, HONEFOSS)
    taken_offer = await offer_id(api, DRAMMEN, GOL)
    variables = {
        "input": {
            "offerConfigurations": [
                {"offerId": free_offer, "seats": [{"carNumber": 2, "seatNumber": "6"}]},
                {"offerId": taken_offer, "seats": [{"carNumber": 2, "seatNumber": "5"}]},
            ]
        }
    }
    result = (await api.gql(RESERVE, variables))["reserveOffers"]
    assert codes(result) == ["SEAT_UNAVAILABLE"]
    assert result["errors"][0]["path"] == ["input", "offerConfigurations", "1", "seats", "0"]
    assert await counts(api) == before
    assert await seat_map(api, OSLO, BERGEN) == map_before

    # Adding onto the existing order with a taken seat leaves that order as it was.
    order_id = first["order"]["id"]
    onto = await reserve_seats(api, OSLO, BERGEN, [(2, "5")], orderId=order_id)
    assert codes(onto) == ["SEAT_UNAVAILABLE"]
    order = (await api.gql(ORDER, {"id": order_id}))["order"]
    assert (order["version"], len(order["orderLines"])) == (1, 1)
    assert order["expireAt"] == first["order"]["expireAt"]


async def test_two_seats_on_overlapping_segments_in_one_request_cannot_be_the_same(
    api: Api,
) -> None:
    variables = {
        "input": {
            "offerConfigurations": [
                {
                    "offerId": await offer_id(api, OSLO, HONEFOSS),
                    "seats": [{"carNumber": 2, "seatNumber": "9"}],
                },
                {
                    "offerId": await offer_id(api, DRAMMEN, GOL),
                    "seats": [{"carNumber": 2, "seatNumber": "9"}],
                },
            ]
        }
    }
    result = (await api.gql(RESERVE, variables))["reserveOffers"]
    assert codes(result) == ["SEAT_UNAVAILABLE"]
    assert await counts(api) == (0, 0)


# ------------------------------------------------------------------ one traveller, several legs


async def test_one_traveller_keeps_seat_12_over_two_legs_in_one_request(api: Api) -> None:
    """A journey in two legs (Oslo S -> Hønefoss, Hønefoss -> Geilo) for the same traveller:
    two lines, one traveller on the order, and seat 12 on both legs."""
    variables = {
        "input": {
            "offerConfigurations": [
                {
                    "offerId": await offer_id(api, OSLO, HONEFOSS),
                    "seats": [{"carNumber": 2, "seatNumber": "12"}],
                },
                {
                    "offerId": await offer_id(api, HONEFOSS, GEILO),
                    "seats": [{"carNumber": 2, "seatNumber": "12"}],
                },
            ]
        }
    }
    result = (await api.gql(RESERVE, variables))["reserveOffers"]
    assert result["errors"] == []
    order = result["order"]
    assert [t["id"] for t in order["travellers"]] == ["a1"]
    assert [line["travellers"] for line in order["orderLines"]] == [[{"id": "a1"}]] * 2
    assert seats_of(result) == [(2, "12"), (2, "12")]
    assert (await seat_map(api, OSLO, GEILO))[(2, "12")] is False
    assert (await seat_map(api, GEILO, BERGEN))[(2, "12")] is True


async def test_a_traveller_is_one_user_type_on_an_order(api: Api) -> None:
    """Traveller a1 is an ADULT on the order: an offer priced for an infant a1 is refused."""
    adult = await reserve_seats(api, OSLO, HONEFOSS, None)
    order_id = adult["order"]["id"]
    infant = [{"id": "a1", "userType": "INFANT"}]
    refused = await reserve_seats(api, HONEFOSS, GEILO, None, travellers=infant, orderId=order_id)
    assert codes(refused) == ["VALIDATION_FAILED"]
    order = (await api.gql(ORDER, {"id": order_id}))["order"]
    assert len(order["orderLines"]) == 1
    # In one request, too.
    variables = {
        "input": {
            "offerConfigurations": [
                {"offerId": await offer_id(api, OSLO, HONEFOSS)},
                {"offerId": await offer_id(api, HONEFOSS, GEILO, travellers=infant)},
            ]
        }
    }
    result = (await api.gql(RESERVE, variables))["reserveOffers"]
    assert codes(result) == ["VALIDATION_FAILED"]
    assert await counts(api) == (1, 1)


# ------------------------------------------------------------------ changeSeats


async def test_change_seats_moves_a_reservation(api: Api) -> None:
    reserved = await reserve_seats(api, OSLO, BERGEN, [(2, "5")])
    reservation = reserved["reservations"][0]
    changed = await change_seats(api, reservation["id"], [(2, "6")])
    assert changed["errors"] == []
    assert changed["reservation"]["id"] == reservation["id"]
    assert changed["reservation"]["status"] == "DRAFT"
    assert changed["reservation"]["seats"] == [
        {"carNumber": 2, "seatNumber": "6", "travellerId": "a1"}
    ]
    taken = await seat_map(api, DRAMMEN, GOL)
    assert taken[(2, "5")] is True and taken[(2, "6")] is False
    order = (await api.gql(ORDER, {"id": reserved["order"]["id"]}))["order"]
    assert order["reservations"][0]["seats"][0]["seatNumber"] == "6"
    assert order["orderLines"][0]["reservation"]["seats"][0]["seatNumber"] == "6"

    # The old seat is free for the next buyer.
    again = await reserve_seats(api, OSLO, BERGEN, [(2, "5")])
    assert again["errors"] == []


async def test_change_seats_refuses_a_taken_seat_and_keeps_the_old_one(api: Api) -> None:
    mine = await reserve_seats(api, OSLO, HONEFOSS, [(2, "5")])
    await reserve_seats(api, DRAMMEN, GOL, [(2, "6")])
    reservation_id = mine["reservations"][0]["id"]

    refused = await change_seats(api, reservation_id, [(2, "6")])
    assert codes(refused) == ["SEAT_UNAVAILABLE"]
    assert refused["reservation"] is None
    taken = await seat_map(api, OSLO, HONEFOSS)
    assert taken[(2, "5")] is False and taken[(2, "6")] is False

    # Seats that do not exist, of the other class, or not one per seat held.
    for seats in ([(2, "99")], [(1, "1")], [(2, "7"), (2, "8")], []):
        refused = await change_seats(api, reservation_id, seats)
        assert codes(refused) == ["VALIDATION_FAILED"], seats
        assert refused["errors"][0]["path"][:2] == ["input", "seats"], seats

    order = (await api.gql(ORDER, {"id": mine["order"]["id"]}))["order"]
    assert order["reservations"][0]["seats"][0]["seatNumber"] == "5"

    # Its own seat again is allowed (nothing else holds it).
    assert (await change_seats(api, reservation_id, [(2, "5")]))["errors"] == []


async def test_change_seats_of_another_organisation_is_not_found(api: Api) -> None:
    mine = await reserve_seats(api, OSLO, BERGEN, [(2, "5")])
    refused = await change_seats(
        api, mine["reservations"][0]["id"], [(2, "6")], client_id="other-app"
    )
    assert codes(refused) == ["NOT_FOUND"]
    assert (await seat_map(api, OSLO, BERGEN))[(2, "5")] is False


async def test_change_seats_of_a_cancelled_order_is_refused(api: Api) -> None:
    mine = await reserve_seats(api, OSLO, BERGEN, [(2, "5")])
    cancelled = await api.gql(CANCEL, {"input": {"orderId": mine["order"]["id"]}})
    assert cancelled["cancelOrder"]["errors"] == []
    refused = await change_seats(api, mine["reservations"][0]["id"], [(2, "6")])
    assert codes(refused) == ["INVALID_STATE"]
    taken = await seat_map(api, OSLO, BERGEN)
    assert taken[(2, "5")] is True and taken[(2, "6")] is True


# ------------------------------------------------------------------ time


async def test_an_expired_hold_never_blocks_a_new_reservation(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    first = await reserve_seats(api, OSLO, BERGEN, [(2, "12")])
    assert first["errors"] == []
    assert (await seat_map(api, DRAMMEN, GOL))[(2, "12")] is False

    clock.advance(timedelta(minutes=21))  # no sweep runs
    assert (await seat_map(api, DRAMMEN, GOL))[(2, "12")] is True
    offers = await offers_for(api, ADULT, DRAMMEN, GOL, journey=journey())
    assert next(o for o in offers if o["product"]["name"] == "Flex")["availableSeats"] == 48

    second = await reserve_seats(api, DRAMMEN, GOL, [(2, "12")])
    assert second["errors"] == []
    assert seats_of(second) == [(2, "12")]

    # The sweep then tidies the first order without touching the second one's seat.
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 1
    old = (await api.gql(ORDER, {"id": first["order"]["id"]}))["order"]
    assert old["status"] == "CANCELLED"
    assert [r["status"] for r in old["reservations"]] == ["EXPIRED"]
    assert (await seat_map(api, DRAMMEN, GOL))[(2, "12")] is False
    assert (await seat_map(api, OSLO, DRAMMEN))[(2, "12")] is True
    new = (await api.gql(ORDER, {"id": second["order"]["id"]}))["order"]
    assert new["status"] == "DRAFT"
    assert [r["status"] for r in new["reservations"]] == ["DRAFT"]


async def test_an_offer_older_than_15_minutes_is_expired(api: Api, clock: MovableClock) -> None:
    oid = await offer_id(api, OSLO, BERGEN)
    clock.advance(timedelta(minutes=15, seconds=1))
    data = await api.gql(RESERVE, {"input": {"offerConfigurations": [{"offerId": oid}]}})
    result = data["reserveOffers"]
    assert codes(result) == ["OFFER_EXPIRED"]
    assert result["errors"][0]["path"] == ["input", "offerConfigurations", "0", "offerId"]
    assert await counts(api) == (0, 0)


async def test_an_offer_still_valid_at_14_minutes(api: Api, clock: MovableClock) -> None:
    oid = await offer_id(api, OSLO, BERGEN)
    clock.advance(timedelta(minutes=14))
    data = await api.gql(RESERVE, {"input": {"offerConfigurations": [{"offerId": oid}]}})
    assert data["reserveOffers"]["errors"] == []


async def test_a_tampered_offer_id_is_not_found(api: Api) -> None:
    oid = await offer_id(api, OSLO, BERGEN)
    middle = len(oid) // 3
    flipped = "B" if oid[middle] != "B" else "C"
    for tampered in (oid[:middle] + flipped + oid[middle + 1 :], oid[:-1], oid + "x", "x.y"):
        data = await api.gql(RESERVE, {"input": {"offerConfigurations": [{"offerId": tampered}]}})
        result = data["reserveOffers"]
        assert codes(result) == ["OFFER_NOT_FOUND"], tampered
        assert result["errors"][0]["path"] == ["input", "offerConfigurations", "0", "offerId"]
    assert await counts(api) == (0, 0)


# ------------------------------------------------------------------ the reservations list


async def test_reservations_list_pages_filters_and_isolates_organisations(api: Api) -> None:
    two = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    first = await reserve_seats(api, OSLO, BERGEN, None, travellers=two)
    second = await reserve_seats(api, OSLO, GOL, None, run="1225")
    third = await reserve_seats(api, HONEFOSS, GEILO, None)
    await api.gql(CANCEL, {"input": {"orderId": third["order"]["id"]}})
    theirs = await reserve_seats(api, OSLO, BERGEN, None, client_id="other-app")
    assert theirs["errors"] == []

    async def listed(
        filter: dict[str, Any] | None = None, client_id: str = "demo-app", **paging: int
    ) -> dict[str, Any]:
        variables: dict[str, Any] = {"filter": filter, **paging}
        data = await api.gql(RESERVATIONS, variables, client_id=client_id)
        return dict(data["reservations"])

    everything = await listed()
    assert everything["totalItems"] == 4
    all_ids = {r["id"] for r in everything["items"]}
    mine = {r["id"] for result in (first, second, third) for r in result["reservations"]}
    assert all_ids == mine

    page1 = await listed(perPage=3, page=1)
    page2 = await listed(perPage=3, page=2)
    assert (page1["totalPages"], page1["page"], page1["perPage"]) == (2, 1, 3)
    assert len(page1["items"]) == 3 and len(page2["items"]) == 1
    assert {r["id"] for r in page1["items"] + page2["items"]} == all_ids

    by_order = await listed({"orderId": {"eq": first["order"]["id"]}})
    assert {r["id"] for r in by_order["items"]} == {r["id"] for r in first["reservations"]}
    assert all(r["orderId"] == first["order"]["id"] for r in by_order["items"])

    cancelled = await listed({"status": {"eq": "CANCELLED"}})
    assert [r["id"] for r in cancelled["items"]] == [third["reservations"][0]["id"]]
    live = await listed({"status": {"in": ["DRAFT", "CONFIRMED"]}})
    assert live["totalItems"] == 3
    assert (await listed({"status": {"ne": "DRAFT"}}))["totalItems"] == 1

    afternoon = await listed({"serviceJourneyId": {"eq": journey("1225")}})
    assert [r["id"] for r in afternoon["items"]] == [second["reservations"][0]["id"]]
    assert afternoon["items"][0]["to"]["id"] == GOL
    not_morning = await listed({"serviceJourneyId": {"ne": journey("0825")}})
    assert not_morning["totalItems"] == 1

    one_id = first["reservations"][0]["id"]
    assert [r["id"] for r in (await listed({"id": {"eq": one_id}}))["items"]] == [one_id]
    assert (await listed({"id": {"nin": [one_id]}}))["totalItems"] == 3
    both = await listed({"orderId": {"eq": first["order"]["id"]}, "id": {"ne": one_id}})
    assert both["totalItems"] == 1

    # The other organisation sees only its own, whatever it filters on.
    other = await listed(client_id="other-app")
    assert [r["id"] for r in other["items"]] == [theirs["reservations"][0]["id"]]
    probing = await listed({"orderId": {"eq": first["order"]["id"]}}, client_id="other-app")
    assert probing["totalItems"] == 0 and probing["items"] == []
    probing = await listed({"id": {"in": sorted(all_ids)}}, client_id="other-app")
    assert probing["totalItems"] == 0
    assert (await listed({"orderId": {"eq": theirs["order"]["id"]}}))["totalItems"] == 0


async def test_order_reservations_and_order_line_reservation(api: Api) -> None:
    two = [{"id": "a1", "userType": "ADULT"}, {"id": "c1", "userType": "CHILD"}]
    result = await reserve_seats(api, DRAMMEN, GEILO, [(2, "21"), (2, "22")], travellers=two)
    order_id = result["order"]["id"]
    order = (await api.gql(ORDER, {"id": order_id}))["order"]
    reservations = {r["id"]: r for r in order["reservations"]}
    assert len(reservations) == 2
    for line in order["orderLines"]:
        reservation = line["reservation"]
        assert reservation is not None
        assert reservation["orderLineId"] == line["id"]
        assert reservation["orderId"] == order_id
        full = reservations[reservation["id"]]
        assert full["orderLineId"] == line["id"]
        assert full["status"] == "DRAFT"
        assert full["serviceJourneyId"] == journey()
        assert (full["from"]["id"], full["to"]["id"]) == (DRAMMEN, GEILO)
        assert full["expireAt"] == order["expireAt"]
    assert sorted(s["seats"][0]["seatNumber"] for s in reservations.values()) == ["21", "22"]
    # The reservations the mutation answered are the ones the order shows.
    assert {r["id"] for r in result["reservations"]} == set(reservations)

    # Asked for through the order lines only, they are there too.
    data = await api.gql(
        "query($id: ID!) { order(id: $id) { orderLines { id reservation { id orderLineId } } } }",
        {"id": order_id},
    )
    lines = data["order"]["orderLines"]
    assert all(line["reservation"]["orderLineId"] == line["id"] for line in lines)
    assert {line["reservation"]["id"] for line in lines} == set(reservations)


# ------------------------------------------------------------------ statement counts


NESTED = """
query($perPage: Int!) {
  orders(perPage: $perPage) {
    totalItems
    items {
      id
      orderLines { id reservation { id seats { carNumber seatNumber } } }
      reservations { id }
      travellers { id }
    }
  }
}
"""


async def test_nested_reservations_cost_the_same_statements_for_1_or_100_orders(
    api: Api, app: Starlette
) -> None:
    two = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    oid = await offer_id(api, OSLO, BERGEN, travellers=two)
    created = []
    for _ in range(4):
        data = await api.gql(RESERVE, {"input": {"offerConfigurations": [{"offerId": oid}]}})
        assert data["reserveOffers"]["errors"] == []
        created.append(data["reserveOffers"]["order"]["id"])
    await api.gql(NESTED, {"perPage": 1})  # warm up

    with recorded_statements(app) as one:
        small = await api.gql(NESTED, {"perPage": 1})
    with recorded_statements(app) as many:
        large = await api.gql(NESTED, {"perPage": 100})

    assert len(small["orders"]["items"]) == 1
    items = large["orders"]["items"]
    assert large["orders"]["totalItems"] == 4 and {i["id"] for i in items} == set(created)
    for item in items:
        assert len(item["orderLines"]) == 2 and len(item["reservations"]) == 2
        assert [t["id"] for t in item["travellers"]] == ["a1", "a2"]
        line_reservations = {line["reservation"]["id"] for line in item["orderLines"]}
        assert line_reservations == {r["id"] for r in item["reservations"]}
        assert all(len(line["reservation"]["seats"]) == 1 for line in item["orderLines"])
    assert len(many) == len(one), (one, many)
    # count, orders, travellers, lines, reservations: one SELECT per list, however many orders
    selects = [sql for sql, _ in one if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, selects
