"""Who is who: ``auth.test`` (the bot), ``users.info`` (people, their locale and time zone) and
``usergroups.*`` (the groups a policy names)."""

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
    TEAM_ID,
    usergroup_id,
)
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace


def auth_test(ws: Workspace, args: Args) -> Answer:
    return {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "Fake Workspace",
        "user": "backup-bot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _tz_offset(name: str) -> int:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


def users_info(ws: Workspace, args: Args) -> Answer:
    user_id = str(args.get("user") or "")
    if not user_id:
        return {"ok": False, "error": "user_not_found"}
    tz_name = ws.knobs.timezones.get(user_id, DEFAULT_TZ)
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": user_id.lower(),
        "real_name": f"User {user_id}",
        "deleted": False,
        "is_bot": user_id == BOT_USER_ID,
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
            "team_id": TEAM_ID,
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
