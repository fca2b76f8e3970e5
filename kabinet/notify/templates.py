"""Texts of emails and SMS, composed from the translated messages in ``kabinet.i18n``."""

from dataclasses import dataclass
from typing import Protocol

from kabinet.i18n import Locale, translate


@dataclass(frozen=True, slots=True)
class EmailContent:
    subject: str
    body: str


def _email(name: str, locale: Locale, **params: object) -> EmailContent:
    body = translate(f"email.{name}.body", locale, **params)
    signature = translate("email.signature", locale)
    return EmailContent(
        subject=translate(f"email.{name}.subject", locale), body=f"{body}\n\n--\n{signature}\n"
    )


def confirmation_email(locale: Locale, *, link: str, hours: int) -> EmailContent:
    return _email("confirm", locale, link=link, hours=hours)


class ResetTemplate(Protocol):
    """An email that carries a password reset link for ``email``."""

    def __call__(self, locale: Locale, *, email: str, link: str, minutes: int) -> EmailContent: ...


def already_registered_email(
    locale: Locale, *, email: str, link: str, minutes: int
) -> EmailContent:
    return _email("already_registered", locale, email=email, link=link, minutes=minutes)


def password_reset_email(locale: Locale, *, email: str, link: str, minutes: int) -> EmailContent:
    return _email("reset", locale, link=link, minutes=minutes)


def login_attempts_email(locale: Locale, *, attempts: int, minutes: int, link: str) -> EmailContent:
    return _email("login_attempts", locale, attempts=attempts, minutes=minutes, link=link)


def password_changed_email(locale: Locale) -> EmailContent:
    return _email("password_changed", locale)


def contact_code_email(locale: Locale, *, code: str, minutes: int) -> EmailContent:
    return _email("contact_code", locale, code=code, minutes=minutes)


def contact_code_sms(locale: Locale, *, code: str, minutes: int) -> str:
    return translate("sms.contact_code", locale, code=code, minutes=minutes)


def _status_params(locale: Locale, number: str, status: str, comment: str | None) -> dict[str, str]:
    return {
        "number": number,
        "status": translate(f"status.{status}", locale),
        "comment": f" {comment}" if comment else "",
    }


def request_status_sms(locale: Locale, *, number: str, status: str, comment: str | None) -> str:
    return translate(
        "sms.request_status", locale, **_status_params(locale, number, status, comment)
    )


def request_status_email(
    locale: Locale, *, number: str, status: str, comment: str | None
) -> EmailContent:
    params = _status_params(locale, number, status, comment)
    body = translate("email.request_status.body", locale, **params)
    signature = translate("email.signature", locale)
    return EmailContent(
        subject=translate("email.request_status.subject", locale, **params),
        body=f"{body}\n\n--\n{signature}\n",
    )
