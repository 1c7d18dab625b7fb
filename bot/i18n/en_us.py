"""English (en-US): every sentence the bot says, by key. Slack mrkdwn; ``{name}`` placeholders are
filled by :func:`bot.i18n.t` with text the caller has already escaped."""

from __future__ import annotations

from bot.i18n.en_us_more import MESSAGES as MORE

MESSAGES: dict[str, str] = {
    # --- request states and cloud backup statuses (after an emoji) ---
    "state.RECEIVED": "received",
    "state.PENDING_APPROVAL": "waiting for approval",
    "state.APPROVED": "approved",
    "state.REJECTED": "rejected",
    "state.EXPIRED": "expired",
    "state.CREATING": "starting",
    "state.BUILDING": "in progress",
    "state.COMPLETED": "completed",
    "state.FAILED": "failed",
    "state.TIMED_OUT": "still running",
    "state.CREATE_FAILED": "refused by the cloud",
    "state.CANCELLED": "cancelled",
    "state.SCHEDULED": "planned",
    "parent.gave_up": "given up, no backup was made",
    "status.BUILDING": "in progress",
    "status.COMPLETED": "completed",
    "status.AVAILABLE": "available",
    "status.FAILED": "failed",
    # --- the parent message of a request ---
    "parent.header": "{emoji} Backup {state}",
    "parent.title": "Backup {name} of {instance}",
    "parent.fallback": "{emoji} Backup {name} of {instance} {state} (requested by {requester})",
    "field.requester": "*Requested by*\n{value}",
    "field.instance": "*Instance*\n{value}",
    "field.name": "*Backup name*\n{value}",
    "field.state": "*State*\n{value}",
    "field.reference": "*Reference*\n{value}",
    "field.backup_id": "*Backup ID*\n{value}",
    "field.job_id": "*Job ID*\n{value}",
    "field.started": "*Started*\n{value}",
    "field.finished": "*Finished*\n{value}",
    "field.size": "*Size*\n{value}",
    "field.duration": "*Duration*\n{value}",
    "field.reason": "*Reason*\n{value}",
    "field.error_code": "*Error code*\n{value}",
    "field.status": "*Status*\n{value}",
    "field.decided_by.approved": "*Approved by*\n{value}",
    "field.decided_by.rejected": "*Rejected by*\n{value}",
    "field.decided_by.cancelled": "*Cancelled by*\n{value}",
    "field.decided_by.break_glass": "*Started without approval by*\n{value}",
    "field.cloud_request_id": "*Cloud request ID*\n{value}",
    "description": "*Description*\n{value}",
    "progress": "*Progress*  {bar} {percent}%",
    "progress.unknown": "*Progress*  waiting for the first report from the cloud",
    "pending.note": "Waiting for an approver to approve or reject this request.",
    "pending.expires": "Waiting for an approver; the request expires {when}.",
    "pending.approvers": "*Approvers:* {who}",
    "pending.progress": "*Approvals:* {count} of {needed} — {who}",
    "pending.none_yet": "none yet",
    "pending.asked_by_dm": "The approvers were asked by direct message.",
    "button.cancel": "Cancel request",
    "button.break_glass": "Start now (break glass)",
    "confirm.cancel.title": "Cancel this request?",
    "confirm.cancel.text": "The request ends here and no backup is made.",
    "confirm.cancel.yes": "Cancel request",
    "confirm.cancel.no": "Keep it",
    "decision.break_glass": (
        ":rotating_light: {requester} broke the glass and started the backup without approval: {reason}"
        " — approvers: {approvers}"
    ),
    "context": "Request {request_id} · asked {when}",
    "instance.with_id": "{name} ({id})",
    "unknown": "unknown",
    # --- approving and rejecting ---
    "button.approve": "Approve",
    "button.reject": "Reject",
    "confirm.approve.title": "Approve this backup?",
    "confirm.approve.text": "Backup {name} of {instance} will start as soon as you confirm.",
    "confirm.approve.yes": "Approve",
    "confirm.approve.no": "Not now",
    "decision.approved": ":white_check_mark: Approved by {decider}. Starting the backup.",
    "decision.not_approver": (
        ":no_entry: You cannot approve or reject this request: only approvers can. {who_can_help}"
    ),
    "decision.own_request": ":no_entry: You cannot approve or reject your own request.",
    "decision.already.approved": ":information_source: This request was already approved by {decider}.",
    "decision.already.rejected": ":information_source: This request was already rejected by {decider}.",
    "decision.already.cancelled": ":information_source: This request was already cancelled by {decider}.",
    "decision.already.break_glass": (
        ":information_source: {decider} already started this request without approval (break glass)."
    ),
    "decision.already.gave_up": (
        ":information_source: The bot gave up on request {request_id}; it no longer waits for a decision."
    ),
    "decision.expired": ":hourglass: This request has expired; nothing can be approved any more.",
    "decision.gone": ":warning: This request no longer exists.",
    "decision.unsettled": (
        ":hourglass: The bot is still finding out whether you may do that; nothing was changed. Please"
        " try again in a moment."
    ),
    "cancel.done": ":heavy_multiplication_x: Request {request_id} is cancelled; no backup will be made.",
    "cancel.started": (
        ":information_source: This request can no longer be cancelled: it is {state}. A backup that"
        " has started runs to its end."
    ),
    "decision.not_yours": (
        ":no_entry: Only the person who asked for this backup (and, to cancel it, its approvers) may do that."
    ),
    "gave_up.nothing_made": (
        ":octagonal_sign: The bot gave up on request {request_id} ({reason}) before asking the cloud"
        " for anything: no backup was made. Please try again."
    ),
    "gave_up.check": (
        ":octagonal_sign: The bot stopped following request {request_id} ({reason}). A backup may have"
        " been started: check with `/backup status {request_id}` before trying again."
    ),
    "decision.elsewhere": (
        ":warning: That button does not belong to the request shown with it, so nothing was done. Use "
        "the buttons on the request itself."
    ),
    "decision.already_yours": (
        ":information_source: You have already approved this request ({count} of {needed} approvals so "
        "far); it needs another approver."
    ),
    "decision.closed": ":information_source: This request no longer waits for a decision: it is {state}.",
    "refused.no_role": ":no_entry: You are not allowed to take backups with this bot. {who_can_help}",
    "refused.not_a_member": (
        ":no_entry: You are not in {channel}, so the bot will not post your request there. Pick a channel"
        " you are a member of."
    ),
    "refused.who": "Ask {who}.",
    "refused.nobody": "Ask whoever manages the bot's policy file.",
    "not_kept.no_role": (
        ":no_entry: You are not allowed to take backups with this bot. Ask one of its approvers."
    ),
    # --- thread replies ---
    "created.text": ":rocket: Backup {name} started: backup ID {backup_id}, job ID {job_id}.",
    "created.lead": ":rocket: The backup has started.",
    "completed.text": (
        "{requester} :white_check_mark: Backup {name} of {instance} completed ({size}, {duration})."
    ),
    "failed.text": "{requester} :x: Backup {name} of {instance} failed: {reason}",
    "failed.no_reason": "the cloud gave no reason",
    "create_failed.text": "{requester} :x: The cloud refused to create backup {name} of {instance}: {reason}",
    "timed_out.text": (
        "{requester} :alarm_clock: Backup {name} of {instance} is still running after {timeout}."
    ),
    "timed_out.next": (
        "This is not a failure. The bot keeps watching the backup and will post the real result "
        "in this thread when the cloud reports it."
    ),
    "timed_out.default_timeout": "the usual time",
    "rejected.text": "{requester} :no_entry_sign: Your backup request was rejected by {decider}.",
    "cancelled.text": (
        "{requester} :heavy_multiplication_x: The backup request was cancelled by {decider}; "
        "no backup was made."
    ),
    "rejected.reason": "*Reason*\n{value}",
    "expired.text": (
        "{requester} :hourglass: Your backup request expired before anyone approved it; nothing was created."
    ),
    "busy.text": (
        ":hourglass: The instance is busy ({reason}). The bot will try again by itself; "
        "nothing needs to be done."
    ),
    "busy.no_reason": "another operation is running",
    # why a request ended, for the bot's own error codes (the cloud's come with its own words)
    "reason.not_in_channel": "the bot was never invited to the channel",
    "reason.instance_not_found": "no TaurusDB instance is named {ref} or has that ID",
    "reason.ambiguous": "several instances are named {ref}",
    "reason.no_role": "the requester holds no role in the policy",
    "reason.not_a_member": "the requester is not in the channel they picked",
    "reason.gave_up": "the bot gave up after repeated failures; nothing was sent to the cloud",
    # --- private answers to commands ---
    "error.text": ":warning: {problem}",
    "error.usage": "Usage:\n```{usage}```",
    "help.title": "*Take a manual TaurusDB backup*",
    "help.usage": "```{usage}```",
    "help.fallback": "How to use /backup",
    "help.note": "• {note}",
    "help.simulator": "No cloud credentials are configured: backups go to the built-in TaurusDB simulator.",
    "received.text": ":inbox_tray: Request {request_id} received: backup {name} of {instance}.",
    "received.next": "Progress will appear in a thread in {channel}.",
    "received.approval": "An approver has to approve it first; you will be told in the thread.",
    "looking_up.text": ":mag: Looking that up; the answer will appear here in a moment.",
    "unavailable.text": (
        ":warning: The bot cannot reach its database right now, so nothing was recorded. "
        "Please try again in a minute."
    ),
    "instance_not_found.text": ":warning: No TaurusDB instance is named {ref} or has that ID.",
    "instance_not_found.suggest": "Did you mean {names}?",
    "instance.ambiguous": ":warning: {count} instances are named {ref}; use the instance ID: {choices}",
    "instance.ambiguous_regions": (
        ":warning: {count} regions have an instance named {ref}; name the one you mean with its region:"
        " {choices}"
    ),
    "not_in_channel.hint": (
        ":wave: I cannot post in {channel} yet because I am not a member. "
        "Invite me with `/invite @backup-bot` and your request {request_id} will continue there."
    ),
    "not_in_channel.gave_up": (
        ":no_entry_sign: Request {request_id} was cancelled: I was never invited to {channel}, "
        "so no backup was made. Invite me with `/invite @backup-bot` and ask again."
    ),
    "lookup.no_request": "no request with ID {ref}",
    "lookup.no_backup": "no backup with ID {ref}",
    "cloud.answered": "the cloud answered: {error}",
    "audit.title": "*Audit log* (latest {count})",
    "audit.empty": "The audit log is empty.",
    "audit.not_allowed": ":no_entry: Only approvers can read the audit log.",
    # --- /backup status and /backup list (backups as the cloud lists them) ---
    "record.title": "{emoji} Backup {name} is {status}",
    "record.fallback": "Backup {name} is {status}",
    "list.title": "*Latest backups of {instance}* ({count})",
    "list.fallback": "Latest backups of {instance}: {count}",
    "list.empty": "No backups found for {instance}.",
    "list.item": "{emoji} {name} · {status} · {when} · {size}\nID {backup_id}",
    "list.more": "…and {count} more.",
    # --- the audit trail, one line per entry ---
    "auditlog.requested": "Backup requested",
    "auditlog.refused": "Refused",
    "auditlog.approval_requested": "Approval requested",
    "auditlog.approved": "Approved",
    "auditlog.rejected": "Rejected",
    "auditlog.expired": "Approval expired",
    "auditlog.create_called": "Create API called",
    "auditlog.create_failed": "Create failed",
    "auditlog.backup_started": "Backup started",
    "auditlog.completed": "Backup completed",
    "auditlog.failed": "Backup failed",
    "auditlog.timed_out": "Backup timed out",
    "auditlog.work_parked": "Gave up",
    "auditlog.approval_recorded": "Approval recorded",
    "auditlog.cancelled": "Cancelled",
    "auditlog.break_glass": "Glass broken: started without approval",
    "auditlog.scheduled": "Planned for later",
    "auditlog.kept": "Retention changed",
    "auditlog.deleted": "Backup deleted as planned",
    "auditlog.delete_failed": "Planned deletion refused",
    "auditlog.deleted_elsewhere": "Backup already deleted by someone else",
    "auditlog.by": "{label} by {actor}",
    "auditlog.request": "request {value}",
    "auditlog.instance": "instance {value}",
    "auditlog.backup": "backup {value}",
    "auditlog.backup_id": "backup ID {value}",
    "auditlog.cloud_request": "cloud request {value}",
    # --- the backup form and the reject form (plain text: no mrkdwn in labels and hints) ---
    "form.title": "Take a backup",
    "form.submit": "Back up",
    "form.close": "Cancel",
    "form.intro": "A manual TaurusDB backup. Progress appears in a thread in the channel.",
    "form.instance": "Instance",
    "form.instance.placeholder": "Type to search instances",
    "form.name": "Backup name",
    "form.name.hint": "4–64 characters: starts with a letter, then letters, digits, - and _.",
    "form.description": "Description",
    "form.description.hint": "Up to 256 characters on one line, without ! < \" = ' > &.",
    "form.reference": "Change or incident reference",
    "form.reference.hint": "For example CHG-1234 or INC-42; shown with the request.",
    "form.channel": "Post the request in",
    "form.error.instance": "pick an instance",
    "form.error.channel": "pick the channel for the request",
    "form.error.metadata": "this form cannot be used any more: open a new one with /backup",
    "break_glass.title": "Break the glass",
    "break_glass.submit": "Start now",
    "break_glass.close": "Keep waiting",
    "break_glass.intro": (
        "Start backup {name} of {instance} now, without waiting for approval? The approvers are told,"
        " and it is recorded as a broken glass."
    ),
    "break_glass.reason": "Why can it not wait?",
    "break_glass.hint": "Required. Shown in the thread and the audit trail.",
    "reject.title": "Reject request",
    "reject.submit": "Reject",
    "reject.close": "Don't reject",
    "reject.intro": "Reject backup {name} of {instance} requested by {requester}?",
    "reject.reason": "Reason (optional)",
    "option.description": "{status} · {engine}",
    "option.engine": "MySQL {version}",
    # --- /backup usage and what is wrong with a command ---
    "usage.open_form": "open the backup form",
    "what.instance": "instance",
    "what.backup_name": "backup name",
    "what.ref": "backup ID or request ID",
    "problem.markup": (
        "the {what} looks like a link or a mention (Slack turned it into `<…>`); "
        "type it as plain text, without @, # or a link"
    ),
    "problem.name_missing": "the backup name is missing after the instance `{instance}`",
    "problem.ref_missing": "the backup ID or request ID is missing",
    "problem.status_words": "status takes one backup ID or request ID (got {count} words)",
    "problem.ref": "`{ref}` is not a backup ID or a request ID (letters, digits, - and _ only)",
    "problem.cancel_words": "cancel takes one request ID (got {count} words)",
    "problem.keep_words": "keep takes a backup ID or request ID and a duration (got {count} words)",
    "problem.keep": "`{value}` is not a duration: use a number and h, d or w (12h, 14d, 2w), or forever",
    "problem.at": "`{value}` is not a time: use 21:45, or a date and time like 2026-12-24T21:45",
    "problem.flag_twice": "`{flag}` is given twice",
    "problem.flag_value": "`{flag}` needs a value after it",
    "problem.request_id": "`{ref}` is not a request ID (they look like r-7kq2m9xv4d)",
    "problem.instance_missing": "the instance is missing",
    "problem.list_words": "list takes an instance and an optional count (got {count} words)",
    "problem.audit_words": "audit takes an optional count (got {count} words)",
    "problem.count": "the count is a whole number from 1 to {maximum} (got `{value}`)",
    "problem.instance": (
        "`{value}` is not an instance ID, an instance name (1 to 64 letters, digits, `-`, `_` or `.`) "
        "or `<region>/<name>`"
    ),
    "problem.unknown_close": "unknown subcommand `{word}`: did you mean `{close}`?",
    "problem.unknown": (
        "unknown subcommand `{word}`; the subcommands are create, status, list, cancel and help"
    ),
    # --- the API's input rules ---
    "rule.project_id": "a project ID is exactly 32 letters or digits (got {length} characters)",
    "rule.instance_id": "an instance ID is 36 letters or digits ending in `in07`",
    "rule.name_required": "a backup name is required",
    "rule.name_start": "a backup name must start with a letter",
    "rule.name_length": "a backup name is 4 to 64 characters (got {length})",
    "rule.name_chars": "a backup name may contain only letters, digits, hyphens (-) and underscores (_)",
    "rule.description_length": "a description is at most {maximum} characters (got {length})",
    "rule.description_line": "a description must be a single line (no line breaks)",
    "rule.description_chars": "a description may not contain {found} (none of ! < \" = ' > & are allowed)",
    "rule.reference_length": "a reference is at most {maximum} characters (got {length})",
    "rule.reference_line": "a reference must be a single line",
    "rule.hidden_chars": (
        "the text holds characters that do not show as themselves ({found}): "
        "control, bidi and zero-width characters are not allowed"
    ),
    "rule.reason_required": "a reason is required",
    "rule.reason_length": "a reason is at most {maximum} characters (got {length})",
    # --- the policy, as /backup help explains it ---
    "policy.open_default": "No policy file: everyone may take backups directly (open default).",
    "policy.everyone": "everyone",
    "policy.viewers": "Viewers ({who}) may look backups up (status, list), not take them.",
    "policy.rule": "Instances matching {globs} need {count} approval(s) from {who}, never the requester.",
    "policy.break_glass": (
        "{who} may start their own pending request at once (break glass); the approvers are told."
    ),
    "policy.notify.dm": "Approvers are asked by direct message.",
    "policy.notify.both": "Approvers are asked in the channel and by direct message.",
    "policy.reads": "Looking backups up (status, list) needs a role too.",
    "policy.guests_refused": "Slack guests hold no role unless the policy names them by user ID.",
    "policy.guests_allowed": "Slack guests hold roles like members.",
    "policy.requesters": "Requesters ({who}) may ask for backups; each one needs an approval.",
    "policy.operators": "Operators ({who}) take backups directly.",
    "policy.operators_except": (
        "Operators ({who}) take backups directly, except on instances that need an approval."
    ),
    "policy.approvers": "Approvers ({who}) approve or reject requests and take backups like operators.",
    "policy.required_for": (
        "Approval is required for instances matching {globs}; requests expire after {expiry}."
    ),
    "policy.no_gate": (
        "Operators and approvers need no approval on any instance; requests expire after {expiry}."
    ),
    "policy.nothing_needs_approval": "Nothing needs an approval.",
    "policy.self_approval": "Approvers may approve their own requests.",
    "policy.no_self_approval": "Nobody approves their own request.",
    "policy.nobody": "Nobody holds a role: every request is refused.",
    "policy.others_refused": "Anyone else is refused.",
    # --- sizes and durations ---
    "unit.d": "{n} d",
    "unit.h": "{n} h",
    "unit.min": "{n} min",
    "unit.s": "{n} s",
    **MORE,
}
