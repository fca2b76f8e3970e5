"""Execute once, send many: one event's answer is computed once per group of subscriptions
that would receive the same one, and encoded once.

Each subscriber still gets its events through its own subscription (its own filter
decides which events reach it, so the permission check stays per subscriber); only the
work of answering an event is shared. A group is the same document, operation and
variables, asked by the same audience (`SharedEvent.audience`: the owner, or staff of one
role, in one language). The first subscriber of a group to handle the event executes its
selection; the others await that result. A result with errors is not shared (the error
masking rewrites errors in place, per caller): each subscriber executes its own.

Once a group's answer is there, a subscription sends it itself (`Outlet.send`): the
message is the group's encoded text behind the operation's id, written straight to the
socket, without graphql-core executing anything or Strawberry handling a result. A live
subscription whose task is idle is not even woken: the task that computed the group's
answer writes it to its socket as a frame (`Direct`, through kabinet.events.Broker and
kabinet.wire).
"""

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

import orjson
from graphql import ExecutionResult, OperationDefinitionNode

from kabinet.schema.execution import LeafExecutor
from kabinet.wire import FrameWriter

# A group's answer to an event: there, or on its way.
type Answer = ExecutionResult | asyncio.Future[ExecutionResult]


@runtime_checkable
class SharedEvent(Protocol):
    """A subscription's event whose answers can be shared between its subscribers."""

    def audience(self, context: Any) -> Hashable:
        """Who the answer is for: subscribers with equal audiences see equal answers."""
        ...

    def viewer(self, context: Any) -> Hashable:
        """Whose operation it is: an answer naming a personal field (`selection_of`) is
        shared only between equal viewers."""
        ...

    @property
    def answers(self) -> dict[Hashable, Answer]:
        """The answers computed for this event so far, by group."""
        ...

    def answered(self, key: Hashable) -> None:
        """The answer of the group ``key`` is final: those waiting for it may have it."""
        ...


# Fields whose value is the viewer's own (a download link signed for them, see
# kabinet.resolvers.links): a document naming one is shared only within one account.
_PERSONAL = re.compile(r"\b(?:url|cardPdfUrl)\b")


def selection_of(
    operation: OperationDefinitionNode, variables: Mapping[str, Any], viewer: Hashable
) -> Hashable:
    """What decides an answer besides its audience: the document, the operation and the
    coerced variables; and ``viewer`` when the document names a personal field (a word
    match, so at worst an answer is shared less than it could be)."""
    body = operation.loc.source.body if operation.loc else None
    return (
        body,
        operation.name.value if operation.name else None,
        orjson.dumps(variables, default=str, option=orjson.OPT_SORT_KEYS),
        viewer if body is None or _personal(body) else None,
    )


@functools.lru_cache(maxsize=256)
def _personal(body: str) -> bool:
    return _PERSONAL.search(body) is not None


def group(selection: Hashable, audience: Hashable) -> Hashable:
    """The key of a group's answer among an event's `answers`."""
    return (selection, audience)


class SharedData(dict[str, Any]):
    """An answer's `data` shared by a group, with its JSON encoded once, and each protocol
    message's text after the operation's id too."""

    __slots__ = ("_encoded", "_tails")

    def encoded(self) -> str:
        try:
            return self._encoded
        except AttributeError:
            self._encoded: str = orjson.dumps(self).decode()
            return self._encoded

    def tail(self, message_type: str) -> bytes:
        """A message of ``message_type`` carrying this data, from after its `id` member
        (UTF-8)."""
        try:
            tails = self._tails
        except AttributeError:
            tails = self._tails = {}
        text = tails.get(message_type)
        if text is None:
            text = tails[message_type] = "".join(
                ('"type":"', message_type, '","payload":{"data":', self.encoded(), "}}")
            ).encode()
        return text


class Outlet:
    """Where one operation's answers go: its id and message type on its socket."""

    __slots__ = ("frames", "head", "message_type", "send_text")

    def __init__(
        self,
        operation_id: str,
        message_type: str,  # graphql-transport-ws `next`, graphql-ws `data`
        send_text: Callable[[str], Awaitable[None]],
        frames: FrameWriter | None,
    ) -> None:
        self.head = b'{"id":' + orjson.dumps(operation_id) + b","
        self.message_type = message_type
        self.send_text = send_text
        self.frames = frames

    async def send(self, data: SharedData) -> None:
        """``data`` as this operation's message: a frame written at once when the socket
        takes it, else through the ASGI `send` (which waits while the socket is backed up)."""
        tail = data.tail(self.message_type)
        frames = self.frames
        if frames is not None and not frames.closing and not frames.paused:
            frames.write_text(self.head, tail)
        else:
            await self.send_text((self.head + tail).decode())

    def shortcut(self, key: Callable[[Any], Hashable]) -> "Direct | None":
        """The running operation's way past its task (kabinet.events.Shortcut), for its
        group ``key``; None when its socket's frames cannot be written directly."""
        task = asyncio.current_task()
        if self.frames is None or task is None:
            return None
        return Direct(self, self.frames, key, task)


class Direct:
    """A live operation's `kabinet.events.Shortcut`: its group's answer written to its
    socket as one frame by whichever task has it, without waking the operation's own.

    Nothing goes once the operation is being cancelled (the client completed it, or the
    socket is being closed): its task has not run yet, but no message may follow.
    """

    __slots__ = ("_frames", "_outlet", "_task", "key")

    def __init__(
        self,
        outlet: Outlet,
        frames: FrameWriter,
        key: Callable[[Any], Hashable],
        task: "asyncio.Task[Any]",
    ) -> None:
        self._outlet = outlet
        self._frames = frames
        self._task = task
        self.key = key

    @property
    def ready(self) -> bool:
        frames = self._frames
        return not self._task.cancelling() and not frames.closing and not frames.paused

    def send(self, answer: Answer | None) -> bool | None:
        if answer is None:
            return None
        if isinstance(answer, asyncio.Future):
            if not answer.done():
                return None
            answer = answer.result() if not answer.cancelled() and not answer.exception() else None
        data = shared_data(answer)
        frames = self._frames
        if self._task.cancelling() or frames.closing:
            return True  # dropped: nothing goes after a complete or a close
        if data is None or frames.paused:
            return False
        frames.write_text(self._outlet.head, data.tail(self._outlet.message_type))
        return True


# The running operation's outlet, set by the protocol handlers in the operation's task.
OUTLET: ContextVar[Outlet | None] = ContextVar("outlet", default=None)


def shared_data(answer: object) -> SharedData | None:
    """The shared `data` of a group's answer; None when it had errors (each subscriber
    then executes its own)."""
    if isinstance(answer, ExecutionResult) and isinstance(answer.data, SharedData):
        return answer.data
    return None


async def awaited_data(answer: Answer | None) -> SharedData | None:
    """`shared_data` of a group's answer, once the one computing it is done (shielded: one
    subscriber leaving must not cancel what the others await); None when there is none
    yet (this subscriber is the first of its group)."""
    if isinstance(answer, asyncio.Future):
        answer = await asyncio.shield(answer)
    return shared_data(answer)


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


class SharingExecutor(LeafExecutor):
    """`LeafExecutor`; an event that is a `SharedEvent` is executed once per group."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        event = self.root_value
        # None first: a query's root, and a protocol's isinstance costs a lookup per member.
        if event is None or not isinstance(event, SharedEvent) or self.operation.loc is None:
            return super().execute_operation(serially)
        key = group(
            selection_of(
                self.operation, self.variable_values.coerced, event.viewer(self.context_value)
            ),
            event.audience(self.context_value),
        )
        answer = event.answers.get(key)
        if answer is None:  # the first of its group
            result = super().execute_operation(serially)
            if isinstance(result, Awaitable):  # some resolver waits (a loader): a task awaits
                future = event.answers[key] = asyncio.ensure_future(_shareable(result))
                future.add_done_callback(lambda _: event.answered(key))
                return self._from_group(future, serially)
            event.answers[key] = answer = _shareable_now(result)
            event.answered(key)
            return answer
        if isinstance(answer, ExecutionResult):  # no coroutine for the many that follow
            return self._own(answer, serially)
        return self._from_group(answer, serially)

    def _own(self, shared: ExecutionResult, serially: bool | None) -> Any:
        """This subscriber's copy of the group's answer, or its own when that had errors."""
        if (data := shared_data(shared)) is not None:
            return ExecutionResult(data=data, extensions=shared.extensions)
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
