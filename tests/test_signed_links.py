"""File and card links that open in a page (`<img src>`, `<a download>`) with no header:
for the person they were issued to, for a while, until the key is rotated."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from kabinet.cli import cli_caller
from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.documents import AuditEventDocument
from kabinet.resolvers.links import rotate_key
from tests.policies import staff_token
from tests.requests_support import PDF, customer
from tests.subscriptions import next_message, subscribed
from tests.support import Api, Mailbox, at_the_start_of_a_window
from tests.test_requests import reimbursement

CARDS = "query { me { policies { number cardPdfUrl } } }"
REQUEST = "query($id: ID!) { node(id: $id) { ... on Request { attachments { url } } } }"


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await customer(api, mailbox)


async def file_url(api: Api, token: str) -> tuple[str, str]:
    """A reimbursement with one file: its id and the file's link as its owner gets it."""
    response = await reimbursement(
        api, token, {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)}
    )
    filed = response.json()["data"]["createRequest"]
    return filed["id"], filed["attachments"][0]["url"]


async def opened(api: Api, url: str, token: str | None = None) -> httpx.Response:
    parts = urlsplit(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.http.get(f"{parts.path}?{parts.query}", headers=headers)


def altered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **changes})).geturl()


async def test_a_file_link_opens_with_no_header_for_its_owner(api: Api, token: str):
    _, url = await file_url(api, token)

    response = await opened(api, url)

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-disposition"].startswith("attachment;")
    assert set(parse_qs(urlsplit(url).query)) == {"viewer", "expires", "signature"}


async def test_links_given_within_half_a_lifetime_are_alike(
    api: Api, token: str, settings: Settings
):
    at_the_start_of_a_window(timedelta(seconds=settings.file_link_ttl_seconds // 2))
    request_id, url = await file_url(api, token)
    clock.advance(timedelta(seconds=1))
    again = await api.data(REQUEST, {"id": request_id}, token=token)

    assert again["node"]["attachments"][0]["url"] == url
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    lifetime = expires - clock.now().timestamp()
    assert settings.file_link_ttl_seconds / 2 - 1 <= lifetime <= settings.file_link_ttl_seconds


async def test_an_expired_link_opens_only_with_its_owners_header(
    api: Api, token: str, settings: Settings
):
    _, url = await file_url(api, token)
    clock.advance(settings.file_link_ttl + timedelta(seconds=1))

    assert (await opened(api, url)).status_code == 403
    assert (await opened(api, url, token)).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "A" * 43},
        {"expires": "4102444800"},  # a later expiry than the one signed
        {"viewer": "0" * 24},
        {"viewer": "not-an-id"},
    ],
)
async def test_an_altered_link_is_refused_saying_nothing(api: Api, token: str, change: dict):
    _, url = await file_url(api, token)

    response = await opened(api, altered(url, **change))

    assert (response.status_code, response.text) == (403, "This link does not open.")


async def test_a_link_opens_neither_another_file_nor_for_another_person(
    api: Api, mailbox: Mailbox, token: str
):
    _, url = await file_url(api, token)
    _, other_url = await file_url(api, token)
    stranger = await customer(api, mailbox, "stranger@example.com", "+380501112233")
    other_path = urlsplit(other_url).path

    swapped = urlsplit(url)._replace(path=other_path).geturl()

    assert (await opened(api, swapped)).status_code == 403  # signed for the first file
    assert (await opened(api, url, stranger)).status_code == 403  # someone else's header
    assert (await opened(api, url, token)).status_code == 200


async def test_a_card_link_opens_the_card_pdf_and_only_that_card(
    api: Api, mailbox: Mailbox, token: str
):
    (card,) = (await api.data(CARDS, token=token))["me"]["policies"]
    _, file_link = await file_url(api, token)
    file_signature = parse_qs(urlsplit(file_link).query)

    response = await opened(api, card["cardPdfUrl"])
    # A file's signature does not open the card with the same viewer and expiry.
    borrowed = altered(card["cardPdfUrl"], signature=file_signature["signature"][0])

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (await opened(api, borrowed)).status_code == 403


async def test_rotating_the_key_revokes_every_link_and_new_ones_open(api: Api, token: str):
    request_id, url = await file_url(api, token)
    (card,) = (await api.data(CARDS, token=token))["me"]["policies"]

    await rotate_key(cli_caller())

    assert (await opened(api, url)).status_code == 403
    assert (await opened(api, card["cardPdfUrl"])).status_code == 403
    fresh = (await api.data(REQUEST, {"id": request_id}, token=token))["node"]
    assert (await opened(api, fresh["attachments"][0]["url"])).status_code == 200
    rotated = await AuditEventDocument.find_one({"action": "links.key_rotated"})
    assert rotated is not None
    assert rotated.actor_id is None  # from the command line


async def test_a_plain_path_still_needs_the_bearer_header(api: Api, token: str):
    _, url = await file_url(api, token)
    path = urlsplit(url).path

    assert (await api.http.get(path)).status_code == 401
    response = await api.http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.content) == (200, PDF)


QUEUE_FILES = "subscription { requestQueueUpdated { request { attachments { url } } } }"


async def test_operators_sharing_live_answers_each_get_their_own_links(
    api: Api, token: str, server: str
):
    first = await staff_token(api, "operator@example.com", "operator")
    second = await staff_token(api, "operator2@example.com", "operator")

    async with (
        subscribed(server, first, QUEUE_FILES) as first_socket,
        subscribed(server, second, QUEUE_FILES) as second_socket,
    ):
        await file_url(api, token)
        first_event, second_event = (
            await next_message(first_socket),
            await next_message(second_socket),
        )

    (first_link,) = first_event["payload"]["data"]["requestQueueUpdated"]["request"]["attachments"]
    (second_link,) = second_event["payload"]["data"]["requestQueueUpdated"]["request"][
        "attachments"
    ]
    assert first_link["url"] != second_link["url"]
    assert (await opened(api, first_link["url"], first)).status_code == 200
    assert (await opened(api, first_link["url"], second)).status_code == 403
    assert (await opened(api, second_link["url"])).status_code == 200
