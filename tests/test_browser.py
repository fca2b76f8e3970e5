"""Pages a person opens in a browser: GraphiQL (offline) and the emailed-link page."""

from tests.accounts import login, register
from tests.browser import chromium_page
from tests.support import PASSWORD, body_of, link_token


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
