"""English (en-US), the words of the newer surfaces: how long a backup is kept and backups planned for
later, and the App Home (merged into :data:`bot.i18n.en_us.MESSAGES`)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- how long a backup is kept, and backups planned for later ---
    "field.starts": "*Starts*\n{value}",
    "field.deleted_on": "*Deleted on*\n{value}, unless kept longer",
    "field.deleted": "*Deleted*\n{value}",
    "field.kept": "*Kept*\n{value} after it completes",
    "lifetime.gone": "by someone else, before its time",
    "lifetime.failed": "not yet: the planned deletion failed, delete it by hand",
    "keep.forever": "forever",
    "policy.retention": (
        "Backups the bot takes are deleted {keep} after they complete, unless kept longer (`--keep`,"
        " `/backup keep`)."
    ),
    "policy.retention_max": "A backup may be kept at most {longest}; only approvers may keep one forever.",
    "keep.default": "the policy's default ({keep})",
    "button.keep_more": "Keep 30 more days",
    "starting.text": ":alarm_clock: Backup {name} of {instance} is starting as planned ({when}).",
    "deleted.text": ":wastebasket: Backup {name} of {instance} was deleted as planned, after {after}.",
    "delete_gone.text": (
        ":information_source: Backup {name} of {instance} was already deleted by someone else; nothing to do."
    ),
    "delete_problem.text": (
        ":warning: The planned deletion of backup {name} of {instance} was refused: {reason}. The bot"
        " tries again."
    ),
    "delete_failed.text": (
        ":warning: The bot gave up deleting backup {name} of {instance} ({reason}): it is still there;"
        " delete it by hand if it is no longer needed."
    ),
    "deletion_soon.text": (
        ":wastebasket: Your backup {name} of {instance} (request {request_id}) will be deleted {when}."
        " Keep it longer?"
    ),
    "start_refused.past": "{asked} is in the past (in your time zone): give a time that is still ahead",
    "start_refused.too_far": (
        "{asked} is more than 7 days ahead: a backup may be planned at most a week in advance"
    ),
    "start_refused.malformed": "{asked} is not a time: use 21:45, or a date and time like 2026-12-24T21:45",
    "keep_refused.too_long": (
        "backups may be kept at most {longest}: ask for less (approvers may keep one forever)"
    ),
    "keep_refused.forever_needs_approver": (
        "only approvers may keep a backup forever; others may keep one at most {longest}"
    ),
    "kept.until": ":pushpin: Backup {name} of {instance} is now kept until {when}.",
    "kept.forever": ":pushpin: Backup {name} of {instance} is now kept forever.",
    "kept.after": ":pushpin: Backup {name} of {instance} will be kept {keep} after it completes.",
    "not_kept.gone": (
        "There is no backup request with that ID (or its backup failed, so there is nothing to keep)."
    ),
    "not_kept.not_yours": (
        "Only the person who asked for the backup, or an approver, may change how long it is kept."
    ),
    "not_kept.deleting": "Too late: the backup is being deleted, or is gone already.",
    "not_kept.unsettled": (
        "The bot could not tell yet whether you approve these backups; try again in a moment."
    ),
    "form.keep.label": "Keep for",
    "form.keep.hint": "After this long the bot deletes the backup (you are told a day before)",
    "form.at.label": "Start at (optional)",
    "form.at.hint": "Leave empty to start at once; at most 7 days ahead",
    # --- the App Home ---
    "home.header": "Backups",
    "home.role.unknown": "The bot could not tell your role just now; open this tab again in a moment.",
    "home.role.none": (
        "You have no role with this bot, so you cannot take or see backups. `/backup help` says who can help."
    ),
    "home.role.viewer": "You are a *viewer*: you may see backups, not take them.",
    "home.role.requester": "You are a *requester*.",
    "home.role.operator": "You are an *operator*.",
    "home.role.approver": "You are an *approver*: requests that wait for approval show up below.",
    "home.gate.all": "Every backup you ask for waits for an approver.",
    "home.gate.none": "Your backups start at once.",
    "home.gate.some": "Backups of {globs} wait for approval; others start at once.",
    "home.take": "Take a backup",
    "home.waiting.header": "Waiting for you",
    "home.waiting.empty": "Nothing waits for your decision.",
    "home.waiting.item": (
        "{requester} asks for {name} of {instance} — {count} of {needed} approvals, expires {when}"
    ),
    "home.mine.header": "Your requests",
    "home.mine.none": "You have no backup requests.",
    "home.mine.empty": "You have not asked for a backup yet: use *Take a backup* or `/backup create`.",
    "home.item": "{emoji} {name} of {instance} — {state} · {when}",
    "home.progress": "{bar} {percent}%",
    "home.open_thread": "Open the thread",
    "home.flight.header": "In flight",
    "home.flight.empty": "No backup is being made right now.",
    "home.flight.item": "{emoji} {name} of {instance} for {requester}",
    "home.flight.more": "…and {count} more.",
}
