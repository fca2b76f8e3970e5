"""Background work that runs again and again for the life of the process."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

logger = logging.getLogger(__name__)


async def repeat(
    work: Callable[[], Awaitable[object]], every: timedelta, *, what: str, first_now: bool = True
) -> None:
    """Run ``work`` every ``every`` (first at once, unless ``first_now`` is false) until the
    task is cancelled; a failure (a database hiccup) is logged as ``what`` and the next
    round comes as usual."""
    if not first_now:
        await asyncio.sleep(every.total_seconds())
    while True:
        try:
            await work()
        except Exception:
            logger.exception("%s failed; trying again in %s", what, every)
        await asyncio.sleep(every.total_seconds())
