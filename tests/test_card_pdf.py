"""A card to show (issue 17 item 5): the card PDF, its QR code's verification page, and
revoking the links; read back with pypdf, pypdfium2 and zxing-cpp, and in Chromium."""

import io
import secrets
from collections.abc import AsyncIterator
from datetime import date, timedelta
from urllib.parse import urlsplit

import httpx
import pypdf
import pypdfium2
import pytest
import zxingcpp
from bson import ObjectId

from kabinet.auth.passwords import PasswordHashing
from kabinet.cli import cli_caller
from kabinet.clock import clock, now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import AuditEventDocument, CardLinkDocument, PolicyDocument, PolicyStatus
from kabinet.i18n import Locale, written_day
from kabinet.resolvers.demo import seed_demo
from kabinet.resolvers.policy_import import import_rows
from tests.accounts import login
from tests.browser import chromium_page
from tests.conftest import served
from tests.operations import REVOKE_CARD_LINKS
from tests.policies import PHONE, card
from tests.requests_support import customer
from tests.support import Api, Mailbox, api_from, at_the_start_of_a_window

PUBLIC_URL = "http://cabinet.test"
CARDS = "query { me { policies { id number cardPdfUrl } } }"
OTHER_PHONE = "+380501234567"


async def my_cards(api: Api, token: str) -> dict[str, dict]:
    """The member's cards by number."""
    policies = (await api.data(CARDS, token=token))["me"]["policies"]
    return {policy["number"]: policy for policy in policies}


def served_path(url: str) -> str:
    """A public URL's path, asked of the test server instead of the public host."""
    assert url.startswith(PUBLIC_URL), url
    return urlsplit(url).path


async def download(api: Api, token: str | None, url: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.http.get(served_path(url), headers=headers)


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def qr_link(pdf: bytes) -> str:
    """The link in the QR code of the PDF's page, rendered as a printer would."""
    page = pypdfium2.PdfDocument(pdf)[0]
    (code,) = zxingcpp.read_barcodes(page.render(scale=4).to_pil())
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    return code.text


async def card_link(api: Api, token: str, number: str = "UA-1") -> str:
    """A new verification link: the QR code of a card PDF downloaded now."""
    response = await download(api, token, (await my_cards(api, token))[number]["cardPdfUrl"])
    assert response.status_code == 200, response.text
    return qr_link(response.content)


async def verify(api: Api, link: str, language: str = "uk") -> httpx.Response:
    return await api.http.get(served_path(link), headers={"Accept-Language": language})


async def test_a_members_card_pdf_shows_the_card_and_its_qr_code_opens_the_verify_page(
    api: Api, member: str
):
    cards = await my_cards(api, member)
    url = cards["UA-1"]["cardPdfUrl"]
    assert url.startswith(f"{PUBLIC_URL}/cards/{(await PolicyDocument.find_one()).id}.pdf?")

    response = await download(api, member, url)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''card-UA-1.pdf"
    assert response.headers["cache-control"] == "private, no-store"
    today = now().date()
    start, end = today - timedelta(days=30), today + timedelta(days=335)
    # Words as the page shows them, whichever line a long value wraps onto.
    text = " ".join(text_of(response.content).split())
    for shown in (
        "Страхова картка",
        "Коваленко Олена",
        "UA-1",
        "Оптимальний",
        f"з {written_day(start, Locale.UK)} до {written_day(end, Locale.UK)}",
        written_day(date(1988, 4, 12), Locale.UK),  # the date of birth
        "Контакт-центр, цілодобово",
        "+38 044 364 85 10",
    ):
        assert " ".join(shown.split()) in text, (shown, text)

    link = qr_link(response.content)
    assert link.startswith(f"{PUBLIC_URL}/verify-card/")
    page = await verify(api, link)
    assert page.status_code == 200
    assert page.headers["content-language"] == "uk"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert f"Картка дійсна сьогодні, {written_day(today, Locale.UK)}<" in page.text
    assert "Оптимальний" in page.text
    assert "<dd>К. О.</dd>" in page.text
    assert "<dd>1988</dd>" in page.text
    # Only what a reception needs: no full name, no number.
    assert "Коваленко" not in page.text
    assert "UA-1" not in page.text
    english = await verify(api, link, "en-US,en;q=0.9")
    assert f"The card is valid today, {written_day(today, Locale.EN)}." in english.text
    assert english.headers["content-language"] == "en"

    issued = await AuditEventDocument.find_one({"action": "policy.card_issued"})
    assert issued.target_id == str((await PolicyDocument.find_one()).id)


async def test_the_verify_page_says_so_for_a_card_not_in_force_today(api: Api, member: str):
    link = await card_link(api, member)
    await PolicyDocument.find_one({"number": "UA-1"}).update(
        {"$set": {"status": PolicyStatus.SUSPENDED.value}}
    )

    page = await verify(api, link)

    assert page.status_code == 200
    assert "Картка сьогодні" in page.text
    assert "не дійсна" in page.text
    assert "<dd>К. О.</dd>" in page.text


async def test_a_link_expires_after_the_configured_time(api: Api, member: str, settings: Settings):
    link = await card_link(api, member)
    clock.advance(settings.card_link_ttl - timedelta(minutes=1))
    assert (await verify(api, link)).status_code == 200

    clock.advance(timedelta(minutes=1))
    page = await verify(api, link)

    assert page.status_code == 404
    assert "Строк дії цього посилання минув" in page.text
    assert "Оптимальний" not in page.text
    assert "This link has expired" in (await verify(api, link, "en")).text


async def test_a_forged_or_unknown_token_is_a_404_page(api: Api, member: str):
    await card_link(api, member)

    for token in (secrets.token_urlsafe(32), "x" * 500, "%D0%AF"):
        page = await api.http.get(f"/verify-card/{token}")
        assert page.status_code == 404, token
        assert "Такого посилання немає" in page.text
        assert "Оптимальний" not in page.text


async def test_revoking_kills_the_links_issued_before_and_not_those_after(
    api: Api, member: str, mailbox: Mailbox
):
    before = await card_link(api, member)
    other = await customer(api, mailbox, "petro@example.com", OTHER_PHONE)
    others_card = (await PolicyDocument.find_one({"phones": OTHER_PHONE})).id
    others_link = await card_link(api, other, f"UA-{OTHER_PHONE[-4:]}")
    clock.advance(timedelta(seconds=1))

    cards = await my_cards(api, member)
    answer = (
        await api.data(
            REVOKE_CARD_LINKS, {"input": {"policyId": cards["UA-1"]["id"]}}, token=member
        )
    )["revokeCardLinks"]
    clock.advance(timedelta(seconds=1))
    after = await card_link(api, member)

    assert answer["__typename"] == "CardLinksRevoked"
    assert [p["number"] for p in answer["policies"]] == ["UA-1"]
    revoked = await verify(api, before)
    assert revoked.status_code == 404
    assert "Власник картки відкликав це посилання" in revoked.text
    assert (await verify(api, after)).status_code == 200
    # Another member's card is untouched, and not revocable by this member.
    assert (await verify(api, others_link)).status_code == 200
    foreign = await api.data(
        REVOKE_CARD_LINKS,
        {"input": {"policyId": (await my_cards(api, other))["UA-4567"]["id"]}},
        token=member,
    )
    assert foreign["revokeCardLinks"]["__typename"] == "NotFound"
    assert (await PolicyDocument.get(others_card)).card_links_valid_after is None
    events = await AuditEventDocument.find({"action": "policy.card_links_revoked"}).to_list()
    assert [event.after for event in events] == [
        {"policyIds": [str((await PolicyDocument.find_one({"number": "UA-1"})).id)]}
    ]


async def test_revoking_without_a_card_revokes_every_linked_card(api: Api, member: str):
    await card("UA-2", PHONE, name="Коваленко Марко")
    first, second = await card_link(api, member, "UA-1"), await card_link(api, member, "UA-2")
    clock.advance(timedelta(seconds=1))

    answer = (await api.data(REVOKE_CARD_LINKS, {"input": {}}, token=member))["revokeCardLinks"]

    assert sorted(p["number"] for p in answer["policies"]) == ["UA-1", "UA-2"]
    assert [(await verify(api, link)).status_code for link in (first, second)] == [404, 404]


async def test_an_import_of_the_card_keeps_its_revocation(api: Api, member: str):
    link = await card_link(api, member)
    clock.advance(timedelta(seconds=1))
    await api.data(REVOKE_CARD_LINKS, {"input": {}}, token=member)
    stored = await PolicyDocument.find_one({"number": "UA-1"})

    await import_rows(
        caller=cli_caller(),
        rows=[
            {
                "number": "UA-1",
                "insurer": "Демо Страхування",
                "program": "Оптимальний",
                "status": "active",
                "valid_from": stored.valid_from.isoformat(),
                "valid_to": stored.valid_to.isoformat(),
                "insured_full_name": "Коваленко Олена",
                "phones": [PHONE],
            }
        ],
    )

    assert (await verify(api, link)).status_code == 404


async def test_a_card_not_linked_to_the_caller_is_a_404_with_no_hint(
    api: Api, member: str, mailbox: Mailbox
):
    other = await customer(api, mailbox, "petro@example.com", OTHER_PHONE)
    others_url = (await my_cards(api, other))["UA-4567"]["cardPdfUrl"]
    missing_url = f"{PUBLIC_URL}/cards/{ObjectId()}.pdf"

    answers = [
        await download(api, member, url)
        for url in (others_url, missing_url, f"{PUBLIC_URL}/cards/not-an-id.pdf")
    ]

    assert [(a.status_code, a.text) for a in answers] == [(404, "Not found.")] * 3
    assert (await download(api, None, others_url)).status_code == 401
    assert await CardLinkDocument.count() == 0
    assert await AuditEventDocument.find({"action": "policy.card_issued"}).count() == 0


async def test_staff_print_a_members_card(api: Api, member: str, operator: str):
    url = (await my_cards(api, member))["UA-1"]["cardPdfUrl"]

    response = await download(api, operator, url)

    assert response.status_code == 200
    assert (await verify(api, qr_link(response.content))).status_code == 200


@pytest.fixture
async def three_checks(settings: Settings, database: Database) -> AsyncIterator[Api]:
    """A second server on the same database where `card-verify:ip` is 3 in 15 minutes."""
    strict = settings.model_copy(update={"rate_limits": {"card-verify:ip": "3/15m"}})
    async with served(strict, database) as url, api_from(url, "127.0.0.1") as strict_api:
        yield strict_api


async def test_the_verify_page_is_rate_limited_per_address(
    api: Api, member: str, three_checks: Api
):
    link = await card_link(api, member)
    at_the_start_of_a_window()

    answers = [await verify(three_checks, link) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert "Забагато перевірок з вашої адреси" in answers[-1].text
    assert 0 < int(answers[-1].headers["retry-after"]) <= 900
    async with api_from(str(three_checks.http.base_url), "127.0.0.2") as elsewhere:
        assert (await verify(elsewhere, link)).status_code == 200


async def test_a_demo_member_downloads_the_card(api: Api, database: Database):
    async with PasswordHashing(threads=1) as passwords:
        await seed_demo(caller=cli_caller(), passwords=passwords)
    token = (await login(api, "demo@example.com", "Demo-pass-1"))["token"]

    response = await download(
        api, token, (await my_cards(api, token))["UA-2026-000101"]["cardPdfUrl"]
    )

    assert response.status_code == 200
    assert "Коваленко Олена Петрівна" in text_of(response.content)


async def test_chromium_shows_the_verify_page_within_its_policy(api: Api, member: str, server: str):
    link = await card_link(api, member)

    async with chromium_page(f"{server}{served_path(link)}", languages="uk-UA,uk") as page:
        verdict = await page.wait_for(
            "document.querySelector('#verdict') && document.querySelector('#verdict').innerText"
        )
        facts = await page.evaluate("document.querySelector('dl').innerText")
        violations = await page.csp_violations()

    assert verdict.startswith("Картка дійсна сьогодні")
    assert "К. О." in facts
    assert "1988" in facts
    assert violations == []
