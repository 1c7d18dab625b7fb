"""Chinese (zh-CN), the words of the newer surfaces: how long a backup is kept and backups planned for
later, and the App Home (merged into :data:`bot.i18n.zh_cn.MESSAGES`)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- 备份保留多久，以及排期备份 ---
    "field.starts": "*开始时间*\n{value}",
    "field.deleted_on": "*删除时间*\n{value}（除非延长保留）",
    "field.deleted": "*已删除*\n{value}",
    "field.kept": "*保留*\n完成后 {value}",
    "lifetime.gone": "已被他人提前删除",
    "lifetime.failed": "尚未删除：计划中的删除失败，请手动删除",
    "keep.forever": "永久",
    "keep.default": "策略默认（{keep}）",
    "button.keep_more": "再保留 30 天",
    "starting.text": ":alarm_clock: {instance} 的备份 {name} 正按计划开始（{when}）。",
    "deleted.text": ":wastebasket: {instance} 的备份 {name} 已按计划删除，保留了 {after}。",
    "delete_gone.text": ":information_source: {instance} 的备份 {name} 已被他人删除，无需处理。",
    "delete_problem.text": ":warning: 计划删除 {instance} 的备份 {name} 被拒绝：{reason}。机器人会重试。",
    "delete_failed.text": (
        ":warning: 机器人放弃删除 {instance} 的备份 {name}（{reason}）：备份仍在，如不再需要请手动删除。"
    ),
    "deletion_soon.text": (
        ":wastebasket: 你在 {instance} 的备份 {name}（请求 {request_id}）将于 {when} 删除。要延长保留吗？"
    ),
    "start_refused.past": "{asked} 已经过去（按你的时区）：请给出一个尚未到来的时间",
    "start_refused.too_far": "{asked} 超过 7 天之后：备份最多只能提前一周排期",
    "start_refused.malformed": "{asked} 不是时间：请用 21:45，或日期加时间，例如 2026-12-24T21:45",
    "keep_refused.too_long": "备份最多保留 {longest}：请缩短（审批人可以永久保留）",
    "keep_refused.forever_needs_approver": "只有审批人可以永久保留备份；其他人最多保留 {longest}",
    "kept.until": ":pushpin: {instance} 的备份 {name} 现在保留到 {when}。",
    "kept.forever": ":pushpin: {instance} 的备份 {name} 现在永久保留。",
    "kept.after": ":pushpin: {instance} 的备份 {name} 将在完成后保留 {keep}。",
    "not_kept.gone": "没有这个 ID 的备份请求（或其备份失败，没有可保留的内容）。",
    "not_kept.not_yours": "只有申请人或审批人可以更改备份的保留时间。",
    "not_kept.deleting": "太晚了：备份正在删除，或已不存在。",
    "not_kept.unsettled": "机器人暂时无法确认你是否审批这些备份，请稍后再试。",
    "form.keep.label": "保留时间",
    "form.keep.hint": "超过这个时间后机器人会删除备份（删除前一天会通知你）",
    "form.at.label": "开始时间（可选）",
    "form.at.hint": "留空则立即开始；最多提前 7 天",
    # --- 应用主页 ---
    "home.header": "备份",
    "home.role.unknown": "暂时无法确定你的角色，请稍后再打开此页。",
    "home.role.none": "你在本机器人中没有角色，无法发起或查看备份。`/backup help` 会告诉你可以找谁。",
    "home.role.viewer": "你是*查看者*：可以查看备份，但不能发起。",
    "home.role.requester": "你是*申请人*。",
    "home.role.operator": "你是*操作员*。",
    "home.role.approver": "你是*审批人*：等待审批的请求显示在下方。",
    "home.gate.all": "你发起的每个备份都需等待审批人批准。",
    "home.gate.none": "你的备份会立即开始。",
    "home.gate.some": "{globs} 的备份需要审批，其他的会立即开始。",
    "home.take": "发起备份",
    "home.waiting.header": "等待你处理",
    "home.waiting.empty": "没有等待你决定的请求。",
    "home.waiting.item": "{requester} 申请备份 {instance} 的 {name} — 已批准 {count}/{needed}，{when} 过期",
    "home.mine.header": "你的请求",
    "home.mine.none": "你没有备份请求。",
    "home.mine.empty": "你还没有申请过备份：点击*发起备份*或使用 `/backup create`。",
    "home.item": "{emoji} {instance} 的 {name} — {state} · {when}",
    "home.progress": "进度 {bar} {percent}%",
    "home.open_thread": "打开讨论串",
    "home.flight.header": "进行中",
    "home.flight.empty": "目前没有正在进行的备份。",
    "home.flight.item": "{emoji} {instance} 的 {name}（申请人 {requester}）",
    "home.flight.more": "……还有 {count} 个。",
}
