"""Registration, confirmation, sign-in, sessions and passwords (guide section 1)."""

import asyncio
import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from kabinet.auth.passwords import PasswordHashing
from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.documents import EmailTokenDocument, OutboxMessageDocument, UserDocument
from tests.accounts import login, register, signed_up
from tests.operations import (
    CHANGE_PASSWORD,
    CONFIRM_EMAIL,
    LOGOUT,
    LOGOUT_EVERYWHERE,
    ME,
    REQUEST_PASSWORD_RESET,
    RESEND_CONFIRMATION,
    RESET_PASSWORD,
)
from tests.support import (
    PASSWORD,
    Api,
    CommandLog,
    Mailbox,
    at_the_start_of_a_window,
    body_of,
    link_token,
)

EMAIL = "olena@example.com"


async def test_register_confirm_and_query_me(api: Api, mailbox: Mailbox):
    result = await register(api, "  Olena@Example.COM ")
    assert result["__typename"] == "RegisterSuccess"
    assert EMAIL in result["message"]

    email = await mailbox.wait_for(EMAIL)
    assert "Підтвердіть" in email["Subject"]
    assert "http://cabinet.test/confirm-email?token=" in body_of(email)
    assert await UserDocument.find_one({"email": EMAIL}) is not None

    data = await api.data(
        CONFIRM_EMAIL, {"input": {"token": link_token(email), "password": PASSWORD}}
    )
    success = data["confirmEmail"]
    assert success["__typename"] == "AuthSuccess"
    assert success["user"] == {
        "id": success["user"]["id"],
        "email": EMAIL,
        "emailConfirmed": True,
        "role": "CUSTOMER",
        "locale": "UK",
    }

    me = (await api.data(ME, token=success["token"]))["me"]
    assert me["email"] == EMAIL
    assert me["emailConfirmed"] is True
    assert [session["current"] for session in me["sessions"]] == [True]


async def test_me_is_null_without_a_valid_token(api: Api):
    assert (await api.data(ME))["me"] is None
    assert (await api.data(ME, token="not-a-session"))["me"] is None


async def test_confirm_with_wrong_password_keeps_the_link_usable(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)
    token = link_token(await mailbox.wait_for(EMAIL))

    wrong = await api.data(CONFIRM_EMAIL, {"input": {"token": token, "password": "Wrong-pass-1"}})
    assert wrong["confirmEmail"]["__typename"] == "InvalidCredentials"
    assert not (await UserDocument.find_one({"email": EMAIL})).email_confirmed

    right = await api.data(CONFIRM_EMAIL, {"input": {"token": token, "password": PASSWORD}})
    assert right["confirmEmail"]["__typename"] == "AuthSuccess"


async def test_confirmation_link_works_once(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)
    token = link_token(await mailbox.wait_for(EMAIL))
    variables = {"input": {"token": token, "password": PASSWORD}}

    assert (await api.data(CONFIRM_EMAIL, variables))["confirmEmail"]["__typename"] == "AuthSuccess"
    again = (await api.data(CONFIRM_EMAIL, variables))["confirmEmail"]
    assert again["__typename"] == "TokenExpired"
    assert again["code"] == "TOKEN_EXPIRED"


async def test_confirmation_link_expires_after_a_day(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)
    token = link_token(await mailbox.wait_for(EMAIL))

    clock.advance(timedelta(hours=24, seconds=1))
    result = await api.data(CONFIRM_EMAIL, {"input": {"token": token, "password": PASSWORD}})

    assert result["confirmEmail"]["__typename"] == "TokenExpired"
    assert not (await UserDocument.find_one({"email": EMAIL})).email_confirmed


async def test_unknown_token_is_expired(api: Api):
    result = await api.data(CONFIRM_EMAIL, {"input": {"token": "nope", "password": PASSWORD}})
    assert result["confirmEmail"]["__typename"] == "TokenExpired"


async def test_link_tokens_are_stored_only_as_hashes(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)
    token = link_token(await mailbox.wait_for(EMAIL))

    stored = await EmailTokenDocument.get_pymongo_collection().find_one({})
    assert token not in str(stored)
    # Once delivered, the outbox no longer holds the link either.
    sent = await OutboxMessageDocument.get_pymongo_collection().find_one({})
    assert token not in str(sent)


async def test_duplicate_registration_answers_the_same_and_warns_the_owner(
    api: Api, mailbox: Mailbox
):
    first_token = await signed_up(api, mailbox, EMAIL)
    mailbox.messages.clear()

    again = await register(api, EMAIL, "Another-pass-2")
    fresh = await register(api, "new@example.com")

    assert again["__typename"] == fresh["__typename"] == "RegisterSuccess"
    assert again["message"] == fresh["message"].replace("new@example.com", EMAIL)
    warning = await mailbox.wait_for(EMAIL)
    assert "Спроба повторної реєстрації" in warning["Subject"]
    # A password reset link, not a confirmation: the owner may have forgotten the password.
    assert "http://cabinet.test/reset-password?token=" in body_of(warning)
    # The existing account and its password are untouched.
    assert (await login(api, EMAIL))["__typename"] == "AuthSuccess"
    assert (await api.data(ME, token=first_token))["me"]["email"] == EMAIL


async def test_registration_does_the_same_work_whether_or_not_the_address_is_taken(
    api: Api, mailbox: Mailbox, command_log: CommandLog
):
    await signed_up(api, mailbox, "confirmed@example.com")
    await register(api, "unconfirmed@example.com")
    work = {}
    for email in ("new@example.com", "unconfirmed@example.com", "confirmed@example.com"):
        start = len(command_log.commands)
        assert (await register(api, email, "Another-pass-2"))["__typename"] == "RegisterSuccess"
        work[email] = command_log.during_request(start)

    # The same commands on the same collections, in the same order: one email each.
    assert work["new@example.com"] == work["unconfirmed@example.com"]
    assert work["new@example.com"] == work["confirmed@example.com"]
    assert ("insert", "outbox") in work["new@example.com"]


async def test_registering_again_before_confirming_sends_a_new_link(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)
    old_token = link_token(await mailbox.wait_for(EMAIL))
    mailbox.messages.clear()

    await register(api, EMAIL, "Second-pass-2")
    new_token = link_token(await mailbox.wait_for(EMAIL))

    old = await api.data(CONFIRM_EMAIL, {"input": {"token": old_token, "password": PASSWORD}})
    assert old["confirmEmail"]["__typename"] == "TokenExpired"
    new = await api.data(
        CONFIRM_EMAIL, {"input": {"token": new_token, "password": "Second-pass-2"}}
    )
    assert new["confirmEmail"]["__typename"] == "AuthSuccess"


async def test_login_before_confirmation_says_what_to_do(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)

    result = await login(api, EMAIL)

    assert result["__typename"] == "NotAllowed"
    assert result["code"] == "EMAIL_NOT_CONFIRMED"
    assert "підтверджено" in result["message"]


async def test_login_before_confirmation_with_wrong_password_reveals_nothing(
    api: Api, mailbox: Mailbox
):
    await register(api, EMAIL)
    assert (await login(api, EMAIL, "Wrong-pass-1"))["__typename"] == "InvalidCredentials"


async def test_login_with_wrong_password_or_unknown_email_is_the_same(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)

    wrong_password = await login(api, EMAIL, "Wrong-pass-1")
    unknown = await login(api, "nobody@example.com")

    assert wrong_password == unknown
    assert wrong_password["__typename"] == "InvalidCredentials"


async def test_login_is_case_insensitive_in_the_email(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    assert (await login(api, "OLENA@example.com"))["__typename"] == "AuthSuccess"


async def test_messages_follow_accept_language(api: Api):
    body = await api.data(
        """mutation { login(input: {email: "x@example.com", password: "y"}) {
             ... on Error { message } } }""",
        headers={"Accept-Language": "en-GB,en;q=0.9,uk;q=0.5"},
    )
    assert body["login"]["message"] == "Wrong email or password."


async def test_logout_ends_only_the_current_session(api: Api, mailbox: Mailbox):
    first = await signed_up(api, mailbox, EMAIL)
    second = (await login(api, EMAIL))["token"]

    assert (await api.data(LOGOUT, token=first))["logout"] is True

    assert (await api.data(ME, token=first))["me"] is None
    assert (await api.data(ME, token=second))["me"]["email"] == EMAIL


async def test_logout_everywhere_ends_every_session(api: Api, mailbox: Mailbox):
    first = await signed_up(api, mailbox, EMAIL)
    second = (await login(api, EMAIL))["token"]

    assert (await api.data(LOGOUT_EVERYWHERE, token=second))["logoutEverywhere"] is True

    assert (await api.data(ME, token=first))["me"] is None
    assert (await api.data(ME, token=second))["me"] is None


async def test_logout_needs_a_session(api: Api):
    body = await api.post(LOGOUT)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_session_ends_after_idle_period(api: Api, mailbox: Mailbox):
    token = await signed_up(api, mailbox, EMAIL)
    clock.advance(timedelta(days=29))
    assert (await api.data(ME, token=token))["me"] is not None  # use moves the expiry forward
    clock.advance(timedelta(days=29))
    assert (await api.data(ME, token=token))["me"] is not None
    clock.advance(timedelta(days=31))
    assert (await api.data(ME, token=token))["me"] is None


async def test_password_reset_flow(api: Api, mailbox: Mailbox):
    old_session = await signed_up(api, mailbox, EMAIL)
    mailbox.messages.clear()

    requested = await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}})
    unknown = await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": "nobody@example.com"}})
    assert requested["requestPasswordReset"]["__typename"] == "Accepted"
    assert unknown["requestPasswordReset"]["__typename"] == "Accepted"

    token = link_token(await mailbox.wait_for(EMAIL, "Зміна пароля"))
    assert "http://cabinet.test/reset-password?token=" in body_of(mailbox.to(EMAIL)[0])
    new_password = "Brand-new-pass-3"
    variables = {
        "input": {"token": token, "password": new_password, "passwordConfirmation": new_password}
    }
    reset = (await api.data(RESET_PASSWORD, variables))["resetPassword"]

    assert reset["__typename"] == "AuthSuccess"
    assert (await api.data(ME, token=old_session))["me"] is None
    assert (await login(api, EMAIL))["__typename"] == "InvalidCredentials"
    assert (await login(api, EMAIL, new_password))["__typename"] == "AuthSuccess"
    assert (await api.data(RESET_PASSWORD, variables))["resetPassword"][
        "__typename"
    ] == "TokenExpired"
    assert not mailbox.to("nobody@example.com")
    await mailbox.wait_for(EMAIL, "змінено")


async def test_password_reset_link_expires_after_an_hour(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}})
    token = link_token(await mailbox.wait_for(EMAIL, "Зміна пароля"))

    clock.advance(timedelta(minutes=61))
    variables = {
        "input": {"token": token, "password": "New-pass-4", "passwordConfirmation": "New-pass-4"}
    }
    reset = (await api.data(RESET_PASSWORD, variables))["resetPassword"]

    assert reset["__typename"] == "TokenExpired"
    assert (await login(api, EMAIL))["__typename"] == "AuthSuccess"


async def test_change_password_ends_other_sessions(api: Api, mailbox: Mailbox):
    current = await signed_up(api, mailbox, EMAIL)
    other = (await login(api, EMAIL))["token"]

    wrong = await api.data(
        CHANGE_PASSWORD,
        {
            "input": {
                "currentPassword": "Nope-pass-1",
                "password": "New-pass-5",
                "passwordConfirmation": "New-pass-5",
            }
        },
        token=current,
    )
    assert wrong["changePassword"]["__typename"] == "InvalidCredentials"

    changed = await api.data(
        CHANGE_PASSWORD,
        {
            "input": {
                "currentPassword": PASSWORD,
                "password": "New-pass-5",
                "passwordConfirmation": "New-pass-5",
            }
        },
        token=current,
    )
    assert changed["changePassword"]["__typename"] == "Accepted"
    assert (await api.data(ME, token=current))["me"]["email"] == EMAIL
    assert (await api.data(ME, token=other))["me"] is None
    assert (await login(api, EMAIL, "New-pass-5"))["__typename"] == "AuthSuccess"


async def test_change_password_needs_a_session(api: Api):
    body = await api.post(
        CHANGE_PASSWORD,
        {
            "input": {
                "currentPassword": PASSWORD,
                "password": "New-pass-5",
                "passwordConfirmation": "New-pass-5",
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_resend_confirmation_sends_a_fresh_link(api: Api, mailbox: Mailbox):
    await register(api, EMAIL)
    old_token = link_token(await mailbox.wait_for(EMAIL))
    mailbox.messages.clear()

    result = await api.data(RESEND_CONFIRMATION, {"input": {"email": EMAIL}})
    assert result["resendConfirmation"]["__typename"] == "Accepted"
    new_token = link_token(await mailbox.wait_for(EMAIL))

    assert new_token != old_token
    confirmed = await api.data(CONFIRM_EMAIL, {"input": {"token": new_token, "password": PASSWORD}})
    assert confirmed["confirmEmail"]["__typename"] == "AuthSuccess"


async def test_resend_confirmation_for_unknown_email_looks_the_same(api: Api, mailbox: Mailbox):
    result = await api.data(RESEND_CONFIRMATION, {"input": {"email": "nobody@example.com"}})
    assert result["resendConfirmation"]["__typename"] == "Accepted"
    assert await OutboxMessageDocument.count() == 0


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Short1", ["PASSWORD_TOO_SHORT"]),
        ("alllowercase1", ["PASSWORD_NEEDS_UPPERCASE"]),
        ("NoDigitsHere", ["PASSWORD_NEEDS_DIGIT"]),
        ("Пароль12345A", ["PASSWORD_NOT_LATIN"]),
        ("With space 1A", ["PASSWORD_NOT_LATIN"]),
        ("A1" + "b" * 127, ["PASSWORD_TOO_LONG"]),
        ("short", ["PASSWORD_TOO_SHORT", "PASSWORD_NEEDS_UPPERCASE", "PASSWORD_NEEDS_DIGIT"]),
    ],
)
async def test_each_password_rule(api: Api, password: str, codes: list[str]):
    result = await register(api, EMAIL, password)

    assert result["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in result["fields"]] == [("password", c) for c in codes]
    assert all(f["message"] for f in result["fields"])
    assert await UserDocument.count() == 0


@pytest.mark.parametrize("password", ["Abcdefg1", "Correct-horse-1", "P@ss!w0rd#$%"])
async def test_passwords_that_follow_the_rules_are_accepted(api: Api, password: str):
    assert (await register(api, EMAIL, password))["__typename"] == "RegisterSuccess"


async def test_passwords_must_match(api: Api):
    data = await api.data(
        """mutation($input: RegisterInput!) { register(input: $input) {
             ... on InputError { fields { field code message } } } }""",
        {"input": {"email": EMAIL, "password": PASSWORD, "passwordConfirmation": PASSWORD + "x"}},
        headers={"Accept-Language": "en"},
    )
    assert data["register"]["fields"] == [
        {
            "field": "passwordConfirmation",
            "code": "PASSWORDS_DO_NOT_MATCH",
            "message": "The passwords do not match. Type the same password twice.",
        }
    ]
    assert await UserDocument.count() == 0


@pytest.mark.parametrize(
    "email", ["", "plainaddress", "a@b", "two@@example.com", "x" * 250 + "@e.com"]
)
async def test_invalid_email_is_rejected_and_nothing_is_written(api: Api, email: str):
    result = await register(api, email)

    assert result["__typename"] == "InputError"
    assert [f["code"] for f in result["fields"]] == ["EMAIL_INVALID"]
    assert await UserDocument.count() == 0
    assert await OutboxMessageDocument.count() == 0


async def test_unknown_locale_is_refused_by_the_schema(api: Api):
    body = await api.post(
        'mutation { register(input: {email: "a@example.com", password: "x", '
        'passwordConfirmation: "x", locale: DE}) { __typename } }'
    )
    assert body["errors"]
    assert await UserDocument.count() == 0


async def test_registration_in_english_sends_english_email(api: Api, mailbox: Mailbox):
    await register(api, EMAIL, locale="EN")
    email = await mailbox.wait_for(EMAIL)
    assert email["Subject"] == "Confirm your email address for the personal cabinet"


async def test_login_is_rate_limited_per_account_from_one_address(api: Api, mailbox: Mailbox):
    at_the_start_of_a_window()  # every attempt in one fixed window
    await signed_up(api, mailbox, EMAIL)
    for _ in range(10):
        assert (await login(api, EMAIL, "Wrong-pass-1"))["__typename"] == "InvalidCredentials"

    limited = await login(api, EMAIL)

    assert limited["__typename"] == "RateLimited"
    assert 0 < limited["retryAfterSeconds"] <= 15 * 60
    clock.advance(timedelta(minutes=15))
    assert (await login(api, EMAIL))["__typename"] == "AuthSuccess"


async def test_a_hash_with_older_parameters_is_redone_at_sign_in(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    four_lanes = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(PASSWORD)
    await UserDocument.find_one({"email": EMAIL}).update({"$set": {"password_hash": four_lanes}})

    assert (await login(api, EMAIL))["__typename"] == "AuthSuccess"

    redone = (await UserDocument.find_one({"email": EMAIL})).password_hash
    assert "$m=65536,t=3,p=1$" in redone
    assert (await login(api, EMAIL))["__typename"] == "AuthSuccess"


def argon2_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("argon2")}


async def test_the_hashing_threads_are_the_settings_own(settings: Settings):
    """The pool comes from `KABINET_PASSWORD_HASHING_THREADS`, built for the application
    (not at import), and ends with it."""
    before = argon2_threads()
    configured = settings.model_copy(update={"password_hashing_threads": 2})
    async with PasswordHashing.of(configured) as passwords:
        hashes = await asyncio.gather(*(passwords.hash(PASSWORD) for _ in range(5)))
        started = argon2_threads() - before
        assert len(started) == 2
        assert all([await passwords.verify(hashed, PASSWORD) for hashed in hashes])
    for thread in started:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in started)


async def test_a_reset_during_a_slow_sign_in_with_the_old_password_wins(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    # An older hash makes the sign-in hash twice, the slowest path there is.
    four_lanes = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(PASSWORD)
    await UserDocument.find_one({"email": EMAIL}).update({"$set": {"password_hash": four_lanes}})
    mailbox.messages.clear()
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}})
    reset_token = link_token(await mailbox.wait_for(EMAIL))
    new = "Brand-new-pass-2"
    reset = api.data(
        RESET_PASSWORD,
        {"input": {"token": reset_token, "password": new, "passwordConfirmation": new}},
    )

    signed_in, _ = await asyncio.gather(login(api, EMAIL), reset)

    if signed_in["__typename"] == "AuthSuccess":  # it finished before the reset began
        assert (await api.data(ME, token=signed_in["token"]))["me"] is None
    assert (await login(api, EMAIL))["__typename"] == "InvalidCredentials"
    assert (await login(api, EMAIL, new))["__typename"] == "AuthSuccess"
