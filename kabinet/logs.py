"""Logs: JSON lines in production, readable lines in development, each carrying the
id of the HTTP request, WebSocket operation or outbox message it belongs to.

What is logged never includes a password, a code or a token: messages name
accounts by id and recipients masked, the access log leaves out query strings
(the emailed links carry tokens there), and expected GraphQL errors, which may
quote what a client sent, are not logged at all.
"""

import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

from kabinet.config import LogFormat, Settings

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    """32 random hex digits, as a UUID4's hex without building the UUID."""
    return os.urandom(16).hex()


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the fields a log pipeline indexes."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


QUIET_LIBRARIES = {
    "pymongo": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "uvicorn.error": logging.INFO,
    "websockets": logging.INFO,
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(settings: Settings) -> None:
    """Send every logger (uvicorn's too) through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_WithRequestId())
    json_lines = settings.log_format is LogFormat.JSON or (
        settings.log_format is None and settings.production
    )
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Libraries whose detail is secrets: PyMongo's DEBUG lines are whole commands
    # (personal data, message bodies); httpx logs every URL it calls at INFO (the SMS
    # gateway's may carry a key); uvicorn's and websockets' DEBUG lines are WebSocket
    # frames and handshake headers (tokens, passwords in mutations).
    for name, quietest in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(root.level, quietest))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
