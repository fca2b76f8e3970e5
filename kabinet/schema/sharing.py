"""Execute once, send many: one event's answer is computed once per group of subscriptions
that would receive the same one, and encoded once.

Each subscriber still gets its events through its own subscription (its own filter
decides which events reach it, so the permission check stays per subscriber); only the
work of answering an event is shared. A group is the same document, operation and
variables, asked by the same audience (`SharedEvent.audience`: the owner, or staff of one
role, in one language). The first subscriber of a group to handle the event executes its
selection; the others await that result. A result with errors is not shared (the error
masking rewrites errors in place, per caller): each subscriber executes its own.
"""

import asyncio
from collections.abc import Awaitable, Hashable, Mapping
from typing import Any, Protocol, runtime_checkable

import orjson
from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


@runtime_checkable
class SharedEvent(Protocol):
    """A subscription's event whose answers can be shared between its subscribers."""

    def audience(self, context: Any) -> Hashable:
        """Who the answer is for: subscribers with equal audiences see equal answers."""
        ...

    @property
    def answers(self) -> dict[Hashable, "ExecutionResult | asyncio.Future[ExecutionResult]"]:
        """The answers computed for this event so far, by group."""
        ...


class SharedData(dict[str, Any]):
    """An answer's `data` shared by a group, with its JSON encoded once."""

    __slots__ = ("_encoded",)

    def encoded(self) -> str:
        try:
            return self._encoded
        except AttributeError:
            self._encoded: str = orjson.dumps(self).decode()
            return self._encoded


def encode_message(message: Mapping[str, Any]) -> str:
    """A protocol message as JSON text; a payload that is only shared `data` is not encoded
    again."""
    payload = message.get("payload")
    if isinstance(payload, dict) and payload.keys() == {"data"}:
        data = payload["data"]
        if isinstance(data, SharedData):
            head = orjson.dumps({key: value for key, value in message.items() if key != "payload"})
            return "".join((head[:-1].decode(), ',"payload":{"data":', data.encoded(), "}}"))
    return orjson.dumps(message).decode()


class SharingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; an event that is a `SharedEvent` is executed once per group."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        event = self.root_value
        if not isinstance(event, SharedEvent) or self.operation.loc is None:
            return super().execute_operation(serially)
        group = (
            self.operation.loc.source.body,
            self.operation.name.value if self.operation.name else None,
            orjson.dumps(self.variable_values.coerced, default=str, option=orjson.OPT_SORT_KEYS),
            event.audience(self.context_value),
        )
        answer = event.answers.get(group)
        if answer is None:  # the first of its group
            result = super().execute_operation(serially)
            if isinstance(result, Awaitable):  # some resolver waits (a loader): a task awaits
                event.answers[group] = asyncio.ensure_future(_shareable(result))
                return self._from_group(event.answers[group], serially)
            event.answers[group] = answer = _shareable_now(result)
            return answer
        if isinstance(answer, ExecutionResult):  # no coroutine for the many that follow
            return self._own(answer, serially)
        return self._from_group(answer, serially)

    def _own(self, shared: ExecutionResult, serially: bool | None) -> Any:
        """This subscriber's copy of the group's answer, or its own when that had errors."""
        if isinstance(shared.data, SharedData):
            return ExecutionResult(data=shared.data, extensions=shared.extensions)
        return super().execute_operation(serially)

    async def _from_group(
        self, answer: "asyncio.Future[ExecutionResult]", serially: bool | None
    ) -> ExecutionResult:
        # Shielded: one subscriber leaving must not cancel the answer the others await.
        return await _awaited(self._own(await asyncio.shield(answer), serially))


def _shareable_now(result: ExecutionResult) -> ExecutionResult:
    """``result`` with its data marked for sharing; a result with errors stays its own."""
    if result.errors or result.data is None:
        return result
    return ExecutionResult(data=SharedData(result.data), extensions=result.extensions)


async def _shareable(result: Awaitable[ExecutionResult]) -> ExecutionResult:
    return _shareable_now(await result)


async def _awaited(result: Any) -> ExecutionResult:
    return await result if isinstance(result, Awaitable) else result
