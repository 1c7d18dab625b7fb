"""Text that goes into Slack messages: escaping, dates, sizes and durations. Pure functions.

Slack parses ``<…>`` in message text as links, mentions and ``<!channel>``-style broadcasts, and
decodes exactly three entities; escaping those three makes any user text inert.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo


def escape(s: str) -> str:
    """Escape ``&``, ``<`` and ``>`` (``&`` first) so no input becomes a mention, a broadcast or a link."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_time(dt: datetime, fallback_tz: tzinfo = UTC) -> str:
    """A date each reader sees in their own time zone, e.g. ``Mar 9, 2024 at 07:05``.

    Clients that cannot render Slack's date token show the fallback, in ``fallback_tz``. Naive
    times are taken as UTC.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    epoch = math.floor(dt.timestamp())
    fallback = dt.astimezone(fallback_tz).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{escape(fallback)}>"


_SIZE_UNITS = ("MB", "GB", "TB", "PB")


def format_size(mb: float | None) -> str:
    """``512 MB``, ``1.5 GB``, ``2 TB``; an unknown size is ``unknown``."""
    if mb is None or not math.isfinite(mb) or mb < 0:
        return "unknown"
    value = float(mb)
    unit = _SIZE_UNITS[0]
    for unit in _SIZE_UNITS:
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            break
        value /= 1024
    if value >= 100 or value == int(value):
        return f"{value:.0f} {unit}"
    return f"{value:.1f} {unit}"


def format_duration(seconds: float) -> str:
    """``45 s``, ``1 min 5 s``, ``2 h 3 min``, ``1 d 4 h``: the two largest units, zeros left out.

    Negative durations are ``0 s``; infinite or NaN ones are ``unknown``.
    """
    if not math.isfinite(seconds):
        return "unknown"
    if seconds <= 0:
        return "0 s"
    total = round(seconds)
    parts: list[tuple[int, str]] = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        amount, total = divmod(total, size)
        parts.append((amount, unit))
    first = next((i for i, (amount, _) in enumerate(parts) if amount), len(parts) - 1)
    shown = [f"{amount} {unit}" for amount, unit in parts[first : first + 2] if amount]
    return " ".join(shown) or "0 s"
