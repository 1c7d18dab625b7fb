"""How each state reads: one exhaustive mapping per enum, so a new state cannot be forgotten (a
unit test checks that every member has an entry everywhere it must)."""

from __future__ import annotations

from bot.cloud.models import BackupStatus
from bot.domain.audit import AuditAction
from bot.domain.request import GAVE_UP, BackupRequest, State
from bot.i18n import t

STATE_EMOJI: dict[State, str] = {
    State.RECEIVED: ":inbox_tray:",
    State.PENDING_APPROVAL: ":raised_hand:",
    State.APPROVED: ":ballot_box_with_check:",
    State.REJECTED: ":no_entry_sign:",
    State.EXPIRED: ":hourglass:",
    State.CREATING: ":gear:",
    State.BUILDING: ":hourglass_flowing_sand:",
    State.COMPLETED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.TIMED_OUT: ":alarm_clock:",
    State.CREATE_FAILED: ":x:",
    State.CANCELLED: ":heavy_multiplication_x:",
    State.SCHEDULED: ":calendar:",
}

STATUS_EMOJI: dict[BackupStatus, str] = {
    BackupStatus.BUILDING: ":hourglass_flowing_sand:",
    BackupStatus.COMPLETED: ":white_check_mark:",
    BackupStatus.AVAILABLE: ":white_check_mark:",
    BackupStatus.FAILED: ":x:",
}

AUDIT_ICONS: dict[AuditAction, str] = {
    AuditAction.REQUESTED: ":inbox_tray:",
    AuditAction.REFUSED: ":no_entry:",
    AuditAction.APPROVAL_REQUESTED: ":raised_hand:",
    AuditAction.APPROVED: ":white_check_mark:",
    AuditAction.REJECTED: ":x:",
    AuditAction.EXPIRED: ":hourglass:",
    AuditAction.CREATE_CALLED: ":outbox_tray:",
    AuditAction.CREATE_FAILED: ":warning:",
    AuditAction.BACKUP_STARTED: ":arrows_counterclockwise:",
    AuditAction.COMPLETED: ":large_green_circle:",
    AuditAction.FAILED: ":red_circle:",
    AuditAction.TIMED_OUT: ":alarm_clock:",
    AuditAction.WORK_PARKED: ":octagonal_sign:",
    AuditAction.APPROVAL_RECORDED: ":ballot_box_with_check:",
    AuditAction.CANCELLED: ":heavy_multiplication_x:",
    AuditAction.BREAK_GLASS: ":rotating_light:",
    AuditAction.SCHEDULED: ":calendar:",
    AuditAction.KEPT: ":pushpin:",
    AuditAction.DELETED: ":wastebasket:",
    AuditAction.DELETE_FAILED: ":warning:",
    AuditAction.DELETED_ELSEWHERE: ":information_source:",
}


def state_word(state: State, lang: str) -> str:
    return t(lang, f"state.{state.name}")


def state_label(state: State, lang: str) -> str:
    return f"{STATE_EMOJI[state]} {state_word(state, lang)}"


def request_word(req: BackupRequest, lang: str) -> str:
    """One request's state in words: a request the bot gave up on before calling the cloud ends
    CREATE_FAILED too, but the cloud never refused it."""
    if req.state is State.CREATE_FAILED and req.error_code == GAVE_UP:
        return t(lang, "parent.gave_up")
    return state_word(req.state, lang)


def request_label(req: BackupRequest, lang: str) -> str:
    return f"{STATE_EMOJI[req.state]} {request_word(req, lang)}"


def status_word(status: BackupStatus, lang: str) -> str:
    return t(lang, f"status.{status.name}")
