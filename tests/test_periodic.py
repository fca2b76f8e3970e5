"""The loop behind every background task: a failed round neither ends it nor goes unseen."""

import asyncio
import contextlib
import logging
from datetime import timedelta

import pytest

from kabinet.periodic import repeat


async def test_a_failing_round_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture):
    rounds: list[int] = []
    third = asyncio.Event()

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise ConnectionError("the database hiccupped")
        if len(rounds) == 3:
            third.set()

    with caplog.at_level(logging.ERROR, logger="kabinet.periodic"):
        task = asyncio.create_task(repeat(work, timedelta(milliseconds=1), what="a chore"))
        async with asyncio.timeout(5):
            await third.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    (failure,) = caplog.records
    assert failure.getMessage().startswith("a chore failed")
    assert isinstance(failure.exc_info[1], ConnectionError)
    assert rounds[:3] == [0, 1, 2]
