"""Prometheus metrics, served at /metrics: each API process is scraped on its own.

Label values are bounded, so no client can grow the registry: routes are a fixed
list, and an operation is labelled by the schema field it starts from, not by the
name a client gives it.
"""

import time
from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, get_operation_ast
from prometheus_client import Counter, Gauge, Histogram
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

OPERATIONS = Counter(
    "kabinet_graphql_operations",
    "GraphQL operations by root field, type and outcome (ok, error, unexpected).",
    ["operation", "type", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "kabinet_graphql_operation_duration_seconds",
    "Time to answer a query or mutation (subscriptions are not timed).",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter(
    "kabinet_http_requests",
    "HTTP requests by method, route and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "kabinet_http_request_duration_seconds",
    "Time to the end of the HTTP response, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS = Gauge("kabinet_websocket_connections", "Open WebSocket connections.")
SUBSCRIPTIONS = Gauge("kabinet_subscriptions", "Active subscriptions to request events.")
SUBSCRIPTION_EVENTS_DIRECT = Counter(
    "kabinet_subscription_events_direct",
    "Live events written to a subscriber's socket past its own task (its group's answer).",
)
OUTBOX_BACKLOG = Gauge(
    "kabinet_outbox_backlog", "Messages waiting to be sent, read at scrape time.", ["channel"]
)
OUTBOX_DELIVERED = Counter("kabinet_outbox_delivered", "Messages delivered.", ["channel"])
OUTBOX_FAILURES = Counter(
    "kabinet_outbox_delivery_failures",
    "Failed delivery attempts; final=true when the message was given up.",
    ["channel", "final"],
)
RATE_LIMITED = Counter(
    "kabinet_rate_limit_rejections", "Attempts refused by a rate limit, by limit.", ["limit"]
)
LOGIN_SLOWDOWNS = Counter(
    "kabinet_login_slowdowns",
    "Sign-ins delayed because their account had more attempts than `login:account` allows.",
)

_META_FIELDS = frozenset({"__typename", "__schema", "__type"})
ROUTES = ("/graphql", "/files", "/static", "/metrics", "/healthz", "/readyz")
# The methods a request is counted by; any other token a client sends is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Each metric's child per label values: `labels` validates and converts the values and
# takes the metric's lock on every call, several times per request. Values are bounded
# (see the module), and so is this.
_CHILDREN: dict[tuple[object, tuple[str, ...]], Any] = {}


def labelled(metric: Counter | Gauge | Histogram, *values: str) -> Any:
    """``metric.labels(*values)``, found once."""
    key = (metric, values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*values)
    return child


def method_of(method: str) -> str:
    """The method label of a request: its method, or "other" for a token of its own."""
    return method if method in METHODS else "other"


def route_of(path: str) -> str:
    """The route label of a path: one of ROUTES, `/account` for the emailed-link pages."""
    for route in ROUTES:
        if path == route or path.startswith(f"{route}/"):
            return route
    if path in ("/confirm-email", "/reset-password"):
        return "/account"
    return "other"


def operation_label(context: ExecutionContext) -> str:
    """The schema field an operation starts from (`login`, `me`; the first, if several):
    bounded by the schema, unlike the names clients give their operations."""
    document = context.graphql_document
    operation = get_operation_ast(document, context.operation_name) if document else None
    root = context.schema._schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return "_unknown"
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            return name if name in root.fields or name in _META_FIELDS else "_invalid"
    return "_fragments"


def outcome_of(errors: list[GraphQLError] | None) -> str:
    if not errors:
        return "ok"
    if any((error.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR" for error in errors):
        return "unexpected"
    return "error"


class OperationMetrics(SchemaExtension):
    """Counts every operation by its root field and outcome, and times queries and
    mutations; first among the extensions, so a failure in another is counted too."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        finally:
            self._count(time.perf_counter() - started, failed=failed)

    def _count(self, seconds: float, *, failed: bool) -> None:
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # the document did not parse or names no operation
            kind = "unknown"
        errors = getattr(context.result, "errors", None) or context.pre_execution_errors
        outcome = "unexpected" if failed else outcome_of(errors)
        labelled(OPERATIONS, operation_label(context), kind, outcome).inc()
        if kind != "subscription":
            labelled(OPERATION_SECONDS, kind).observe(seconds)
