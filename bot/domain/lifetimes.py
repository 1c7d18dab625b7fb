"""How long a backup is kept, and when a backup planned for later starts (pure).

Durations are typed as a number and a unit — ``90m``, ``12h``, ``14d``, ``2w`` (``s`` too, for
completeness) — or ``forever``. A start time is ``21:45`` (the next 21:45 in the requester's time
zone), ``2026-12-24T21:45`` or ``2026-12-24T21:45:30``, read in that zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FOREVER = "forever"
_DURATION_RE = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONGEST = 3650 * 86400  # ten years: past that, "forever" is what was meant
AT_LATEST = 7 * 86400  # a backup may be planned at most this far ahead
NOTICE_BEFORE = 86400  # the requester hears of a deletion one day before it
MORE_DAYS = 30 * 86400  # what the Keep button adds

START_REFUSALS = ("malformed", "past", "too_far")
KEEP_REFUSALS = ("too_long", "forever_needs_approver")

_CLOCK_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_PICKED_RE = re.compile(r"@([0-9]{1,15})")
LAST_MOMENT = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime can hold
_STAMP_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")


@dataclass(frozen=True, slots=True)
class Keep:
    """How long to keep a backup: ``seconds``, or None for forever."""

    seconds: float | None

    @property
    def forever(self) -> bool:
        return self.seconds is None

    def text(self) -> str:
        return FOREVER if self.seconds is None else duration_text(self.seconds)


def parse_keep(token: str) -> Keep | None:
    """``14d`` → 14 days; ``forever``; None for anything else."""
    token = token.strip().lower()
    if token == FOREVER:
        return Keep(None)
    found = _DURATION_RE.fullmatch(token)
    if found is None:
        return None
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    return Keep(seconds) if seconds <= LONGEST else None


def duration_text(seconds: float) -> str:
    """The largest whole unit: 1209600 → ``2w``, 86400 → ``1d``, 5400 → ``90m``."""
    whole = int(seconds)
    for unit in ("w", "d", "h", "m"):
        if whole >= _UNITS[unit] and whole % _UNITS[unit] == 0:
            return f"{whole // _UNITS[unit]}{unit}"
    return f"{whole}s"


@dataclass(frozen=True, slots=True)
class Retention:
    """The policy's ``retention``: ``default`` (None: kept forever unless asked otherwise) and
    ``longest`` (``max``; None: no limit), in seconds."""

    default: float | None = None
    longest: float | None = None


class KeepRefusal(Exception):
    """Why a keep was refused: ``forever_needs_approver`` or ``too_long`` (with the longest)."""

    def __init__(self, reason: str, longest: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.longest = longest


def allowed_keep(retention: Retention, asked: Keep | None, *, approver: bool) -> Keep:
    """What a backup is kept for: ``asked`` (or the default), if the policy allows it to this person:
    no longer than ``max``, and "forever" only for approvers. Raises :class:`KeepRefusal`. Without a
    ``max``, anyone may ask for anything."""
    keep = asked if asked is not None else Keep(retention.default)
    if retention.longest is None:
        return keep
    if keep.forever:
        if asked is None or approver:  # the policy's own default is never refused
            return keep
        raise KeepRefusal("forever_needs_approver", retention.longest)
    assert keep.seconds is not None
    if keep.seconds > retention.longest and asked is not None:
        raise KeepRefusal("too_long", retention.longest)
    return keep


def notice_at(completed: float, delete_at: float) -> float:
    """When the requester hears of the deletion: a day before it, or halfway for a backup kept
    less than two days (there is always time to press Keep)."""
    return max(delete_at - NOTICE_BEFORE, completed + (delete_at - completed) / 2)


def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (Slack's ``tz``), UTC when unknown or empty."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def is_start_time(token: str) -> bool:
    return bool(_CLOCK_RE.fullmatch(token) or _STAMP_RE.fullmatch(token))


def picked_start(moment: object) -> str | None:
    """The form's date-time picker (its ``selected_date_time``) as a start time, ``@<epoch seconds>``;
    None unless it is a whole number of seconds from 1970 to the last one a datetime can hold."""
    if isinstance(moment, bool) or not isinstance(moment, int) or not 0 <= moment <= LAST_MOMENT:
        return None
    return f"@{moment}"


class StartRefusal(Exception):
    """``malformed``, ``past`` or ``too_far``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def start_time(token: str, now: datetime, tz: tzinfo) -> datetime:
    """The moment ``token`` names, in UTC: a clock time is its next occurrence after ``now``; a date
    and time is read in ``tz``; ``@<epoch seconds>`` is the form's date-time picker. Raises
    :class:`StartRefusal` (and nothing else) unless it is after ``now`` and at most seven days ahead:
    a time at the edge of the calendar, with no UTC moment of its own, is past or too far."""
    local_now = now.astimezone(tz)
    if picked := _PICKED_RE.fullmatch(token):  # the form's picker
        seconds = int(picked.group(1))
        if seconds > LAST_MOMENT:
            raise StartRefusal("too_far")
        at = datetime.fromtimestamp(seconds, UTC)
    elif clock := _CLOCK_RE.fullmatch(token):
        at = local_now.replace(hour=int(clock.group(1)), minute=int(clock.group(2)), second=0, microsecond=0)
        if at <= local_now:
            try:
                at = (at.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
            except OverflowError:  # tomorrow is past the end of the calendar
                raise StartRefusal("too_far") from None
    elif stamp := _STAMP_RE.fullmatch(token):
        year, month, day, hour, minute = (int(stamp.group(i)) for i in range(1, 6))
        try:
            at = datetime(year, month, day, hour, minute, int(stamp.group(6) or 0), tzinfo=tz)
        except ValueError:
            raise StartRefusal("malformed") from None
    else:
        raise StartRefusal("malformed")
    try:
        when = at.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 east of UTC or year 9999 west of it
        raise StartRefusal(
            "too_far" if at.replace(tzinfo=None) > local_now.replace(tzinfo=None) else "past"
        ) from None
    if when <= now:
        raise StartRefusal("past")
    if (when - now).total_seconds() > AT_LATEST:
        raise StartRefusal("too_far")
    return when
