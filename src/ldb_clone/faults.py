"""A test-only crash switch: ``LDB_TEST_CRASH_AT=<step>`` ends the process at that step.

The tests use it to kill a command at an exact point (as ``kill -9`` would) and check that
the next run finds everything consistent. It is read only at a few named steps, never in
a per-file loop.
"""

from __future__ import annotations

import os

CRASH_VARIABLE = "LDB_TEST_CRASH_AT"


def crash_point(step: str) -> None:
    """Exit at once with code 137 (like SIGKILL) when the environment names ``step``."""
    if os.environ.get(CRASH_VARIABLE) == step:
        os._exit(137)
