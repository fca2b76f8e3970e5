"""Typed, localised errors (members of result unions) and the GraphQL errors for access."""

import strawberry
from graphql import GraphQLError

from kabinet.documents import Role, SessionDocument, UserDocument
from kabinet.i18n import Locale, translate
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


@strawberry.type(description="The email or password (or the password alone) is wrong.")
class InvalidCredentials(Error):
    pass


@strawberry.type(description="The link or code is unknown, used or expired; ask for a new one.")
class TokenExpired(Error):
    pass


@strawberry.type(description="A rule forbids this now; `code` names the rule.")
class NotAllowed(Error):
    pass


def to_graphql(error: domain.DomainError, locale: Locale) -> Error:
    """The union member the client sees for a use case's expected failure."""
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
                message=translate("error.rate_limited", locale, seconds=seconds),
                retry_after_seconds=seconds,
            )
        case domain.InvalidCredentials(key=key):
            return InvalidCredentials(code="INVALID_CREDENTIALS", message=translate(key, locale))
        case domain.TokenExpired():
            return TokenExpired(
                code="TOKEN_EXPIRED", message=translate("error.token_expired", locale)
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
