from tests.conftest import Api

CREATE = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id version status totalAmount totalTaxAmount balance currency organisationId
            pos distributionChannelId externalReference
            contactInfo { name email phoneNumber }
            travellers { id userType name } orderLines { id } createdAt expireAt }
    errors { code message path }
  }
}
"""


async def test_create_order_answers_the_stored_order(api: Api) -> None:
    data = await api.gql(
        CREATE,
        {
            "input": {
                "travellers": [{"id": "t1", "userType": "ADULT", "name": "Kari"}],
                "contactInfo": {"email": "kari@example.no"},
                "externalReference": "ext-1",
            }
        },
    )
    order = data["createOrder"]["order"]
    assert data["createOrder"]["errors"] == []
    assert order["status"] == "DRAFT"
    assert order["version"] == 1
    assert (order["totalAmount"], order["totalTaxAmount"], order["balance"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert order["currency"] == "NOK"
    assert order["organisationId"] == 1
    assert order["pos"] == "test-pos"
    assert order["distributionChannelId"] == "ENT:DistributionChannel:App"
    read = await api.gql(
        "query($id: ID!) { order(id: $id) { id travellers { id userType name } "
        "contactInfo { email } externalReference createdAt } }",
        {"id": order["id"]},
    )
    assert read["order"]["travellers"] == [{"id": "t1", "userType": "ADULT", "name": "Kari"}]
    assert read["order"]["contactInfo"] == {"email": "kari@example.no"}
    assert read["order"]["createdAt"] == order["createdAt"]
