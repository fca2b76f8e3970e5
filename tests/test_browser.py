"""Pages a person opens in a browser: GraphiQL (offline) and the emailed-link page."""

import json

from prometheus_client import REGISTRY

from tests.accounts import login, register
from tests.browser import Page, chromium_page
from tests.operations import CHANGE_STATUS
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.support import PASSWORD, Api, Mailbox, body_of, eventually, link_token

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


async def test_emailed_link_page_confirms_the_account_in_a_browser(server: str, api, mailbox):
    await register(api, "ivan@example.com")
    email = await mailbox.wait_for("ivan@example.com")
    token = link_token(email)
    assert f"http://cabinet.test/confirm-email?token={token}" in body_of(email)

    async with chromium_page(f"{server}/confirm-email?token={token}") as page:
        await page.wait_for("!document.querySelector('button[type=submit]').disabled")
        await page.evaluate(
            f"document.getElementById('password').value = {PASSWORD!r};"
            "document.querySelector('button[type=submit]').click()"
        )
        shown = await page.wait_for(
            "(() => { const r = document.getElementById('result');"
            " return r && r.textContent ? r.textContent : null })()"
        )
        violations = await page.csp_violations()

    assert "ivan@example.com" in shown
    assert violations == []
    assert (await login(api, "ivan@example.com"))["__typename"] == "AuthSuccess"


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

    assert "4403" in refused
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
