"""Contacts in the API: add a phone or email, confirm it with a code, remove it (guide 2.2)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from kabinet.documents import ContactDocument, UserDocument
from kabinet.resolvers import contacts
from kabinet.schema.context import Info
from kabinet.schema.enums import ContactKind
from kabinet.schema.errors import (
    InputError,
    InvalidCode,
    NotAllowed,
    NotFound,
    RateLimited,
    TokenExpired,
    to_graphql,
)
from kabinet.schema.ids import by_id, object_id
from kabinet.schema.permissions import SignedIn, viewer
from kabinet.schema.policies import Policy
from kabinet.schema.user import User


@strawberry.type(description="A phone or email of the account, confirmed by a code.")
class Contact(relay.Node):
    id: relay.NodeID[str]
    kind: ContactKind = strawberry.field(description="Phone or email.")
    value: str = strawberry.field(
        description="Normalised: E.164 for phones (+380XXXXXXXXX), lower-case for emails."
    )
    verified: bool = strawberry.field(description="Whether the code sent to it was entered.")
    verified_at: datetime | None = strawberry.field(description="When it was confirmed.")
    primary: bool = strawberry.field(
        description="The main contact of its kind: the one confirmed first."
    )

    @classmethod
    def from_document(cls, document: ContactDocument, *, primary: bool) -> Self:
        return cls(
            id=str(document.id),
            kind=document.kind,
            value=document.value,
            verified=document.verified,
            verified_at=document.verified_at,
            primary=primary,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """The contacts the caller may read (`contacts.readable`): their own, any for staff.
        Whether each is primary depends on its account's other contacts."""
        loaders, viewer = info.context.loaders, info.context.caller.user
        ids = list(node_ids)
        wanted = [oid for node_id in ids if (oid := object_id(node_id))]
        loaded = await loaders.readable_contacts(viewer).load_many(wanted)
        found = {str(contact.id): contact for contact in loaded if contact}
        owners = list({contact.user_id: None for contact in found.values()})
        primary = {
            contact_id
            for own in await loaders.contacts_of(viewer).load_many(owners)
            for contact_id in contacts.primary_ids(own)
        }
        return [
            cls.from_document(found[i], primary=found[i].id in primary) if i in found else None
            for i in ids
        ]


async def _contact(document: ContactDocument) -> Contact:
    """The contact with its `primary` flag, which depends on the account's other contacts."""
    primary = contacts.primary_ids(await contacts.list_contacts(document.user_id))
    return Contact.from_document(document, primary=document.id in primary)


@strawberry.type(description="The contact is confirmed; cards found through it are linked.")
class ContactVerified:
    contact: Contact = strawberry.field(description="The confirmed contact.")
    linked_policies: list[Policy] = strawberry.field(
        description="Cards linked through this phone; empty for emails."
    )


@strawberry.input(description="A phone (+380XXXXXXXXX, 0XXXXXXXXX) or an email to add.")
class AddContactInput:
    value: str = strawberry.field(description="The phone or email as the person typed it.")


@strawberry.input(description="The code sent to a contact.")
class VerifyContactInput:
    contact_id: strawberry.ID = strawberry.field(description="Id of the contact.")
    code: str = strawberry.field(description="The six-digit code from the SMS or email.")


@strawberry.input(description="Send a new code to an unconfirmed contact.")
class ResendContactCodeInput:
    contact_id: strawberry.ID = strawberry.field(description="Id of the contact.")


@strawberry.input(description="Remove a contact.")
class RemoveContactInput:
    contact_id: strawberry.ID = strawberry.field(description="Id of the contact.")


AddContactResult = Annotated[
    Contact | InputError | RateLimited,
    strawberry.union(
        "AddContactResult", description="The added contact (a code was sent to it), or why not."
    ),
]
VerifyContactResult = Annotated[
    ContactVerified | InvalidCode | TokenExpired | NotFound | RateLimited | InputError,
    strawberry.union(
        "VerifyContactResult",
        description="Confirmed, or why not (InputError: phone confirmed on another account).",
    ),
]
ResendContactCodeResult = Annotated[
    Contact | NotFound | NotAllowed | RateLimited,
    strawberry.union(
        "ResendContactCodeResult",
        description="A new code was sent, or why not (NotAllowed CONTACT_ALREADY_VERIFIED for "
        "a confirmed contact).",
    ),
]
RemoveContactResult = Annotated[
    User | NotFound | NotAllowed,
    strawberry.union("RemoveContactResult", description="The account without it, or why not."),
]


@strawberry.type
class ContactsMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Add a phone or email and send it a code (SMS or email). "
        "Adding an unconfirmed contact again sends a new code.",
    )
    async def add_contact(self, info: Info, input: AddContactInput) -> AddContactResult:
        user = viewer(info)
        outcome = await contacts.add_contact(
            services=info.context.services, caller=info.context.caller, user=user, value=input.value
        )
        if isinstance(outcome, ContactDocument):
            return await _contact(outcome)
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Confirm a contact with its code: 10 minutes, 5 attempts. A confirmed "
        "phone links the insurance cards the insurer holds for it.",
    )
    async def verify_contact(self, info: Info, input: VerifyContactInput) -> VerifyContactResult:
        user = viewer(info)
        outcome = await by_id(
            input.contact_id,
            "Contact",
            lambda contact_id: contacts.verify_contact(
                services=info.context.services,
                caller=info.context.caller,
                user=user,
                contact_id=contact_id,
                code=input.code,
            ),
        )
        if isinstance(outcome, contacts.Verified):
            active = user.active_policy_id
            return ContactVerified(
                contact=await _contact(outcome.contact),
                linked_policies=[
                    Policy.from_document(policy, active=policy.id == active, staff=False)
                    for policy in outcome.linked_policies
                ],
            )
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Send a new code: once a minute, five times an hour.",
    )
    async def resend_contact_code(
        self, info: Info, input: ResendContactCodeInput
    ) -> ResendContactCodeResult:
        user = viewer(info)
        outcome = await by_id(
            input.contact_id,
            "Contact",
            lambda contact_id: contacts.resend_contact_code(
                services=info.context.services,
                caller=info.context.caller,
                user=user,
                contact_id=contact_id,
            ),
        )
        if isinstance(outcome, ContactDocument):
            return await _contact(outcome)
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Remove a contact. The last confirmed phone stays while cards are linked "
        "through it.",
    )
    async def remove_contact(self, info: Info, input: RemoveContactInput) -> RemoveContactResult:
        user = viewer(info)
        outcome = await by_id(
            input.contact_id,
            "Contact",
            lambda contact_id: contacts.remove_contact(
                caller=info.context.caller, user=user, contact_id=contact_id
            ),
        )
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)
