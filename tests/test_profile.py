"""Personal data (guide 2.1)."""

from datetime import timedelta

import pytest

from kabinet.clock import now
from kabinet.documents import UserDocument
from tests.accounts import signed_up
from tests.operations import PROFILE, UPDATE_PROFILE
from tests.support import Api, Mailbox

EMAIL = "ivanna@example.com"


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await signed_up(api, mailbox, EMAIL)


async def update(api: Api, token: str, **fields: object) -> dict:
    return (await api.data(UPDATE_PROFILE, {"input": fields}, token=token))["updateProfile"]


async def test_new_account_has_an_empty_incomplete_profile(api: Api, token: str):
    me = (await api.data(PROFILE, token=token))["me"]
    assert me["profile"] == {
        "lastName": None,
        "firstName": None,
        "middleName": None,
        "gender": None,
        "birthDate": None,
        "complete": False,
    }
    assert me["contacts"] == []
    assert me["addresses"] == []


async def test_profile_round_trip(api: Api, token: str):
    result = await update(
        api,
        token,
        lastName="  Шевченко ",
        firstName="Тарас",
        middleName="Григорович",
        gender="MALE",
        birthDate="1961-03-09",
        locale="EN",
    )
    assert result["__typename"] == "User"

    me = (await api.data(PROFILE, token=token))["me"]
    assert me["locale"] == "EN"
    assert me["profile"] == {
        "lastName": "Шевченко",
        "firstName": "Тарас",
        "middleName": "Григорович",
        "gender": "MALE",
        "birthDate": "1961-03-09",
        "complete": True,
    }


async def test_partial_update_keeps_other_fields_and_null_clears_the_patronymic(
    api: Api, token: str
):
    await update(api, token, lastName="Коваль", firstName="Олена", middleName="Петрівна")

    result = await update(api, token, middleName=None)

    assert result["profile"]["lastName"] == "Коваль"
    assert result["profile"]["firstName"] == "Олена"
    assert result["profile"]["middleName"] is None


async def test_complete_needs_name_gender_and_birth_date_but_not_patronymic(api: Api, token: str):
    result = await update(api, token, lastName="Коваль", firstName="Олена", gender="FEMALE")
    assert result["profile"]["complete"] is False
    result = await update(api, token, birthDate="1990-05-01")
    assert result["profile"]["complete"] is True


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Дем'яненко", "Демʼяненко"),
        ("Дем’яненко", "Демʼяненко"),
        ("Квітка-Основʼяненко", "Квітка-Основʼяненко"),
        ("O'Brien", "OʼBrien"),
        ("Ярослава  Марія", "Ярослава Марія"),
        ("Müller", "Müller"),
    ],
)
async def test_names_with_apostrophes_hyphens_and_spaces(
    api: Api, token: str, typed: str, stored: str
):
    result = await update(api, token, lastName=typed)
    assert result["profile"]["lastName"] == stored


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        ({"lastName": "Коваль1"}, "lastName", "NAME_INVALID"),
        ({"firstName": "<script>"}, "firstName", "NAME_INVALID"),
        ({"firstName": "Ολγα"}, "firstName", "NAME_INVALID"),
        ({"lastName": "-Коваль"}, "lastName", "NAME_INVALID"),
        ({"lastName": "   "}, "lastName", "REQUIRED"),
        ({"firstName": None}, "firstName", "REQUIRED"),
        ({"gender": None}, "gender", "REQUIRED"),
        ({"birthDate": None}, "birthDate", "REQUIRED"),
        ({"middleName": "Я" * 61}, "middleName", "TOO_LONG"),
        ({"birthDate": "1899-12-31"}, "birthDate", "BIRTH_DATE_TOO_OLD"),
        (
            {"birthDate": timedelta(days=2)},
            "birthDate",
            "BIRTH_DATE_IN_FUTURE",
        ),
    ],
)
async def test_each_profile_rule(api: Api, token: str, fields: dict, path: str, code: str):
    """A `timedelta` is a day relative to the clock's today, taken when the test runs."""
    await update(api, token, lastName="Коваль", firstName="Олена")

    result = await update(
        api,
        token,
        **{
            name: (now().date() + value).isoformat() if isinstance(value, timedelta) else value
            for name, value in fields.items()
        },
    )

    assert result["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in result["fields"]] == [(path, code)]
    stored = (await UserDocument.find_one({"email": EMAIL})).profile
    assert (stored.last_name, stored.first_name, stored.birth_date) == ("Коваль", "Олена", None)


async def test_a_bad_field_changes_nothing_else(api: Api, token: str):
    result = await update(api, token, lastName="Коваль", firstName="123")
    assert result["__typename"] == "InputError"
    assert (await UserDocument.find_one({"email": EMAIL})).profile.last_name is None


async def test_profile_errors_speak_the_accounts_language(api: Api, token: str):
    await update(api, token, locale="EN")
    result = await update(api, token, firstName="1")
    assert result["fields"][0]["message"] == (
        "Use Ukrainian or Latin letters, an apostrophe, a hyphen or a space."
    )


async def test_update_profile_needs_a_session(api: Api):
    body = await api.post(UPDATE_PROFILE, {"input": {"firstName": "Олена"}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
