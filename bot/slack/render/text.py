"""Text that goes into Slack messages: escaping, dates, sizes and durations. Pure functions.

Dates use Slack's ``<!date^…>`` token, so every reader sees them in their own time zone and Slack's
own wording; sizes and durations are said in the reader's language (:mod:`bot.i18n`).

Slack parses ``<…>`` in message text as links, mentions and ``<!channel>``-style broadcasts, and
decodes exactly three entities; escaping those three makes any user text inert.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, tzinfo

from bot.i18n import SOURCE, t


def escape(s: str) -> str:
    """Escape ``&``, ``<`` and ``>`` (``&`` first) so no input becomes a mention, a broadcast or a link."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What Slack's mrkdwn would turn into something else: *bold*, _italic_, ~strike~, `code`, a quote at
# the start of a line, :emoji: names, and URLs it would link by itself.
_FORMATTING = re.compile(r"[*_~`]|(?:^|\n)\s*>|:[A-Za-z0-9_+'-]+:|://|\bwww\.", re.IGNORECASE)
GRAVE = "\u02cb"  # ˋ: stands in for a backtick, which would end a code span


def inert(s: str) -> str:
    """Text someone typed (or a cloud message), for mrkdwn, reading exactly as written: escaped, and
    put in a code span (a code block when it has several lines) when Slack would otherwise format it.
    A backtick inside a span becomes ``ˋ``, the only character changed."""
    if not _FORMATTING.search(s):
        return escape(s)
    body = escape(s.replace("`", GRAVE))
    return f"```{body}```" if "\n" in body else f"`{body}`"


def format_time(dt: datetime, fallback_tz: tzinfo = UTC) -> str:
    """A date each reader sees in their own time zone, e.g. ``Mar 9, 2024 at 07:05``.

    Clients that cannot render Slack's date token show the fallback, in ``fallback_tz``. Naive
    times are taken as UTC.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    epoch = math.floor(dt.timestamp())
    at = dt.astimezone(fallback_tz)  # formatted by hand: strftime costs several times as much
    fallback = f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}:{at.second:02d}"
    if zone := at.tzname():
        fallback = f"{fallback} {zone}"
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{escape(fallback)}>"


_SIZE_UNITS = ("MB", "GB", "TB", "PB")


def format_size(mb: float | None, lang: str = SOURCE) -> str:
    """``512 MB``, ``1.5 GB``, ``2 TB``; an unknown size is ``unknown`` in ``lang``."""
    if mb is None or not math.isfinite(mb) or mb < 0:
        return t(lang, "unknown")
    value = float(mb)
    unit = _SIZE_UNITS[0]
    for unit in _SIZE_UNITS:
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            break
        value /= 1024
    if value >= 100 or value == int(value):
        return f"{value:.0f} {unit}"
    return f"{value:.1f} {unit}"


def format_duration(seconds: float, lang: str = SOURCE) -> str:
    """``45 s``, ``1 min 5 s``, ``2 h 3 min``, ``1 d 4 h`` (``1 分钟 5 秒`` in Chinese): the two
    largest units, zeros left out.

    Negative durations are ``0 s``; infinite or NaN ones are ``unknown``.
    """
    if not math.isfinite(seconds):
        return t(lang, "unknown")
    zero = t(lang, "unit.s", n=0)
    if seconds <= 0:
        return zero
    total = round(seconds)
    parts: list[tuple[int, str]] = []
    for size, unit in ((86400, "unit.d"), (3600, "unit.h"), (60, "unit.min"), (1, "unit.s")):
        amount, total = divmod(total, size)
        parts.append((amount, unit))
    first = next((i for i, (amount, _) in enumerate(parts) if amount), len(parts) - 1)
    shown = [t(lang, unit, n=amount) for amount, unit in parts[first : first + 2] if amount]
    return " ".join(shown) or zero
