"""Requests in the API (guide section 4), by use case: `types` (what a request looks
like), `inputs` (what clients send), `operations` (queries and mutations), `live`
(subscriptions) and `notifications` (how status changes reach the person)."""

from kabinet.schema.requests.inputs import RequestFilter
from kabinet.schema.requests.live import RequestsSubscription
from kabinet.schema.requests.notifications import NotificationSettings, NotificationsMutation
from kabinet.schema.requests.operations import RequestsMutation, RequestsQuery, request_connection
from kabinet.schema.requests.types import Attachment, RequestConnection

__all__ = [
    "Attachment",
    "NotificationSettings",
    "NotificationsMutation",
    "RequestConnection",
    "RequestFilter",
    "RequestsMutation",
    "RequestsQuery",
    "RequestsSubscription",
    "request_connection",
]
