"""Pages a person opens in a browser: GraphiQL (offline) and the emailed-link page."""

import json
import re
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from tests.accounts import login, register, signed_up
from tests.browser import Page, chromium_page
from tests.operations import CHANGE_STATUS, REQUEST_PASSWORD_RESET
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.support import PASSWORD, Api, Mailbox, body_of, eventually, link_token

UKRAINIAN_BROWSER = "uk-UA,uk,en-US"
ENGLISH_BROWSER = "en-US,en"
LIVE_STATUS = "subscription { requestUpdated { at previousStatus request { status } } }"
# The text of GraphiQL's response pane, once it shows something (a subscription shows
# its latest event).
RESPONSE = (
    "(() => { const r = document.querySelector('.result-window .CodeMirror');"
    " return r && r.CodeMirror.getValue() || null })()"
)


def live_subscriptions() -> float:
    """Subscriptions the in-process server holds open right now (its metrics gauge)."""
    return REGISTRY.get_sample_value("kabinet_subscriptions") or 0.0


async def one_more_subscription(before: float) -> None:
    """Waits until the server holds one more subscription than ``before``."""

    async def more() -> bool:
        return live_subscriptions() > before

    await eventually(more, seconds=20)


async def run_in_graphiql(page: Page, query: str) -> None:
    editor = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
    await page.evaluate(f"{editor}.setValue({json.dumps(query)})")
    # GraphiQL parses the editor's text a moment after a change; until then it would not
    # know the operation is a subscription (for the WebSocket).
    await page.wait_for(
        f"(() => {{ const ast = {editor}.documentAST;"
        " return !!ast && ast.definitions[0].operation === 'subscription' })()"
    )
    await page.evaluate("document.querySelector('.graphiql-execute-button').click()")


async def test_graphiql_runs_a_query_in_headless_chromium(server: str):
    async with chromium_page(f"{server}/graphql") as page:
        await page.wait_for("!!document.querySelector('.graphiql-execute-button')")
        editor_text = await page.evaluate(
            "document.querySelector('.graphiql-query-editor').innerText"
        )
        assert "passwordPolicy" in editor_text

        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        result = await page.wait_for(
            "(() => { const r = document.querySelector('.result-window');"
            " return r && r.innerText.includes('minLength') ? r.innerText : null })()"
        )

        # A dialog inserts a <style> element (the reason styles may be inline).
        await page.evaluate(
            "document.querySelector('button[aria-label=\"Open settings dialog\"]').click()"
        )
        await page.wait_for("!!document.querySelector('[role=dialog]')")
        # Subscriptions: the CSP lets GraphiQL open its WebSocket to the same host.
        opened = await page.wait_for(
            "(() => { window.socket = window.socket || new WebSocket("
            "location.origin.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');"
            " return window.socket.readyState === WebSocket.OPEN })()"
        )
        violations = await page.csp_violations()
        # The policy is enforced: an inline script (what an injection would add) is blocked.
        await page.evaluate(
            "const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            " document.body.append(s)"
        )
        blocked = await page.wait_for("window.cspViolations.length ? window.cspViolations : null")
        ran = await page.evaluate("window.ran")

    assert '"minLength": 8' in result
    assert opened is True
    assert violations == []
    assert blocked == ["script-src-elem inline"]
    assert ran is None


async def send_passwords(page: Page, *passwords: str) -> str:
    """Types the password (twice on the reset page), sends the form, returns the answer shown."""
    await page.wait_for("!document.querySelector('button[type=submit]').disabled")
    for field, password in zip(("password", "confirmation"), passwords, strict=False):
        await page.evaluate(f"document.getElementById({field!r}).value = {password!r}")
    await page.evaluate("document.querySelector('button[type=submit]').click()")
    return await page.wait_for(
        "(() => { const r = document.getElementById('result');"
        " return r && r.textContent ? r.textContent : null })()"
    )


async def test_emailed_link_page_confirms_the_account_in_a_browser(
    server: str, api: Api, mailbox: Mailbox
):
    await register(api, "ivan@example.com")
    email = await mailbox.wait_for("ivan@example.com")
    token = link_token(email)
    assert f"http://cabinet.test/confirm-email?token={token}" in body_of(email)

    url = f"{server}/confirm-email?token={token}"
    async with chromium_page(url, languages=UKRAINIAN_BROWSER) as page:
        shown = await send_passwords(page, PASSWORD)
        violations = await page.csp_violations()

    assert shown.startswith("Готово, ви увійшли як ivan@example.com. Токен")
    assert violations == []
    assert (await login(api, "ivan@example.com"))["__typename"] == "AuthSuccess"


async def test_emailed_link_page_sets_a_new_password_in_a_browser(
    server: str, api: Api, mailbox: Mailbox
):
    await signed_up(api, mailbox, "ivan@example.com")
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": "ivan@example.com"}})
    token = link_token(await mailbox.wait_for("ivan@example.com", "Зміна пароля"))
    new_password = "Brand-new-pass-3"

    url = f"{server}/reset-password?token={token}"
    async with chromium_page(url, languages=ENGLISH_BROWSER) as page:
        shown = await send_passwords(page, new_password, new_password)
        violations = await page.csp_violations()

    assert shown.startswith("Done, you are signed in as ivan@example.com. Token")
    assert violations == []
    assert (await login(api, "ivan@example.com", new_password))["__typename"] == "AuthSuccess"


async def test_graphiql_subscribes_with_the_header_typed_into_the_headers_tab(
    server: str, api: Api, mailbox: Mailbox
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    async with chromium_page(f"{server}/graphql") as page:
        await page.wait_for("!!document.querySelector('.graphiql-execute-button')")
        # Without a session the server refuses the socket: GraphiQL says so at once.
        await run_in_graphiql(page, LIVE_STATUS)
        refused = await page.wait_for(RESPONSE)

        # The person signs in (elsewhere) and types the header, without reloading.
        await page.evaluate("document.querySelector('button[data-name=headers]').click()")
        await page.wait_for(
            "(() => { const e = document.querySelector("
            "'.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');"
            " if (!e) return false; e.CodeMirror.focus(); return true })()"
        )
        await page.type_text(json.dumps({"Authorization": f"Bearer {token}"}))
        subscribed_before = live_subscriptions()
        await run_in_graphiql(page, LIVE_STATUS)
        await one_more_subscription(subscribed_before)

        request = await callback(api, token)
        filed = json.loads(await page.wait_for(RESPONSE))
        changed = await api.data(
            CHANGE_STATUS,
            {"input": {"requestId": request["id"], "status": "IN_PROGRESS"}},
            token=operator,
        )
        assert changed["changeRequestStatus"]["status"] == "IN_PROGRESS"
        moved = await page.wait_for(
            f"(() => {{ const text = {RESPONSE}; "
            "return text && text.includes('IN_PROGRESS') ? text : null })()"
        )
        frames = await page.websocket_frames_sent()
        violations = await page.csp_violations()

    assert "Socket closed with event 4403" in refused
    inits = [json.loads(frame) for frame in frames if "connection_init" in frame]
    assert inits == [
        {"type": "connection_init", "payload": {}},
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}},
    ]
    assert filed["data"]["requestUpdated"]["previousStatus"] is None
    event = json.loads(moved)["data"]["requestUpdated"]
    assert event["previousStatus"] == "SUBMITTED"
    assert event["request"] == {"status": "IN_PROGRESS"}
    assert violations == []


ANY_LATIN_LETTER = re.compile("[A-Za-z]")
ANY_CYRILLIC_LETTER = re.compile("[\u0400-\u04ff]")


@pytest.mark.parametrize(
    ("path", "languages", "locale", "title", "second_field_shown"),
    [
        ("confirm-email", UKRAINIAN_BROWSER, "uk", "Підтвердження електронної адреси", False),
        ("confirm-email", ENGLISH_BROWSER, "en", "Confirm your email address", False),
        ("reset-password", UKRAINIAN_BROWSER, "uk", "Новий пароль", True),
        ("reset-password", ENGLISH_BROWSER, "en", "New password", True),
    ],
)
async def test_emailed_link_pages_speak_the_browsers_language(
    server: str,
    tmp_path: Path,
    path: str,
    languages: str,
    locale: str,
    title: str,
    second_field_shown: bool,
):
    async with chromium_page(f"{server}/{path}?token=abc", languages=languages) as page:
        await page.wait_for("!document.querySelector('button[type=submit]').disabled")
        shown = await page.evaluate(
            "({lang: document.documentElement.lang, title: document.title,"
            " text: document.body.innerText,"
            " fieldDisplay: getComputedStyle(document.getElementById('confirmation-fields'))"
            ".display,"
            " fieldShown: document.getElementById('confirmation').offsetParent !== null})"
        )
        screenshot = await page.screenshot(tmp_path / f"{path}-{locale}.png")
        violations = await page.csp_violations()

    assert shown["lang"] == locale
    assert shown["title"] == title
    assert title in shown["text"]
    # What a person sees (innerText leaves out what is not displayed) is in one language.
    other_script = ANY_LATIN_LETTER if locale == "uk" else ANY_CYRILLIC_LETTER
    assert not other_script.search(shown["text"]), shown["text"]
    assert shown["fieldShown"] is second_field_shown
    assert (shown["fieldDisplay"] == "none") is not second_field_shown
    assert ("Пароль ще раз" in shown["text"] or "Password again" in shown["text"]) is (
        second_field_shown
    )
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert violations == []


async def test_emailed_link_page_is_ukrainian_without_a_language_preference(api: Api):
    page = await api.http.get("/confirm-email?token=abc")
    english = await api.http.get("/confirm-email?token=abc", headers={"Accept-Language": "en"})

    assert page.headers["content-language"] == "uk"
    assert '<html lang="uk">' in page.text
    assert "Підтвердження електронної адреси" in page.text
    assert english.headers["content-language"] == "en"
    assert "accept-language" in page.headers["vary"].lower()
