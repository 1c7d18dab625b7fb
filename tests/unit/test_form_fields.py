"""The web process's form reader is ``parse_qsl`` read into a dict, field for field, for any text:
the Slack-shaped forms, hostile ones (broken escapes, bytes that are not UTF-8, names repeated,
fields without ``=``), and anything hypothesis makes of the characters that matter."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.local.fake_slack import slash_command_body
from bot.slack.web import form_fields


def _reference(raw: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "&",
        "&&a=1&&",
        "a",
        "a=",
        "=b",
        "=",
        "a=1&a=2",
        "a=1=2",
        "a+b=c+d",
        "%2B=%2b&plus=+",
        "bad=%zz%&half=%4",
        "latin=%E9&utf8=%C3%A9&cjk=%E5%A4%87%E4%BB%BD",
        "semi=1;x=2",
        "text=create+orders-dev+%E2%80%AEevil",
        "payload=%7B%22type%22%3A%22block_actions%22%7D",
    ],
)
def test_hostile_and_odd_forms_read_as_parse_qsl_reads_them(raw: str) -> None:
    assert form_fields(raw) == _reference(raw)


def test_a_slash_command_reads_as_parse_qsl_reads_it() -> None:
    body = slash_command_body("create orders-dev pre-change 说明 & more=yes", user_id="U1", channel_id="C1")
    raw = body.decode() if isinstance(body, bytes) else body
    fields = form_fields(raw)
    assert fields == _reference(raw)
    assert fields["text"] == "create orders-dev pre-change 说明 &amp; more=yes"  # as Slack escapes it


@settings(max_examples=400)
@given(st.text(alphabet=st.sampled_from("ab=&+%20EFéz说;\x00 "), max_size=40) | st.text(max_size=40))
def test_any_text_reads_as_parse_qsl_reads_it(raw: str) -> None:
    assert form_fields(raw) == _reference(raw)
