"""The pages behind the emailed links, in the reader's language, so a local cabinet can be
tried end to end (a production frontend serves its own at KABINET_PUBLIC_URL)."""

import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template
from typing import Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kabinet.i18n import Locale, negotiate_locale, translate

ACCOUNT_PAGE = Template(
    (Path(__file__).parent / "static" / "account.html").read_text(encoding="utf-8")
)

type Purpose = Literal["confirm", "reset"]


def render_account_page(purpose: Purpose, locale: Locale) -> str:
    """The page for ``purpose`` with every text in ``locale``; only a new password is typed
    twice, so the confirmation page hides (and disables) the second field."""

    def text(key: str, **params: str) -> str:
        return html.escape(translate(f"page.{key}", locale, **params))

    reset = purpose == "reset"
    return ACCOUNT_PAGE.substitute(
        locale=locale.value,
        purpose=purpose,
        title=text(f"{purpose}.title"),
        hint=text(f"{purpose}.hint"),
        password_label=text(f"{purpose}.password"),
        password_autocomplete="new-password" if reset else "current-password",
        confirmation_label=text("password_again"),
        confirmation_state="" if reset else "hidden disabled",
        submit=text(f"{purpose}.submit"),
        # Placeholders the script fills in with the answer.
        signed_in=text("signed_in", email="{email}", token="{token}"),  # noqa: S106
        unreachable=text("unreachable"),
    )


def account_page(purpose: Purpose) -> Callable[[Request], Awaitable[Response]]:
    """The route of one page: Ukrainian unless the browser prefers English."""

    async def page(request: Request) -> Response:
        locale = negotiate_locale(request.headers.get("accept-language"))
        return HTMLResponse(
            render_account_page(purpose, locale),
            headers={"Content-Language": locale.value, "Vary": "Accept-Language"},
        )

    return page
