"""Log lines: JSON, one object per line, tagged with the work being handled.

The runner sets :data:`current_work` (``req:r-…``) while a handler runs, so every line about a request
can be found by its ID. Secrets never reach a log: they are ``SecretStr`` everywhere.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

# The work key being handled in this task (``req:r-…``), for log lines and metrics.
current_work: contextvars.ContextVar[str] = contextvars.ContextVar("current_work", default="")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_REQUEST_KINDS = ("req:", "expire:")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if work := current_work.get():
            entry["work"] = work
            if work.startswith(_REQUEST_KINDS):
                entry["request_id"] = work.split(":", 1)[1]
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def pinned(name: str) -> logging.Logger:
    """The logger ``name`` with its level pinned to the level it logs at now. slack_sdk and Bolt ask
    ``logger.level <= DEBUG`` — the logger's own level, not the effective one — before building
    their debug lines (each call's parameters and headers, each middleware's name, formatted as
    text), so a logger left at NOTSET (0) builds them on every call and throws them away. With the
    bot logging at DEBUG they still appear."""
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


def configure_logging(level: str = "INFO", *, as_json: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
