"""The sale as a new user tries it: stop places, departures, offers, reserveOffers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette

from sales_api.domain.catalogue import LOCAL_TIME
from sales_api.domain.money import vat_of
from tests.conftest import Api

OSLO, DRAMMEN, HONEFOSS, GOL, GEILO, BERGEN = (
    "NSR:StopPlace:337",
    "NSR:StopPlace:444",
    "NSR:StopPlace:530",
    "NSR:StopPlace:113",
    "NSR:StopPlace:601",
    "NSR:StopPlace:548",
)

OFFERS = """
query($search: OfferSearchInput!) {
  offers(search: $search) {
    id product { id name fareClass refundable changeable } reservationRequired availableSeats
    travellerIds price { amount taxAmount taxRate currency } expireAt
    travelSpecification { serviceJourneyId departureTime arrivalTime from { id name } to { id } }
  }
}
"""

RESERVE = """
mutation($input: ReserveOffersInput!) {
  reserveOffers(input: $input) {
    order { id version status totalAmount totalTaxAmount balance expireAt
            travellers { id userType }
            orderLines { id status price { amount taxAmount } travellers { id }
                         reservation { id status seats { carNumber seatNumber travellerId } } }
            reservations { id } }
    orderLines { id }
    reservations { id status serviceJourneyId from { id } to { id }
                   seats { carNumber seatNumber } expireAt }
    errors { code message path }
  }
}
"""


def tomorrow(api_clock: Any = None) -> str:
    from datetime import UTC, datetime

    return (datetime.now(UTC).astimezone(LOCAL_TIME).date() + timedelta(days=1)).isoformat()


async def offers_for(
    api: Api,
    travellers: list[dict[str, str]],
    origin: str = OSLO,
    destination: str = BERGEN,
    journey: str | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    search: dict[str, Any] = {
        "fromStopPlaceId": origin,
        "toStopPlaceId": destination,
        "date": tomorrow(),
        "travellers": travellers,
    }
    if journey:
        search["serviceJourneyId"] = journey
    data = await api.gql(OFFERS, {"search": search}, **kwargs)
    return list(data["offers"])


async def reserve(api: Api, offer_id: str, **input_fields: Any) -> dict[str, Any]:
    variables = {"input": {"offerConfigurations": [{"offerId": offer_id}], **input_fields}}
    data = await api.gql(RESERVE, variables)
    return dict(data["reserveOffers"])


async def test_a_first_sale_for_two_adults(api: Api, app: Starlette) -> None:
    stops = (await api.gql("{ stopPlaces { id name } }"))["stopPlaces"]
    assert len(stops) >= 5
    assert {"id": OSLO, "name": "Oslo S"} in stops

    departures = (
        await api.gql(
            "query($f: ID!, $t: ID!, $d: Date!) { departures(fromStopPlaceId: $f, "
            "toStopPlaceId: $t, date: $d) { serviceJourneyId lineName departureTime "
            "arrivalTime from { name } to { name } } }",
            {"f": OSLO, "t": BERGEN, "d": tomorrow()},
        )
    )["departures"]
    assert departures, "the demo runs every day"
    assert all(d["departureTime"].endswith("Z") for d in departures)
    assert departures[0]["from"]["name"] == "Oslo S"

    travellers = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    offers = await offers_for(api, travellers, journey=departures[0]["serviceJourneyId"])
    flex = next(o for o in offers if o["product"]["name"] == "Flex")
    assert flex["travellerIds"] == ["a1", "a2"]
    assert flex["reservationRequired"] is True
    assert flex["availableSeats"] == 48
    per_person = Decimal("805.50")  # 99.00 + 1.50 x 471 km
    assert flex["price"]["amount"] == f"{per_person * 2:.2f}"
    assert flex["price"]["taxAmount"] == f"{vat_of(per_person) * 2:.2f}"
    assert flex["price"]["taxRate"] == "12.00"

    result = await reserve(api, flex["id"])
    assert result["errors"] == []
    order = result["order"]
    assert order["status"] == "DRAFT"
    assert [t["id"] for t in order["travellers"]] == ["a1", "a2"]
    assert len(order["orderLines"]) == 2
    assert all(line["status"] == "DRAFT" for line in order["orderLines"])
    assert order["totalAmount"] == "1611.00"
    assert order["totalTaxAmount"] == f"{vat_of(per_person) * 2:.2f}"
    assert order["balance"] == "1611.00"
    assert order["expireAt"] is not None
    seats = [line["reservation"]["seats"][0] for line in order["orderLines"]]
    assert {s["carNumber"] for s in seats} == {2}
    numbers = sorted(int(s["seatNumber"]) for s in seats)
    assert numbers[1] - numbers[0] == 1, "two travellers sit together"
    assert len(result["reservations"]) == 2
    assert all(r["status"] == "DRAFT" for r in result["reservations"])

    # The seats now count as taken for the next buyer.
    again = await offers_for(api, travellers, journey=departures[0]["serviceJourneyId"])
    assert next(o for o in again if o["product"]["name"] == "Flex")["availableSeats"] == 46
