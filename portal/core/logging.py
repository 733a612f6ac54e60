"""Logging helpers."""

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is a refusal, not a fault: keep its one line, drop the traceback Django attaches to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
