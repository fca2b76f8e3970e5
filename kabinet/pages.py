"""The pages behind the emailed links, in the reader's language, so a local cabinet can be
tried end to end (a production frontend serves its own at KABINET_PUBLIC_URL)."""

import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template
from typing import Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kabinet.i18n import N_, Locale, negotiate_locale, translate

ACCOUNT_PAGE = Template(
    (Path(__file__).parent / "static" / "account.html").read_text(encoding="utf-8")
)

type Purpose = Literal["confirm", "reset"]

# The texts that differ between the two pages.
_PURPOSE_TEXTS: dict[Purpose, dict[str, str]] = {
    "confirm": {
        "title": N_("page.confirm.title"),
        "hint": N_("page.confirm.hint"),
        "password_label": N_("page.confirm.password"),
        "submit": N_("page.confirm.submit"),
    },
    "reset": {
        "title": N_("page.reset.title"),
        "hint": N_("page.reset.hint"),
        "password_label": N_("page.reset.password"),
        "submit": N_("page.reset.submit"),
    },
}


def render_account_page(purpose: Purpose, locale: Locale) -> str:
    """The page for ``purpose`` with every text in ``locale``; only a new password is typed
    twice, so the confirmation page hides (and disables) the second field."""

    def text(key: str, **params: str) -> str:
        return html.escape(translate(key, locale, **params))

    reset = purpose == "reset"
    return ACCOUNT_PAGE.substitute(
        {name: text(key) for name, key in _PURPOSE_TEXTS[purpose].items()},
        locale=locale.value,
        purpose=purpose,
        password_autocomplete="new-password" if reset else "current-password",
        confirmation_label=text(N_("page.password_again")),
        confirmation_state="" if reset else "hidden disabled",
        # Placeholders the script fills in with the answer.
        signed_in=text(N_("page.signed_in"), email="{email}", token="{token}"),  # noqa: S106
        unreachable=text(N_("page.unreachable")),
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
