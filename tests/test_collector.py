"""Memory without the cyclic collector's help (kabinet.collector): an operation's state is
freed by reference counting as the answer leaves, not left in reference cycles (a cycle
through a `me`'s context held its thousand objects until the next collection); a serving
process collects rarely, and not what it built at start."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from bench.floor import READ_QUERY
from kabinet.app import create_app
from kabinet.collector import YOUNG_OBJECTS
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents.base import Document
from kabinet.schema.context import Context
from kabinet.schema.execution import LeafExecutor
from kabinet.schema.loaders import Loaders
from tests.requests_support import callback, customer
from tests.support import Api, Mailbox

# What an operation builds and nothing else keeps: in a cycle only if the operation left one.
OPERATION_STATE = (Context, Loaders, LeafExecutor, Document)


@contextmanager
def cyclic_garbage() -> Iterator[list[object]]:
    """The objects made unreachable within the block that only the cyclic collector can free."""
    gc.collect()
    gc.disable()
    found: list[object] = []
    try:
        yield found
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def operation_state(garbage: list[object]) -> list[str]:
    return sorted({type(o).__qualname__ for o in garbage if isinstance(o, OPERATION_STATE)})


def test_the_probe_finds_an_operations_state_left_in_a_cycle():
    with cyclic_garbage() as garbage:
        loop: list[object] = [Loaders()]
        loop.append(loop)
        del loop
    assert operation_state(garbage) == ["Loaders"]


async def test_reading_me_and_filing_a_request_leave_no_cycles(api: Api, mailbox: Mailbox):
    token = await customer(api, mailbox)
    await callback(api, token)
    with cyclic_garbage() as garbage:
        me = await api.data(READ_QUERY, token=token)
        filed = await callback(api, token)
    assert me["me"]["requests"]["edges"]
    assert filed["__typename"] == "Request"
    assert operation_state(garbage) == []


async def test_a_serving_app_tunes_the_collector_once_started(
    settings: Settings, database: Database
):
    app = create_app(settings, database=database, tune_collector=True)
    defaults = gc.get_threshold()
    assert defaults[0] != YOUNG_OBJECTS
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == (YOUNG_OBJECTS, *defaults[1:])
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*defaults)
