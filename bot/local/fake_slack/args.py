"""Reading a Web API request the way Slack does: query string plus a JSON, form or multipart body."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from aiohttp import web

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


async def read_args(request: web.Request) -> dict[str, Any]:
    """Query string plus the body (JSON, form or multipart); JSON-in-form fields decoded.

    Raises ``ValueError`` with Slack's error code (``invalid_json``, ``invalid_blocks`` …).
    """
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise ValueError("invalid_json") from None
            if not isinstance(body, dict):
                raise ValueError("invalid_json")
            args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                args[key] = value if isinstance(value, str) else f"<file {getattr(value, 'filename', '')}>"
        else:
            args.update(urllib.parse.parse_qsl(await request.text(), keep_blank_values=True))
    for key in _JSON_FIELDS:
        encoded = args.get(key)
        if isinstance(encoded, str) and encoded.strip():
            try:
                args[key] = json.loads(encoded)
            except json.JSONDecodeError:
                raise ValueError(f"invalid_{key}") from None
    return args


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[len("bearer ") :].strip() or None


def pop_str(args: dict[str, Any], key: str) -> str | None:
    value = args.pop(key, None)
    return str(value) if value else None


def truthy(value: Any) -> bool:
    """Slack's booleans arrive as ``true``, ``1`` or a JSON ``true``."""
    return value is True or str(value).lower() in ("1", "true")
