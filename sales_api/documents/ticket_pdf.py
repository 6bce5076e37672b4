"""Tickets as one-page A4 PDFs with a QR code of the signed token, drawn with fpdf2's core
fonts and segno: pure Python, no system fonts, no network."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF
from fpdf.enums import RenderStyle, XPos, YPos

from sales_api.domain.tickets import TicketDocument

PAGE_WIDTH_MM = 210.0
MARGIN_MM = 18.0
LABEL_WIDTH_MM = 38.0
QR_SIZE_MM = 66.0  # quiet zone included; ~0.6 mm a module for a 600-character token
QR_QUIET_ZONE_MODULES = 4
LOCAL_TIME_FORMAT = "%d.%m.%Y %H:%M"

# Typographic characters a name or stop may carry that latin-1 lacks, and NFKD cannot fold.
_LATIN1_LOOKALIKES = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2026": "...",
        "\u2192": "->",
        "\u20ac": "EUR",
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0152": "OE",
        "\u0153": "oe",
    }
)


def latin1_text(text: str) -> str:
    """`text` as the core PDF fonts can show it: latin-1 kept, other letters folded to their
    base letter ("Łódź" -> "Lodz"), anything else "?", control characters a space."""
    out: list[str] = []
    for char in text.translate(_LATIN1_LOOKALIKES):
        if unicodedata.category(char) == "Cc":
            # Includes U+0080-U+009F, which the fonts' WinAnsi encoding shows as other glyphs.
            out.append(" ")
        elif ord(char) < 0x100:
            out.append(char)
        else:
            folded = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if ord(part) < 0x100 and not unicodedata.combining(part)
            )
            out.append(folded or "?")
    return "".join(out)


class PdfTicketRenderer:
    """`TicketRenderer` drawing one A4 page a ticket; times are shown in `time_zone`."""

    def __init__(self, time_zone: str = "Europe/Oslo") -> None:
        self._zone = ZoneInfo(time_zone)

    def render_pdf(self, document: TicketDocument) -> bytes:
        """A one-page PDF of the ticket with a QR code encoding exactly `document.token`."""
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        pdf.set_auto_page_break(auto=False)
        # The document has no issue time; valid_from keeps the bytes a function of the ticket.
        pdf.set_creation_date(_aware(document.valid_from, "valid_from"))
        pdf.set_title(latin1_text(f"Ticket {document.ticket_id}"))
        pdf.set_producer("Sales API")
        pdf.add_page()

        content_width = PAGE_WIDTH_MM - 2 * MARGIN_MM
        pdf.set_font("Helvetica", "B", 20)
        pdf.multi_cell(
            content_width,
            9,
            latin1_text(f"{document.product_name} - {document.fare_class}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(
            content_width,
            8,
            latin1_text(f"{document.origin} -> {document.destination}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(2)

        traveller = document.traveller_type
        if document.traveller_name:
            traveller = f"{traveller}, {document.traveller_name}"
        rows = [
            ("Line", document.line_name),
            ("Departure", self._local(document.departure_time, "departure_time")),
            ("Arrival", self._local(document.arrival_time, "arrival_time")),
            ("Seat" if len(document.seats) == 1 else "Seats", "; ".join(document.seats) or "-"),
            ("Traveller", traveller),
            ("Price", document.price),
            ("Valid from", self._local(document.valid_from, "valid_from")),
            ("Valid to", self._local(document.valid_to, "valid_to")),
            ("Ticket id", document.ticket_id),
            ("Order id", document.order_id),
        ]
        for label, value in rows:
            pdf.set_font("Helvetica", "", 10)
            pdf.cell(LABEL_WIDTH_MM, 7, label)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(
                content_width - LABEL_WIDTH_MM,
                7,
                latin1_text(value),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )

        qr_top = max(pdf.get_y() + 8, 150.0)
        _draw_qr(pdf, document.token, (PAGE_WIDTH_MM - QR_SIZE_MM) / 2, qr_top, QR_SIZE_MM)
        pdf.set_xy(MARGIN_MM, qr_top + QR_SIZE_MM + 2)
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(content_width, 5, "Show this code to the conductor.", align="C")
        return bytes(pdf.output())

    def _local(self, moment: datetime, name: str) -> str:
        return _aware(moment, name).astimezone(self._zone).strftime(LOCAL_TIME_FORMAT)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")
    return moment


def _draw_qr(pdf: FPDF, token: str, x: float, y: float, size: float) -> None:
    """The token as a QR code (error correction M) of filled squares: vector, so it stays
    sharp at any print or render resolution."""
    qr = segno.make_qr(token, error="m", boost_error=False)
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=QR_QUIET_ZONE_MODULES)]
    module = size / len(rows)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style=RenderStyle.F)
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(rows):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # One rectangle per horizontal run of dark modules keeps the page small and fast.
            pdf.rect(
                x + start * module,
                y + row_index * module,
                (column - start) * module,
                module,
                style=RenderStyle.F,
            )
