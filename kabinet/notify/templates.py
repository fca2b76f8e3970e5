"""Texts of emails and SMS, composed from the translated messages in ``kabinet.i18n``."""

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from kabinet.documents import RequestStatus
from kabinet.documents.request import OutcomeNews
from kabinet.i18n import N_, Locale, translate
from kabinet.labels import STATUS_LABELS


@dataclass(frozen=True, slots=True)
class EmailContent:
    subject: str
    body: str


def _email(locale: Locale, subject: str, body: str, **params: object) -> EmailContent:
    """The email whose subject and body are the messages ``subject`` and ``body``, signed."""
    signature = translate("email.signature", locale)
    return EmailContent(
        subject=translate(subject, locale, **params),
        body=f"{translate(body, locale, **params)}\n\n--\n{signature}\n",
    )


def confirmation_email(locale: Locale, *, link: str, hours: int) -> EmailContent:
    return _email(
        locale, N_("email.confirm.subject"), N_("email.confirm.body"), link=link, hours=hours
    )


class ResetTemplate(Protocol):
    """An email that carries a password reset link for ``email``."""

    def __call__(self, locale: Locale, *, email: str, link: str, minutes: int) -> EmailContent: ...


def already_registered_email(
    locale: Locale, *, email: str, link: str, minutes: int
) -> EmailContent:
    return _email(
        locale,
        N_("email.already_registered.subject"),
        N_("email.already_registered.body"),
        email=email,
        link=link,
        minutes=minutes,
    )


def password_reset_email(locale: Locale, *, email: str, link: str, minutes: int) -> EmailContent:
    return _email(
        locale, N_("email.reset.subject"), N_("email.reset.body"), link=link, minutes=minutes
    )


def login_attempts_email(locale: Locale, *, attempts: int, minutes: int, link: str) -> EmailContent:
    return _email(
        locale,
        N_("email.login_attempts.subject"),
        N_("email.login_attempts.body"),
        attempts=attempts,
        minutes=minutes,
        link=link,
    )


def password_changed_email(locale: Locale) -> EmailContent:
    return _email(locale, N_("email.password_changed.subject"), N_("email.password_changed.body"))


def contact_code_email(locale: Locale, *, code: str, minutes: int) -> EmailContent:
    return _email(
        locale,
        N_("email.contact_code.subject"),
        N_("email.contact_code.body"),
        code=code,
        minutes=minutes,
    )


def contact_code_sms(locale: Locale, *, code: str, minutes: int) -> str:
    return translate("sms.contact_code", locale, code=code, minutes=minutes)


def _status_params(locale: Locale, number: str, status: str, comment: str | None) -> dict[str, str]:
    return {
        "number": number,
        "status": translate(STATUS_LABELS[RequestStatus(status)], locale),
        "comment": f" {comment}" if comment else "",
    }


def request_status_sms(locale: Locale, *, number: str, status: str, comment: str | None) -> str:
    return translate(
        "sms.request_status", locale, **_status_params(locale, number, status, comment)
    )


def request_status_email(
    locale: Locale, *, number: str, status: str, comment: str | None
) -> EmailContent:
    return _email(
        locale,
        N_("email.request_status.subject"),
        N_("email.request_status.body"),
        **_status_params(locale, number, status, comment),
    )


@dataclass(frozen=True, slots=True)
class NewsTexts:
    sms: str
    subject: str
    body: str


OUTCOME_NEWS: dict[OutcomeNews, NewsTexts] = {
    OutcomeNews.RESULTS_READY: NewsTexts(
        N_("sms.results_ready"), N_("email.results_ready.subject"), N_("email.results_ready.body")
    ),
    OutcomeNews.PAYOUT_PAID: NewsTexts(
        N_("sms.payout_paid"), N_("email.payout_paid.subject"), N_("email.payout_paid.body")
    ),
}


def outcome_sms(locale: Locale, news: OutcomeNews, *, number: str) -> str:
    return translate(OUTCOME_NEWS[news].sms, locale, number=number)


def outcome_email(locale: Locale, news: OutcomeNews, *, number: str) -> EmailContent:
    texts = OUTCOME_NEWS[news]
    return _email(locale, texts.subject, texts.body, number=number)


def guardian_access_ends_sms(locale: Locale, *, number: str, ends: date) -> str:
    return translate("sms.guardian_access_ends", locale, number=number, ends=ends)


def guardian_access_ends_email(
    locale: Locale, *, number: str, name: str, ends: date
) -> EmailContent:
    return _email(
        locale,
        N_("email.guardian_access_ends.subject"),
        N_("email.guardian_access_ends.body"),
        number=number,
        name=name,
        ends=ends,
    )
