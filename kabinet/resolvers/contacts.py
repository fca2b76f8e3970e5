"""Contacts (guide 2.2): phones and emails confirmed by a six-digit code.

A code lives 10 minutes and allows 5 attempts; each attempt is counted with one
atomic update before the code is compared, so parallel requests or aliases
cannot try more. A new code can be sent once a minute and 5 times an hour.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kabinet.auth import rate_limit
from kabinet.auth.codes import code_hash, code_matches, new_code, new_salt
from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.db import find_all
from kabinet.documents import (
    AuditAction,
    ContactDocument,
    ContactKind,
    PolicyDocument,
    UserDocument,
)
from kabinet.notify import templates
from kabinet.resolvers import audit, policies
from kabinet.resolvers.account import normalize_email
from kabinet.resolvers.errors import (
    ErrorCode,
    FieldErrorCode,
    FieldProblem,
    InvalidCode,
    InvalidInput,
    NotAllowed,
    NotFound,
    RateLimited,
    TokenExpired,
)
from kabinet.resolvers.scopes import Filter, find_by_ids, within
from kabinet.resolvers.validation import parse_phone
from kabinet.services import Services

CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5
RESEND_COOLDOWN = timedelta(seconds=60)
# A sliding window kept on the contact itself: at most 5 codes in any hour.
CODES_PER_WINDOW = 5
CODES_WINDOW = timedelta(hours=1)
MAX_CONTACTS = 10
_CODE_FIELDS = ("code_hash", "code_salt", "code_expires_at", "code_sent_at")


@dataclass(frozen=True, slots=True)
class Verified:
    contact: ContactDocument
    linked_policies: list[PolicyDocument]


def parse_contact(value: str) -> tuple[ContactKind, str] | FieldProblem:
    """A phone in E.164 (Ukrainian mobiles only) or a lower-case email."""
    value = value.strip()
    if "@" in value:
        email = normalize_email(value)
        return (
            (ContactKind.EMAIL, email)
            if email
            else FieldProblem("value", FieldErrorCode.EMAIL_INVALID)
        )
    phone = parse_phone(value, "value")
    return phone if isinstance(phone, FieldProblem) else (ContactKind.PHONE, phone)


async def list_contacts(user_id: PydanticObjectId) -> list[ContactDocument]:
    return await find_all(ContactDocument, {"user_id": user_id}, sort="created_at")


async def list_contacts_of(
    viewer: UserDocument | None, user_ids: Sequence[PydanticObjectId]
) -> list[ContactDocument]:
    """The contacts ``viewer`` may read (`readable`) of every account in ``user_ids``,
    oldest first: one query. One account (`me`) is an equality, which both engines serve
    from `user_value`; several are a `$in`, which MongoDB serves from it and the embedded
    engine answers by reading `contacts`."""
    accounts = user_ids[0] if len(user_ids) == 1 else {"$in": list(user_ids)}
    query = within(readable(viewer), {"user_id": accounts})
    return await find_all(ContactDocument, query, sort="created_at")


def primary_ids(contacts: list[ContactDocument]) -> set[PydanticObjectId | None]:
    """The primary contact of each kind: the one verified first."""
    verified = sorted(
        (contact for contact in contacts if contact.verified and contact.verified_at),
        key=lambda contact: contact.verified_at or now(),
    )
    primary: dict[ContactKind, PydanticObjectId | None] = {}
    for contact in verified:
        primary.setdefault(contact.kind, contact.id)
    return set(primary.values())


async def primary_phone(user_id: PydanticObjectId | None) -> str | None:
    """The account's primary phone (the first confirmed), where SMS and callbacks go."""
    return primary_phone_among(await list_contacts(user_id))  # type: ignore[arg-type]


def primary_phone_among(own: list[ContactDocument]) -> str | None:
    """`primary_phone` of an account whose contacts are ``own``."""
    primary = primary_ids(own)
    return next((c.value for c in own if c.id in primary and c.kind is ContactKind.PHONE), None)


def readable(user: UserDocument | None) -> Filter | None:
    """The contacts ``user`` may read: staff everyone's (an applicant's phone), a customer
    their own, nobody signed out any."""
    if user is None:
        return None
    return {} if user.is_staff else {"user_id": user.id}


async def find_contacts(
    user: UserDocument | None, contact_ids: Sequence[PydanticObjectId]
) -> list[ContactDocument | None]:
    """The contacts ``user`` may read among ``contact_ids``, in their order: one query."""
    return await find_by_ids(ContactDocument, readable(user), contact_ids)


async def find_contact(user: UserDocument, contact_id: PydanticObjectId) -> ContactDocument | None:
    """The caller's own contact, to change; someone else's is as unknown as a missing one."""
    return await ContactDocument.find_one(
        within(readable(user), {"_id": contact_id, "user_id": user.id})
    )


async def add_contact(
    *, services: Services, caller: Caller, user: UserDocument, value: str
) -> ContactDocument | InvalidInput | RateLimited:
    """Add an unverified contact and send it a code; adding it again resends the code.

    Every call is counted before anything is answered, and a phone confirmed on another
    account is added like any other: only `verify_contact`, after the code from the SMS
    proved the caller holds the phone, says it is taken. So probing numbers tells nothing.
    """
    if exceeded := await services.rate_limits.hit(
        rate_limit.CONTACT_ADDS_PER_ACCOUNT, str(user.id)
    ):
        return RateLimited(exceeded.retry_after_seconds)
    parsed = parse_contact(value)
    if isinstance(parsed, FieldProblem):
        return InvalidInput([parsed])
    kind, normalized = parsed
    existing = await ContactDocument.find_one({"user_id": user.id, "value": normalized})
    if existing is not None and existing.verified:
        return InvalidInput([FieldProblem("value", FieldErrorCode.CONTACT_ALREADY_VERIFIED)])
    if existing is not None:
        return await _send_code(services, caller, user, existing)
    if await ContactDocument.find({"user_id": user.id}).count() >= MAX_CONTACTS:
        return InvalidInput(
            [
                FieldProblem(
                    "value", FieldErrorCode.TOO_MANY_CONTACTS, {"max_contacts": MAX_CONTACTS}
                )
            ]
        )
    contact = ContactDocument(user_id=user.id, kind=kind, value=normalized)
    try:
        await contact.insert()
    except DuplicateKeyError:  # the same contact added twice at once
        contact = await ContactDocument.find_one({"user_id": user.id, "value": normalized})
        if contact is None:
            raise
    else:
        await _record(caller, AuditAction.CONTACT_ADDED, user, contact)
    return await _send_code(services, caller, user, contact)


async def _record(
    caller: Caller, action: AuditAction, user: UserDocument, contact: ContactDocument
) -> None:
    """The contact's kind only: its value is personal data the log does not need."""
    await audit.record(
        caller,
        action,
        subject_id=user.id,
        target_type="contact",
        target_id=contact.id,
        after={"kind": contact.kind.value},
    )


async def resend_contact_code(
    *, services: Services, caller: Caller, user: UserDocument, contact_id: PydanticObjectId
) -> ContactDocument | NotFound | NotAllowed | RateLimited:
    contact = await find_contact(user, contact_id)
    if contact is None:
        return NotFound()
    if contact.verified:
        return NotAllowed(ErrorCode.CONTACT_ALREADY_VERIFIED, "error.contact_already_verified")
    return await _send_code(services, caller, user, contact)


async def _send_code(
    services: Services, caller: Caller, user: UserDocument, contact: ContactDocument
) -> ContactDocument | RateLimited:
    moment = now()
    if contact.code_sent_at is not None and moment - contact.code_sent_at < RESEND_COOLDOWN:
        return _cooldown(contact)
    recent = [sent for sent in contact.code_sends if sent > moment - CODES_WINDOW]
    if len(recent) >= CODES_PER_WINDOW:
        wait = (recent[0] + CODES_WINDOW - moment).total_seconds()
        return RateLimited(max(1, math.ceil(wait)))
    # Also per account and per number, so removing and re-adding a contact gains nothing.
    if exceeded := await services.rate_limits.hit_all(
        (rate_limit.CODES_PER_ACCOUNT, str(user.id)), (rate_limit.CODES_PER_VALUE, contact.value)
    ):
        return RateLimited(exceeded.retry_after_seconds)
    code, salt = new_code(), new_salt()
    fields = {
        "code_hash": code_hash(code, salt),
        "code_salt": salt,
        "code_expires_at": moment + CODE_TTL,
        "code_attempts_left": CODE_ATTEMPTS,
        "code_sent_at": moment,
        "code_sends": [*recent, moment],
    }
    # Conditional on the previous send, so two resends at once send one code.
    updated = await ContactDocument.get_pymongo_collection().find_one_and_update(
        {"_id": contact.id, "verified": False, "code_sent_at": contact.code_sent_at},
        {"$set": fields},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        fresh = await ContactDocument.get(contact.id)
        return _cooldown(fresh or contact)
    minutes = int(CODE_TTL.total_seconds() // 60)
    if contact.kind is ContactKind.PHONE:
        text = templates.contact_code_sms(user.locale, code=code, minutes=minutes)
        await services.outbox.send_sms(contact.value, text, request_id=caller.request_id)
    else:
        content = templates.contact_code_email(user.locale, code=code, minutes=minutes)
        await services.outbox.send_email(contact.value, content, request_id=caller.request_id)
    return ContactDocument.model_validate(updated)


def _cooldown(contact: ContactDocument) -> RateLimited:
    sent_at = contact.code_sent_at or now()
    wait = (sent_at + RESEND_COOLDOWN - now()).total_seconds()
    return RateLimited(max(1, math.ceil(wait)))


async def verify_contact(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    contact_id: PydanticObjectId,
    code: str,
) -> Verified | InvalidCode | TokenExpired | NotFound | InvalidInput | RateLimited:
    contact = await find_contact(user, contact_id)
    if contact is None:
        return NotFound()
    if contact.verified:
        return Verified(contact, await _linked_through(user, contact))
    if exceeded := await services.rate_limits.hit(rate_limit.CODE_CHECKS_PER_ACCOUNT, str(user.id)):
        return RateLimited(exceeded.retry_after_seconds)
    moment = now()
    # Count the attempt first: only then is the code compared.
    attempt = await ContactDocument.get_pymongo_collection().find_one_and_update(
        {
            "_id": contact.id,
            "verified": False,
            "code_hash": {"$ne": None},
            "code_expires_at": {"$gt": moment},
            "code_attempts_left": {"$gt": 0},
        },
        {"$inc": {"code_attempts_left": -1}},
        return_document=ReturnDocument.AFTER,
    )
    if attempt is None:
        current = await ContactDocument.get(contact.id) or contact
        if current.code_hash is None or (current.code_expires_at or moment) <= moment:
            return TokenExpired("error.code_expired")
        return InvalidCode(attempts_left=0)
    if not code_matches(code, attempt["code_salt"], attempt["code_hash"]):
        return InvalidCode(attempts_left=attempt["code_attempts_left"])
    try:
        confirmed = await ContactDocument.get_pymongo_collection().find_one_and_update(
            {"_id": contact.id, "verified": False, "code_hash": attempt["code_hash"]},
            {
                "$set": {"verified": True, "verified_at": moment, "code_attempts_left": 0},
                "$unset": dict.fromkeys(_CODE_FIELDS, ""),
            },
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return InvalidInput([FieldProblem("contactId", FieldErrorCode.PHONE_TAKEN)])
    if confirmed is None:  # a new code was sent in between
        return TokenExpired("error.code_expired")
    verified = ContactDocument.model_validate(confirmed)
    await _record(caller, AuditAction.CONTACT_VERIFIED, user, verified)
    return Verified(verified, await _linked_through(user, verified))


async def _linked_through(user: UserDocument, contact: ContactDocument) -> list[PolicyDocument]:
    """Link the account's cards (guide 3.1); those found through this contact."""
    linked = await policies.link_policies(user=user)
    return [policy for policy in linked if contact.value in policy.phones]


async def remove_contact(
    *, caller: Caller, user: UserDocument, contact_id: PydanticObjectId
) -> UserDocument | NotFound | NotAllowed:
    contact = await find_contact(user, contact_id)
    if contact is None:
        return NotFound()
    if contact.kind is ContactKind.PHONE and contact.verified:
        other_phones = await ContactDocument.find(
            {
                "user_id": user.id,
                "kind": ContactKind.PHONE.value,
                "verified": True,
                "_id": {"$ne": contact.id},
            }
        ).count()
        if other_phones == 0 and await policies.has_linked_policies(user=user):
            return NotAllowed(ErrorCode.LAST_PHONE_HAS_POLICIES, "error.last_phone_has_policies")
    await ContactDocument.find_one({"_id": contact.id, "user_id": user.id}).delete()
    await _record(caller, AuditAction.CONTACT_REMOVED, user, contact)
    return user
