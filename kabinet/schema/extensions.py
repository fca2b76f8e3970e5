"""Schema extensions: document limits and masking of unexpected errors."""

import functools
import logging
from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.relay.types import GlobalIDValueError

from kabinet.auth.sessions import reload_session
from kabinet.i18n import translate
from kabinet.schema.loaders import Loaders

logger = logging.getLogger("kabinet.errors")

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000


def is_unexpected(error: GraphQLError) -> bool:
    """Errors we raise on purpose are GraphQLErrors; anything else is a bug to hide."""
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, GlobalIDValueError))


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors by a localised message with the request id, and logs them."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        caller = self.execution_context.context.caller
        logger.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            caller.request_id,
            exc_info=error.original_error,
        )
        return GraphQLError(
            translate("error.unexpected", caller.locale, request_id=caller.request_id),
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": caller.request_id},
        )


class RecheckWebSocketCaller(SchemaExtension):
    """Before each operation on a WebSocket, whose context lives as long as the connection:
    a session ended meanwhile (logout, password change) no longer signs anything in, and
    DataLoaders start empty so no answer comes from an earlier operation's cache.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if context.websocket:
            context.loaders = Loaders()
            caller = context.caller
            if caller.session is not None:
                current = await reload_session(caller.session)
                caller.session, caller.user = current if current else (None, None)
        yield


# Classes or factories, never instances: Strawberry builds them per operation.
EXTENSIONS: list[type[SchemaExtension] | functools.partial[SchemaExtension]] = [
    functools.partial(ParserCache, maxsize=512),
    functools.partial(ValidationCache, maxsize=512),
    functools.partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
    functools.partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
    functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
    MaskUnexpectedErrors,
    RecheckWebSocketCaller,
]
