"""The password policy (guide 1.3) and argon2id hashing off the event loop."""

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from kabinet.config import Settings


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = 8
    max_length: int = 128
    requires_uppercase: bool = True
    requires_digit: bool = True
    latin_only: bool = True


PASSWORD_POLICY = PasswordPolicy()

# RFC 9106's second recommended option (argon2id, t=3, m=64 MiB) in one lane instead
# of four: above OWASP's minimum, and a hash keeps to one thread. With four lanes each
# hash ran four threads, and two sign-ins took a 2-core server from its event loop
# (`me` p99 5x its idle value in the benchmark). Older hashes are redone at sign-in.
# A policy, not state: the hasher holds only these parameters.
HASHER = PasswordHasher.from_parameters(dataclasses.replace(RFC_9106_LOW_MEMORY, parallelism=1))


# The lowest priority: a sign-in waits for anything else the process has to do.
HASHING_NICENESS = 19


def _lower_priority() -> None:
    """Hashing threads give way to request handling (Linux: a thread's own nice value)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def default_hashing_threads() -> int:
    """One per core but one: the event loop keeps a core."""
    return max(1, (os.process_cpu_count() or 2) - 1)


class PasswordHashing:
    """argon2id on threads of its own at a lower priority, so sign-ins queue and yield the
    CPU instead of starving the event loop that serves everything else. One per
    application (`Services`) or command; `close` ends its threads."""

    def __init__(self, threads: int) -> None:
        self._threads = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._dummy_hash: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """Sized by `KABINET_PASSWORD_HASHING_THREADS`."""
        return cls(settings.password_hashing_threads or default_hashing_threads())

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    async def _off_the_loop[T](self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work)

    async def hash(self, password: str) -> str:
        return await self._off_the_loop(lambda: HASHER.hash(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """Constant-time verification in a worker thread; a malformed hash is a mismatch."""

        def verify() -> bool:
            try:
                return HASHER.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await self._off_the_loop(verify)

    async def burn_verification_time(self, password: str) -> None:
        """Spend the time a real verification takes, so that unknown accounts are not
        revealed."""
        if self._dummy_hash is None:  # computed once, lazily, not at start-up
            self._dummy_hash = await self.hash("Dummy-password-1")
        await self.verify(self._dummy_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
