"""How long a backup is kept and when a planned one starts: durations, the policy's retention and who
may ask for what, start times read in the requester's zone, and the grammar of --keep, --at and
/backup keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import available_timezones

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain import grammar
from bot.domain.lifetimes import (
    AT_LATEST,
    LAST_MOMENT,
    START_REFUSALS,
    Keep,
    KeepRefusal,
    Retention,
    StartRefusal,
    allowed_keep,
    duration_text,
    notice_at,
    parse_keep,
    picked_start,
    start_time,
    zone,
)
from bot.domain.policy_file import PolicyError, parse_policy

DAY = 86400
NOW = datetime(2026, 12, 1, 20, 0, 0, tzinfo=UTC)  # 04:00 on Dec 2 in Shanghai


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("12h", 12 * 3600), ("14d", 14 * DAY), ("2w", 14 * DAY), ("90m", 5400), ("30s", 30), ("14D", 14 * DAY)],
)
def test_durations(typed: str, seconds: int) -> None:
    assert parse_keep(typed) == Keep(seconds)


@pytest.mark.parametrize("typed", ["", "14", "d", "0d", "-1d", "1.5d", "14 d", "1y", "99999999d", "for ever"])
def test_what_is_not_a_duration(typed: str) -> None:
    assert parse_keep(typed) is None


def test_forever_and_how_durations_read_back() -> None:
    assert parse_keep("forever") == Keep(None) and Keep(None).forever and Keep(None).text() == "forever"
    assert [duration_text(s) for s in (14 * DAY, DAY, 5400, 45, 3 * DAY)] == ["2w", "1d", "90m", "45s", "3d"]
    assert parse_keep(Keep(5400).text()) == Keep(5400)


def test_the_policy_default_applies_when_nothing_is_asked() -> None:
    assert allowed_keep(Retention(14 * DAY, 90 * DAY), None, approver=False) == Keep(14 * DAY)
    assert allowed_keep(Retention(), None, approver=False) == Keep(None)  # no retention: kept forever
    assert allowed_keep(Retention(), Keep(DAY), approver=False) == Keep(DAY)  # but anyone may ask


def test_max_bounds_everyone_and_forever_is_for_approvers() -> None:
    policy = Retention(14 * DAY, 90 * DAY)
    assert allowed_keep(policy, Keep(90 * DAY), approver=False) == Keep(90 * DAY)
    with pytest.raises(KeepRefusal) as long:
        allowed_keep(policy, Keep(91 * DAY), approver=True)  # "the longest anyone may ask for"
    assert long.value.reason == "too_long" and long.value.longest == 90 * DAY
    with pytest.raises(KeepRefusal) as forever:
        allowed_keep(policy, Keep(None), approver=False)
    assert forever.value.reason == "forever_needs_approver"
    assert allowed_keep(policy, Keep(None), approver=True) == Keep(None)


def test_the_notice_comes_a_day_before_or_halfway_for_a_short_life() -> None:
    assert notice_at(0, 14 * DAY) == 13 * DAY
    assert notice_at(100, 100 + DAY) == 100 + DAY / 2
    assert notice_at(0, 6) == 3


def test_a_clock_time_is_its_next_occurrence_in_the_requesters_zone() -> None:
    shanghai = zone("Asia/Shanghai")
    assert start_time("21:45", NOW, shanghai) == datetime(2026, 12, 2, 13, 45, tzinfo=UTC)
    assert start_time("03:00", NOW, shanghai) == datetime(2026, 12, 2, 19, 0, tzinfo=UTC)  # tomorrow there
    assert start_time("21:45", NOW, UTC) == datetime(2026, 12, 1, 21, 45, tzinfo=UTC)
    assert start_time("19:00", NOW, UTC) == datetime(2026, 12, 2, 19, 0, tzinfo=UTC)


def test_a_date_and_time_is_read_in_the_zone_with_optional_seconds() -> None:
    new_york = zone("America/New_York")
    assert start_time("2026-12-03T21:45", NOW, new_york) == datetime(2026, 12, 4, 2, 45, tzinfo=UTC)
    assert start_time("2026-12-01T20:00:05", NOW, UTC) == NOW + timedelta(seconds=5)
    epoch = int((NOW + timedelta(hours=2)).timestamp())
    assert start_time(f"@{epoch}", NOW, new_york) == NOW + timedelta(hours=2)  # the form's picker


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("2026-12-01T19:59", "past"),
        ("2026-12-01T20:00", "past"),
        ("2026-12-08T20:00:01", "too_far"),
        ("2026-02-30T10:00", "malformed"),
        ("25:00", "malformed"),
        ("tomorrow", "malformed"),
    ],
)
def test_times_that_cannot_be_used(typed: str, reason: str) -> None:
    with pytest.raises(StartRefusal) as refused:
        start_time(typed, NOW, UTC)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("typed", "where", "reason"),
    [
        ("9999-12-31T23:59", "America/New_York", "too_far"),  # no UTC moment: after the calendar's end
        ("9999-12-31T23:59:59", "Pacific/Honolulu", "too_far"),
        ("9999-12-31T23:59", "", "too_far"),
        ("0001-01-01T00:00", "Asia/Tokyo", "past"),  # no UTC moment: before the calendar's start
        ("0001-01-01T00:00", "", "past"),
        ("0000-01-01T00:00", "Asia/Tokyo", "malformed"),
        ("@999999999999999", "America/New_York", "too_far"),  # a picker past the calendar
        (f"@{LAST_MOMENT + 1}", "", "too_far"),
        (f"@{LAST_MOMENT}", "", "too_far"),
        ("@0", "Asia/Tokyo", "past"),
        ("@\u00b2", "", "malformed"),  # a digit to str.isdigit, not to int
        ("@-5", "", "malformed"),
        ("@1.5", "", "malformed"),
        ("@" + "9" * 16, "", "malformed"),
    ],
)
def test_times_at_the_edge_of_the_calendar_are_refused_not_raised(
    typed: str, where: str, reason: str
) -> None:
    with pytest.raises(StartRefusal) as refused:
        start_time(typed, NOW, zone(where))
    assert refused.value.reason == reason


ZONES = st.sampled_from(["", *sorted(available_timezones())]).map(zone)
NOWS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
STAMPS = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}{}".format,
    st.integers(0, 9999) | st.sampled_from([1, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["", ":00", ":59"]),
)
TOKENS = st.one_of(
    st.text(max_size=40),
    STAMPS,
    st.from_regex(r"@[0-9\u00b2\u0663-]{0,17}", fullmatch=True),
    st.integers(-1, 10**16).map("@{}".format),
    st.from_regex(r"[0-9]{1,2}:[0-9]{2}", fullmatch=True),
)


@settings(max_examples=600)
@given(token=TOKENS, now=NOWS, tz=ZONES)
@example(token="9999-12-31T23:59", now=NOW, tz=zone("America/New_York"))
@example(token="0001-01-01T00:00", now=NOW, tz=zone("Asia/Tokyo"))
@example(token="@999999999999999", now=NOW, tz=UTC)
def test_a_start_time_is_a_moment_within_a_week_or_a_refusal_never_an_error(
    token: str, now: datetime, tz: tzinfo
) -> None:
    try:
        when = start_time(token, now, tz)
    except StartRefusal as refused:
        assert refused.reason in START_REFUSALS
        return
    assert when.tzinfo is UTC and now < when and (when - now).total_seconds() <= AT_LATEST


def test_the_pickers_moment_is_a_start_time_only_when_a_datetime_can_hold_it() -> None:
    assert picked_start(1_800_000_000) == "@1800000000" and picked_start(LAST_MOMENT) == f"@{LAST_MOMENT}"
    for moment in (LAST_MOMENT + 1, 999_999_999_999_999, -1, True, 1.5, "1800000000", None, [1]):
        assert picked_start(moment) is None, moment


def test_an_unknown_zone_is_utc() -> None:
    assert zone("") is UTC and zone("Mars/Olympus") is UTC and zone("../etc/passwd") is UTC


def test_create_takes_keep_and_at_between_the_name_and_the_description() -> None:
    parsed = grammar.parse("create orders-prod pre-42 --keep 7d --at 21:45 before the migration")
    assert parsed == grammar.Create(
        instance="orders-prod",
        name="pre-42",
        description="before the migration",
        keep=Keep(7 * DAY),
        at="21:45",
    )
    reversed_order = grammar.parse("create orders-prod pre-42 --at 2026-12-24T21:45 --keep forever")
    assert isinstance(reversed_order, grammar.Create)
    assert (reversed_order.keep, reversed_order.at, reversed_order.description) == (
        Keep(None),
        "2026-12-24T21:45",
        "",
    )
    later = grammar.parse("create orders-prod pre-42 the --keep flag goes before the description")
    assert (
        isinstance(later, grammar.Create)
        and later.keep is None
        and later.description.startswith("the --keep")
    )


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("create db pre-1 --keep", "problem.flag_value"),
        ("create db pre-1 --keep 7 days", "problem.keep"),
        ("create db pre-1 --keep 7d --keep 8d", "problem.flag_twice"),
        ("create db pre-1 --at noon", "problem.at"),
        ("create db pre-1 --at", "problem.flag_value"),
        ("keep r-abcdefghjk", "problem.keep_words"),
        ("keep r-abcdefghjk 3 days", "problem.keep_words"),
        ("keep r-abcdefghjk soon", "problem.keep"),
        ("keep <@U1> 7d", "problem.markup"),
    ],
)
def test_bad_flags_and_keep_commands_say_what_is_wrong(typed: str, problem: str) -> None:
    parsed = grammar.parse(typed)
    assert isinstance(parsed, grammar.Invalid) and parsed.problem.key == problem


def test_keep_names_a_request_or_a_backup() -> None:
    assert grammar.parse("keep r-abcdefghjk 30d") == grammar.KeepFor("r-abcdefghjk", Keep(30 * DAY))
    by_backup = grammar.parse("keep 9a3c3ee1d1a94ba9b2a1f2f0e2b4c5d6br07 forever")
    assert isinstance(by_backup, grammar.KeepFor) and not by_backup.is_request_id and by_backup.keep.forever


def test_the_policy_file_reads_retention() -> None:
    policy = parse_policy('roles:\n  operator: ["*"]\nretention:\n  default: 14d\n  max: 90d\n')
    assert policy.retention == Retention(14 * DAY, 90 * DAY)
    forever = parse_policy('roles:\n  operator: ["*"]\nretention:\n  default: forever\n')
    assert forever.retention == Retention(None, None)
    assert parse_policy('roles:\n  operator: ["*"]\n').retention == Retention()


@pytest.mark.parametrize(
    ("retention", "line", "says"),
    [
        ("  default: 14 days\n", 4, 'retention.default: "14 days" is not a duration'),
        ("  max: forever\n", 4, 'retention.max: "forever" is not a duration'),
        ("  default: 30d\n  max: 7d\n", 4, "retention.default: longer than retention.max"),
        ("  keep: 7d\n", 4, "keep"),
    ],
)
def test_a_bad_retention_names_its_line(retention: str, line: int, says: str) -> None:
    with pytest.raises(PolicyError) as bad:
        parse_policy('roles:\n  operator: ["*"]\nretention:\n' + retention)
    assert bad.value.line == line and says in str(bad.value)
