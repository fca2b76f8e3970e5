"""Contacts (guide 2.2): phones and emails confirmed by codes sent over real SMTP and HTTP."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import ContactDocument, OutboxMessageDocument
from kabinet.i18n import Locale, translate
from tests.accounts import signed_up
from tests.conftest import served
from tests.operations import (
    ADD_CONTACT,
    PROFILE,
    REMOVE_CONTACT,
    RESEND_CONTACT_CODE,
    VERIFY_CONTACT,
)
from tests.policies import confirmed_phone
from tests.support import (
    Api,
    Mailbox,
    SmsGateway,
    api_from,
    at_the_start_of_a_window,
    body_of,
    eventually,
    sms_code,
)

PHONE = "+380671234567"
FREE_PHONE = "+380931112233"


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await signed_up(api, mailbox, "mykola@example.com")


async def add(api: Api, token: str, value: str) -> dict:
    return (await api.data(ADD_CONTACT, {"input": {"value": value}}, token=token))["addContact"]


async def verify(api: Api, token: str, contact_id: str, code: str) -> dict:
    variables = {"input": {"contactId": contact_id, "code": code}}
    return (await api.data(VERIFY_CONTACT, variables, token=token))["verifyContact"]


async def resend(api: Api, token: str, contact_id: str) -> dict:
    variables = {"input": {"contactId": contact_id}}
    return (await api.data(RESEND_CONTACT_CODE, variables, token=token))["resendContactCode"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_phone_is_confirmed_with_the_code_from_the_sms(
    api: Api, token: str, sms_gateway: SmsGateway
):
    added = await add(api, token, "067 123 45 67")
    assert added["__typename"] == "Contact"
    assert (added["kind"], added["value"], added["verified"]) == ("PHONE", PHONE, False)

    (sms,) = await sms_gateway.wait_for(PHONE)
    assert "Код підтвердження" in sms["text"]
    assert sms_gateway.authorizations[-1] == "Bearer gateway-secret"

    verified = await verify(api, token, added["id"], sms_code(sms))
    assert verified["__typename"] == "ContactVerified"
    assert verified["contact"]["verified"] is True
    assert verified["contact"]["primary"] is True

    contacts = (await api.data(PROFILE, token=token))["me"]["contacts"]
    assert [(c["value"], c["verified"], c["primary"]) for c in contacts] == [(PHONE, True, True)]

    # A code for a confirmed contact is not needed, and the answer says so.
    again = await resend(api, token, added["id"])
    assert (again["__typename"], again["code"]) == ("NotAllowed", "CONTACT_ALREADY_VERIFIED")
    assert again["message"] == translate("error.contact_already_verified", Locale.UK)


async def test_codes_are_stored_only_as_salted_hashes(
    api: Api, token: str, sms_gateway: SmsGateway
):
    added = await add(api, token, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])
    stored = await ContactDocument.get_pymongo_collection().find_one({})
    assert code not in str(stored)
    assert stored["code_hash"]
    assert added["id"]


@pytest.mark.parametrize(
    "typed", ["+380671234567", "0671234567", "067-123-45-67", "+38 (067) 123 45 67", "380671234567"]
)
async def test_accepted_phone_formats(api: Api, token: str, typed: str):
    added = await add(api, token, typed)
    assert added["value"] == PHONE


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("+380443648510", "PHONE_NOT_UKRAINIAN_MOBILE"),  # a Kyiv landline
        ("+48123456789", "PHONE_NOT_UKRAINIAN_MOBILE"),
        ("12345", "CONTACT_INVALID"),
        ("call me", "CONTACT_INVALID"),
        ("", "CONTACT_INVALID"),
        ("name@", "EMAIL_INVALID"),
    ],
)
async def test_rejected_contacts(api: Api, token: str, typed: str, code: str):
    result = await add(api, token, typed)

    assert result["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in result["fields"]] == [("value", code)]
    assert await ContactDocument.count() == 0


async def test_email_is_confirmed_with_the_code_from_the_email(
    api: Api, token: str, mailbox: Mailbox
):
    added = await add(api, token, "Work.Mykola@Example.COM")
    assert (added["kind"], added["value"]) == ("EMAIL", "work.mykola@example.com")

    email = await mailbox.wait_for("work.mykola@example.com")
    code = sms_code({"text": body_of(email)})
    verified = await verify(api, token, added["id"], code)

    assert verified["__typename"] == "ContactVerified"


async def test_wrong_codes_count_down_and_the_fifth_kills_the_code(
    api: Api, token: str, sms_gateway: SmsGateway
):
    added = await add(api, token, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])

    wrongs = [await verify(api, token, added["id"], wrong(code)) for _ in range(5)]
    dead = await verify(api, token, added["id"], code)

    assert [answer["attemptsLeft"] for answer in wrongs] == [4, 3, 2, 1, 0]
    # The message agrees with the count: 4 спроби ... 1 спроба (ngettext, three forms).
    assert [answer["message"] for answer in wrongs[:4]] == [
        "Неправильний код. Залишилося 4 спроби.",
        "Неправильний код. Залишилося 3 спроби.",
        "Неправильний код. Залишилося 2 спроби.",
        "Неправильний код. Залишилася 1 спроба.",
    ]
    assert dead["__typename"] == "InvalidCode"
    assert dead["attemptsLeft"] == 0
    assert "новий код" in dead["message"]
    assert not (await ContactDocument.find_one({})).verified


async def test_attempts_left_read_in_the_accounts_language(
    api: Api, token: str, sms_gateway: SmsGateway
):
    await api.data("mutation { updateProfile(input: {locale: EN}) { __typename } }", token=token)
    added = await add(api, token, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])

    messages = [(await verify(api, token, added["id"], wrong(code)))["message"] for _ in range(4)]

    assert messages[2:] == ["Wrong code. 2 attempts left.", "Wrong code. 1 attempt left."]


async def test_five_aliases_in_one_document_lock_the_code(
    api: Api, token: str, sms_gateway: SmsGateway
):
    added = await add(api, token, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])
    guesses = "\n".join(
        f'g{n}: verifyContact(input: {{contactId: "{added["id"]}", code: "{wrong(code)}"}}) '
        "{ __typename ... on InvalidCode { attemptsLeft } }"
        for n in range(5)
    )
    right = (
        f'right: verifyContact(input: {{contactId: "{added["id"]}", code: "{code}"}}) '
        "{ __typename ... on InvalidCode { attemptsLeft } }"
    )

    data = await api.data(f"mutation {{ {guesses}\n{right} }}", token=token)

    assert sorted(data[f"g{n}"]["attemptsLeft"] for n in range(5)) == [0, 1, 2, 3, 4]
    assert data["right"] == {"__typename": "InvalidCode", "attemptsLeft": 0}


async def test_parallel_guesses_cannot_exceed_the_attempt_limit(
    api: Api, token: str, sms_gateway: SmsGateway
):
    added = await add(api, token, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])

    results = await asyncio.gather(
        *(verify(api, token, added["id"], wrong(code)) for _ in range(8))
    )
    after = await verify(api, token, added["id"], code)

    assert sorted(r["attemptsLeft"] for r in results) == [0, 0, 0, 0, 1, 2, 3, 4]
    assert after["__typename"] == "InvalidCode"
    assert not (await ContactDocument.find_one({})).verified


async def test_code_expires_after_ten_minutes(api: Api, token: str, sms_gateway: SmsGateway):
    added = await add(api, token, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])

    clock.advance(timedelta(minutes=10, seconds=1))
    expired = await verify(api, token, added["id"], code)

    assert expired["__typename"] == "TokenExpired"
    assert "новий код" in expired["message"]


async def test_resend_waits_a_minute_and_replaces_the_code(
    api: Api, token: str, sms_gateway: SmsGateway
):
    added = await add(api, token, PHONE)
    first = sms_code((await sms_gateway.wait_for(PHONE))[0])

    too_soon = await resend(api, token, added["id"])
    assert too_soon["__typename"] == "RateLimited"
    assert 55 <= too_soon["retryAfterSeconds"] <= 60

    clock.advance(timedelta(seconds=61))
    assert (await resend(api, token, added["id"]))["__typename"] == "Contact"
    second = sms_code((await sms_gateway.wait_for(PHONE, count=2))[1])

    if first != second:
        assert (await verify(api, token, added["id"], first))["__typename"] == "InvalidCode"
    assert (await verify(api, token, added["id"], second))["__typename"] == "ContactVerified"


async def test_at_most_five_codes_an_hour(api: Api, token: str):
    added = await add(api, token, PHONE)
    for _ in range(4):
        clock.advance(timedelta(seconds=61))
        assert (await resend(api, token, added["id"]))["__typename"] == "Contact"

    clock.advance(timedelta(seconds=61))
    limited = await resend(api, token, added["id"])

    assert limited["__typename"] == "RateLimited"
    assert limited["retryAfterSeconds"] > 60


async def test_sms_is_delivered_after_the_gateway_comes_back(
    api: Api, token: str, sms_gateway: SmsGateway
):
    sms_gateway.down = True
    added = await add(api, token, PHONE)
    failed = await eventually(
        lambda: OutboxMessageDocument.find_one({"channel": "sms", "last_error": {"$ne": None}})
    )
    assert failed.last_error == "SMS gateway answered 503"
    assert sms_gateway.to(PHONE) == []

    sms_gateway.down = False
    clock.advance(timedelta(seconds=31))
    (sms,) = await sms_gateway.wait_for(PHONE)

    assert (await verify(api, token, added["id"], sms_code(sms)))["__typename"] == "ContactVerified"


async def test_a_phone_verified_on_one_account_cannot_be_claimed_by_another(
    api: Api, mailbox: Mailbox, token: str, sms_gateway: SmsGateway
):
    other = await signed_up(api, mailbox, "stranger@example.com")
    theirs = await add(api, other, PHONE)  # added before anyone confirmed it
    mine = await add(api, token, PHONE)
    their_code, my_code = (sms_code(sms) for sms in await sms_gateway.wait_for(PHONE, count=2))
    # Which SMS belongs to whom is decided by the order they were sent.
    assert (await verify(api, other, theirs["id"], their_code))["__typename"] == "ContactVerified"

    refused = await verify(api, token, mine["id"], my_code)

    assert_phone_taken(refused)


def assert_phone_taken(refused: dict) -> None:
    assert refused["__typename"] == "InputError"
    assert refused["fields"][0]["code"] == "PHONE_TAKEN"
    assert "контакт-центру" in refused["fields"][0]["message"]
    assert "stranger" not in str(refused)


def shape(contact: dict) -> dict:
    """What an answer to addContact says but for which contact it is."""
    return {key: value for key, value in contact.items() if key not in ("id", "value")}


async def test_adding_a_phone_confirmed_elsewhere_reveals_nothing_until_the_code_proves_it(
    api: Api, mailbox: Mailbox, token: str, sms_gateway: SmsGateway
):
    await signed_up(api, mailbox, "stranger@example.com")
    await confirmed_phone("stranger@example.com", PHONE)

    taken = await add(api, token, PHONE)
    free = await add(api, token, FREE_PHONE)

    assert taken["__typename"] == free["__typename"] == "Contact"
    assert shape(taken) == shape(free)
    # The code goes to the phone, as for any number: whoever holds it proves it.
    (code_sms,) = await sms_gateway.wait_for(PHONE)
    await sms_gateway.wait_for(FREE_PHONE)
    assert_phone_taken(await verify(api, token, taken["id"], sms_code(code_sms)))
    assert await ContactDocument.find({"value": PHONE, "verified": True}).count() == 1


@pytest.fixture
async def three_adds_an_hour(settings: Settings, database: Database) -> AsyncIterator[Api]:
    """A second server on the same database where `contact-add:account` is 3 an hour."""
    strict = settings.model_copy(update={"rate_limits": {"contact-add:account": "3/1h"}})
    async with served(strict, database) as url, api_from(url, "127.0.0.1") as strict_api:
        yield strict_api


async def test_every_add_contact_counts_whatever_the_number(
    api: Api, mailbox: Mailbox, token: str, three_adds_an_hour: Api
):
    await signed_up(api, mailbox, "stranger@example.com")
    await confirmed_phone("stranger@example.com", PHONE)
    at_the_start_of_a_window(timedelta(hours=1))  # every attempt in one fixed window

    strict = three_adds_an_hour
    answers = [await add(strict, token, value) for value in (PHONE, "not a phone", FREE_PHONE)]
    assert [answer["__typename"] for answer in answers] == ["Contact", "InputError", "Contact"]

    for probe in (PHONE, "+380501112233", "not a phone", FREE_PHONE, "x@example.com"):
        limited = await add(strict, token, probe)
        assert limited["__typename"] == "RateLimited", probe
        assert 0 < limited["retryAfterSeconds"] <= 3600


async def test_someone_elses_contact_is_not_found(
    api: Api, mailbox: Mailbox, token: str, sms_gateway: SmsGateway
):
    other = await signed_up(api, mailbox, "stranger@example.com")
    theirs = await add(api, other, PHONE)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])

    for result in (
        await verify(api, token, theirs["id"], code),
        await verify(api, token, "bm9wZQ==", code),
        await resend(api, token, theirs["id"]),
        (await api.data(REMOVE_CONTACT, {"input": {"contactId": theirs["id"]}}, token=token))[
            "removeContact"
        ],
    ):
        assert result["__typename"] == "NotFound"
    assert not (await ContactDocument.find_one({})).verified
    node = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": theirs["id"]}, token=token
    )
    assert node["node"] is None
    mine = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Contact { value } } }",
        {"id": theirs["id"]},
        token=other,
    )
    assert mine["node"] == {"value": PHONE}


async def test_remove_contact(api: Api, token: str):
    phone = await add(api, token, PHONE)
    email = await add(api, token, "second@example.com")

    result = await api.data(REMOVE_CONTACT, {"input": {"contactId": phone["id"]}}, token=token)

    assert result["removeContact"]["contacts"] == [
        {"id": email["id"], "value": "second@example.com"}
    ]


async def test_contacts_need_a_session(api: Api):
    body = await api.post(ADD_CONTACT, {"input": {"value": PHONE}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await ContactDocument.count() == 0


async def test_sms_speaks_the_accounts_language(api: Api, token: str, sms_gateway: SmsGateway):
    await api.data("mutation { updateProfile(input: {locale: EN}) { __typename } }", token=token)
    await add(api, token, PHONE)
    (sms,) = await sms_gateway.wait_for(PHONE)
    assert sms["text"].startswith("Confirmation code: ")
    assert "Do not share it." in sms["text"]


async def test_removing_and_re_adding_a_contact_does_not_reset_the_code_limits(
    api: Api, token: str
):
    at_the_start_of_a_window(timedelta(hours=1))  # every attempt in one fixed window
    for _ in range(10):
        added = await add(api, token, PHONE)
        assert added["__typename"] == "Contact"
        removed = await api.data(REMOVE_CONTACT, {"input": {"contactId": added["id"]}}, token=token)
        assert removed["removeContact"]["__typename"] == "User"

    limited = await add(api, token, PHONE)

    assert limited["__typename"] == "RateLimited"
