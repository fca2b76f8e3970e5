"""Registration, email confirmation, sign-in, sessions and passwords (guide section 1)."""

import asyncio
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from beanie import PydanticObjectId
from beanie.odm.utils.dump import get_dict
from email_validator import EmailNotValidError, validate_email
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kabinet import metrics
from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.auth.passwords import (
    PASSWORD_POLICY,
    PasswordHashing,
    PasswordPolicy,
    needs_rehash,
)
from kabinet.auth.sessions import IssuedSession, end_session, end_sessions, start_session
from kabinet.auth.tokens import new_token, token_hash
from kabinet.clock import now
from kabinet.documents import (
    AuditAction,
    EmailTokenDocument,
    Role,
    SessionDocument,
    TokenPurpose,
    UserDocument,
)
from kabinet.i18n import Locale
from kabinet.notify import templates
from kabinet.notify.templates import ResetTemplate
from kabinet.resolvers import audit
from kabinet.resolvers.errors import (
    ErrorCode,
    FieldErrorCode,
    FieldProblem,
    InvalidCredentials,
    InvalidInput,
    NotAllowed,
    RateLimited,
    TokenExpired,
)
from kabinet.services import Services

MAX_EMAIL_LENGTH = 254
SLOWDOWN_FIRST_SECONDS = 0.25
SLOWDOWN_MAX_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    expires_at: datetime
    user: UserDocument
    session: SessionDocument


@dataclass(frozen=True, slots=True)
class Done:
    """The request was taken; ``key`` and ``params`` say what happens next."""

    key: str
    params: dict[str, object]


def normalize_email(value: str) -> str | None:
    """The address in the form we store (lower-case), or ``None`` when it is not one."""
    value = value.strip()
    if not value or len(value) > MAX_EMAIL_LENGTH:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _email_problems(email: str | None, field: str = "email") -> list[FieldProblem]:
    return [] if email is not None else [FieldProblem(field, FieldErrorCode.EMAIL_INVALID)]


# Printable ASCII without the space: Latin letters, digits and symbols.
_PASSWORD_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation)


def password_problems(
    password: str, policy: PasswordPolicy = PASSWORD_POLICY
) -> list[FieldErrorCode]:
    """Every rule of ``policy`` that ``password`` breaks; empty when it is acceptable."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(FieldErrorCode.PASSWORD_TOO_SHORT)
    if len(password) > policy.max_length:
        problems.append(FieldErrorCode.PASSWORD_TOO_LONG)
    if policy.latin_only and not set(password) <= _PASSWORD_CHARACTERS:
        problems.append(FieldErrorCode.PASSWORD_NOT_LATIN)
    if policy.requires_uppercase and not any(c in string.ascii_uppercase for c in password):
        problems.append(FieldErrorCode.PASSWORD_NEEDS_UPPERCASE)
    if policy.requires_digit and not any(c in string.digits for c in password):
        problems.append(FieldErrorCode.PASSWORD_NEEDS_DIGIT)
    return problems


def _new_password_problems(password: str, confirmation: str) -> list[FieldProblem]:
    limits = {"min_length": PASSWORD_POLICY.min_length, "max_length": PASSWORD_POLICY.max_length}
    problems = [FieldProblem("password", code, limits) for code in password_problems(password)]
    if password != confirmation:
        problems.append(FieldProblem("passwordConfirmation", FieldErrorCode.PASSWORDS_DO_NOT_MATCH))
    return problems


async def _live_account(query: dict[str, object]) -> UserDocument | None:
    """The account ``query`` finds, unless it is being deleted (then it is as good as gone)."""
    return await UserDocument.find_one({**query, "deleting_since": None})


def _limited(exceeded: rate_limit.Exceeded | None) -> RateLimited | None:
    return RateLimited(exceeded.retry_after_seconds) if exceeded else None


async def _address_limits(
    services: Services,
    caller: Caller,
    email: str,
    per_ip: rate_limit.Limit,
    per_email: rate_limit.Limit,
) -> RateLimited | None:
    """One attempt about the address ``email`` (normalised) from the caller's IP."""
    return _limited(await services.rate_limits.hit_all((per_ip, caller.ip), (per_email, email)))


async def _counted_address(
    services: Services,
    caller: Caller,
    email: str,
    per_ip: rate_limit.Limit,
    per_email: rate_limit.Limit,
) -> str | InvalidInput | RateLimited:
    """``email`` normalised and counted by `_address_limits`; or why it may not be used."""
    normalized = normalize_email(email)
    if normalized is None:
        return InvalidInput(_email_problems(normalized))
    return await _address_limits(services, caller, normalized, per_ip, per_email) or normalized


# Pages of the frontend (or of kabinet itself, see app.py) that the emailed links open.
LINK_PAGES = {
    TokenPurpose.CONFIRM_EMAIL: "confirm-email",
    TokenPurpose.RESET_PASSWORD: "reset-password",
}


async def _issue_link(
    services: Services, user: UserDocument, purpose: TokenPurpose, ttl: timedelta
) -> str:
    """A link with a new single-use token; earlier unused links of the same purpose die."""
    moment = now()
    await EmailTokenDocument.get_pymongo_collection().update_many(
        {"user_id": user.id, "purpose": purpose.value, "used_at": None},
        {"$set": {"used_at": moment}},
    )
    token = new_token()
    await EmailTokenDocument(
        user_id=user.id,
        purpose=purpose,
        token_hash=token_hash(token),
        created_at=moment,
        expires_at=moment + ttl,
    ).insert()
    base = services.settings.public_url.rstrip("/")
    return f"{base}/{LINK_PAGES[purpose]}?{urlencode({'token': token})}"


async def _send_confirmation(services: Services, user: UserDocument, caller: Caller) -> None:
    hours = services.settings.email_confirmation_ttl_hours
    link = await _issue_link(services, user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=hours))
    content = templates.confirmation_email(user.locale, link=link, hours=hours)
    await services.outbox.send_email(user.email, content, request_id=caller.request_id)


async def _send_reset(
    services: Services, user: UserDocument, caller: Caller, template: ResetTemplate
) -> None:
    """Email a new password reset link in the message ``template`` makes."""
    minutes = services.settings.password_reset_ttl_minutes
    link = await _issue_link(
        services, user, TokenPurpose.RESET_PASSWORD, timedelta(minutes=minutes)
    )
    content = template(user.locale, email=user.email, link=link, minutes=minutes)
    await services.outbox.send_email(user.email, content, request_id=caller.request_id)


async def _sign_in(services: Services, user: UserDocument, caller: Caller) -> SignedIn:
    issued: IssuedSession = await start_session(
        user,
        ttl=services.settings.session_ttl,
        user_agent=caller.user_agent,
        ip=caller.ip,
    )
    return SignedIn(
        token=issued.token, expires_at=issued.session.expires_at, user=user, session=issued.session
    )


async def register(
    *,
    services: Services,
    caller: Caller,
    email: str,
    password: str,
    password_confirmation: str,
    locale: Locale | None,
) -> Done | InvalidInput | RateLimited:
    """Create an account and email a confirmation link.

    The answer is the same whether or not the address is taken, and so is the work: one
    hash, two writes to `users`, a new link and one email on every path (an account being
    deleted, a passing state, is told nothing), so neither the answer nor its time says
    whether an address is registered. The owner of a confirmed account gets "someone tried
    to register" with a password reset link instead of a confirmation.
    """
    normalized = normalize_email(email)
    problems = _email_problems(normalized) + _new_password_problems(password, password_confirmation)
    if normalized is None or problems:
        return InvalidInput(problems)
    if limited := await _address_limits(
        services, caller, normalized, rate_limit.REGISTER_PER_IP, rate_limit.REGISTER_PER_EMAIL
    ):
        return limited
    password_hash = await services.passwords.hash(password)
    user = await _account_for(
        UserDocument(email=normalized, password_hash=password_hash, locale=locale or caller.locale)
    )
    # Not confirmed yet (a new account too): whoever confirms from the mailbox owns the
    # account, with the password typed last, so a stranger who registered the address first
    # gains nothing. Conditional, so a confirmation that lands in between is never undone.
    chosen_locale = locale or user.locale
    unconfirmed = await UserDocument.get_pymongo_collection().update_one(
        {"_id": user.id, "email_confirmed": False, "deleting_since": None},
        {
            "$set": {
                "password_hash": password_hash,
                "locale": chosen_locale.value,
                "updated_at": now(),
            }
        },
    )
    if unconfirmed.matched_count:
        user.locale = chosen_locale
        await _send_confirmation(services, user, caller)
    elif user.deleting_since is None:
        await _send_reset(services, user, caller, templates.already_registered_email)
    return Done("account.registered", {"email": normalized})


async def _account_for(new: UserDocument) -> UserDocument:
    """The account of ``new.email``: the one that exists, or ``new``, created; one command
    either way (an upsert that inserts only when the address is free)."""
    new.id = PydanticObjectId()
    collection = UserDocument.get_pymongo_collection()
    for _ in range(2):  # two first registrations may race on the upsert; the loser retries
        try:
            existing = await collection.find_one_and_update(
                {"email": new.email},
                {"$setOnInsert": get_dict(new, to_db=True)},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )
        except DuplicateKeyError:
            continue
        return new if existing is None else UserDocument.model_validate(existing)
    raise RuntimeError("the account could not be created or found")  # pragma: no cover


async def _usable_token(token: str, purpose: TokenPurpose) -> EmailTokenDocument | None:
    return await EmailTokenDocument.find_one(
        {
            "token_hash": token_hash(token),
            "purpose": purpose.value,
            "used_at": None,
            "expires_at": {"$gt": now()},
        }
    )


async def _spend_token(link: EmailTokenDocument) -> bool:
    """Mark the token used; ``False`` when someone else used it first."""
    spent = await EmailTokenDocument.get_pymongo_collection().find_one_and_update(
        {"_id": link.id, "used_at": None},
        {"$set": {"used_at": now()}},
        return_document=ReturnDocument.AFTER,
    )
    return spent is not None


async def confirm_email(
    *, services: Services, caller: Caller, token: str, password: str
) -> SignedIn | TokenExpired | InvalidCredentials | RateLimited:
    """Guide 1.5: the link's token and the password confirm the address and sign in."""
    if limited := _limited(await services.rate_limits.hit(rate_limit.TOKEN_USE_PER_IP, caller.ip)):
        return limited
    link = await _usable_token(token, TokenPurpose.CONFIRM_EMAIL)
    if link is None:
        return TokenExpired()
    user = await _live_account({"_id": link.user_id})
    if user is None:
        return TokenExpired()
    if not await services.passwords.verify(user.password_hash, password):
        return InvalidCredentials("error.wrong_password")
    if not await _spend_token(link):
        return TokenExpired()
    await _set_user(user.id, email_confirmed=True)
    user.email_confirmed = True
    await audit.record(caller, AuditAction.EMAIL_CONFIRMED, actor=user, subject_id=user.id)
    return await _sign_in(services, user, caller)


async def _replace_password_hash(
    user_id: PydanticObjectId | None, verified: str, rehashed: str
) -> bool:
    replaced = await UserDocument.get_pymongo_collection().update_one(
        {"_id": user_id, "password_hash": verified},
        {"$set": {"password_hash": rehashed, "updated_at": now()}},
    )
    return replaced.modified_count == 1


async def _set_user(user_id: PydanticObjectId | None, **changes: object) -> None:
    await UserDocument.get_pymongo_collection().update_one(
        {"_id": user_id}, {"$set": {**changes, "updated_at": now()}}
    )


async def resend_confirmation(
    *, services: Services, caller: Caller, email: str
) -> Done | InvalidInput | RateLimited:
    normalized = await _counted_address(
        services, caller, email, rate_limit.CONFIRMATION_PER_IP, rate_limit.CONFIRMATION_PER_EMAIL
    )
    if not isinstance(normalized, str):
        return normalized
    user = await _live_account({"email": normalized})
    if user is not None and not user.email_confirmed:
        await _send_confirmation(services, user, caller)
    return Done("account.confirmation_resent", {"email": normalized})


def login_slowdown(over: int) -> float:
    """Seconds the ``over``-th sign-in beyond `login:account` waits: 0.25, doubling, at most
    SLOWDOWN_MAX_SECONDS, so guessing from many addresses gets slow and the owner still in."""
    return 0.0 if over <= 0 else min(SLOWDOWN_MAX_SECONDS, SLOWDOWN_FIRST_SECONDS * 2 ** (over - 1))


async def login(
    *, services: Services, caller: Caller, email: str, password: str
) -> SignedIn | InvalidCredentials | RateLimited | NotAllowed:
    """Sign in. Guessing is refused per address and per (account, address); per account it is
    only slowed down, so failures from elsewhere never lock the owner out."""
    normalized = normalize_email(email) or email.strip().lower()[:MAX_EMAIL_LENGTH]
    if limited := _limited(
        await services.rate_limits.hit_all(
            (rate_limit.LOGIN_PER_IP, caller.ip),
            (rate_limit.LOGIN_PER_ACCOUNT_AND_IP, f"{normalized} {caller.ip}"),
        )
    ):
        return limited
    attempt = await services.rate_limits.count(rate_limit.LOGIN_PER_ACCOUNT, normalized)
    if attempt.over:
        metrics.LOGIN_SLOWDOWNS.inc()
        await asyncio.sleep(login_slowdown(attempt.over))
    user = await _live_account({"email": normalized})
    if user is None:
        await services.passwords.burn_verification_time(password)
        # One insert on this path as on the others, and no trace of what was typed (it is
        # sometimes the password): the attempt is visible to administrators only, by IP.
        await _login_failed(caller, None, "unknown_account")
        await _warn_of_attempts(services, caller, None, attempt)
        return InvalidCredentials()
    if not await services.passwords.verify(user.password_hash, password):
        await _login_failed(caller, user, "wrong_password")
        await _warn_of_attempts(services, caller, user, attempt)
        return InvalidCredentials()
    if not user.email_confirmed:
        await _login_failed(caller, user, "email_not_confirmed")
        return NotAllowed(ErrorCode.EMAIL_NOT_CONFIRMED, "error.email_not_confirmed")
    verified = user.password_hash
    if needs_rehash(verified):
        rehashed = await services.passwords.hash(password)
        # Only over the hash just verified: a reset or change meanwhile wins.
        if await _replace_password_hash(user.id, verified, rehashed):
            user.password_hash = verified = rehashed
    signed_in = await _sign_in(services, user, caller)
    # Hashing is slow; a reset or change that landed meanwhile ended every session but
    # this one, which the old password must not keep.
    current = await UserDocument.get_pymongo_collection().find_one(
        {"_id": user.id}, {"password_hash": 1}
    )
    if current is None or current["password_hash"] != verified:
        await end_session(signed_in.session)
        await _login_failed(caller, user, "password_changed_meanwhile")
        return InvalidCredentials()
    await audit.record(caller, AuditAction.LOGIN, actor=user, subject_id=user.id)
    return signed_in


async def _warn_of_attempts(
    services: Services, caller: Caller, user: UserDocument | None, attempt: rate_limit.Counted
) -> None:
    """Email the owner once per window when failed sign-ins pass `login:account`. An unknown
    address claims its window's notice as well, so both failures do the same writes."""
    if not attempt.over or not await rate_limit.first_notice(attempt) or user is None:
        return
    limit = services.rate_limits[rate_limit.LOGIN_PER_ACCOUNT]
    content = templates.login_attempts_email(
        user.locale,
        attempts=limit.hits,
        minutes=int(limit.window.total_seconds() // 60),
        link=f"{services.settings.public_url.rstrip('/')}/",
    )
    await services.outbox.send_email(user.email, content, request_id=caller.request_id)


async def _login_failed(caller: Caller, user: UserDocument | None, reason: str) -> None:
    await audit.record(
        caller,
        AuditAction.LOGIN_FAILED,
        subject_id=user.id if user else None,
        after={"reason": reason},
    )


async def logout(*, caller: Caller, user: UserDocument, session: SessionDocument) -> None:
    await end_session(session)
    await audit.record(caller, AuditAction.LOGOUT, subject_id=user.id)


async def logout_everywhere(*, caller: Caller, user: UserDocument) -> None:
    await end_sessions(user.id)
    await audit.record(caller, AuditAction.LOGOUT_EVERYWHERE, subject_id=user.id)


async def request_password_reset(
    *, services: Services, caller: Caller, email: str
) -> Done | InvalidInput | RateLimited:
    normalized = await _counted_address(
        services, caller, email, rate_limit.RESET_PER_IP, rate_limit.RESET_PER_EMAIL
    )
    if not isinstance(normalized, str):
        return normalized
    user = await _live_account({"email": normalized})
    if user is not None:
        await _send_reset(services, user, caller, templates.password_reset_email)
        await audit.record(caller, AuditAction.PASSWORD_RESET_REQUESTED, subject_id=user.id)
    return Done("account.reset_requested", {"email": normalized})


async def reset_password(
    *,
    services: Services,
    caller: Caller,
    token: str,
    password: str,
    password_confirmation: str,
) -> SignedIn | InvalidInput | TokenExpired | RateLimited:
    """Set a new password from a reset link; every other session ends."""
    if problems := _new_password_problems(password, password_confirmation):
        return InvalidInput(problems)
    if limited := _limited(await services.rate_limits.hit(rate_limit.TOKEN_USE_PER_IP, caller.ip)):
        return limited
    link = await _usable_token(token, TokenPurpose.RESET_PASSWORD)
    if link is None or not await _spend_token(link):
        return TokenExpired()
    user = await _live_account({"_id": link.user_id})
    if user is None:
        return TokenExpired()
    user.password_hash = await services.passwords.hash(password)
    # The link came to the mailbox, which proves the address as well.
    user.email_confirmed = True
    await _set_user(user.id, password_hash=user.password_hash, email_confirmed=True)
    await end_sessions(user.id)
    await audit.record(caller, AuditAction.PASSWORD_RESET, actor=user, subject_id=user.id)
    await services.outbox.send_email(
        user.email, templates.password_changed_email(user.locale), request_id=caller.request_id
    )
    return await _sign_in(services, user, caller)


async def change_password(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    session: SessionDocument,
    current_password: str,
    password: str,
    password_confirmation: str,
) -> Done | InvalidInput | InvalidCredentials | RateLimited:
    """Change the password of the signed-in account; its other sessions end."""
    if limited := _limited(
        await services.rate_limits.hit(rate_limit.PASSWORD_CHANGE_PER_ACCOUNT, str(user.id))
    ):
        return limited
    if not await services.passwords.verify(user.password_hash, current_password):
        return InvalidCredentials("error.wrong_password")
    problems = _new_password_problems(password, password_confirmation)
    if not problems and password == current_password:
        problems.append(FieldProblem("password", FieldErrorCode.PASSWORD_SAME_AS_CURRENT))
    if problems:
        return InvalidInput(problems)
    user.password_hash = await services.passwords.hash(password)
    await _set_user(user.id, password_hash=user.password_hash)
    await end_sessions(user.id, keep=session)
    await audit.record(caller, AuditAction.PASSWORD_CHANGED, subject_id=user.id)
    await services.outbox.send_email(
        user.email, templates.password_changed_email(user.locale), request_id=caller.request_id
    )
    return Done("account.password_changed", {})


async def create_confirmed_user(
    *, passwords: PasswordHashing, email: str, password: str, role: Role
) -> UserDocument | InvalidInput:
    """An account created by an administrator (operators, admins): confirmed from the start."""
    normalized = normalize_email(email)
    problems = _email_problems(normalized) + _new_password_problems(password, password)
    if normalized is None or problems:
        return InvalidInput(problems)
    user = UserDocument(
        email=normalized,
        password_hash=await passwords.hash(password),
        email_confirmed=True,
        role=role,
    )
    try:
        await user.insert()
    except DuplicateKeyError:
        return InvalidInput([FieldProblem("email", FieldErrorCode.EMAIL_TAKEN)])
    return user
