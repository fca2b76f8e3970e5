"""A card to show (issue 17 item 5): the card PDF (`/cards/{id}.pdf`) for its member, and
the public page its QR code opens (`/verify-card/{token}`) for a clinic's reception.

The PDF is drawn by fpdf2 with DejaVu Sans embedded (static/fonts: its Cyrillic), the QR
code by segno; nothing is fetched at run time.
"""

import asyncio
import html
import io
from pathlib import Path
from string import Template

import segno
from fpdf import FPDF
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.documents import PolicyDocument
from kabinet.i18n import N_, Locale, Wait, negotiate_locale, translate, written_day
from kabinet.resolvers import cards
from kabinet.resolvers.files import (
    Download,
    attachment_response,
    downloader,
    forbidden,
    not_found,
    path_object_id,
    safe_filename,
)
from kabinet.resolvers.links import LinkKind
from kabinet.services import Services

STATIC = Path(__file__).parent / "static"
FONTS = STATIC / "fonts"
VERIFY_PAGE = Template((STATIC / "verify-card.html").read_text(encoding="utf-8"))
FONT = "DejaVu"
# A6 landscape: a card's text and a QR code a phone reads, on a screen or printed.
PAGE_SIZE_MM = (105, 148)
QR_SIZE_MM = 44


def verify_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/verify-card/{token}"


def render_card_pdf(policy: PolicyDocument, *, link: str, phone: str, locale: Locale) -> bytes:
    """One page: the insured person, number, programme, validity, the contact centre's
    phone, and a QR code holding ``link``."""

    def text(key: str, **params: object) -> str:
        return translate(key, locale, **params)

    person = policy.insured_person
    lines = [
        (text(N_("card.insured_person")), person.full_name),
        (
            text(N_("card.birth_date")),
            written_day(person.birth_date, locale) if person.birth_date else "—",
        ),
        (text(N_("card.number")), policy.number),
        (text(N_("card.programme")), policy.program),
        (text(N_("card.insurer")), policy.insurer),
        (
            text(N_("card.validity")),
            text(N_("card.validity_range"), start=policy.valid_from, end=policy.valid_to),
        ),
    ]
    pdf = FPDF(orientation="landscape", unit="mm", format=PAGE_SIZE_MM)
    pdf.set_title(f"{text(N_('card.title'))} {policy.number}")
    pdf.set_lang(locale.value)
    pdf.set_creation_date(now())
    pdf.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_margins(8, 8, 8)
    pdf.set_xy(8, 8)
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 8, text(N_("card.title")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    text_width = pdf.w - 16 - QR_SIZE_MM - 4
    for label, value in lines:
        pdf.set_font(FONT, "", 7)
        pdf.cell(text_width, 3.5, label, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "B", 10)
        pdf.multi_cell(text_width, 5, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    qr = segno.make(link, error="m")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=8, border=4)
    qr_x = pdf.w - 8 - QR_SIZE_MM
    pdf.image(image, x=qr_x, y=16, w=QR_SIZE_MM, h=QR_SIZE_MM, alt_text=text(N_("card.qr_caption")))
    pdf.set_font(FONT, "", 7)
    pdf.set_xy(qr_x, 16 + QR_SIZE_MM)
    pdf.multi_cell(QR_SIZE_MM, 3.5, text(N_("card.qr_caption")), align="C")
    pdf.set_xy(8, pdf.h - 14)
    pdf.set_font(FONT, "", 8)
    pdf.cell(0, 4, text(N_("card.contact_centre")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 5, phone)
    return bytes(pdf.output())


def initials(full_name: str) -> str:
    """ "Коваленко Олена Петрівна" -> "К. О. П.": enough for a reception to compare."""
    return " ".join(f"{word[0]}." for word in full_name.split())


_STATE_TEXTS: dict[cards.LinkState, tuple[str, str]] = {
    cards.LinkState.VALID: (N_("verify.valid"), "ok"),
    cards.LinkState.NOT_IN_FORCE: (N_("verify.not_in_force"), "error"),
    cards.LinkState.EXPIRED: (N_("verify.expired"), "error"),
    cards.LinkState.REVOKED: (N_("verify.revoked"), "error"),
    cards.LinkState.UNKNOWN: (N_("verify.unknown"), "error"),
}


def render_verify_page(verification: cards.Verification, locale: Locale) -> str:
    """Whether the card is valid today, its programme, the insured person's initials and
    birth year; nothing else of the card (no number, no full name)."""

    def text(key: str, **params: object) -> str:
        return html.escape(translate(key, locale, **params))

    key, style = _STATE_TEXTS[verification.state]
    facts = ""
    if (policy := verification.policy) is not None:
        birth = policy.insured_person.birth_date
        rows = (
            (text(N_("verify.programme")), html.escape(policy.program)),
            (
                text(N_("verify.insured_person")),
                html.escape(initials(policy.insured_person.full_name)),
            ),
            (text(N_("verify.birth_year")), str(birth.year) if birth else "—"),
        )
        facts = "<dl>" + "".join(f"<dt>{dt}</dt><dd>{dd}</dd>" for dt, dd in rows) + "</dl>"
    return _page(locale, verdict=text(key, day=now().date()), style=style, facts=facts)


def _page(locale: Locale, *, verdict: str, style: str, facts: str = "") -> str:
    return VERIFY_PAGE.substitute(
        locale=locale.value,
        title=html.escape(translate(N_("verify.title"), locale)),
        verdict=verdict,
        style=style,
        facts=facts,
    )


def card_routes(services: Services) -> list[Route]:
    """`/cards/{id}.pdf` and `/verify-card/{token}`, with the application's settings."""
    settings = services.settings

    async def card_pdf(request: Request) -> Response:
        """For a session or a signed link, as `/files`; a card the caller may not read is
        a plain 404 with the header, a 403 by a link."""
        policy_id = path_object_id(request, "policy_id")
        who = await downloader(
            request, LinkKind.CARD, policy_id, settings=settings, links=services.links
        )
        if isinstance(who, Response):
            return who
        caller = Caller.of(request, who)
        issued = (
            await cards.issue_card(caller=caller, policy_id=policy_id, ttl=settings.card_link_ttl)
            if policy_id
            else None
        )
        if issued is None:
            return forbidden() if who[0] is None else not_found()
        content = await asyncio.to_thread(
            render_card_pdf,
            issued.policy,
            link=verify_url(settings.public_url, issued.token),
            phone=settings.contact_centre_phone,
            locale=caller.locale,
        )
        name = safe_filename(f"card-{issued.policy.number}.pdf")
        return attachment_response(Download(name, "application/pdf", content))

    async def verify_page(request: Request) -> Response:
        """Public; counted per address before the token is looked up."""
        locale = negotiate_locale(request.headers.get("accept-language"))
        headers = {
            "Content-Language": locale.value,
            "Vary": "Accept-Language",
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
        }
        address = request.client.host if request.client else "unknown"
        if exceeded := await services.rate_limits.hit(rate_limit.CARD_VERIFY_PER_IP, address):
            wait = Wait(exceeded.retry_after_seconds)
            verdict = html.escape(translate(N_("verify.rate_limited"), locale, wait=wait))
            headers["Retry-After"] = str(exceeded.retry_after_seconds)
            return HTMLResponse(_page(locale, verdict=verdict, style="error"), 429, headers)
        verification = await cards.verify_card_link(request.path_params["token"])
        return HTMLResponse(
            render_verify_page(verification, locale),
            200 if verification.policy is not None else 404,
            headers,
        )

    return [
        Route("/cards/{policy_id}.pdf", card_pdf),
        Route("/verify-card/{token}", verify_page),
    ]
