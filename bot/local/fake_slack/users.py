"""Who is who: ``auth.test`` (the bot and the workspace or org it is installed in), ``users.info``
(people: guests, locale, time zone) and ``usergroups.*`` (the groups a policy names)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.local.fake_slack.args import truthy
from bot.local.fake_slack.identity import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_LOCALE,
    DEFAULT_TZ,
    TEAM_DOMAIN,
    usergroup_id,
)
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace


def auth_test(ws: Workspace, args: Args) -> Answer:
    knobs = ws.knobs
    answer: Answer = {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "Fake Workspace",
        "user": "backup-bot",
        "team_id": knobs.team_id,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": knobs.enterprise_install,
    }
    if knobs.enterprise_id is not None:  # Slack names the org only inside Enterprise Grid
        answer["enterprise_id"] = knobs.enterprise_id
    return answer


def _tz_offset(name: str) -> int:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


def users_info(ws: Workspace, args: Args) -> Answer:
    user_id = str(args.get("user") or "")
    if not ws.knows_user(user_id):
        return {"ok": False, "error": "user_not_found"}
    tz_name = ws.knobs.timezones.get(user_id, DEFAULT_TZ)
    guest = ws.knobs.guests.get(user_id)
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": ws.knobs.team_id,
        "name": user_id.lower(),
        "real_name": f"User {user_id}",
        "deleted": False,
        "is_bot": user_id == BOT_USER_ID,
        "is_admin": False,
        "is_owner": False,
        # A single-channel guest is a kind of restricted account: Slack sets both flags for one.
        "is_restricted": guest is not None,
        "is_ultra_restricted": guest == "single",
        "tz": tz_name,
        "tz_label": tz_name,
        "tz_offset": _tz_offset(tz_name),
        "profile": {"real_name": f"User {user_id}", "display_name": user_id.lower()},
    }
    if truthy(args.get("include_locale")):
        user["locale"] = ws.knobs.locales.get(user_id, DEFAULT_LOCALE)
    return {"ok": True, "user": user}


def usergroups_list(ws: Workspace, args: Args) -> Answer:
    groups = []
    for handle, users in ws.knobs.usergroups.items():
        group: dict[str, Any] = {
            "id": usergroup_id(handle),
            "team_id": ws.knobs.team_id,
            "handle": handle,
            "name": handle,
            "user_count": len(users),
        }
        if truthy(args.get("include_users")):
            group["users"] = list(users)
        groups.append(group)
    return {"ok": True, "usergroups": groups}


def usergroups_users_list(ws: Workspace, args: Args) -> Answer:
    wanted = str(args.get("usergroup") or "")
    for handle, users in ws.knobs.usergroups.items():
        if wanted in (usergroup_id(handle), handle, "@" + handle):
            return {"ok": True, "users": list(users)}
    return {"ok": False, "error": "no_such_subteam"}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}
