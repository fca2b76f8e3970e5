"""The account as the API shows it: `User`, with each area's data behind lazy references."""

from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from beanie import PydanticObjectId
from strawberry import relay

from kabinet.auth.sessions import list_sessions
from kabinet.documents import AddressKind, SessionDocument, UserDocument
from kabinet.resolvers import contacts, policies
from kabinet.schema.context import Info
from kabinet.schema.enums import Locale, Role
from kabinet.schema.ids import object_id

if TYPE_CHECKING:
    from kabinet.schema.addresses import Address
    from kabinet.schema.contacts import Contact
    from kabinet.schema.policies import Policy, PolicyLookup
    from kabinet.schema.profile import Profile
    from kabinet.schema.requests import NotificationSettings, RequestConnection, RequestFilter

RequestFilterRef = Annotated["RequestFilter", strawberry.lazy("kabinet.schema.requests")]
PolicyRef = Annotated["Policy", strawberry.lazy("kabinet.schema.policies")]


@strawberry.type(description="A signed-in device or browser.")
class Session:
    id: strawberry.ID = strawberry.field(description="Identifier of the session.")
    created_at: datetime = strawberry.field(description="When the person signed in.")
    last_seen_at: datetime = strawberry.field(description="Last use, to within five minutes.")
    user_agent: str | None = strawberry.field(description="The browser or app that signed in.")
    current: bool = strawberry.field(description="Whether this is the session of this request.")

    @classmethod
    def from_document(cls, document: SessionDocument, *, current: bool) -> Self:
        return cls(
            id=strawberry.ID(str(document.id)),
            created_at=document.created_at,
            last_seen_at=document.last_seen_at,
            user_agent=document.user_agent,
            current=current,
        )


@strawberry.type(description="An account of the cabinet: an insured person or staff.")
class User(relay.Node):
    id: relay.NodeID[str]
    email: str = strawberry.field(description="Sign-in email, lower-case.")
    email_confirmed: bool = strawberry.field(description="Whether the email link was followed.")
    role: Role = strawberry.field(description="What the account may do.")
    locale: Locale = strawberry.field(description="Language of messages for this account.")
    created_at: datetime = strawberry.field(description="When the account was registered.")
    document: strawberry.Private[UserDocument]
    # A sign-in's answer is read by the account it signed in, as its next requests will
    # be: the request that signed in carried no session, so its caller is nobody.
    read_by_itself: strawberry.Private[bool] = False

    @classmethod
    def from_document(cls, document: UserDocument, *, read_by_itself: bool = False) -> Self:
        return cls(
            id=str(document.id),
            email=document.email,
            email_confirmed=document.email_confirmed,
            role=document.role,
            locale=document.locale,
            created_at=document.created_at,
            document=document,
            read_by_itself=read_by_itself,
        )

    def reader(self, info: Info) -> UserDocument | None:
        """Whose read scopes this account's contacts and cards are read within."""
        return self.document if self.read_by_itself else info.context.caller.user

    @strawberry.field(description="Personal data: name, gender, date of birth.")
    def profile(self) -> Annotated["Profile", strawberry.lazy("kabinet.schema.profile")]:
        from kabinet.schema.profile import Profile

        return Profile.from_document(self.document)

    @strawberry.field(description="Phones and emails, oldest first.")
    async def contacts(
        self, info: Info
    ) -> list[Annotated["Contact", strawberry.lazy("kabinet.schema.contacts")]]:
        from kabinet.schema.contacts import Contact

        loaders = info.context.loaders
        found = await loaders.contacts_of(self.reader(info)).load(self.document.id)  # type: ignore[arg-type]
        primary = contacts.primary_ids(found)
        return [Contact.from_document(contact, primary=contact.id in primary) for contact in found]

    @strawberry.field(description="Home address first, then the additional one.")
    def addresses(self) -> list[Annotated["Address", strawberry.lazy("kabinet.schema.addresses")]]:
        from kabinet.schema.addresses import Address

        addresses = self.document.addresses
        return [Address.from_document(addresses[kind]) for kind in AddressKind if kind in addresses]

    @strawberry.field(
        description="Insurance cards linked through the confirmed phones, own card first; "
        "looked up afresh on every read, so a card the insurer links appears at once."
    )
    async def policies(self, info: Info) -> list[PolicyRef]:
        from kabinet.schema.policies import linked_cards

        return linked_cards(await _linked(info, self), info)

    @strawberry.field(description="The card the cabinet works with now; null when none.")
    async def active_policy(self, info: Info) -> PolicyRef | None:
        from kabinet.schema.policies import card_view

        linked = await _linked(info, self)
        if linked.active is None:
            return None
        return card_view(info.context.loaders, linked.active, active=True, staff=False)

    @strawberry.field(description="Why no card is shown yet, and what to do.")
    async def policy_lookup(
        self, info: Info
    ) -> Annotated["PolicyLookup", strawberry.lazy("kabinet.schema.policies")]:
        from kabinet.schema.policies import lookup

        return lookup(await _linked(info, self), info)

    @strawberry.field(description="The account's requests, newest first.")
    async def requests(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: RequestFilterRef | None = None,
    ) -> Annotated["RequestConnection", strawberry.lazy("kabinet.schema.requests")]:
        from kabinet.schema.requests import request_connection

        page = await request_connection(
            info, account=self.document.id, first=first, after=after, filter=filter
        )
        # Each request names its card: once the cards this operation reads anyway are in,
        # every request's card is there without an awaited field per request.
        await info.context.loaders.cards_read_for(info.context.caller.user, self.document)
        return page

    @strawberry.field(description="How status changes of the account's requests are announced.")
    def notification_settings(
        self,
    ) -> Annotated["NotificationSettings", strawberry.lazy("kabinet.schema.requests")]:
        from kabinet.schema.requests import NotificationSettings

        return NotificationSettings.from_document(self.document)

    @strawberry.field(description="Signed-in sessions of this account, most recent first.")
    async def sessions(self, info: Info) -> list[Session]:
        caller = info.context.caller
        current_id = caller.session.id if caller.session else None
        return [
            Session.from_document(document, current=document.id == current_id)
            for document in await list_sessions(PydanticObjectId(self.id))
        ]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Only the caller's own account; staff may see any."""
        viewer = info.context.caller.user
        ids = list(node_ids)
        if viewer is None:
            return [None for _ in ids]
        if not viewer.is_staff:
            return [cls.from_document(viewer) if i == str(viewer.id) else None for i in ids]
        wanted = [user_id for node_id in ids if (user_id := object_id(node_id))]
        loaded = await info.context.loaders.user.load_many(wanted)
        found = {str(user_id): user for user_id, user in zip(wanted, loaded, strict=True)}
        return [cls.from_document(found[i]) if found.get(i) else None for i in ids]


def _linked(info: Info, account: User) -> Awaitable[policies.Linked]:
    """``account``'s cards as its reader may read them (`policies.readable`)."""
    return info.context.loaders.linked_of(account.reader(info)).load(account.document)
