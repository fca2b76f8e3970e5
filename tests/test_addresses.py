"""Addresses (guide 2.3): one home and one additional address."""

import pytest

from kabinet.documents import UserDocument
from tests.accounts import signed_up
from tests.operations import PROFILE, REMOVE_ADDRESS, SET_ADDRESS
from tests.support import Api, Mailbox

HOME = {
    "kind": "HOME",
    "city": " м. Київ ",
    "street": "вул. Новокозаківська",
    "building": "1В",
    "apartment": "12",
    "postalCode": "04073",
    "region": "Київська",
    "note": "під'їзд 2, поверх 5, домофон 12",
}

WORK = {"kind": "ADDITIONAL", "city": "Львів", "street": "пл. Ринок", "building": "1"}


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await signed_up(api, mailbox, "address@example.com")


async def set_address(api: Api, token: str, **fields: object) -> dict:
    return (await api.data(SET_ADDRESS, {"input": fields}, token=token))["setAddress"]


async def test_set_home_and_additional_addresses(api: Api, token: str):
    home = await set_address(api, token, **HOME)
    work = await set_address(
        api, token, kind="ADDITIONAL", city="Львів", street="пл. Ринок", building="1"
    )

    assert home["city"] == "м. Київ"
    assert home["note"] == HOME["note"]
    addresses = (await api.data(PROFILE, token=token))["me"]["addresses"]
    assert [(a["kind"], a["city"]) for a in addresses] == [
        ("HOME", "м. Київ"),
        ("ADDITIONAL", "Львів"),
    ]
    assert addresses[1]["apartment"] is None
    assert work["id"] != home["id"]


async def test_setting_a_kind_again_replaces_it(api: Api, token: str):
    await set_address(api, token, **HOME)
    moved = await set_address(api, token, **{**HOME, "city": "Одеса", "apartment": None})

    addresses = (await api.data(PROFILE, token=token))["me"]["addresses"]
    moved.pop("__typename")
    assert addresses == [moved]
    assert moved["city"] == "Одеса"
    assert moved["apartment"] is None


async def test_remove_address(api: Api, token: str):
    home = await set_address(api, token, **HOME)
    work = await set_address(
        api, token, kind="ADDITIONAL", city="Львів", street="Ринок", building="1"
    )

    result = await api.data(REMOVE_ADDRESS, {"input": {"addressId": home["id"]}}, token=token)

    assert result["removeAddress"]["addresses"] == [{"id": work["id"], "kind": "ADDITIONAL"}]
    again = await api.data(REMOVE_ADDRESS, {"input": {"addressId": home["id"]}}, token=token)
    assert again["removeAddress"] == {"__typename": "NotFound", "code": "NOT_FOUND"}


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"city": "  "}, "city", "REQUIRED"),
        ({"street": ""}, "street", "REQUIRED"),
        ({"building": ""}, "building", "REQUIRED"),
        ({"postalCode": "0407"}, "postalCode", "POSTAL_CODE_INVALID"),
        ({"postalCode": "04073-1"}, "postalCode", "POSTAL_CODE_INVALID"),
        ({"postalCode": "12345678901"}, "postalCode", "TOO_LONG"),
        ({"note": "x" * 301}, "note", "TOO_LONG"),
        ({"city": "К" * 81}, "city", "TOO_LONG"),
    ],
)
async def test_each_address_rule(api: Api, token: str, changes: dict, path: str, code: str):
    result = await set_address(api, token, **{**HOME, **changes})

    assert result["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in result["fields"]] == [(path, code)]
    assert (await UserDocument.find_one({"email": "address@example.com"})).addresses == {}


async def test_someone_elses_address_is_not_found(api: Api, mailbox: Mailbox, token: str):
    other = await signed_up(api, mailbox, "other@example.com")
    theirs = await set_address(api, other, **HOME)

    result = await api.data(REMOVE_ADDRESS, {"input": {"addressId": theirs["id"]}}, token=token)
    node = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": theirs["id"]}, token=token
    )

    assert result["removeAddress"]["__typename"] == "NotFound"
    assert node["node"] is None
    assert len((await api.data(PROFILE, token=other))["me"]["addresses"]) == 1


async def test_addresses_need_a_session(api: Api):
    body = await api.post(SET_ADDRESS, {"input": HOME})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
