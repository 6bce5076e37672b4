"""The PDF ticket as a traveller and an inspector see it: one page, the journey in Oslo
time, and a QR code that scans back to exactly the signed token."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pytest
import zxingcpp

from sales_api.documents.ticket_pdf import PdfTicketRenderer, latin1_text
from sales_api.domain.tickets import TicketDocument


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _compact_jws() -> str:
    """A token shaped like the real ones: ES256 header, ticket claims, 64-byte signature."""
    header = {"alg": "ES256", "kid": "tickets-2026-11", "typ": "JWT"}
    claims = {
        "aud": "ticket-inspection",
        "jti": "TKT-01JDX6Q9ZC8T4W2M7N5P3R1S0V",
        "oid": "ORD-01JDX6Q4A2B3C4D5E6F7G8H9J0",
        "ver": 3,
        "prd": "Standard",
        "org": "NSR:StopPlace:337",
        "dst": "NSR:StopPlace:4029",
        "dep": "2026-11-28T05:25:00Z",
        "arr": "2026-11-28T07:10:00Z",
        "seat": ["Car 2, seat 14"],
        "trv": "ADULT",
        "iat": 1795700000,
        "nbf": 1795757100,
        "exp": 1795770600,
    }
    signature = hashlib.sha256(b"r").digest() + hashlib.sha256(b"s").digest()
    return ".".join(
        [
            _b64url(json.dumps(header, separators=(",", ":")).encode()),
            _b64url(json.dumps(claims, separators=(",", ":")).encode()),
            _b64url(signature),
        ]
    )


TOKEN = _compact_jws()

TICKET = TicketDocument(
    ticket_id="TKT-01JDX6Q9ZC8T4W2M7N5P3R1S0V",
    order_id="ORD-01JDX6Q4A2B3C4D5E6F7G8H9J0",
    product_name="Standard",
    fare_class="Standard",
    line_name="R30 Oslo S - Hønefoss",
    origin="Oslo S",
    destination="Hønefoss",
    departure_time=datetime(2026, 11, 28, 5, 25, tzinfo=UTC),  # 06:25 in Oslo (CET)
    arrival_time=datetime(2026, 11, 28, 7, 10, tzinfo=UTC),
    traveller_type="Adult",
    traveller_name=None,
    seats=("Car 2, seat 14",),
    price="805.50 NOK",
    valid_from=datetime(2026, 11, 28, 4, 25, tzinfo=UTC),
    valid_to=datetime(2026, 11, 28, 9, 10, tzinfo=UTC),
    token=TOKEN,
)


def _page_text(pdf_bytes: bytes) -> str:
    document = pdfium.PdfDocument(pdf_bytes)
    assert len(document) == 1
    return str(document[0].get_textpage().get_text_range())


@pytest.fixture(scope="module")
def ticket_pdf() -> bytes:
    return PdfTicketRenderer().render_pdf(TICKET)


def test_the_token_is_as_long_as_a_real_one() -> None:
    assert 550 <= len(TOKEN) <= 700
    assert TOKEN.count(".") == 2


def test_the_ticket_is_one_page_whose_qr_code_scans_to_exactly_the_token(
    ticket_pdf: bytes,
) -> None:
    document = pdfium.PdfDocument(ticket_pdf)
    assert len(document) == 1
    image = document[0].render(scale=3).to_pil()

    barcodes = zxingcpp.read_barcodes(image)

    assert [barcode.format for barcode in barcodes] == [zxingcpp.BarcodeFormat.QRCode]
    assert barcodes[0].text == TOKEN


def test_the_page_shows_the_journey_in_oslo_time_the_seat_traveller_and_price(
    ticket_pdf: bytes,
) -> None:
    text = _page_text(ticket_pdf)

    assert "Oslo S" in text
    assert "Hønefoss" in text
    assert "28.11.2026 06:25" in text  # departure 05:25 UTC, shown in winter time
    assert "28.11.2026 08:10" in text  # arrival
    assert "R30 Oslo S - Hønefoss" in text
    assert "Car 2, seat 14" in text
    assert "Adult" in text
    assert "805.50 NOK" in text
    assert TICKET.ticket_id in text
    assert TICKET.order_id in text


def test_summer_departures_are_shown_in_summer_time() -> None:
    summer = replace(TICKET, departure_time=datetime(2026, 7, 1, 4, 25, tzinfo=UTC))

    assert "01.07.2026 06:25" in _page_text(PdfTicketRenderer().render_pdf(summer))


def test_a_name_outside_latin1_is_shown_folded_instead_of_crashing() -> None:
    named = replace(TICKET, traveller_name="Łukasz Żółć 李 “Luke”")

    text = _page_text(PdfTicketRenderer().render_pdf(named))

    assert 'Lukasz Zólc ? "Luke"' in text
    assert "Adult" in text


def test_several_seats_are_all_shown() -> None:
    pair = replace(TICKET, seats=("Car 2, seat 14", "Car 2, seat 15"))

    text = _page_text(PdfTicketRenderer().render_pdf(pair))

    assert "Car 2, seat 14" in text
    assert "Car 2, seat 15" in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Hønefoss", "Hønefoss"),
        ("Łódź Kaliska", "Lódz Kaliska"),  # ó is latin-1, ł and ź are not
        ("Oslo \u2013 Bergen \u2192 Voss", "Oslo - Bergen -> Voss"),
        ("北京", "??"),
        ("line\nbreak\x85", "line break "),
    ],
)
def test_text_is_made_safe_for_the_core_fonts(text: str, shown: str) -> None:
    assert latin1_text(text) == shown


def test_rendering_the_same_ticket_twice_gives_the_same_bytes(ticket_pdf: bytes) -> None:
    assert PdfTicketRenderer().render_pdf(TICKET) == ticket_pdf


def test_a_naive_time_is_refused() -> None:
    naive = replace(TICKET, departure_time=datetime(2026, 11, 28, 6, 25))

    with pytest.raises(ValueError, match="departure_time must be timezone-aware"):
        PdfTicketRenderer().render_pdf(naive)
