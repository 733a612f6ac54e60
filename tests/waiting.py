"""Waiting for something another process or thread does, with a deadline (not a timed assertion)."""

import time


def wait_for(predicate, timeout=60.0, every=0.1, what="condition"):
    """Call `predicate` until it returns something true (and return that), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true within {timeout}s")
        time.sleep(every)
