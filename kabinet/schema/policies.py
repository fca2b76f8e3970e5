"""Insurance cards in the API (guide section 3): `me.policies`, switching, staff tools."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Self

import strawberry
from beanie import PydanticObjectId
from strawberry import relay
from strawberry.file_uploads import Upload

from kabinet.documents import PolicyDocument, UserDocument
from kabinet.i18n import N_, translate
from kabinet.resolvers import cards, policies, policy_import
from kabinet.resolvers import errors as domain
from kabinet.resolvers.links import LinkKind
from kabinet.schema.context import Info
from kabinet.schema.coverage import CardBenefit, card_coverage
from kabinet.schema.enums import PolicyLookupStatus, PolicyStatus, Relationship
from kabinet.schema.errors import (
    FieldError,
    InputError,
    NotAllowed,
    NotFound,
    RateLimited,
    to_graphql,
)
from kabinet.schema.ids import by_id, object_id
from kabinet.schema.labels import label_of
from kabinet.schema.loaders import Loaders
from kabinet.schema.pagination import (
    Counted,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from kabinet.schema.permissions import Admin, SignedIn, Staff, viewer
from kabinet.schema.user import User


@strawberry.type(description="The person the card insures.")
class InsuredPerson:
    full_name: str = strawberry.field(description="Full name as in the contract.")
    birth_date: date | None = strawberry.field(description="Date of birth, if the insurer gave it.")


@strawberry.type(description="An insurance card (policy).")
class Policy(relay.Node):
    id: relay.NodeID[str]
    number: str = strawberry.field(description="Policy number.")
    insurer: str = strawberry.field(description="Insurance company.")
    program: str = strawberry.field(description="Insurance programme (plan).")
    status: PolicyStatus = strawberry.field(description="Whether the card can be used now.")
    status_label: str = label_of("status", "`status` in the caller's language.")
    valid_from: date = strawberry.field(description="First day of cover.")
    valid_to: date = strawberry.field(description="Last day of cover.")
    insured_person: InsuredPerson = strawberry.field(description="Who is insured.")
    relationship: Relationship = strawberry.field(
        description="Of the insured person to the account holder, e.g. CHILD."
    )
    relationship_label: str = label_of("relationship", "`relationship` in the caller's language.")
    coverage_notes: str | None = strawberry.field(description="What the programme covers.")
    guardian_access_ends: date | None = strawberry.field(
        description="For a child's card: the first day it is no longer shown to the accounts "
        "of its phones (the child's 18th birthday, unless the registry says otherwise); null "
        "when it always is."
    )
    active: bool = strawberry.field(
        description="Whether the account works with this card now: only a card in force today "
        "(status ACTIVE, today within its validity) can be the active one."
    )
    phones: list[str] | None = strawberry.field(
        description="Phones the insurer holds for the card (E.164); staff only, else null."
    )
    document: strawberry.Private[PolicyDocument]

    @strawberry.field(
        description="What the card's programme covers today (the version in force today), "
        "each benefit with its limit, what was used in the current period and what "
        "remains; empty when the insurer has not defined the programme. Usage changes with "
        "each decision on the card's requests (`requestUpdated` events carry the request, "
        "whose `policy { coverage }` shows it)."
    )
    async def coverage(self, info: Info) -> list[CardBenefit]:
        return await card_coverage(info, self.document)

    @strawberry.field(
        description="Where the caller downloads the card's PDF: one page with the insured "
        "person, number, programme, validity, the contact centre's phone and a QR code a "
        "clinic scans to check the card. A signed link, like `Attachment.url`: it opens with "
        "no header for a while, or with the caller's `Authorization: Bearer` header. Each "
        "download issues a new verification link (see `revokeCardLinks`)."
    )
    def card_pdf_url(self, info: Info) -> str:
        services, viewer = info.context.services, info.context.caller.user
        url = f"{services.settings.public_url.rstrip('/')}/cards/{self.id}.pdf"
        if viewer is None or viewer.id is None:
            return url
        return f"{url}?{services.links.query(LinkKind.CARD, self.id, viewer.id)}"

    @classmethod
    def from_document(cls, document: PolicyDocument, *, active: bool, staff: bool) -> Self:
        return cls(
            id=str(document.id),
            number=document.number,
            insurer=document.insurer,
            program=document.program,
            status=document.status,
            valid_from=document.valid_from,
            valid_to=document.valid_to,
            insured_person=InsuredPerson(
                full_name=document.insured_person.full_name,
                birth_date=document.insured_person.birth_date,
            ),
            relationship=document.relationship,
            coverage_notes=document.coverage_notes,
            guardian_access_ends=document.guardian_access_end(),
            active=active,
            phones=list(document.phones) if staff else None,
            document=document,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """The cards the caller may read (`policies.readable`): a customer's linked cards,
        any for staff."""
        viewer = info.context.caller.user
        ids = list(node_ids)
        wanted = [oid for node_id in ids if (oid := object_id(node_id))]
        loaded = await info.context.loaders.readable_cards(viewer).load_many(wanted)
        found = {str(policy.id): policy for policy in loaded if policy}
        staff = viewer is not None and viewer.is_staff
        return [
            cls.from_document(found[i], active=_active(viewer, found[i]), staff=staff)
            if i in found
            else None
            for i in ids
        ]


def _active(viewer: UserDocument | None, policy: PolicyDocument) -> bool:
    """Whether ``policy`` is the customer's active card (staff have none in others' view)."""
    return viewer is not None and not viewer.is_staff and viewer.active_policy_id == policy.id


def card_view(loaders: Loaders, document: PolicyDocument, *, active: bool, staff: bool) -> Policy:
    """``document`` as `Policy`, built once per operation (``loaders`` are the operation's):
    the twenty requests of a page name the same few cards, which `me.policies` shows as
    well. Only the very document read is shared, so a card changed and read again by a
    later mutation shows afresh."""
    views = loaders.card_views
    key = (id(document), active, staff)
    cached = views.get(key)
    if cached is not None:
        return cached[1]
    view = Policy.from_document(document, active=active, staff=staff)
    views[key] = (document, view)
    return view


def linked_cards(linked: policies.Linked, info: Info) -> list[Policy]:
    return [
        card_view(info.context.loaders, policy, active=policy is linked.active, staff=False)
        for policy in linked.policies
    ]


@strawberry.type(description="Whether cards were found, and what to do when not.")
class PolicyLookup:
    status: PolicyLookupStatus = strawberry.field(description="The lookup's outcome.")
    hint: str | None = strawberry.field(description="What the person should do next, localised.")


# What to do next when the lookup found no card in force.
_LOOKUP_HINTS: dict[policies.LookupStatus, str] = {
    policies.LookupStatus.NO_VERIFIED_PHONE: N_("policy.lookup.no_verified_phone"),
    policies.LookupStatus.NO_CARD_FOUND: N_("policy.lookup.no_card_found"),
    policies.LookupStatus.NO_CARD_IN_FORCE: N_("policy.lookup.no_card_in_force"),
}


def lookup(linked: policies.Linked, info: Info) -> PolicyLookup:
    status = linked.lookup
    hint = _LOOKUP_HINTS.get(status)
    return PolicyLookup(status=status, hint=hint and translate(hint, info.context.caller.locale))


@strawberry.type(description="One card in a list.")
class PolicyEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this card.")
    node: Policy = strawberry.field(description="The card.")


@strawberry.type(description="A page of cards.")
class PolicyConnection(Counted):
    edges: list[PolicyEdge] = strawberry.field(description="The cards of this page.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")


@strawberry.type(description="What an import did.")
class ImportReport:
    created: int = strawberry.field(description="New entries (cards, or providers).")
    updated: int = strawberry.field(description="Entries that existed and were overwritten.")
    rejected: list[FieldError] = strawberry.field(
        description="Problems of rejected rows and programmes; `field` is `rows[N].column` "
        "or `programmes[N].versions[M].benefits[K].field`, each counted from 1."
    )
    programmes_created: int = strawberry.field(
        default=0, description="New programmes (a card registry's; 0 for the provider directory)."
    )
    programmes_updated: int = strawberry.field(
        default=0,
        description="Programmes that existed and were replaced with every version in the file.",
    )


@strawberry.input(description="Choose the card the cabinet works with.")
class SelectPolicyInput:
    policy_id: strawberry.ID = strawberry.field(description="Id of a card linked to the account.")


@strawberry.input(description="Set the phones the insurer holds for a card.")
class UpdatePolicyPhonesInput:
    policy_id: strawberry.ID = strawberry.field(description="Id of the card.")
    phones: list[str] = strawberry.field(description="Ukrainian mobiles; replaces the list.")


@strawberry.input(description="An insurer's registry file.")
class ImportPoliciesInput:
    file: Upload = strawberry.field(description="CSV or JSON, as in docs/policy-import.md.")


@strawberry.input(description="Whose card verification links to revoke.")
class RevokeCardLinksInput:
    policy_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A card linked to the account (staff: any card); null: every card "
        "linked to the account.",
    )


@strawberry.type(description="The cards whose verification links issued so far no longer work.")
class CardLinksRevoked:
    revoked_at: datetime = strawberry.field(
        description='Links issued until this moment show "revoked"; PDFs downloaded later '
        "carry working ones."
    )
    policies: list[Policy] = strawberry.field(description="The cards concerned.")


SelectPolicyResult = Annotated[
    User | NotFound | NotAllowed,
    strawberry.union(
        "SelectPolicyResult",
        description="The account; NotFound for a card not linked to it; NotAllowed "
        "(POLICY_NOT_ACTIVE) for a card not in force today.",
    ),
]
RefreshPoliciesResult = Annotated[
    User | RateLimited,
    strawberry.union("RefreshPoliciesResult", description="The account with its cards."),
]
UpdatePolicyPhonesResult = Annotated[
    Policy | NotFound | InputError,
    strawberry.union("UpdatePolicyPhonesResult", description="The card, or why not."),
]
RevokeCardLinksResult = Annotated[
    CardLinksRevoked | NotFound,
    strawberry.union(
        "RevokeCardLinksResult",
        description="The cards; NotFound for a card not linked to the account.",
    ),
]
ImportPoliciesResult = Annotated[
    ImportReport | InputError,
    strawberry.union("ImportPoliciesResult", description="The report, or why the file failed."),
]


@strawberry.type
class PoliciesQuery:
    @strawberry.field(
        permission_classes=[Staff],
        description="Staff: cards by number (prefix), phone or insured's name.",
    )
    async def find_policies(
        self, info: Info, search: str, first: int | None = None, after: str | None = None
    ) -> PolicyConnection:
        page = await policies.find_policies(
            viewer=info.context.caller.user,
            search=search,
            first=page_size(first),
            after=decode_cursor(after),
            keyed_cards=info.context.services.keyed_cards,
        )
        edges = [
            PolicyEdge(
                cursor=encode_cursor(p.number),
                node=Policy.from_document(p, active=False, staff=True),
            )
            for p in page.policies
        ]
        return PolicyConnection(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges], has_next=page.has_next, after=after
            ),
            count=page.count,
        )


@strawberry.type
class PoliciesMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Switch the active card: the one requests are filed against.",
    )
    async def select_policy(self, info: Info, input: SelectPolicyInput) -> SelectPolicyResult:
        user = viewer(info)
        outcome = await by_id(
            input.policy_id,
            "Policy",
            lambda policy_id: policies.select_policy(user=user, policy_id=policy_id),
        )
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Look for cards by the confirmed phones again, e.g. after the insurer "
        "updated them.",
    )
    async def refresh_policies(self, info: Info) -> RefreshPoliciesResult:
        outcome = await policies.refresh_policies(services=info.context.services, user=viewer(info))
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Revoke the links in the QR codes of a card's PDFs downloaded so far (a "
        "lost or shared printout): a clinic opening one sees that it was revoked. PDFs "
        "downloaded afterwards work. Audited.",
    )
    async def revoke_card_links(
        self, info: Info, input: RevokeCardLinksInput
    ) -> RevokeCardLinksResult:
        caller = info.context.caller

        async def revoke(policy_id: PydanticObjectId | None) -> cards.RevokedLinks | NotFound:
            return await cards.revoke_card_links(caller=caller, policy_id=policy_id)

        outcome = (
            await by_id(input.policy_id, "Policy", revoke)
            if input.policy_id is not None
            else await revoke(None)
        )
        if isinstance(outcome, domain.NotFound):
            return to_graphql(outcome, caller.locale)
        staff = viewer(info).is_staff
        return CardLinksRevoked(
            revoked_at=outcome.at,
            policies=[
                Policy.from_document(policy, active=_active(caller.user, policy), staff=staff)
                for policy in outcome.policies
            ],
        )

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Staff: replace the phones of a card; accounts with those confirmed phones "
        "see it at once. Audited.",
    )
    async def update_policy_phones(
        self, info: Info, input: UpdatePolicyPhonesInput
    ) -> UpdatePolicyPhonesResult:
        outcome = await by_id(
            input.policy_id,
            "Policy",
            lambda policy_id: policies.update_policy_phones(
                caller=info.context.caller, policy_id=policy_id, phones=input.phones
            ),
        )
        if isinstance(outcome, PolicyDocument):
            return Policy.from_document(outcome, active=False, staff=True)
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(
        permission_classes=[Admin],
        description="Admin: load an insurer's registry; upserts by number, bad rows are "
        "reported and skipped. Audited.",
    )
    async def import_policies(self, info: Info, input: ImportPoliciesInput) -> ImportPoliciesResult:
        content = await input.file.read()
        registry = policy_import.parse_registry(content, input.file.filename or "")
        if isinstance(registry, domain.InvalidInput):
            return to_graphql(registry, info.context.caller.locale)
        report = await policy_import.import_registry(caller=info.context.caller, registry=registry)
        locale = info.context.caller.locale
        problems = to_graphql(domain.InvalidInput(report.rejected), locale).fields
        return ImportReport(
            created=report.created,
            updated=report.updated,
            rejected=problems,
            programmes_created=report.programmes_created,
            programmes_updated=report.programmes_updated,
        )
