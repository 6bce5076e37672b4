"""Offers: a product priced for travellers on a segment, behind a signed, expiring id.

The id carries everything needed to reserve it, signed with HMAC-SHA256, so the price the
buyer pays is the price the server computed and nothing needs storing per search."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sales_api.domain.catalogue import Catalogue, FareProduct, Segment
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.money import from_minor_units, to_minor_units
from sales_api.domain.orders import Traveller, UserType

OFFER_LIFETIME = timedelta(minutes=15)
MAX_OFFER_ID = 2048


@dataclass(frozen=True, slots=True)
class PricedTraveller:
    traveller: Traveller
    price: Decimal


@dataclass(frozen=True, slots=True)
class Offer:
    product: FareProduct
    segment: Segment
    travellers: tuple[PricedTraveller, ...]
    currency: str
    expire_at: datetime

    @property
    def price(self) -> Decimal:
        return sum((t.price for t in self.travellers), Decimal("0.00"))


class OfferCodec:
    """Turns offers into opaque ids and back; a changed byte or an old id is refused."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the offer signing secret must be at least 32 bytes")
        self._secret = secret

    def encode(self, offer: Offer) -> str:
        payload = {
            "v": 1,
            "p": offer.product.id,
            "j": offer.segment.journey.id,
            "f": offer.segment.origin.stop_place.id,
            "t": offer.segment.destination.stop_place.id,
            "tr": [
                [t.traveller.id, t.traveller.user_type.value, t.traveller.name,
                 to_minor_units(t.price)]
                for t in offer.travellers
            ],
            "c": offer.currency,
            "x": int(offer.expire_at.timestamp()),
        }  # fmt: skip
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def decode(self, offer_id: str, catalogue: Catalogue, now: datetime, path: list[str]) -> Offer:
        body, _, signature = offer_id.partition(".")
        try:
            # The signature's canonical text, not its decoded bytes: base64 decoding forgives
            # changed padding bits and stray characters, so a changed id would still pass.
            valid = len(offer_id) <= MAX_OFFER_ID and hmac.compare_digest(
                signature.encode(), _b64(self._mac(body)).encode()
            )
            payload: dict[str, Any] = json.loads(_unb64(body)) if valid else {}
        except (ValueError, binascii.Error):
            valid = False
        if not valid or payload.get("v") != 1:
            raise SalesError(ErrorCode.OFFER_NOT_FOUND, "No such offer", path)
        expire_at = datetime.fromtimestamp(payload["x"], UTC)
        if now >= expire_at:
            raise SalesError(
                ErrorCode.OFFER_EXPIRED, "The offer has expired; search for offers again", path
            )
        product = catalogue.product(payload["p"])
        journey = catalogue.journey(payload["j"])
        segment = journey.segment(payload["f"], payload["t"]) if journey else None
        if product is None or segment is None:
            raise SalesError(ErrorCode.OFFER_NOT_FOUND, "The offer is no longer sold", path)
        travellers = tuple(
            PricedTraveller(Traveller(tid, UserType(user_type), name), from_minor_units(minor))
            for tid, user_type, name, minor in payload["tr"]
        )
        return Offer(product, segment, travellers, payload["c"], expire_at)

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).digest()


def price_offer(
    catalogue: Catalogue,
    product: FareProduct,
    segment: Segment,
    travellers: tuple[Traveller, ...],
    currency: str,
    now: datetime,
) -> Offer:
    priced = tuple(
        PricedTraveller(t, catalogue.price(product, segment, t.user_type)) for t in travellers
    )
    return Offer(product, segment, priced, currency, now + OFFER_LIFETIME)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
