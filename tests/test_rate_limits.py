"""Rate limits hold however the attempts arrive: in parallel, or as aliases of one
document; and an operator can change them."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from beanie.odm.queries.find import FindMany

from kabinet import metrics
from kabinet.auth import rate_limit
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import OutboxMessageDocument
from kabinet.i18n import Locale
from kabinet.notify import templates
from kabinet.resolvers import account
from tests.accounts import login, signed_up
from tests.conftest import served
from tests.operations import REQUEST_PASSWORD_RESET
from tests.support import Api, Mailbox, api_from, at_the_start_of_a_window, body_of, eventually

EMAIL = "olena@example.com"
WRONG = "Wrong-pass-1"


def outcomes(results: list[dict]) -> Counter[str]:
    return Counter(result["__typename"] for result in results)


async def test_twenty_parallel_logins_from_one_address_get_exactly_the_ten_attempts_allowed(
    api: Api, mailbox: Mailbox, server: str
):
    await signed_up(api, mailbox, EMAIL)
    at_the_start_of_a_window()
    results = await asyncio.gather(*(login(api, EMAIL, WRONG) for _ in range(20)))
    assert outcomes(results) == {"InvalidCredentials": 10, "RateLimited": 10}
    assert all(
        0 < result["retryAfterSeconds"] <= 15 * 60
        for result in results
        if result["__typename"] == "RateLimited"
    )
    # The right password does not open the window locked for this address either ...
    assert (await login(api, EMAIL))["__typename"] == "RateLimited"
    # ... but the owner elsewhere is not locked out.
    async with api_from(server, "127.0.0.2") as elsewhere:
        assert (await login(elsewhere, EMAIL))["__typename"] == "AuthSuccess"


def warnings_to(email: str) -> FindMany[OutboxMessageDocument]:
    subject = templates.login_attempts_email(Locale.UK, attempts=0, minutes=0, link="").subject
    return OutboxMessageDocument.find({"recipient": email, "subject": subject})


async def test_failures_for_an_account_slow_it_down_and_warn_the_owner_once(
    api: Api, mailbox: Mailbox, server: str
):
    await signed_up(api, mailbox, EMAIL)
    at_the_start_of_a_window()
    slowed_before = metrics.LOGIN_SLOWDOWNS._value.get()
    async with (
        api_from(server, "127.0.0.2") as attacker,
        api_from(server, "127.0.0.3") as second_attacker,
        api_from(server, "127.0.0.4") as owner,
    ):
        for _ in range(10):
            assert (await login(attacker, EMAIL, WRONG))["__typename"] == "InvalidCredentials"
        assert (await login(attacker, EMAIL))["__typename"] == "RateLimited"
        assert await warnings_to(EMAIL).count() == 0
        # The account's 11th failure passes `login:account`: slowed down and warned of.
        assert (await login(second_attacker, EMAIL, WRONG))["__typename"] == "InvalidCredentials"
        assert (await login(owner, EMAIL))["__typename"] == "AuthSuccess"
        assert (await login(second_attacker, EMAIL, WRONG))["__typename"] == "InvalidCredentials"

    assert metrics.LOGIN_SLOWDOWNS._value.get() - slowed_before == 3
    # Written to the outbox inside the requests, so this count is final: once per window.
    assert await warnings_to(EMAIL).count() == 1
    warning = await mailbox.wait_for(EMAIL, "Хтось намагається увійти")
    assert "понад 10 разів" in body_of(warning)


async def test_failures_for_an_unknown_address_warn_nobody(api: Api, server: str):
    for address in ("127.0.0.2", "127.0.0.3"):
        async with api_from(server, address) as attacker:
            for _ in range(6):
                assert (await login(attacker, EMAIL, WRONG))["__typename"] == "InvalidCredentials"
    assert await OutboxMessageDocument.count() == 0


def test_the_slowdown_grows_to_a_bound():
    assert [account.login_slowdown(over) for over in range(8)] == [
        0.0,
        0.25,
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
        4.0,
    ]


async def test_aliases_in_one_document_count_one_attempt_each(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    at_the_start_of_a_window()
    attempts = " ".join(
        f'a{n}: login(input: {{email: "{EMAIL}", password: "{WRONG}"}}) {{ __typename }}'
        for n in range(15)
    )
    data = await api.data(f"mutation {{ {attempts} }}")
    assert outcomes(list(data.values())) == {"InvalidCredentials": 10, "RateLimited": 5}


async def test_parallel_reset_requests_send_only_the_allowed_emails(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)  # one confirmation email
    at_the_start_of_a_window(timedelta(hours=1))
    results = await asyncio.gather(
        *(api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}}) for _ in range(20))
    )
    answers = [result["requestPasswordReset"] for result in results]
    assert outcomes(answers) == {"Accepted": 5, "RateLimited": 15}
    # Messages are written to the outbox inside the request, so this count is final.
    assert await OutboxMessageDocument.find({"recipient": EMAIL}).count() == 1 + 5

    async def all_delivered() -> bool:
        return len(mailbox.to(EMAIL)) == 1 + 5

    await eventually(all_delivered)


@pytest.fixture
async def stricter_login(settings: Settings, database: Database) -> AsyncIterator[str]:
    """A second server on the same database where `login:account-ip` is 2 a minute."""
    strict = settings.model_copy(update={"rate_limits": {"login:account-ip": "2/1m"}})
    async with served(strict, database) as url:
        yield url


async def test_a_configured_limit_replaces_the_default(
    api: Api, mailbox: Mailbox, stricter_login: str
):
    await signed_up(api, mailbox, EMAIL)
    at_the_start_of_a_window(timedelta(minutes=1))
    async with api_from(stricter_login, "127.0.0.1") as strict:
        first, second, third = [await login(strict, EMAIL, WRONG) for _ in range(3)]
    assert [first["__typename"], second["__typename"]] == ["InvalidCredentials"] * 2
    assert third["__typename"] == "RateLimited"
    assert 0 < third["retryAfterSeconds"] <= 60
    # The override is the second server's alone: the first, running at the same time on
    # the same buckets, still allows its default ten.
    assert (await login(api, EMAIL, WRONG))["__typename"] == "InvalidCredentials"


def test_overrides_are_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("KABINET_RATE_LIMITS", "login:account=3/10m, register:ip=100/1d")
    settings = Settings()
    assert settings.rate_limits == {"login:account": "3/10m", "register:ip": "100/1d"}
    parsed = rate_limit.parse_overrides(settings.rate_limits)
    assert parsed["login:account"] == rate_limit.Limit("login:account", 3, timedelta(minutes=10))
    assert parsed["register:ip"].window == timedelta(days=1)
    with pytest.raises(ValueError, match="unknown rate limit 'login:acount'"):
        rate_limit.parse_overrides({"login:acount": "3/10m"})
    with pytest.raises(ValueError, match="not like 10/15m"):
        rate_limit.parse_overrides({"login:account": "3 per minute"})
    with pytest.raises(ValueError, match="not like 10/15m"):
        rate_limit.parse_overrides({"login:account": "0/1m"})
