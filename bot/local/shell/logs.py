"""Where the bot's log goes in local mode, and how the shell learns that the bot itself failed.

The log would drown the conversation, so it goes to a file in the local folder. Every ERROR record
from the bot's own loggers (``bot.*``) and from Bolt (``slack_bolt.*``: an exception in a listener)
is counted, and announced in the transcript; a session with any of them exits with status 1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

BOT_LOGGERS = ("bot", "slack_bolt")
_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class BotErrors(logging.Handler):
    """Counts ERROR (and worse) records of the bot's loggers; ``announce`` hears each one."""

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.announce = announce

    def emit(self, record: logging.LogRecord) -> None:
        if not any(record.name == name or record.name.startswith(name + ".") for name in BOT_LOGGERS):
            return
        self.count += 1
        if self.announce is not None:
            try:
                self.announce(f"{record.name}: {record.getMessage()}")
            except Exception:
                self.handleError(record)


def log_to_file(path: Path, level_name: str = "INFO") -> BotErrors:
    """Send every log record at ``level_name`` (``LOG_LEVEL``) or above to ``path`` instead of stderr;
    returns the error counter, already installed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    level = logging.getLevelName(level_name.upper())
    file_handler.setLevel(level if isinstance(level, int) else logging.INFO)
    errors = BotErrors()
    root.addHandler(file_handler)
    root.addHandler(errors)
    root.setLevel(min(file_handler.level, logging.ERROR))
    return errors
