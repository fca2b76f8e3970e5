"""Prometheus metrics, served at /metrics: each API process is scraped on its own.

Label values are bounded: routes are a fixed list, and GraphQL operation names
(chosen by clients) are kept for the first ``MAX_OPERATION_NAMES`` seen, after
which new ones are counted as ``_other``, so no client can grow the registry.
"""

import re
import time
from collections.abc import Iterator

from graphql import GraphQLError
from prometheus_client import Counter, Gauge, Histogram
from strawberry.extensions import SchemaExtension

OPERATIONS = Counter(
    "kabinet_graphql_operations",
    "GraphQL operations by operation name, type and outcome (ok, error, unexpected).",
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

ROUTES = ("/graphql", "/files", "/static", "/metrics", "/healthz", "/readyz")
MAX_OPERATION_NAMES = 200
_known_operations: set[str] = set()
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


def route_of(path: str) -> str:
    """The route label of a path: one of ROUTES, `/account` for the emailed-link pages."""
    for route in ROUTES:
        if path == route or path.startswith(f"{route}/"):
            return route
    if path in ("/confirm-email", "/reset-password"):
        return "/account"
    return "other"


def operation_label(name: str | None) -> str:
    if not name or not _NAME.match(name):
        return "_anonymous"
    if name not in _known_operations:
        if len(_known_operations) >= MAX_OPERATION_NAMES:
            return "_other"
        _known_operations.add(name)
    return name


def outcome_of(errors: list[GraphQLError] | None) -> str:
    if not errors:
        return "ok"
    if any((error.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR" for error in errors):
        return "unexpected"
    return "error"


class OperationMetrics(SchemaExtension):
    """Counts every operation by name and outcome, and times queries and mutations."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # the document did not parse or names no operation
            kind = "unknown"
        result = context.result
        errors = getattr(result, "errors", None) or context.pre_execution_errors
        OPERATIONS.labels(operation_label(context.operation_name), kind, outcome_of(errors)).inc()
        if kind != "subscription":
            OPERATION_SECONDS.labels(kind).observe(time.perf_counter() - started)
