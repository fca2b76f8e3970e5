"""The API's shape: Strawberry types, inputs, errors and the one Schema."""

import functools
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig

from kabinet.schema.account import AccountMutation, AccountQuery
from kabinet.schema.addresses import AddressesMutation
from kabinet.schema.audit import AuditQuery
from kabinet.schema.contacts import ContactsMutation
from kabinet.schema.coverage import CoverageQuery
from kabinet.schema.errors import GraphQLErrorCode
from kabinet.schema.execution import resolve_directly
from kabinet.schema.extensions import EXTENSIONS
from kabinet.schema.labels import LabelsQuery
from kabinet.schema.masking import KabinetSchema
from kabinet.schema.policies import PoliciesMutation, PoliciesQuery
from kabinet.schema.privacy import PrivacyMutation
from kabinet.schema.profile import ProfileMutation
from kabinet.schema.providers import ProvidersMutation, ProvidersQuery
from kabinet.schema.requests import (
    NotificationsMutation,
    RequestsMutation,
    RequestsQuery,
    RequestsSubscription,
)
from kabinet.schema.scalars import DateTime
from kabinet.schema.sharing import SharingExecutor


@strawberry.type
class NodeQuery:
    node: relay.Node | None = relay.node(
        description="Any object with an id, if the caller may see it."
    )


@strawberry.type(description="What a client can read: its own account and, for staff, the rest.")
class Query(
    NodeQuery,
    AccountQuery,
    PoliciesQuery,
    CoverageQuery,
    ProvidersQuery,
    RequestsQuery,
    AuditQuery,
    LabelsQuery,
):
    pass


@strawberry.type(description="What a client can change; most results are a union of outcomes.")
class Mutation(
    AccountMutation,
    ProfileMutation,
    ContactsMutation,
    AddressesMutation,
    PoliciesMutation,
    ProvidersMutation,
    RequestsMutation,
    NotificationsMutation,
    PrivacyMutation,
):
    pass


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws or graphql-ws).")
class Subscription(RequestsSubscription):
    pass


@functools.cache
def build_schema() -> strawberry.Schema:
    """The schema, built once per process (Strawberry's relay fields cannot be built twice)."""
    schema = KabinetSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[GraphQLErrorCode],  # no field returns it: clients type `extensions.code` by it
        extensions=EXTENSIONS,
        execution_context_class=SharingExecutor,
        config=StrawberryConfig(relay_max_results=100, scalar_map={datetime: DateTime}),
    )
    resolve_directly(schema)
    return schema
