"""How status changes reach the person: the notification settings and their mutation."""

from typing import Annotated, Self

import strawberry

from kabinet.documents import UserDocument
from kabinet.resolvers import notifications
from kabinet.schema.context import Info
from kabinet.schema.enums import RequestStatus
from kabinet.schema.errors import (
    InputError,
    to_graphql,
)
from kabinet.schema.permissions import SignedIn, viewer
from kabinet.schema.user import User


@strawberry.type(description="Which status changes are announced on which channel.")
class NotificationSettings:
    sms: list[RequestStatus] = strawberry.field(
        description="By SMS to the primary phone; default SCHEDULED, NEEDS_INFO, COMPLETED, "
        "REJECTED."
    )
    email: list[RequestStatus] = strawberry.field(description="By email; default none.")

    @classmethod
    def from_document(cls, user: UserDocument) -> Self:
        settings = user.notifications
        return cls(
            sms=[RequestStatus(value) for value in settings.sms],
            email=[RequestStatus(value) for value in settings.email],
        )


@strawberry.input(description="Which status changes to announce on which channel.")
class NotificationSettingsInput:
    sms: list[RequestStatus] = strawberry.field(description="Announced by SMS.")
    email: list[RequestStatus] = strawberry.field(description="Announced by email.")


UpdateNotificationSettingsResult = Annotated[
    User | InputError,
    strawberry.union(
        "UpdateNotificationSettingsResult", description="The account, or what is wrong."
    ),
]


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Choose how status changes of your requests reach you.",
    )
    async def update_notification_settings(
        self, info: Info, input: NotificationSettingsInput
    ) -> UpdateNotificationSettingsResult:
        user = viewer(info)
        outcome = await notifications.update_settings(
            user=user,
            sms=input.sms,
            email=input.email,
        )
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)
