"""Prefect defaults for a local, offline, serverless run; set before Prefect is imported.

Each is only a default: a value already in the environment (or a Prefect profile) wins.
"""

from __future__ import annotations

import logging
import os

DEFAULTS = {
    # No server configured: Prefect starts a temporary local one, ~12 s on 2 cores, and the
    # first start on an empty PREFECT_HOME can exceed the 20 s default.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Log lines of the pipeline's own modules reach the flow run logs (row counts per step).
    "PREFECT_LOGGING_EXTRA_LOGGERS": "arrears",
    # ... and outside a flow run (command-line work, the first run's key file warning) they go
    # to the console only, instead of a warning that no flow run is there to receive them.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def configure() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


class _WithoutTraceback:
    """A console formatter that leaves out a record's traceback (the API handler keeps it)."""

    def __init__(self, inner: logging.Formatter) -> None:
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def brief_console() -> None:
    """Prefect's console lines without tracebacks: a failed run then ends with the command's
    one error line (`arrears --verbose` keeps them). Call after Prefect has set up logging."""
    loggers = [logging.getLogger()] + [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".")[0] in ("prefect", "arrears")
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler.formatter, _WithoutTraceback
            ):
                handler.setFormatter(_WithoutTraceback(handler.formatter or logging.Formatter()))  # type: ignore[arg-type]
