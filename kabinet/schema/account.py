"""Accounts in the API: `me`, the password policy, registration, sign-in and passwords."""

from datetime import datetime
from typing import Annotated

import strawberry

from kabinet.auth.passwords import PASSWORD_POLICY
from kabinet.i18n import translate
from kabinet.resolvers import account
from kabinet.resolvers.errors import DomainError
from kabinet.schema.context import Info
from kabinet.schema.enums import Locale
from kabinet.schema.errors import (
    InputError,
    InvalidCredentials,
    NotAllowed,
    RateLimited,
    TokenExpired,
    to_graphql,
)
from kabinet.schema.permissions import SignedIn, viewer, viewer_session
from kabinet.schema.user import User


@strawberry.type(description="The password rules, for the registration form to show.")
class PasswordPolicy:
    min_length: int = strawberry.field(description="Fewest characters.")
    max_length: int = strawberry.field(description="Most characters.")
    requires_uppercase: bool = strawberry.field(description="At least one capital Latin letter.")
    requires_digit: bool = strawberry.field(description="At least one digit.")
    latin_only: bool = strawberry.field(
        description="Only Latin letters, digits and ASCII symbols, no spaces."
    )


@strawberry.type(description="Registration was taken; the message says to check the mailbox.")
class RegisterSuccess:
    message: str = strawberry.field(
        description="The same whether or not the email was already registered."
    )


@strawberry.type(description="Signed in: the bearer token of a new session.")
class AuthSuccess:
    token: str = strawberry.field(
        description="Send as `Authorization: Bearer <token>`; shown only once."
    )
    expires_at: datetime = strawberry.field(description="When the session ends if unused.")
    user: User = strawberry.field(description="The signed-in account.")


@strawberry.type(description="The request was taken; the message says what happens next.")
class Accepted:
    message: str = strawberry.field(description="Localised explanation.")


@strawberry.input(description="A new account: email and the password typed twice.")
class RegisterInput:
    email: str = strawberry.field(description="Email to sign in with; a link is sent to it.")
    password: str = strawberry.field(description="A password that follows `passwordPolicy`.")
    password_confirmation: str = strawberry.field(description="The same password again.")
    locale: Locale | None = strawberry.field(
        default=None, description="Language of emails; default from Accept-Language."
    )


@strawberry.input(description="The token from the confirmation link and the password.")
class ConfirmEmailInput:
    token: str = strawberry.field(description="The `token` parameter of the emailed link.")
    password: str = strawberry.field(
        description="The account's password: the link alone does not sign anyone in."
    )


@strawberry.input(description="Send the confirmation link again.")
class ResendConfirmationInput:
    email: str = strawberry.field(description="The email used at registration.")


@strawberry.input(description="Sign in.")
class LoginInput:
    email: str = strawberry.field(description="The account's email.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="Ask for a password reset link.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's email.")


@strawberry.input(description="Set a new password with the token of a reset link.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The `token` parameter of the emailed link.")
    password: str = strawberry.field(description="The new password.")
    password_confirmation: str = strawberry.field(description="The new password again.")


@strawberry.input(description="Change the password of the signed-in account.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    password: str = strawberry.field(description="The new password.")
    password_confirmation: str = strawberry.field(description="The new password again.")


RegisterResult = Annotated[
    RegisterSuccess | InputError | RateLimited,
    strawberry.union("RegisterResult", description="Registration taken, or why not."),
]
ConfirmEmailResult = Annotated[
    AuthSuccess | InputError | TokenExpired | InvalidCredentials | RateLimited,
    strawberry.union(
        "ConfirmEmailResult", description="Signed in after confirming the email, or why not."
    ),
]
ResendConfirmationResult = Annotated[
    Accepted | InputError | RateLimited,
    strawberry.union("ResendConfirmationResult", description="Resend taken, or why not."),
]
LoginResult = Annotated[
    AuthSuccess | InvalidCredentials | RateLimited | NotAllowed,
    strawberry.union(
        "LoginResult",
        description="Signed in, or why not (NotAllowed: the email is not confirmed yet).",
    ),
]
RequestPasswordResetResult = Annotated[
    Accepted | InputError | RateLimited,
    strawberry.union(
        "RequestPasswordResetResult", description="Reset link request taken, or why not."
    ),
]
ResetPasswordResult = Annotated[
    AuthSuccess | InputError | TokenExpired | RateLimited,
    strawberry.union(
        "ResetPasswordResult", description="Signed in with the new password, or why not."
    ),
]
ChangePasswordResult = Annotated[
    Accepted | InputError | InvalidCredentials | RateLimited,
    strawberry.union("ChangePasswordResult", description="Password changed, or why not."),
]


def answer(info: Info, outcome: account.SignedIn | account.Done | DomainError) -> object:
    """The union member for a use case's outcome."""
    locale = info.context.caller.locale
    match outcome:
        case account.SignedIn(token=token, expires_at=expires_at, user=user):
            signed_in = User.from_document(user, read_by_itself=True)
            return AuthSuccess(token=token, expires_at=expires_at, user=signed_in)
        case account.Done(key=key, params=params):
            return Accepted(message=translate(key, locale, **params))
        case _:
            return to_graphql(outcome, locale)


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in account; null when not signed in.")
    def me(self, info: Info) -> User | None:
        user = info.context.caller.user
        return None if user is None else User.from_document(user)

    @strawberry.field(description="The password rules the registration form should enforce.")
    def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(
            min_length=PASSWORD_POLICY.min_length,
            max_length=PASSWORD_POLICY.max_length,
            requires_uppercase=PASSWORD_POLICY.requires_uppercase,
            requires_digit=PASSWORD_POLICY.requires_digit,
            latin_only=PASSWORD_POLICY.latin_only,
        )


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Create an account and email a confirmation link. "
        "Answers the same whether or not the email is already registered."
    )
    async def register(self, info: Info, input: RegisterInput) -> RegisterResult:
        outcome = await account.register(
            services=info.context.services,
            caller=info.context.caller,
            email=input.email,
            password=input.password,
            password_confirmation=input.password_confirmation,
            locale=input.locale,
        )
        if isinstance(outcome, account.Done):
            locale = info.context.caller.locale
            return RegisterSuccess(message=translate(outcome.key, locale, **outcome.params))
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        description="Confirm the email with the link's token and the password, and sign in "
        "(the link alone does not sign anyone in)."
    )
    async def confirm_email(self, info: Info, input: ConfirmEmailInput) -> ConfirmEmailResult:
        outcome = await account.confirm_email(
            services=info.context.services,
            caller=info.context.caller,
            token=input.token,
            password=input.password,
        )
        return answer(info, outcome)

    @strawberry.mutation(description="Send the confirmation link again, if it is still needed.")
    async def resend_confirmation(
        self, info: Info, input: ResendConfirmationInput
    ) -> ResendConfirmationResult:
        outcome = await account.resend_confirmation(
            services=info.context.services, caller=info.context.caller, email=input.email
        )
        return answer(info, outcome)

    @strawberry.mutation(description="Sign in with email and password; returns a session token.")
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        outcome = await account.login(
            services=info.context.services,
            caller=info.context.caller,
            email=input.email,
            password=input.password,
        )
        return answer(info, outcome)

    @strawberry.mutation(permission_classes=[SignedIn], description="End the current session.")
    async def logout(self, info: Info) -> bool:
        user, session = viewer_session(info)
        await account.logout(caller=info.context.caller, user=user, session=session)
        await info.context.services.sockets.session_ended(session_id=session.id)
        return True

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="End every session of the account, this one included.",
    )
    async def logout_everywhere(self, info: Info) -> bool:
        user = viewer(info)
        await account.logout_everywhere(caller=info.context.caller, user=user)
        await info.context.services.sockets.session_ended(user_id=user.id)
        return True

    @strawberry.mutation(description="Email a password reset link, if the account exists.")
    async def request_password_reset(
        self, info: Info, input: RequestPasswordResetInput
    ) -> RequestPasswordResetResult:
        outcome = await account.request_password_reset(
            services=info.context.services, caller=info.context.caller, email=input.email
        )
        return answer(info, outcome)

    @strawberry.mutation(
        description="Set a new password with a reset link's token and sign in; "
        "every other session ends."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> ResetPasswordResult:
        outcome = await account.reset_password(
            services=info.context.services,
            caller=info.context.caller,
            token=input.token,
            password=input.password,
            password_confirmation=input.password_confirmation,
        )
        if isinstance(outcome, account.SignedIn):  # every earlier session of the account ended
            sockets = info.context.services.sockets
            await sockets.session_ended(user_id=outcome.user.id, keep=outcome.session.id)
        return answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Change the password of the signed-in account; its other sessions end.",
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordResult:
        user, session = viewer_session(info)
        outcome = await account.change_password(
            services=info.context.services,
            caller=info.context.caller,
            user=user,
            session=session,
            current_password=input.current_password,
            password=input.password,
            password_confirmation=input.password_confirmation,
        )
        if isinstance(outcome, account.Done):  # the other sessions ended
            await info.context.services.sockets.session_ended(user_id=user.id, keep=session.id)
        return answer(info, outcome)
