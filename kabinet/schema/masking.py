"""Unexpected errors reach the client as a localised message with the request id;
the log gets the traceback under the same id.

This lives in the schema's ``process_errors``, which Strawberry calls with every
error list of every operation (HTTP and WebSocket, inside field execution and
around it), rather than in a MaskErrors extension, which never sees an exception
raised outside field execution (in an extension, for instance).
"""

import logging
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from kabinet import logs
from kabinet.i18n import DEFAULT_LOCALE, Locale, translate
from kabinet.schema.errors import GraphQLErrorCode
from kabinet.schema.extensions import PreparedHooks

logger = logging.getLogger("kabinet.errors")


def is_unexpected(error: GraphQLError) -> bool:
    """Errors we raise on purpose are GraphQLErrors; anything else is a bug to hide."""
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, GlobalIDValueError))


def masked(locale: Locale, request_id: str | None) -> tuple[str, dict[str, object]]:
    """What a client is told of an unexpected error: a message and the extensions."""
    message = translate("error.unexpected", locale, request_id=request_id)
    return message, {"code": GraphQLErrorCode.INTERNAL_SERVER_ERROR, "requestId": request_id}


class KabinetSchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Hooks prepared once per extension class (`PreparedHooks`)."""
        return PreparedHooks(execution_context=execution_context, extensions=extensions)

    async def execute(
        self,
        *args: Any,
        allowed_operation_types: Iterable[OperationType] | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        """One operation with one result. A subscription yields a stream and runs only
        through `subscribe` (the WebSocket); over HTTP it is refused as a wrong operation
        type, where Strawberry would run it as a query and fail with a null root field."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        allowed.discard(OperationType.SUBSCRIPTION)
        return await super().execute(*args, allowed_operation_types=allowed, **kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log and mask the unexpected errors, in place: Strawberry returns this very list.
        Expected errors are the client's answer and are not logged (their messages may
        quote what the client sent)."""
        context = execution_context.context if execution_context else None
        caller = getattr(context, "caller", None)
        request_id = logs.request_id.get()
        locale = caller.locale if caller else DEFAULT_LOCALE
        for position, error in enumerate(errors):
            if not is_unexpected(error):
                continue
            logger.error(
                "unexpected error in %s (request %s)",
                ".".join(str(part) for part in error.path or ()) or "the operation",
                request_id,
                exc_info=error.original_error,
            )
            message, extensions = masked(locale, request_id)
            errors[position] = GraphQLError(
                message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions=extensions,
            )
