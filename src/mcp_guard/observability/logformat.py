"""Log lines as text, JSON or logfmt (`mcp-guard serve --log-format`), for every logger of the process.

A record may carry structured `fields` (the per-call and per-request lines do): JSON puts them beside
`time`, `level`, `logger` and `message`; logfmt and text append them as `key=value` pairs. Host apps that
configure logging themselves can use these formatters on their own handlers.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json", "logfmt"]
FORMATS: tuple[LogFormat, ...] = ("text", "json", "logfmt")
LEVELS = ("debug", "info", "warning", "error", "critical")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record carries (`extra={"fields": {...}}`), or none."""
    found = getattr(record, "fields", None)
    return found if isinstance(found, dict) else {}


def logfmt(pairs: dict[str, Any]) -> str:
    """`key=value` pairs, values quoted when they hold spaces, quotes or `=`; None values left out."""
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in pairs.items() if value is not None)


def _logfmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    if not text or any(c in text for c in ' "=\\\n\t'):
        return json.dumps(text)
    return text


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """The classic line, with a record's fields appended as logfmt pairs."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = fields_of(record)
        return f"{line} {logfmt(pairs)}" if pairs else line


class _StructuredFormatter(logging.Formatter):
    message_key = "message"

    def pairs(self, record: logging.LogRecord) -> dict[str, Any]:
        """time (UTC, ISO 8601), level, logger, the message, the record's fields, any exception."""
        pairs: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            self.message_key: record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info:
            pairs["exception"] = self.formatException(record.exc_info)
        return pairs


class JsonFormatter(_StructuredFormatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.pairs(record), default=str)


class LogfmtFormatter(_StructuredFormatter):
    """One logfmt line (the message under `msg`, as logfmt tools expect)."""

    message_key = "msg"

    def format(self, record: logging.LogRecord) -> str:
        return logfmt(self.pairs(record))


def formatter(kind: LogFormat) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter()
    if kind == "logfmt":
        return LogfmtFormatter()
    return TextFormatter()


def configure_logging(level: str = "info", kind: LogFormat = "text") -> None:
    """One handler on stderr for the whole process (uvicorn's loggers included), in `kind`'s format."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    if kind not in FORMATS:
        raise ValueError(f"log format {kind!r} is not one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # let uvicorn's lines reach our handler
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
