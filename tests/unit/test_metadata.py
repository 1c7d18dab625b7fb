"""A view's ``private_metadata`` is read back only as the bot wrote it: any other shape (not JSON, not
an object, a field that is not text of its own shape) reads as None, never as a string made of it."""

from __future__ import annotations

import json

import pytest

from bot.slack.payloads import DecisionMetadata, FormMetadata, is_channel_id, metadata
from bot.slack.render.views import form_metadata


def test_the_forms_own_metadata_reads_back() -> None:
    meta = metadata(FormMetadata, form_metadata("C6META", "https://hooks.slack.com/x", "ab" * 16))
    assert meta == FormMetadata(channel_id="C6META", response_url="https://hooks.slack.com/x", seal="ab" * 16)
    assert metadata(FormMetadata, form_metadata("")) == FormMetadata()  # the shortcut's form
    assert metadata(FormMetadata, "") == FormMetadata()


@pytest.mark.parametrize(
    "text",
    [
        "{channel_id: C6",
        '["C6META"]',
        '"C6META"',
        "null",
        "7",
        "[" * 10_000,
        json.dumps({"channel_id": {"id": "C6META"}}),
        json.dumps({"channel_id": 6}),
        json.dumps({"channel_id": "#general; rm"}),
        json.dumps({"channel_id": "U6META"}),
        json.dumps({"channel_id": "C6META", "seal": ["x"]}),
        json.dumps({"channel_id": "C6META", "seal": 1}),
        json.dumps({"channel_id": "C6META", "response_url": {}}),
        json.dumps({"channel_id": "C6META", "response_url": "x" * 3000}),
    ],
)
def test_form_metadata_the_bot_did_not_write_reads_as_none(text: str) -> None:
    assert metadata(FormMetadata, text) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": {"id": "r-aaaaaaaaaa"}},
        {"request_id": "r-aaaaaaaaaa; x"},
        {"request_id": 5},
        {"request_id": "r-aaaaaaaaaa", "channel_id": ["C1"]},
        {"request_id": "r-aaaaaaaaaa", "channel_id": "C1", "ts": 1700000000.1},
    ],
)
def test_decision_metadata_of_another_shape_reads_as_none(fields: dict[str, object]) -> None:
    assert metadata(DecisionMetadata, json.dumps(fields)) is None


def test_decision_metadata_says_which_message_it_came_from() -> None:
    full = metadata(
        DecisionMetadata, json.dumps({"request_id": "r-aaaaaaaaaa", "channel_id": "C1", "ts": "1.2"})
    )
    assert full is not None and (full.request_id, full.seen) == ("r-aaaaaaaaaa", ("C1", "1.2"))
    bare = metadata(DecisionMetadata, json.dumps({"request_id": "r-aaaaaaaaaa", "channel_id": "", "ts": ""}))
    assert bare is not None and bare.seen is None


@pytest.mark.parametrize(
    ("value", "shaped"),
    [
        ("C0123ABC", True),
        ("G0123", True),
        ("D0123", True),
        ("", False),
        ("#general", False),
        ("U0123", False),
        ("C0123; rm", False),
        ("c0123", False),
        ("C" + "1" * 30, False),
    ],
)
def test_a_picked_channel_must_be_a_conversation_id(value: str, shaped: bool) -> None:
    assert is_channel_id(value) is shaped
