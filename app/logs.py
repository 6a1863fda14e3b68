"""Logs: one JSON object per line on standard error (python-json-logger),
each carrying the id of the request it was written for.

Every logger of the process (the app's, uvicorn's, the webhook worker's)
goes through the root logger's one handler configured here. Requests are
logged once each, by app/observability.py, with the route's template and
never its path or query string: a set-password link's token is in its
path, and uvicorn's own access log, which would print it, is off."""

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from app.config import Settings

# The request being served by this task or thread (FastAPI copies the
# context into the threads that run sync routes), or None outside requests.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# An incoming X-Request-ID is kept when it looks like an id (a proxy's or a
# client's), so one id follows a request through every system it touches;
# anything else (too long, or with characters a log reader might trip on) is
# replaced with a new one.
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
JSON_NAMES = {"levelname": "level", "name": "logger"}
# Libraries whose debug or info lines carry secrets, kept at WARNING even at
# LOG_LEVEL=debug: SQLAlchemy logs every statement's parameters (password
# hashes, webhook signing secrets), python-multipart each form field (a
# password as it is typed), httpx and httpcore each webhook URL and its headers.
QUIET = ("sqlalchemy", "multipart", "python_multipart", "httpx", "httpcore")


def incoming_or_new(value: str | None) -> str:
    if value and WELL_FORMED_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get()
        return True


class _Handler(logging.StreamHandler):
    """Ours, so that configuring again replaces it rather than adding a
    second. It writes to standard error as it is at each line (as the
    standard library's last-resort handler does), so a test capturing it
    or a server redirecting it gets every line."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "console":
        return logging.Formatter(CONSOLE_FORMAT)
    # uvicorn's `color_message` repeats the message with terminal colour codes.
    reserved = [*RESERVED_ATTRS, "color_message"]
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, timestamp="time", reserved_attrs=reserved)


def configure(settings: Settings) -> None:
    """Route every log record through one handler in the chosen format, at LOG_LEVEL."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(settings.log_format))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's loggers propagate to ours (`hie serve` gives uvicorn no logging config).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
