"""Who may use a field, declared on it (`permission_classes=[SignedIn]`, as the PyCon
Italia backend does): checked before the resolver runs, so resolvers only read the
signed-in account (`viewer`).

A refusal is the GraphQL error the API has always answered (`UNAUTHENTICATED`, or
`FORBIDDEN` for a role), with a localised message: `has_permission` raises it, because
Strawberry's `on_unauthorized` hook is not given the request, and so not its language.
"""

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.permission import BasePermission

from kabinet.documents import STAFF_ROLES, Role, SessionDocument, UserDocument
from kabinet.i18n import translate
from kabinet.schema.context import Info
from kabinet.schema.errors import GraphQLErrorCode


class SignedIn(BasePermission):
    """Any signed-in account."""

    roles: ClassVar[tuple[Role, ...]] = ()

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        caller = info.context.caller
        if caller.user is None:
            raise GraphQLError(
                translate("auth.required", caller.locale),
                extensions={"code": GraphQLErrorCode.UNAUTHENTICATED},
            )
        if self.roles and caller.user.role not in self.roles:
            raise GraphQLError(
                translate("auth.forbidden", caller.locale),
                extensions={"code": GraphQLErrorCode.FORBIDDEN},
            )
        return True


class Staff(SignedIn):
    """Operators and administrators."""

    roles = STAFF_ROLES


class Admin(SignedIn):
    """Administrators."""

    roles = (Role.ADMIN,)


def viewer(info: Info) -> UserDocument:
    """The signed-in account of a field that declares `SignedIn` (or a role)."""
    user = info.context.caller.user
    if user is None:  # pragma: no cover - the field's permission refused the caller
        raise RuntimeError("a field without a permission class read the signed-in account")
    return user


def viewer_session(info: Info) -> tuple[UserDocument, SessionDocument]:
    """The signed-in account and its session, of a field that declares `SignedIn`."""
    session = info.context.caller.session
    if session is None:  # pragma: no cover - a user is only ever set together with a session
        raise RuntimeError("signed-in caller without a session")
    return viewer(info), session
