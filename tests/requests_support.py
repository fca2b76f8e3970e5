"""Helpers for request tests: a customer with an active card, uploads, IBANs."""

import json
from datetime import timedelta
from typing import Any

from kabinet.clock import now
from kabinet.documents import PolicyDocument
from tests.accounts import signed_up
from tests.operations import CHANGE_STATUS, CREATE_REQUEST
from tests.policies import PHONE, card, confirmed_phone
from tests.support import Api, Mailbox

PDF = b"%PDF-1.7\n" + b"0" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 500
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 500
HEIC = b"\x00\x00\x00\x18ftypheic" + b"0" * 500
VALID_IBAN = "UA213223130000026007233566001"


async def customer(
    api: Api, mailbox: Mailbox, email: str = "olena@example.com", phone: str = PHONE
) -> str:
    """A signed-in customer whose confirmed phone links an ACTIVE card (UA-1 for PHONE)."""
    token = await signed_up(api, mailbox, email)
    if await PolicyDocument.find_one({"phones": phone}) is None:
        await card("UA-1" if phone == PHONE else f"UA-{phone[-4:]}", phone)
    await confirmed_phone(email, phone)
    return token


def window(hours_from_now: int = 24, length: int = 2) -> dict[str, str]:
    start = now() + timedelta(hours=hours_from_now)
    return {"from": start.isoformat(), "to": (start + timedelta(hours=length)).isoformat()}


async def change_status(api: Api, token: str, request_id: str, status: str, **fields: Any) -> dict:
    """changeRequestStatus with ``fields`` besides the status (an outcome, a comment...): its
    answer."""
    variables = {"input": {"requestId": request_id, "status": status, **fields}}
    return (await api.data(CHANGE_STATUS, variables, token=token))["changeRequestStatus"]


async def create(api: Api, token: str, kind_input: dict[str, Any], key: str | None = None) -> dict:
    body = await api.data(CREATE_REQUEST, {"input": kind_input, "key": key}, token=token)
    return body["createRequest"]


async def callback(api: Api, token: str, key: str | None = None) -> dict:
    return await create(api, token, {"callback": {"topic": "Питання щодо поліса"}}, key)


async def multipart(
    api: Api,
    token: str,
    query: str | dict[str, str],
    variables: dict[str, Any],
    files: dict[str, tuple[str, bytes]],
    *,
    preflight: bool = True,
) -> Any:
    """A GraphQL multipart request (files mapped to variable paths); ``query`` is the
    document, or the fields that name it (`{"documentId": ...}`)."""
    document = query if isinstance(query, dict) else {"query": query}
    return await api.http.post(
        "/graphql",
        data={
            "operations": json.dumps({**document, "variables": variables}),
            "map": json.dumps({str(i): [path] for i, path in enumerate(files)}),
        },
        files={
            str(i): (name, content, "application/octet-stream")
            for i, (name, content) in enumerate(files.values())
        },
        headers={
            "Authorization": f"Bearer {token}",
            **({"GraphQL-Require-Preflight": "1"} if preflight else {}),
        },
    )
