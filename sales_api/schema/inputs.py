"""Input types of the order mutations."""

from __future__ import annotations

import strawberry

from sales_api.domain import orders as domain


@strawberry.input(name="ContactInfoInput")
class ContactInfoInput:
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None

    def to_domain(self) -> domain.ContactInfo:
        return domain.ContactInfo(self.name, self.email, self.phone_number)


@strawberry.input(name="TravellerInput")
class TravellerInput:
    id: strawberry.ID
    user_type: domain.UserType
    name: str | None = None

    def to_domain(self) -> domain.Traveller:
        return domain.Traveller(str(self.id), self.user_type, self.name)


@strawberry.input(name="CreateOrderInput")
class CreateOrderInput:
    currency: str | None = strawberry.field(default=None, description="Defaults to NOK.")
    contact_info: ContactInfoInput | None = None
    travellers: list[TravellerInput] | None = None
    external_reference: str | None = None


@strawberry.input(name="UpdateOrderInput")
class UpdateOrderInput:
    order_id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None,
        description="Refuse with VERSION_CONFLICT unless the order is at this version.",
    )
    contact_info: ContactInfoInput | None = None
    travellers: list[TravellerInput] | None = None
    external_reference: str | None = None
