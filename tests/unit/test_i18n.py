"""The message catalogs and the builders in both languages: same keys and placeholders, every key the
code uses exists, Slack markup survives translation, and a Chinese reader gets Chinese."""

from __future__ import annotations

import ast
import copy
import pickle
import re
import string
from pathlib import Path
from typing import Any

import pytest

from bot.app.people import People
from bot.app.retention import NOT_KEPT
from bot.cloud.models import BackupStatus, Instance
from bot.domain import grammar, rules
from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.form import validate_form
from bot.domain.gates import Refusal
from bot.domain.lifetimes import KEEP_REFUSALS, START_REFUSALS
from bot.domain.policy import Notify
from bot.domain.policy_file import parse_policy
from bot.domain.request import INSTANCE_NOT_FOUND, BackupRequest, State
from bot.i18n import CATALOGS, LANGUAGES, SOURCE, Text, as_lang, language_of_locale, localize, t
from bot.slack.render import answers, views
from bot.slack.render import request as render
from bot.slack.render.audit import audit_line
from bot.slack.render.policy import describe
from bot.slack.render.text import format_duration, format_size
from tests.unit.test_blocks import BEGIN
from tests.unit.test_blocks import request as blocks_request

BOT = Path(__file__).resolve().parents[2] / "bot"
EN, ZH = "en-us", "zh-cn"
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # ideographs and full-width punctuation
_EMOJI = re.compile(r":[a-z0-9_+-]+:")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_KEY = re.compile(r"[a-z_]+(?:\.[A-Za-z_]+)+")
_NAMESPACES = {key.split(".")[0] for key in CATALOGS[EN]}

# Templates that read the same in both languages (only placeholders, identifiers and punctuation).
SAME_IN_BOTH = {"error.text", "help.usage", "help.note", "list.item", "option.description", "option.engine"}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# --- the catalogs ---------------------------------------------------------------------------------


def test_both_catalogs_have_the_same_keys() -> None:
    en, zh = CATALOGS[EN], CATALOGS[ZH]
    assert sorted(set(en) - set(zh)) == [], "missing in zh-CN"
    assert sorted(set(zh) - set(en)) == [], "missing in en-US"


@pytest.mark.parametrize("key", sorted(CATALOGS[EN]))
def test_each_key_has_the_same_placeholders_and_slack_markup(key: str) -> None:
    en, zh = CATALOGS[EN][key], CATALOGS[ZH][key]
    assert en.strip() and zh.strip()
    assert fields(en) == fields(zh)
    assert all(name.isidentifier() for name in fields(en))  # no positional or attribute fields
    assert sorted(_EMOJI.findall(en)) == sorted(_EMOJI.findall(zh)), "emoji codes are kept"
    for mark in ("`", "*", "\n", "•", "<", ">"):
        assert en.count(mark) == zh.count(mark), f"{mark!r} markup is kept"


@pytest.mark.parametrize("key", sorted(CATALOGS[ZH]))
def test_chinese_is_chinese(key: str) -> None:
    zh = CATALOGS[ZH][key]
    if key in SAME_IN_BOTH:
        assert zh == CATALOGS[EN][key]
        return
    words = _PLACEHOLDER.sub("", _EMOJI.sub("", zh))
    assert _CJK.search(words), f"{key} is not translated: {zh!r}"


def test_catalog_templates_format_with_their_own_placeholders() -> None:
    for lang in LANGUAGES:
        for key, template in CATALOGS[lang].items():
            rendered = t(lang, key, **dict.fromkeys(fields(template), "X"))
            assert "{" not in rendered and "}" not in rendered, key


# Functions that take a catalog key, and which positional argument it is.
_KEY_ARGUMENT = {"t": 1, "Text": 0, "s": 0, "_markup_problem": 0, "_confirm": 1, "_line": 0}


def _keys_used_in_code() -> tuple[set[str], set[str]]:
    """Literal catalog keys in ``bot/`` (first argument of ``Text``/``s``/``_markup_problem``, second
    of ``t``, values assigned to ``key`` and the values of ``_OWN_REASONS``), and the prefixes of keys
    built with f-strings."""
    literal: set[str] = set()
    prefixes: set[str] = set()

    def collect(node: ast.expr | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            literal.add(node.value)
        elif isinstance(node, ast.IfExp):
            collect(node.body)
            collect(node.orelse)
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                prefixes.add(first.value)

    for path in BOT.rglob("*.py"):
        if path.parent.name == "simulator":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                position = _KEY_ARGUMENT.get(name)
                if position is not None and len(node.args) > position:
                    collect(node.args[position])
            elif isinstance(node, ast.For):  # keys in a table the loop walks (units of a duration)
                for item in ast.walk(node.iter):
                    value = str(item.value) if isinstance(item, ast.Constant) else ""
                    if _KEY.fullmatch(value) and value.split(".")[0] in _NAMESPACES:
                        collect(item)
            elif isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "key" for target in node.targets
            ):
                collect(node.value)
            elif isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                tables = ("OWN_REASONS", "_ROLE_KEYS")  # tables of catalog keys
                if any(isinstance(target, ast.Name) and target.id in tables for target in targets):
                    for value in node.value.values:
                        collect(value)
    return literal, prefixes


def test_every_key_the_code_uses_is_in_the_catalogs() -> None:
    literal, prefixes = _keys_used_in_code()
    assert len(literal) > 150, "the scan found the call sites"
    assert sorted(literal - set(CATALOGS[EN])) == []
    families = {
        "state.": [s.name for s in State],
        "status.": [s.name for s in BackupStatus],
        "auditlog.": [a.value for a in AuditAction],
        "policy.notify.": [n.value for n in Notify if n is not Notify.CHANNEL],
        "start_refused.": list(START_REFUSALS),
        "keep_refused.": list(KEEP_REFUSALS),
        "not_kept.": [r for r in NOT_KEPT if r not in KEEP_REFUSALS],
    }
    assert prefixes == set(families)
    for prefix, names in families.items():
        assert {prefix + name for name in names} <= set(CATALOGS[EN])


def test_no_key_is_left_unused() -> None:
    literal, prefixes = _keys_used_in_code()
    unused = {key for key in CATALOGS[EN] if key not in literal and not key.startswith(tuple(prefixes))}
    assert sorted(unused) == []


# --- languages, texts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh-CN", ZH),
        ("zh-TW", ZH),
        ("zh_CN", ZH),
        ("ZH", ZH),
        ("en-US", EN),
        ("en-GB", EN),
        ("ja-JP", EN),
        ("fr-FR", EN),
        (None, ZH),
        ("", ZH),
        ("  ", ZH),
    ],
)
def test_slack_locale_to_language_with_the_default_as_fallback(locale: str | None, expected: str) -> None:
    assert language_of_locale(locale, default=ZH) == expected


def test_as_lang() -> None:
    assert as_lang("zh-cn") == ZH and as_lang("ZH_CN") == ZH and as_lang("en") == EN
    assert as_lang("") == SOURCE and as_lang("xx", default=ZH) == ZH


def test_text_is_english_as_a_string_and_renders_in_any_language() -> None:
    problem = Text("rule.name_length", length=3)
    assert problem == "a backup name is 4 to 64 characters (got 3)"
    assert isinstance(problem, str) and problem.key == "rule.name_length"
    assert problem.render(ZH) == "备份名称的长度为 4 到 64 个字符（当前为 3 个）"
    assert localize(problem, ZH) == problem.render(ZH)
    assert localize("plain cloud words", ZH) == "plain cloud words"
    nested = Text("problem.markup", what=Text("what.instance"))
    assert nested.startswith("the instance looks like") and nested.render(ZH).startswith("实例看起来像")
    composed = Text.compose(" | ", ["/backup", Text("usage.open_form")])
    assert composed == "/backup | open the backup form" and composed.render(ZH) == "/backup | 打开备份表单"


def test_text_survives_copy_and_pickle() -> None:
    for text in (Text("rule.name_length", length=3), Text.compose("\n", ["a", Text("usage.open_form")])):
        for clone in (copy.copy(text), copy.deepcopy(text), pickle.loads(pickle.dumps(text))):
            assert clone == text and clone.render(ZH) == text.render(ZH)


def test_unknown_language_is_english_and_unknown_key_is_an_error() -> None:
    assert t("fr-fr", "button.approve") == "Approve"
    with pytest.raises(KeyError):
        t(EN, "no.such.key")


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (0, "0 s", "0 秒"),
        (65, "1 min 5 s", "1 分钟 5 秒"),
        (7380, "2 h 3 min", "2 小时 3 分钟"),
        (90000, "1 d 1 h", "1 天 1 小时"),
    ],
)
def test_durations_in_both_languages(seconds: float, en: str, zh: str) -> None:
    assert format_duration(seconds, EN) == en
    assert format_duration(seconds, ZH) == zh


def test_unknown_size_and_duration_in_chinese() -> None:
    assert format_size(None, ZH) == "未知" and format_duration(float("nan"), ZH) == "未知"
    assert format_size(2048, ZH) == "2 GB"


# --- domain problems and help, in Chinese ----------------------------------------------------------


def test_grammar_problems_and_usage_are_translated_but_the_syntax_is_not() -> None:
    invalid = grammar.parse("create db1 1abc")
    assert isinstance(invalid, grammar.Invalid)
    assert invalid.problem == "a backup name must start with a letter"
    assert invalid.problem.render(ZH) == "备份名称必须以字母开头"
    en_lines, zh_lines = grammar.USAGE.splitlines(), grammar.USAGE.render(ZH).splitlines()
    assert len(en_lines) == len(zh_lines)
    for en, zh in zip(en_lines, zh_lines, strict=True):
        syntax = en.split("  ")[0]
        assert zh.startswith(syntax)
    assert "open the backup form" in grammar.USAGE and "打开备份表单" in grammar.USAGE.render(ZH)
    unknown = grammar.parse("craete x")
    assert isinstance(unknown, grammar.Invalid)
    assert unknown.problem.render(ZH) == "未知的子命令 `craete`：你是想输入 `create` 吗？"


def test_rules_and_form_errors_in_chinese() -> None:
    assert (
        localize(rules.check_description("a & b") or "", ZH) == "描述中不能出现 &（! < \" = ' > & 都不允许）"
    )
    errors = validate_form(
        {"instance": "", "name": "1abc", "description": "", "reference": "a\nb"},
        instance_block="instance",
        name_block="name",
        description_block="description",
        reference_block="reference",
    )
    said = views.field_errors(errors, lang=ZH)
    assert said == {
        "instance": "请选择一个实例",
        "name": "备份名称必须以字母开头",
        "reference": "单号必须是一行",
    }


def test_policy_help_in_chinese() -> None:
    policy = parse_policy(
        "roles: {requester: ['*'], approver: ['U0BOSS1']}\n"
        "approval: {required_for: ['*prod*'], expires_after: 1800}"
    )
    lines = describe(policy, ZH)
    assert lines[0] == "申请人（所有人）可以申请备份，每次申请都需要审批。"
    assert "匹配 `*prod*` 的实例需要审批；请求在 30 分钟 后过期。" in lines
    assert describe(parse_policy("roles: {operator: ['*']}"), EN) != describe(
        parse_policy("roles: {operator: ['*']}"), ZH
    )


# --- builders, in Chinese --------------------------------------------------------------------------


def request(state: State = State.BUILDING, **changes: Any) -> BackupRequest:
    """test_blocks' request, asked for by a Chinese reader."""
    return blocks_request(state, **{"language": ZH, **changes})


def test_request_messages_follow_the_requesters_language() -> None:
    parent = render.parent_message(request())
    assert parent.blocks[0]["text"]["text"] == ":hourglass_flowing_sand: 备份进行中"
    assert parent.text.startswith(":hourglass_flowing_sand: 实例 prod-main 的备份 `pre-release-42`")
    final = render.final_reply(request(State.COMPLETED))
    assert final.text == (
        "<@UREQ1> :white_check_mark: 实例 prod-main 的备份 `pre-release-42` 已完成"
        "（1.5 GB，耗时 1 分钟 5 秒）。"
    )
    assert render.created_reply(request()).blocks[0]["text"]["text"] == ":rocket: 备份已开始。"
    assert (
        render.decision_reply(request(State.APPROVED)).text
        == ":white_check_mark: <@UAPPROVER> 已批准，备份即将开始。"
    )
    english = render.final_reply(request(State.COMPLETED, language=EN))
    assert english.text.startswith(
        "<@UREQ1> :white_check_mark: Backup `pre-release-42` of prod-main completed"
    )


def test_an_approval_request_is_in_the_requesters_language_buttons_included() -> None:
    pending = render.parent_message(request(State.PENDING_APPROVAL, expires_at=BEGIN), ["<@UBOSS>"])
    actions = next(b for b in pending.blocks if b["type"] == "actions")
    approve, reject = actions["elements"]
    assert (approve["text"]["text"], reject["text"]["text"]) == ("批准", "拒绝")
    assert approve["confirm"]["title"]["text"] == "批准此备份？"
    assert any(b.get("text", {}).get("text") == "*审批人：* <@UBOSS>" for b in pending.blocks)


def test_private_answers_take_the_readers_language_not_the_requesters() -> None:
    zh_request = request(State.APPROVED)
    assert answers.already_decided(zh_request, lang=EN).text == (
        ":information_source: This request was already approved by <@UAPPROVER>."
    )
    assert (
        answers.already_decided(zh_request, lang=ZH).text
        == ":information_source: 此请求已由 <@UAPPROVER> 批准。"
    )
    assert (
        answers.cannot_decide(Refusal.OWN_REQUEST, People(), lang=ZH).text
        == ":no_entry: 你不能批准或拒绝自己提交的请求。"
    )
    assert (
        answers.status_message(zh_request, lang=EN).blocks[0]["text"]["text"]
        == ":ballot_box_with_check: Backup approved"
    )


def test_own_error_codes_are_explained_in_the_readers_language() -> None:
    missing = request(State.CREATE_FAILED, error_code=INSTANCE_NOT_FOUND, error_msg="no TaurusDB instance")
    fields = [f["text"] for b in render.parent_message(missing).blocks for f in b.get("fields", [])]
    assert "*原因*\n没有名称或 ID 为 `prod-main` 的 TaurusDB 实例" in fields
    cloud = request(State.FAILED, error_code="DBS.200019", error_msg="实例正在备份中。")
    assert render.final_reply(cloud).text.endswith("失败：实例正在备份中。")
    silent = request(State.FAILED, error_code="", error_msg="")
    assert render.final_reply(silent).text.endswith("失败：云端没有给出原因")


def test_forms_in_both_languages_fit_slacks_limits() -> None:
    for lang in LANGUAGES:
        form = views.backup_form(default_name="pre-change-1", lang=lang)
        reject = views.reject_form(request(State.PENDING_APPROVAL), lang=lang)
        for view in (form, reject, views.notice("x", lang=lang)):
            assert len(view["title"]["text"]) <= 24
            for key in ("submit", "close"):
                assert key not in view or len(view[key]["text"]) <= 24
    zh_form = views.backup_form(default_name="pre-change-1", lang=ZH)
    labels = [b["label"]["text"] for b in zh_form["blocks"] if b["type"] == "input"]
    assert labels == [
        "实例",
        "备份名称",
        "描述",
        "变更或事件单号",
        "保留时间",
        "开始时间（可选）",
        "在此频道发布请求",
    ]
    zh_reject = views.reject_form(request(State.PENDING_APPROVAL), lang=ZH)
    assert (
        zh_reject["blocks"][0]["text"]["text"]
        == "要拒绝 <@UREQ1> 申请的实例 prod-main 的备份 `pre-release-42` 吗？"
    )
    instance = Instance.model_validate(
        {"id": "0123456789abcdef0123456789abcdefin07", "name": "orders-prod", "status": "ACTIVE"}
    )
    [option] = views.instance_options([instance], "", lang=ZH)
    assert option["description"]["text"] == "ACTIVE · MySQL ?"


def test_audit_lines_in_both_languages() -> None:
    entry = AuditEntry(
        at=BEGIN, actor="UBOSS", action=AuditAction.APPROVED, request_id="r-1", instance_name="orders-prod"
    )
    assert audit_line(entry).startswith(":white_check_mark: *Approved* by <@UBOSS> · request `r-1`")
    assert audit_line(entry, lang=ZH).startswith(
        ":white_check_mark: *已批准*（<@UBOSS>） · 请求 `r-1` · 实例 `orders-prod`"
    )
