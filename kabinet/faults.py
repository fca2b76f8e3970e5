"""Crash points for tests: the process exits at once at a named point, to prove that what
was written before it is recovered after a restart (`KABINET_TEST_FAULT`, refused in
production by the settings)."""

import logging
import os

from kabinet.config import Fault, Settings

logger = logging.getLogger(__name__)

# What a crashed process exits with, so a test can tell the fault from another death.
FAULT_EXIT_CODE = 86


def crash_at(settings: Settings, fault: Fault) -> None:
    """Exit the process now, without cleaning up, if ``fault`` is the configured one."""
    if settings.test_fault is fault:
        logger.critical("KABINET_TEST_FAULT=%s: exiting at once", fault.value)
        logging.shutdown()
        os._exit(FAULT_EXIT_CODE)
