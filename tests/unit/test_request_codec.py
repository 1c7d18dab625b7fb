"""A request hash read in one pass reads exactly as it does field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.request import BackupRequest, State
from bot.store.requests import _decode, decode_joined, encode_fields, stored_fields

_TEXT = st.text(max_size=60)
_WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def _hash(fields: dict[str, object]) -> dict[bytes, bytes]:
    flat = encode_fields(fields)
    return {k.encode(): v.encode() for k, v in zip(flat[::2], flat[1::2], strict=True)}


def _one_by_one(raw: dict[bytes, bytes]) -> BackupRequest:
    return BackupRequest.model_validate({k.decode(): json.loads(v) for k, v in raw.items()})


@given(
    state=st.sampled_from(list(State)),
    text=_TEXT,
    progress=st.none() | st.integers(min_value=0, max_value=100),
    size=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    begin=st.none() | _WHEN,
    approvals=st.lists(_TEXT, max_size=3),
    deadline=st.none() | st.floats(min_value=0, max_value=4e9),
    everything=st.booleans(),
)
def test_one_pass_reads_what_field_by_field_reads(
    state: State,
    text: str,
    progress: int | None,
    size: float | None,
    begin: datetime | None,
    approvals: list[str],
    deadline: float | None,
    everything: bool,
) -> None:
    request = BackupRequest(
        state=state,
        channel_id="C1",
        user_id="U1",
        instance_ref=text,
        backup_name="b",
        description=text + '"\\\n',
        progress=progress,
        size_mb=size,
        begin_time=begin,
        approvals=approvals,
        deadline=deadline,
        dm_copies=[["U2", "D1", "1.2"]] if everything else [],
    )
    fields = request.model_dump(mode="json") if everything else stored_fields(request)
    raw = _hash(fields)
    assert decode_joined(raw) == _decode(raw) == _one_by_one(raw) == request


def test_an_older_role_number_is_read_by_name_in_one_pass_too() -> None:
    raw = _hash(
        stored_fields(BackupRequest(channel_id="C1", user_id="U1", instance_ref="i", backup_name="b"))
    )
    raw[b"role"] = b"3"
    assert decode_joined(raw).role == _decode(raw).role == "approver"


def test_a_hash_that_is_not_json_fails_as_it_always_did() -> None:
    raw = _hash(
        stored_fields(BackupRequest(channel_id="C1", user_id="U1", instance_ref="i", backup_name="b"))
    )
    raw[b"progress"] = b"not json"
    with pytest.raises(json.JSONDecodeError):
        _decode(raw)
    raw[b"progress"] = b'"many"'
    with pytest.raises(ValidationError):
        _decode(raw)
