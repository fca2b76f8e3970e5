"""A person's data in the API: a copy of everything held (`exportMyData`), and erasure
(`deleteAccount`)."""

from typing import Annotated

import strawberry

from kabinet.resolvers import privacy
from kabinet.resolvers.account import Done
from kabinet.schema.account import Accepted, answer
from kabinet.schema.context import Info
from kabinet.schema.errors import InvalidCredentials, RateLimited
from kabinet.schema.permissions import SignedIn, viewer
from kabinet.schema.requests import Attachment


@strawberry.type(description="Everything the cabinet holds about the signed-in person.")
class DataExport:
    json: str = strawberry.field(
        description="One JSON document, pretty-printed with sorted keys: `format`, "
        "`formatVersion` (1), the account, profile, contacts, addresses, notification "
        "settings, sessions, email links, cards, requests (details, history, comments, file "
        "metadata) and security events. No passwords, code or token hashes."
    )
    files: list[Attachment] = strawberry.field(
        description="The files of the person's requests and of comments on them; each `url` "
        "downloads with the same bearer token."
    )


@strawberry.input(description="Delete the signed-in account.")
class DeleteAccountInput:
    password: str = strawberry.field(description="The account's password, typed again.")


DeleteAccountResult = Annotated[
    Accepted | InvalidCredentials | RateLimited,
    strawberry.union(
        "DeleteAccountResult",
        description="The account is deleted, or why not (nothing was changed then).",
    ),
]


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="A copy of everything the cabinet holds about you, as JSON, with your "
        "files listed. Recorded in the security log.",
    )
    async def export_my_data(self, info: Info) -> DataExport:
        export = await privacy.export_data(
            services=info.context.services, caller=info.context.caller, user=viewer(info)
        )
        return DataExport(
            json=export.json,
            files=[Attachment.from_value(attachment, info) for attachment in export.attachments],
        )

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Delete your account after typing the password again: every session "
        "ends at once, personal data is erased and the email can register anew; requests "
        "are kept without personal data for the insurer (docs/architecture.md, Privacy).",
    )
    async def delete_account(self, info: Info, input: DeleteAccountInput) -> DeleteAccountResult:
        user = viewer(info)
        outcome = await privacy.delete_account(
            services=info.context.services,
            caller=info.context.caller,
            user=user,
            password=input.password,
        )
        if isinstance(outcome, Done):  # every session of the account ended
            await info.context.services.sockets.session_ended(user_id=user.id)
        return answer(info, outcome)
