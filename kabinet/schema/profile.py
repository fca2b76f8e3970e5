"""Personal data in the API: `me.profile` and `updateProfile` (guide 2.1)."""

from datetime import date
from typing import Annotated, Self

import strawberry

from kabinet.documents import UserDocument
from kabinet.resolvers import profile
from kabinet.schema.context import Info
from kabinet.schema.enums import Gender, Locale
from kabinet.schema.errors import InputError, to_graphql
from kabinet.schema.permissions import SignedIn, viewer
from kabinet.schema.user import User


@strawberry.type(description="Personal data: full name, gender, date of birth.")
class Profile:
    last_name: str | None = strawberry.field(description="Surname (прізвище).")
    first_name: str | None = strawberry.field(description="Given name (ім'я).")
    middle_name: str | None = strawberry.field(description="Patronymic (по батькові), optional.")
    gender: Gender | None = strawberry.field(description="Gender.")
    birth_date: date | None = strawberry.field(
        description="Date of birth (ISO 8601; show it as DD.MM.YYYY)."
    )
    complete: bool = strawberry.field(
        description="Whether surname, given name, gender and date of birth are all filled in."
    )

    @classmethod
    def from_document(cls, user: UserDocument) -> Self:
        data = user.profile
        return cls(
            last_name=data.last_name,
            first_name=data.first_name,
            middle_name=data.middle_name,
            gender=data.gender,
            birth_date=data.birth_date,
            complete=profile.is_complete(user),
        )


@strawberry.input(description="Fields to change; omitted ones stay, null clears an optional one.")
class UpdateProfileInput:
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Surname.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    middle_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Patronymic; null or empty clears it."
    )
    gender: Gender | None = strawberry.field(default=strawberry.UNSET, description="Gender.")
    birth_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="Date of birth, not in the future."
    )
    locale: Locale | None = strawberry.field(
        default=strawberry.UNSET, description="Language of messages, emails and SMS."
    )


UpdateProfileResult = Annotated[
    User | InputError,
    strawberry.union(
        "UpdateProfileResult", description="The updated account, or what is wrong with the input."
    ),
]


def _sent[T](value: T) -> T | profile.Keep:
    return profile.KEEP if value is strawberry.UNSET else value


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn], description="Change personal data and the language."
    )
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> UpdateProfileResult:
        user = viewer(info)
        outcome = await profile.update_profile(
            user=user,
            changes=profile.ProfileChanges(
                last_name=_sent(input.last_name),
                first_name=_sent(input.first_name),
                middle_name=_sent(input.middle_name),
                gender=_sent(input.gender),
                birth_date=_sent(input.birth_date),
                locale=_sent(input.locale),
            ),
        )
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)
