"""Typed, localised errors (members of result unions) and the GraphQL errors for access."""

from typing import Any

import strawberry
from graphql import GraphQLError

from kabinet.documents import Role, SessionDocument, UserDocument
from kabinet.i18n import Locale, Wait, translate
from kabinet.resolvers import errors as domain
from kabinet.schema.context import Info


@strawberry.interface(description="An expected failure: a stable `code` and a localised message.")
class Error:
    message: str = strawberry.field(description="What went wrong and what to do next, localised.")
    code: str = strawberry.field(description="Stable machine-readable code of the failure.")


@strawberry.type(description="A problem with one input field.")
class FieldError:
    field: str = strawberry.field(description="Path of the field in the input, e.g. `password`.")
    code: str = strawberry.field(description="Stable code, e.g. `PASSWORD_TOO_SHORT`.")
    message: str = strawberry.field(description="Localised explanation for the person.")


@strawberry.type(description="The input is invalid; nothing was changed.")
class InputError(Error):
    fields: list[FieldError] = strawberry.field(description="Every invalid field.")


@strawberry.type(description="No such object, or it is not yours to see.")
class NotFound(Error):
    pass


@strawberry.type(description="Too many attempts; try again later.")
class RateLimited(Error):
    retry_after_seconds: int = strawberry.field(description="Seconds until the next attempt.")


@strawberry.type(description="The code is wrong; after the last attempt it is dead.")
class InvalidCode(Error):
    attempts_left: int = strawberry.field(
        description="Attempts left for this code; 0 means: request a new code."
    )


@strawberry.type(description="The email or password (or the password alone) is wrong.")
class InvalidCredentials(Error):
    pass


@strawberry.type(description="The link or code is unknown, used or expired; ask for a new one.")
class TokenExpired(Error):
    pass


@strawberry.type(description="A rule forbids this now; `code` names the rule.")
class NotAllowed(Error):
    pass


def to_graphql(error: domain.DomainError, locale: Locale) -> Any:
    """The union member the client sees for a use case's expected failure.

    Typed as ``Any`` because it stands for whichever error members the calling
    field's union has; the use case's own return type already limits ``error``.
    """
    match error:
        case domain.InvalidInput(problems=problems):
            return InputError(
                code="INVALID_INPUT",
                message=translate("error.input", locale),
                fields=[
                    FieldError(
                        field=problem.field,
                        code=problem.code,
                        message=translate(problem.key, locale, **problem.params),
                    )
                    for problem in problems
                ],
            )
        case domain.RateLimited(retry_after_seconds=seconds):
            return RateLimited(
                code="RATE_LIMITED",
                message=translate("error.rate_limited", locale, wait=Wait(seconds)),
                retry_after_seconds=seconds,
            )
        case domain.InvalidCredentials(key=key):
            return InvalidCredentials(code="INVALID_CREDENTIALS", message=translate(key, locale))
        case domain.TokenExpired(key=key):
            return TokenExpired(code="TOKEN_EXPIRED", message=translate(key, locale))
        case domain.InvalidCode(attempts_left=attempts_left):
            key = "error.code_invalid" if attempts_left else "error.code_dead"
            return InvalidCode(
                code="INVALID_CODE",
                message=translate(key, locale, attempts_left=attempts_left),
                attempts_left=attempts_left,
            )
        case domain.NotAllowed(code=code, key=key, params=params):
            return NotAllowed(code=code, message=translate(key, locale, **params))
        case domain.NotFound():
            return NotFound(code="NOT_FOUND", message=translate("error.not_found", locale))


def require_user(info: Info, *roles: Role) -> UserDocument:
    """The signed-in account, or a GraphQL error UNAUTHENTICATED / FORBIDDEN."""
    caller = info.context.caller
    if caller.user is None:
        raise GraphQLError(
            translate("auth.required", caller.locale), extensions={"code": "UNAUTHENTICATED"}
        )
    if roles and caller.user.role not in roles:
        raise GraphQLError(
            translate("auth.forbidden", caller.locale), extensions={"code": "FORBIDDEN"}
        )
    return caller.user


def require_session(info: Info) -> tuple[UserDocument, SessionDocument]:
    user = require_user(info)
    session = info.context.caller.session
    if session is None:  # pragma: no cover - a user is only ever set together with a session
        raise RuntimeError("signed-in caller without a session")
    return user, session
