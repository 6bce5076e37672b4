"""Input types of the order mutations."""

from __future__ import annotations

import strawberry

from sales_api.domain import orders as domain


@strawberry.input(name="ContactInfoInput")
class ContactInfoInput:
    name: str | None = strawberry.field(
        default=None, description="The customer's name; at most 200 characters."
    )
    email: str | None = strawberry.field(
        default=None, description="An e-mail address; receipts go here when sendReceipt names none."
    )
    phone_number: str | None = strawberry.field(
        default=None,
        description=(
            "Digits, optionally a leading +; receipts go here by SMS when no e-mail is known."
        ),
    )

    def to_domain(self) -> domain.ContactInfo:
        return domain.ContactInfo(self.name, self.email, self.phone_number)


@strawberry.input(name="TravellerInput")
class TravellerInput:
    id: strawberry.ID = strawberry.field(
        description="An id of the caller's choosing, unique on the order; order lines name it."
    )
    user_type: domain.UserType = strawberry.field(
        description="Prices the traveller (discounts by user type)."
    )
    name: str | None = strawberry.field(default=None, description="The traveller's name, optional.")

    def to_domain(self) -> domain.Traveller:
        return domain.Traveller(str(self.id), self.user_type, self.name)


@strawberry.input(name="CreateOrderInput")
class CreateOrderInput:
    currency: str | None = strawberry.field(default=None, description="Defaults to NOK.")
    contact_info: ContactInfoInput | None = strawberry.field(
        default=None, description="Who to contact about the order."
    )
    travellers: list[TravellerInput] | None = strawberry.field(
        default=None, description="Travellers known before any offer is reserved."
    )
    external_reference: str | None = strawberry.field(
        default=None,
        description="The caller's own reference, kept and filterable; at most 100 characters.",
    )


@strawberry.input(name="UpdateOrderInput")
class UpdateOrderInput:
    order_id: strawberry.ID = strawberry.field(description="The order's id.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="Refuse with VERSION_CONFLICT unless the order is at this version.",
    )
    contact_info: ContactInfoInput | None = strawberry.field(
        default=None, description="Replaces the contact info."
    )
    travellers: list[TravellerInput] | None = strawberry.field(
        default=None,
        description=(
            "Replaces the travellers; those on order lines must stay. New ones on a CONFIRMED "
            "order start a new DRAFT version."
        ),
    )
    external_reference: str | None = strawberry.field(
        default=None, description="Replaces the external reference."
    )
