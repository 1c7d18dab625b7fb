"""Each person reads the bot in their own language, end to end: the requester's Slack locale decides
the thread (parent, replies, the approval request) and the ``X-Language`` of the cloud calls made for
them; every private answer is in the language of the person it is for."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from bot.local.fake_slack import FakeSlack
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import Deployment, text_of, wait_final_replies

CJK = re.compile(r"[\u4e00-\u9fff]")

POLICY = """
roles:
  requester: ["*"]
  approver: ["U0BOSS1"]
approval:
  required_for: ["*prod*"]
  expires_after: 600
"""


def thread_of(slack: FakeSlack, final: dict[str, Any]) -> list[dict[str, Any]]:
    """The parent message and every reply under it, as they stand now."""
    parent = slack.message(final["channel"], final["thread_ts"])
    assert parent is not None
    return [parent, *slack.replies(final["channel"], final["thread_ts"])]


async def create_calls(bot: Deployment) -> list[dict[str, Any]]:
    return [
        c for c in await bot.cloud_calls() if c["method"] == "POST" and c["path"].endswith("/backups/create")
    ]


async def private_answer(slack: FakeSlack, marker: str) -> str:
    """The text of a private answer (through a response_url) that contains ``marker``."""
    [call, *_] = await slack.wait_for(
        lambda c: c.method == "response_url" and marker in json.dumps(c.args, ensure_ascii=False),
        timeout=10.0,
    )
    return str(call.args.get("text", ""))


async def approval_request(slack: FakeSlack, within: float = 20.0) -> dict[str, Any]:
    """The parent message that carries Approve/Reject buttons."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        for message in slack.messages():
            if "approve_request" in json.dumps(message.get("blocks", [])):
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no approval request was posted: {slack.messages()}")


async def test_a_chinese_user_reads_chinese_and_the_cloud_is_asked_in_zh_cn(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.knobs.locales["U0ZH"] = "zh-CN"
    bot = await deploy()
    answer = await bot.command("create orders-dev zh-backup-1", user_id="U0ZH")
    assert answer.status_code == 200  # the web process did not know the locale yet: default language

    [final] = await wait_final_replies(fake_slack, within=30)
    thread = thread_of(fake_slack, final)
    assert len(thread) >= 3  # parent, "started", result
    for message in thread:
        assert CJK.search(message["text"]), message["text"]
    parent, *_ = thread
    assert parent["blocks"][0]["text"]["text"] == ":white_check_mark: 备份已完成"
    assert "已开始" in thread[1]["text"] and "备份 ID" in thread[1]["text"]
    assert final["text"].startswith("<@U0ZH> :white_check_mark: 实例 orders-dev 的备份 `zh-backup-1` 已完成")
    assert "Backup" not in final["text"]

    [create] = await create_calls(bot)
    assert create["x_language"] == "zh-cn"
    lookups = [c for c in await bot.cloud_calls() if c["path"].endswith("/instances")]
    assert lookups and {c["x_language"] for c in lookups} == {"zh-cn"}
    assert fake_slack.calls("users.info")[0].args == {"user": "U0ZH", "include_locale": "1"}

    # The worker cached the locale: from now on the web process answers in Chinese at once.
    help_answer = (await bot.command("help", user_id="U0ZH")).json()
    assert help_answer["text"] == "/backup 使用说明"
    assert "打开备份表单" in json.dumps(help_answer["blocks"], ensure_ascii=False)
    syntax = "/backup create &lt;instance&gt; &lt;name&gt; [description…]"  # the syntax is not translated
    assert syntax in json.dumps(help_answer["blocks"], ensure_ascii=False)
    wrong = (await bot.command("create orders-dev 1-bad-name", user_id="U0ZH")).json()
    assert wrong["text"] == ":warning: 备份名称必须以字母开头"

    await bot.sim("DELETE", "calls")
    ack = (await bot.command("list orders-dev", user_id="U0ZH")).json()
    assert ack["text"].startswith(":mag: 正在查询")
    listed = await private_answer(fake_slack, "最新备份")
    assert "orders-dev" in listed
    asked = [c for c in await bot.cloud_calls() if c["query"].get("name") or c["query"].get("instance_id")]
    assert len(asked) >= 2 and {c["x_language"] for c in asked} == {"zh-cn"}  # the instance, its backups


async def test_an_english_user_reads_english_even_where_the_default_is_chinese(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.knobs.locales["U0EN"] = "en-US"
    bot = await deploy(env={"BACKUP_DEFAULT_LANGUAGE": "zh-cn"})
    first = (await bot.command("create orders-dev en-backup-1", user_id="U0EN")).json()
    assert first["text"].startswith(":inbox_tray: 已收到请求")  # not known yet: the default language

    [final] = await wait_final_replies(fake_slack, within=30)
    for message in thread_of(fake_slack, final):
        assert not CJK.search(text_of(message)), message["text"]
    assert final["text"].startswith("<@U0EN> :white_check_mark: Backup `en-backup-1` of orders-dev completed")
    [create] = await create_calls(bot)
    assert create["x_language"] == "en-us"

    later = (await bot.command("create orders-dev en-backup-2", user_id="U0EN")).json()
    assert later["text"].startswith(":inbox_tray: Request `r-")


async def test_a_mixed_thread_stays_in_the_requesters_language_and_private_answers_follow_each_reader(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.knobs.locales.update({"U0ZH": "zh-CN", "U0BOSS1": "en-US", "U0EN": "en-GB"})
    bot = await deploy(policy=POLICY)
    await bot.command("create orders-prod zh-needs-ok", user_id="U0ZH")
    parent = await approval_request(fake_slack)
    assert parent["blocks"][0]["text"]["text"] == ":raised_hand: 备份等待审批"  # shown to approvers too
    buttons = next(b for b in parent["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["批准", "拒绝"]
    assert "<@U0BOSS1>" in text_of(parent)

    await bot.click("U0EN", parent, "approve_request")  # an English outsider
    assert await private_answer(fake_slack, "only approvers") == (
        ":no_entry: You cannot approve or reject this request: only approvers can. Ask <@U0BOSS1>."
    )
    await bot.click("U0ZH", parent, "approve_request")  # the Chinese requester (not an approver)
    assert await private_answer(fake_slack, "只有审批人") == (
        ":no_entry: 你无法批准或拒绝此请求：只有审批人可以操作。请联系 <@U0BOSS1>。"
    )
    assert await bot.backups() == []

    await bot.click("U0BOSS1", parent, "approve_request")  # the English approver
    [final] = await wait_final_replies(fake_slack, within=30)
    thread = thread_of(fake_slack, final)
    assert any(m["text"] == ":white_check_mark: <@U0BOSS1> 已批准，备份即将开始。" for m in thread)
    for message in thread:
        assert CJK.search(message["text"]), message["text"]
    assert final["text"].startswith("<@U0ZH> :white_check_mark: 实例 orders-prod 的备份 `zh-needs-ok` 已完成")
    [create] = await create_calls(bot)
    assert create["x_language"] == "zh-cn"  # the backup is made for the requester

    await bot.click("U0BOSS1", parent, "approve_request")  # a stale button: told privately, in English
    assert await private_answer(fake_slack, "already approved") == (
        ":information_source: This request was already approved by <@U0BOSS1>."
    )
