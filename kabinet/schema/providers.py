"""The provider directory in the API (issue 17 item 4): `providers`, `importProviders`,
and the `Provider` requests and their outcomes name."""

from collections.abc import Awaitable, Iterable
from typing import Annotated, Self

import strawberry
from beanie import PydanticObjectId
from graphql import GraphQLError
from strawberry import relay
from strawberry.file_uploads import Upload

from kabinet import documents
from kabinet.documents import ProviderDocument
from kabinet.documents.provider import GeoPoint as GeoPointValue
from kabinet.i18n import translate
from kabinet.resolvers import errors as domain
from kabinet.resolvers import providers, registry_import
from kabinet.schema.context import Info
from kabinet.schema.enums import publish
from kabinet.schema.errors import GraphQLErrorCode, InputError, invalid_cursor, to_graphql
from kabinet.schema.ids import object_id
from kabinet.schema.pagination import (
    Counted,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from kabinet.schema.permissions import Admin, SignedIn
from kabinet.schema.policies import ImportReport

ProviderKind = publish(
    documents.ProviderKind,
    description="What a provider of the network is.",
    values={
        documents.ProviderKind.CLINIC: "A clinic: doctor appointments.",
        documents.ProviderKind.LABORATORY: "A laboratory: lab tests.",
        documents.ProviderKind.PHARMACY: "A pharmacy: medications.",
    },
)

Weekday = publish(
    documents.provider.Weekday,
    description="A day of the week.",
    values={day: day.name.capitalize() + "." for day in documents.provider.Weekday},
)


@strawberry.type(description="When a provider is open on one day of the week.")
class OpeningHours:
    day: Weekday = strawberry.field(description="The day.")  # type: ignore[valid-type]
    opens: str = strawberry.field(description='Opens, "HH:MM" local time.')
    closes: str = strawberry.field(description='Closes, "HH:MM"; "24:00" is midnight.')


@strawberry.type(description="A point on the map (WGS 84).")
class GeoPoint:
    lat: float = strawberry.field(description="Latitude, degrees.")
    lon: float = strawberry.field(description="Longitude, degrees.")


@strawberry.type(description="A clinic, laboratory or pharmacy of the network.")
class Provider(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="The insurer's registry code.")
    kind: ProviderKind = strawberry.field(description="Clinic, laboratory or pharmacy.")  # type: ignore[valid-type]
    name: str = strawberry.field(description="Name.")
    city: str = strawberry.field(description="City.")
    address: str = strawberry.field(description="Street address, as one line.")
    phones: list[str] = strawberry.field(description="Phones, E.164.")
    specialties: list[str] = strawberry.field(
        description="What it offers: a clinic's specialties, a laboratory's tests."
    )
    opening_hours: list[OpeningHours] = strawberry.field(
        description="The days it is open, Monday first; a day not listed is closed."
    )
    programmes: list[str] = strawberry.field(
        description="The programmes whose cards it accepts (as a card's `program`)."
    )
    location: GeoPoint | None = strawberry.field(description="Where it is, when known.")

    @classmethod
    def from_document(cls, document: ProviderDocument) -> Self:
        location = document.location
        return cls(
            id=str(document.id),
            code=document.code,
            kind=document.kind,
            name=document.name,
            city=document.city,
            address=document.address,
            phones=list(document.phones),
            specialties=list(document.specialties),
            opening_hours=[
                OpeningHours(day=hours.day, opens=hours.opens, closes=hours.closes)
                for hours in document.opening_hours
            ],
            programmes=list(document.programmes),
            location=GeoPoint(lat=location.lat, lon=location.lon) if location else None,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Any provider, for anyone signed in."""
        ids = list(node_ids)
        if info.context.caller.user is None:
            return [None for _ in ids]
        wanted = [oid for node_id in ids if (oid := object_id(node_id))]
        loaded = await info.context.loaders.provider.load_many(wanted)
        found = {str(provider.id): provider for provider in loaded if provider}
        return [cls.from_document(found[i]) if i in found else None for i in ids]


def provider_of(
    info: Info, provider_id: PydanticObjectId | None
) -> Awaitable[Provider | None] | None:
    """The directory's provider a request or an outcome names (null: none, or no longer in
    the directory); a page of requests reads all of theirs in one query."""
    if provider_id is None:
        return None
    return _shown(info.context.loaders.provider.load(provider_id))


async def _shown(pending: Awaitable[ProviderDocument | None]) -> Provider | None:
    document = await pending
    return Provider.from_document(document) if document else None


@strawberry.type(description="One provider in a list.")
class ProviderEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")
    node: Provider = strawberry.field(description="The provider.")
    distance_km: float | None = strawberry.field(
        description="How far it is from `filter.near`, in km; null without a point."
    )


@strawberry.type(description="A page of providers.")
class ProviderConnection(Counted):
    edges: list[ProviderEdge] = strawberry.field(description="The providers of this page.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")


@strawberry.input(description="A point to order providers by distance from.")
class NearInput:
    lat: float = strawberry.field(description="Latitude, -90 to 90.")
    lon: float = strawberry.field(description="Longitude, -180 to 180.")
    radius_km: float | None = strawberry.field(
        default=None,
        description=f"Only providers this close, in km: above 0, at most "
        f"{providers.MAX_RADIUS_KM:g} (default {providers.DEFAULT_RADIUS_KM:g}).",
    )


@strawberry.input(description="Narrow the directory; all given conditions apply.")
class ProviderFilter:
    city: str | None = strawberry.field(
        default=None, description="The city, in Ukrainian or Latin letters, any case."
    )
    kind: ProviderKind | None = strawberry.field(default=None, description="Of this kind.")  # type: ignore[valid-type]
    specialty: str | None = strawberry.field(
        default=None, description="Offers this specialty (the whole name, any case)."
    )
    programme: str | None = strawberry.field(
        default=None, description="Accepts cards of this programme (a card's `program`)."
    )
    text: str | None = strawberry.field(
        default=None,
        description="Words the name's words begin with, in Ukrainian or Latin letters, any "
        'case ("добро", "dobro").',
    )
    near: NearInput | None = strawberry.field(
        default=None,
        description="Order by distance from this point, nearest first, within its radius; "
        "providers without a location are left out then.",
    )

    def value(self) -> providers.ProviderFilter:
        near = self.near
        return providers.ProviderFilter(
            city=self.city,
            kind=self.kind,
            specialty=self.specialty,
            programme=self.programme,
            text=self.text,
            near=providers.Near(
                point=GeoPointValue(lat=near.lat, lon=near.lon),
                radius_km=providers.DEFAULT_RADIUS_KM if near.radius_km is None else near.radius_km,
            )
            if near
            else None,
        )


@strawberry.input(description="The insurer's provider directory file.")
class ImportProvidersInput:
    file: Upload = strawberry.field(description="CSV or JSON, as in docs/provider-import.md.")


ImportProvidersResult = Annotated[
    ImportReport | InputError,
    strawberry.union("ImportProvidersResult", description="The report, or why the file failed."),
]


def _invalid_argument(invalid: domain.InvalidInput, info: Info) -> GraphQLError:
    locale = info.context.caller.locale
    fields = to_graphql(invalid, locale).fields
    return GraphQLError(
        translate("error.input", locale),
        extensions={
            "code": GraphQLErrorCode.INVALID_ARGUMENT,
            "fields": [
                {"field": f.field, "code": f.code.name, "message": f.message} for f in fields
            ],
        },
    )


@strawberry.type
class ProvidersQuery:
    @strawberry.field(
        permission_classes=[SignedIn],
        description="The clinics, laboratories and pharmacies of the network: by name, or by "
        "distance from `filter.near`. Every filter is served by an index; an invalid one is "
        "an INVALID_ARGUMENT error.",
    )
    async def providers(
        self,
        info: Info,
        filter: ProviderFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ProviderConnection:
        given = (filter or ProviderFilter()).value()
        try:
            page = await providers.find_providers(
                given=given,
                first=page_size(first),
                after=decode_cursor(after) if after is not None else None,
            )
        except providers.BadCursor:
            raise invalid_cursor(info.context.caller.locale) from None
        if isinstance(page, domain.InvalidInput):
            raise _invalid_argument(page, info)
        tag = providers.BY_NAME if given.near is None else providers.BY_DISTANCE
        edges = [
            ProviderEdge(
                cursor=encode_cursor(providers.encode_position(tag, document, distance)),
                node=Provider.from_document(document),
                distance_km=round(distance, 3) if distance is not None else None,
            )
            for document, distance in page.providers
        ]
        return ProviderConnection(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges], has_next=page.has_next, after=after
            ),
            count=page.count,
        )


@strawberry.type
class ProvidersMutation:
    @strawberry.mutation(
        permission_classes=[Admin],
        description="Admin: load the provider directory; upserts by code, bad rows are "
        "reported and skipped. Audited.",
    )
    async def import_providers(
        self, info: Info, input: ImportProvidersInput
    ) -> ImportProvidersResult:
        content = await input.file.read()
        registry = registry_import.parse_registry(content, input.file.filename or "")
        locale = info.context.caller.locale
        if isinstance(registry, domain.InvalidInput):
            return to_graphql(registry, locale)
        report = await providers.import_registry(caller=info.context.caller, registry=registry)
        problems = to_graphql(domain.InvalidInput(report.rejected), locale).fields
        return ImportReport(created=report.created, updated=report.updated, rejected=problems)


@strawberry.type
class NamesProvider:
    """Request details or an outcome that may name a provider of the directory."""

    provider_id: strawberry.Private[PydanticObjectId | None] = None

    @strawberry.field(
        description="The provider of the directory it names; null when none (or typed as "
        "text), or no longer in the directory.",
        graphql_type=Provider | None,
    )
    def provider(self, info: Info) -> Awaitable[Provider | None] | None:
        return provider_of(info, self.provider_id)
