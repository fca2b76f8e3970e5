"""The password policy (guide 1.3) and argon2id hashing off the event loop."""

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY


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
_hasher = PasswordHasher.from_parameters(dataclasses.replace(RFC_9106_LOW_MEMORY, parallelism=1))


# The lowest priority: a sign-in waits for anything else the process has to do.
HASHING_NICENESS = 19


def _lower_priority() -> None:
    """Hashing threads give way to request handling (Linux: a thread's own nice value)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


# Threads of their own, one per core but one, at a lower priority: sign-ins queue and
# yield the CPU instead of starving the event loop that serves everything else.
_hashing = ThreadPoolExecutor(
    max_workers=max(1, (os.process_cpu_count() or 2) - 1),
    thread_name_prefix="argon2",
    initializer=_lower_priority,
)


async def _off_the_loop[T](work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, work)


async def hash_password(password: str) -> str:
    return await _off_the_loop(lambda: _hasher.hash(password))


async def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time verification in a worker thread; a malformed hash is a mismatch."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await _off_the_loop(verify)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


_dummy_hash: str | None = None


async def burn_verification_time(password: str) -> None:
    """Spend the time a real verification takes, so that unknown accounts are not revealed."""
    global _dummy_hash  # computed once, lazily, not at import
    if _dummy_hash is None:
        _dummy_hash = await hash_password("Dummy-password-1")
    await verify_password(_dummy_hash, password)
