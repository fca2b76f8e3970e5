"""Rate limits hold however the attempts arrive: in parallel, or as aliases of one
document; and an operator can change them."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from kabinet.auth import rate_limit
from kabinet.config import Settings
from kabinet.documents import OutboxMessageDocument
from tests.accounts import login, signed_up
from tests.operations import REQUEST_PASSWORD_RESET
from tests.support import Api, Mailbox, eventually

EMAIL = "olena@example.com"
WRONG = "Wrong-pass-1"


def outcomes(results: list[dict]) -> Counter[str]:
    return Counter(result["__typename"] for result in results)


async def test_twenty_parallel_logins_get_exactly_the_ten_attempts_allowed(
    api: Api, mailbox: Mailbox
):
    await signed_up(api, mailbox, EMAIL)
    results = await asyncio.gather(*(login(api, EMAIL, WRONG) for _ in range(20)))
    assert outcomes(results) == {"InvalidCredentials": 10, "RateLimited": 10}
    assert all(
        0 < result["retryAfterSeconds"] <= 15 * 60
        for result in results
        if result["__typename"] == "RateLimited"
    )
    # The right password does not open a locked window either.
    assert (await login(api, EMAIL))["__typename"] == "RateLimited"


async def test_aliases_in_one_document_count_one_attempt_each(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    attempts = " ".join(
        f'a{n}: login(input: {{email: "{EMAIL}", password: "{WRONG}"}}) {{ __typename }}'
        for n in range(15)
    )
    data = await api.data(f"mutation {{ {attempts} }}")
    assert outcomes(list(data.values())) == {"InvalidCredentials": 10, "RateLimited": 5}


async def test_parallel_reset_requests_send_only_the_allowed_emails(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)  # one confirmation email
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
def stricter_login() -> Iterator[None]:
    rate_limit.configure({"login:account": "2/1m"})
    yield
    rate_limit.configure({})


@pytest.mark.usefixtures("stricter_login")
async def test_a_configured_limit_replaces_the_default(api: Api, mailbox: Mailbox):
    await signed_up(api, mailbox, EMAIL)
    first, second, third = [await login(api, EMAIL, WRONG) for _ in range(3)]
    assert [first["__typename"], second["__typename"]] == ["InvalidCredentials"] * 2
    assert third["__typename"] == "RateLimited"
    assert 0 < third["retryAfterSeconds"] <= 60


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
