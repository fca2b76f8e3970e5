"""Helpers that take an account through the real flows, as a person would."""

from typing import Any

from tests.operations import CONFIRM_EMAIL, LOGIN, REGISTER
from tests.support import PASSWORD, Api, Mailbox, link_token


async def register(api: Api, email: str, password: str = PASSWORD, **extra: Any) -> dict:
    data = await api.data(
        REGISTER,
        {
            "input": {
                "email": email,
                "password": password,
                "passwordConfirmation": password,
                **extra,
            }
        },
    )
    return data["register"]


async def signed_up(api: Api, mailbox: Mailbox, email: str, password: str = PASSWORD) -> str:
    """Register, confirm from the email, and return the session token."""
    await register(api, email, password)
    # By subject: a mail a previous test's account sent to this address may arrive late.
    token = link_token(await mailbox.wait_for(email, "Підтвердіть"))
    data = await api.data(CONFIRM_EMAIL, {"input": {"token": token, "password": password}})
    assert data["confirmEmail"]["__typename"] == "AuthSuccess", data
    return data["confirmEmail"]["token"]


async def login(api: Api, email: str, password: str = PASSWORD) -> dict:
    data = await api.data(LOGIN, {"input": {"email": email, "password": password}})
    return data["login"]
