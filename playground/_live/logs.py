"""Each live server's own log: uvicorn's loggers are global, so each line is routed to the server whose
task logged it, and never reaches stderr (in a kernel, whichever cell runs next would show it).

A server's task, and every connection it accepts, runs in a context where ``current_log`` is that
server's log; ``ServedApp`` sets it again on each call, for uvicorn's ``reset_contextvars`` option.
"""

from __future__ import annotations

import contextvars
import logging

MAX_LOG_LINES = 1000
UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class ServerLog(logging.Handler):
    """One server's log lines, formatted like uvicorn's console (``INFO: ...``), the newest last."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted must not break the server
            self.handleError(record)
        if len(self.lines) > MAX_LOG_LINES:
            del self.lines[: len(self.lines) - MAX_LOG_LINES]


current_log: contextvars.ContextVar[ServerLog | None] = contextvars.ContextVar("playground_server_log",
                                                                               default=None)


class RouteToServer(logging.Filter):
    """On uvicorn's loggers while a server runs: a record logged inside one of our servers goes to that
    server's log and no further (so never to stderr); any other record passes untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.users = 0
        # uvicorn logs access lines only when the access logger has a handler somewhere above it.
        self.null_handler = logging.NullHandler()

    def filter(self, record: logging.LogRecord) -> bool:
        log = current_log.get()
        if log is None:
            return True
        log.handle(record)
        return False

    def acquire(self) -> None:
        """A server starts: route uvicorn's loggers (the first server puts the filter on)."""
        if self.users == 0:
            for name in UVICORN_LOGGERS:
                logging.getLogger(name).addFilter(self)
            logging.getLogger("uvicorn").addHandler(self.null_handler)
        self.users += 1

    def release(self) -> None:
        """A server has ended (the last one takes the filter off again)."""
        self.users -= 1
        if self.users == 0:
            for name in UVICORN_LOGGERS:
                logging.getLogger(name).removeFilter(self)
            logging.getLogger("uvicorn").removeHandler(self.null_handler)


router = RouteToServer()
