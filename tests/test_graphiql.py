"""GraphiQL, served by the app with no internet, runs a query in a real browser."""

from tests.browser import chromium_page


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

    assert '"minLength": 8' in result
