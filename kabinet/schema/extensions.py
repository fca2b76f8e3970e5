"""Schema extensions: document limits, validation as configured, fresh WebSocket callers;
and their hooks, prepared once per extension class (`PreparedHooks`)."""

import contextlib
import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from types import TracebackType
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    get_operation_ast,
    validate,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from kabinet import logs
from kabinet.auth.sessions import reload_session
from kabinet.i18n import N_, translate
from kabinet.metrics import OperationMetrics
from kabinet.schema.errors import GraphQLErrorCode
from kabinet.schema.limits import MAX_OBJECTS, count_fixed_objects, count_objects
from kabinet.schema.loaders import Loaders
from kabinet.schema.memo import per_document
from kabinet.schema.shape import MAX_ALIASES, MAX_DEPTH, MAX_FIELDS, Shape, measure

MAX_TOKENS = 2000


class RecheckWebSocketCaller(SchemaExtension):
    """Before each operation on a WebSocket, whose context lives as long as the connection:
    a session ended meanwhile (logout, password change) no longer signs anything in, and
    DataLoaders start empty so no answer comes from an earlier operation's cache.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if context.websocket:
            # Each operation on the socket is a request of its own in the logs; this runs
            # in the operation's own task, so the id stays with it.
            logs.request_id.set(f"{context.caller.request_id}.{logs.new_request_id()[:8]}")
            context.loaders = Loaders()
            caller = context.caller
            if caller.session is not None:
                current = await reload_session(caller.session)
                caller.session, caller.user = current if current else (None, None)
        yield


@per_document(maxsize=512)
def validate_cached(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    *,
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """graphql-core's validation with Strawberry's own rules, cached per parsed document
    (ParserCache hands out the same document object for the same text)."""
    every_rule = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, every_rule, hide_suggestions=hide_suggestions)


class ConfiguredValidation(SchemaExtension):
    """Validation as the deployment asks: introspection only while `KABINET_INTROSPECTION`
    allows it, no "did you mean" suggestions in production (they map a hidden schema),
    and at most `MAX_OBJECTS` objects per document (see kabinet.schema.limits).
    Replaces Strawberry's ValidationCache, whose cache key cannot carry these settings.

    The document's shape (depth, aliases, expanded fields; kabinet.schema.shape) is
    checked first, in time linear in its size, so no rule after it ever walks a
    document whose fragments expand beyond the limits.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is None:  # pragma: no cover - Strawberry validates parsed documents only
            yield
            return
        settings = context.context.services.settings
        rules = context.validation_rules
        if not settings.introspection:
            rules = (*rules, NoSchemaIntrospectionCustomRule)
        errors = self._within_shape_limits(measure(document).shape)
        if not errors:
            errors = validate_cached(
                context.schema._schema, document, rules, hide_suggestions=settings.production
            )
        if not errors:
            errors = self._within_object_limit(document, hide_suggestions=settings.production)
        context.pre_execution_errors = errors
        yield

    def _within_shape_limits(self, shape: Shape) -> list[GraphQLError]:
        locale = self.execution_context.context.caller.locale
        return [
            GraphQLError(
                translate(key, locale, count=count, limit=limit),
                extensions={"code": code, "count": count, "limit": limit},
            )
            for code, key, count, limit in (
                (GraphQLErrorCode.TOO_DEEP, N_("error.too_deep"), shape.depth, MAX_DEPTH),
                (
                    GraphQLErrorCode.TOO_MANY_ALIASES,
                    N_("error.too_many_aliases"),
                    shape.aliases,
                    MAX_ALIASES,
                ),
                (
                    GraphQLErrorCode.TOO_MANY_FIELDS,
                    N_("error.too_many_fields"),
                    shape.fields,
                    MAX_FIELDS,
                ),
            )
            if count > limit
        ]

    def _within_object_limit(
        self, document: DocumentNode, *, hide_suggestions: bool
    ) -> list[GraphQLError]:
        """Coerces the variables as execution will (so their errors, too, keep the schema's
        names to themselves in production), then counts the objects with them; an
        operation without variables is counted once per document."""
        context = self.execution_context
        schema = context.schema._schema
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:  # Strawberry answers an unknown operation name itself
            return []
        if operation.variable_definitions:
            variables = get_variable_values(
                schema,
                operation.variable_definitions,
                context.variables or {},
                hide_suggestions=hide_suggestions,
            )
            if isinstance(variables, list):
                return variables
            objects = count_objects(schema, document, operation, variables)
        else:  # variables sent anyway are ignored, as execution ignores them
            objects = count_fixed_objects(schema, document, operation)
        return [self._too_many(objects)] if objects > MAX_OBJECTS else []

    def _too_many(self, objects: int) -> GraphQLError:
        locale = self.execution_context.context.caller.locale
        return GraphQLError(
            translate("error.too_many_objects", locale, count=objects, limit=MAX_OBJECTS),
            extensions={
                "code": GraphQLErrorCode.TOO_MANY_OBJECTS,
                "objects": objects,
                "limit": MAX_OBJECTS,
            },
        )


class LimitedParserCache(ParserCache):
    """Strawberry's ParserCache (each query text parsed once, the last 512 kept), parsing
    at most MAX_TOKENS tokens as Strawberry's MaxTokensLimiter has it parse, without the
    hook of its own that extension adds to every operation."""

    def __init__(self) -> None:
        super().__init__(maxsize=512)

    def on_parse(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
        yield from super().on_parse()


# Classes or factories, never instances: Strawberry builds them per operation; each hook
# an extension has costs every operation a context manager.
EXTENSIONS: list[type[SchemaExtension] | functools.partial[SchemaExtension]] = [
    OperationMetrics,
    LimitedParserCache,
    ConfiguredValidation,
    RecheckWebSocketCaller,
]


class PreparedHooks(SchemaExtensionsRunner):
    """Strawberry's runner, with each extension class's hooks prepared once per process.
    Strawberry's context managers look up every extension's hook for their stage,
    inspect it, wrap it with contextlib and enter it through an exit stack, on each
    operation: sixteen lookups, four wraps and four exit stacks for kabinet's four
    extensions. Here a stage runs its extensions' generator hooks directly (`DirectHooks`);
    a hook of another kind (a plain or coroutine function) keeps Strawberry's handling."""

    def operation(self) -> OperationContextManager:
        return _with_hooks(OperationContextManager, self.extensions)

    def validation(self) -> ValidationContextManager:
        return _with_hooks(ValidationContextManager, self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _with_hooks(ParsingContextManager, self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _with_hooks(ExecutingContextManager, self.extensions)


type Hook = Callable[[SchemaExtension], Generator[None] | AsyncGenerator[None]]
# What `_prepared` returns for a hook it leaves to Strawberry.
_STRAWBERRYS = object()
# By stage and extension class: its hook and whether it is asynchronous, None when the
# class has no hook for the stage.
_HOOKS: dict[tuple[type, type], tuple[Hook, bool] | object | None] = {}


def _with_hooks[M: ExtensionContextManagerBase](
    stage: type[M], extensions: list[SchemaExtension]
) -> M:
    """``stage``'s context manager for ``extensions``: their hooks in Strawberry's order."""
    hooked = []
    for extension in extensions:
        key = (stage, type(extension))
        if key not in _HOOKS:
            _HOOKS[key] = _prepared(stage, type(extension))
        prepared = _HOOKS[key]
        if prepared is _STRAWBERRYS:
            return stage(extensions)
        if prepared is not None:
            hook, is_async = prepared  # type: ignore[misc]
            hooked.append((extension, hook, is_async))
    if not hooked:
        return _UNHOOKED  # type: ignore[return-value]
    return DirectHooks(stage, hooked)  # type: ignore[return-value]


def _prepared(
    stage: type[ExtensionContextManagerBase], extension_class: type[SchemaExtension]
) -> tuple[Hook, bool] | object | None:
    hook = getattr(extension_class, stage.HOOK_NAME)
    if hook is getattr(SchemaExtension, stage.HOOK_NAME):
        return None
    if inspect.isgeneratorfunction(hook):
        return hook, False
    if inspect.isasyncgenfunction(hook):
        return hook, True
    return _STRAWBERRYS


class DirectHooks(ExtensionContextManagerBase):
    """A stage's generator hooks, each advanced to its `yield` on the way in and past it on
    the way out, in reverse order, with no context manager or exit stack per hook.

    Only the exceptional paths go through contextlib, with the hooks already started: an
    exception leaving the stage, or a hook that fails or does not stop on its way out, is
    handled by an exit stack as Strawberry's manager's exit stack handles it (hooks
    further out see the exception, may suppress it or raise their own). A hook that fails
    or does not yield on its way in lets the hooks already in leave with its error, where
    Strawberry's leaves them suspended until they are collected. A stage entered
    synchronously (`execute_sync`) is Strawberry's own, as are its errors."""

    def __init__(
        self,
        stage: type[ExtensionContextManagerBase],
        hooked: list[tuple[SchemaExtension, Hook, bool]],
    ) -> None:
        self.HOOK_NAME = stage.HOOK_NAME
        self.default_hook = getattr(SchemaExtension, stage.HOOK_NAME)
        self.hooked = hooked
        self.hooks = []
        self.started: list[tuple[Generator[None] | AsyncGenerator[None], bool]] = []

    def __enter__(self) -> None:
        self.hooks = [
            WrappedHook(
                extension, _as_manager(functools.partial(hook, extension), is_async), is_async
            )
            for extension, hook, is_async in self.hooked
        ]
        super().__enter__()

    async def __aenter__(self) -> None:
        started = self.started
        for extension, hook, is_async in self.hooked:
            generator = hook(extension)
            try:
                if await _advanced(generator, is_async):
                    started.append((generator, is_async))
                    continue
                error: BaseException = RuntimeError("generator didn't yield")
            except BaseException as raised:
                error = raised
            # The hooks already in see the error on their way out, then it goes on.
            await _unwind(started, error)
            raise error

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        started = self.started
        if exc_val is not None:
            return await _unwind(started, exc_val)
        while started:
            generator, is_async = started.pop()
            try:
                if not await _advanced(generator, is_async):
                    continue
                error: BaseException = RuntimeError("generator didn't stop")
                await _closed(generator, is_async)
            except BaseException as raised:
                error = raised
            # As an exit stack goes on: the hooks further out see the error, and unless
            # one suppresses it, it leaves the stage.
            if not await _unwind(started, error):
                raise error
            return False
        return False


async def _advanced(generator: Generator[None] | AsyncGenerator[None], is_async: bool) -> bool:
    """Runs a hook on to its next `yield`: whether it reached one (else it finished). What
    the hook raises is raised from here."""
    try:
        if is_async:
            await anext(generator)  # type: ignore[arg-type]
        else:
            next(generator)  # type: ignore[arg-type]
    except (StopIteration, StopAsyncIteration):
        return False
    return True


async def _unwind(
    started: list[tuple[Generator[None] | AsyncGenerator[None], bool]], error: BaseException
) -> bool:
    """Leaves the ``started`` hooks, last first, with ``error`` raised in the stage, as
    contextlib's exit stack leaves them: whether they suppressed it. A hook's own error
    is raised from here, as the exit stack raises it."""
    stack = contextlib.AsyncExitStack()
    for generator, is_async in started:
        if is_async:
            stack.push_async_exit(contextlib.asynccontextmanager(lambda g=generator: g)())
        else:
            stack.push(contextlib.contextmanager(lambda g=generator: g)())
    started.clear()
    return await stack.__aexit__(type(error), error, error.__traceback__)


async def _closed(generator: Generator[None] | AsyncGenerator[None], is_async: bool) -> None:
    if is_async:
        await generator.aclose()  # type: ignore[union-attr]
    else:
        generator.close()  # type: ignore[union-attr]


class _Unhooked(ExtensionContextManagerBase):
    """A stage no extension hooks into (executing, for kabinet's): entering and leaving it
    do nothing, where Strawberry's manager opens and closes an empty exit stack. It keeps
    no state, so one serves every operation."""

    def __init__(self) -> None:
        self.hooks = []

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_UNHOOKED = _Unhooked()


def _as_manager(start: Callable[[], Any], is_async: bool) -> Callable[[], Any]:
    wrap = contextlib.asynccontextmanager if is_async else contextlib.contextmanager
    return wrap(start)
