"""Text that would render as something else: refused when people type it, inert when shown.

Two halves of one rule. What people type into a free-text field (description, reference, reject
reason) may not hold characters that do not show as themselves; and whatever reaches a message
(their words, cloud messages, names) reads as written: no bold, no link, no quote, no emoji, no
mention — wherever it appears.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain import grammar, rules
from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.form import check_reason, check_reference, validate_form
from bot.domain.request import State
from bot.slack.render import answers
from bot.slack.render import request as render
from bot.slack.render.audit import audit_line
from bot.slack.render.text import GRAVE, inert
from tests.unit.test_blocks import request

HIDDEN = {
    "NUL": "\x00",
    "BEL": "\x07",
    "ESC": "\x1b[31m",
    "DEL": "\x7f",
    "C1 CSI": "\x9b",
    "RLO bidi override": "\u202e",
    "LRI bidi isolate": "\u2066",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "BOM": "\ufeff",
    "soft hyphen": "\u00ad",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "private use": "\ue000",
}
FORMATTING = [
    "*bold*",
    "_italic_",
    "~strike~",
    "`code`",
    "```block```",
    "> quote",
    ":fire:",
    "http://evil.test/x",
]


@pytest.mark.parametrize("char", list(HIDDEN.values()), ids=list(HIDDEN))
def test_hidden_characters_are_refused_in_every_free_text_field(char: str) -> None:
    text = f"before {char} the change"
    assert rules.check_description(text) is not None
    assert check_reference(text) is not None
    assert check_reason(text) is not None
    parsed = grammar.parse(f"create orders-dev pre-change-1 {text}")
    assert isinstance(parsed, grammar.Invalid), parsed
    errors = validate_form(
        {"instance": "orders-dev", "name": "pre-change-1", "description": text, "reference": text},
        instance_block="instance",
        name_block="name",
        description_block="description",
        reference_block="reference",
    )
    assert set(errors) == {"description", "reference"}


def test_the_refusal_names_the_characters() -> None:
    problem = rules.check_description("a\u202eb\u200bc\u202e")
    assert problem is not None and "U+202E, U+200B" in problem


def test_ordinary_text_and_other_scripts_pass() -> None:
    for text in ("before the schema change", "变更前备份 😀", "Ünïcødé – fine; 100% (ok)", "café", "שלום"):
        assert rules.check_description(text) is None, text
        assert check_reference(text) is None
    assert check_reason("line one\nline two") is None  # a reason may have several lines
    assert check_reference("two\nlines") is not None  # a reference may not


@pytest.mark.parametrize("value", ["x" * 100_000, "orders prod", "<@U1>", "*", "orders\u202eprod"])
def test_the_forms_instance_is_checked_like_the_commands(value: str) -> None:
    errors = validate_form(
        {"instance": value, "name": "pre-change-1"},
        instance_block="instance",
        name_block="name",
        description_block="d",
        reference_block="r",
    )
    assert "instance" in errors
    assert len(str(errors["instance"])) < 300  # the problem quotes a bounded piece of it


@pytest.mark.parametrize("text", FORMATTING)
def test_inert_text_reads_as_written(text: str) -> None:
    shown = inert(text)
    assert shown.startswith("`") and shown.endswith("`")
    # Inside the span it is the same text: escaped, with backticks as the look-alike ˋ.
    assert shown.strip("`") == text.replace("`", GRAVE).replace(">", "&gt;")


def test_plain_words_stay_plain() -> None:
    assert inert("before the change, 10:30 at 5 % load") == "before the change, 10:30 at 5 % load"
    assert inert("a & b <c>") == "a &amp; b &lt;c&gt;"
    assert inert("two *bold*\nlines").startswith("```")


def _outside_code(text: str) -> str:
    """``text`` with every code span and code block removed: what Slack would format."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`]*`", "", text)


def _mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


@given(st.sampled_from(FORMATTING), st.sampled_from([State.PENDING_APPROVAL, State.REJECTED, State.FAILED]))
def test_user_and_cloud_words_never_format_a_message(evil: str, state: State) -> None:
    req = request(
        state,
        description=f"note {evil}",
        reference=f"INC {evil}",
        decision_reason=f"because {evil}",
        error_msg=f"cloud says {evil}",
        error_code="DBS.280277",
    )
    messages = [render.parent_message(req, ["<@UAPPROVER>"]), answers.status_message(req, lang="en-us")]
    if state.final:
        messages.append(render.final_reply(req))
    for message in messages:
        for block in message.blocks:
            assert Block.parse(block) is not None
        for text in [message.text, *_mrkdwn_texts(message.blocks)]:
            assert evil not in _outside_code(text), (evil, text)


def test_audit_lines_keep_free_text_inert() -> None:
    line = audit_line(
        AuditEntry(actor="U0ALICE01", action=AuditAction.REJECTED, detail="*stop* <!here> :fire:")
    )
    assert "`*stop* &lt;!here&gt; :fire:`" in line
    assert json.dumps(line).count("<!here>") == 0
