"""The cyclic garbage collector, tuned for a process that serves kabinet.

Reference counting frees an operation's objects as its answer leaves (tests/test_collector.py
checks that an operation leaves no cycles). At CPython's defaults the cyclic collector
still ran whenever 2,000 more container objects had been made than freed: with a few
operations in flight (a `me` holds about a thousand while it runs) that was every five
`me`s, each run freeing nothing, and every few hundred `me`s a full collection walked the
150,000 objects the process built at start (modules, the schema), about 0.1 s each time.

So, once the server has started, what exists then (it lives as long as the process) is
moved out of the collector's sight, and the youngest generation is collected after
YOUNG_OBJECTS net allocations: twenty `me`s in flight. Cyclic garbage that some path still
makes is collected as before, only later; it never exceeds that many objects uncollected.
"""

import gc

YOUNG_OBJECTS = 20_000


def tune_for_serving() -> None:
    """Called once the server has started; for a process that serves kabinet alone."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, old)
