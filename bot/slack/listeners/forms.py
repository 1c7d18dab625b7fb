"""Modal submissions: the backup form and the reject-with-reason form. Field errors are answered
inline (``response_action: errors``) before anything is recorded; nothing reaches the cloud. Errors
and acknowledgements are in the language of the person who submitted."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.decisions import decide
from bot.app.intake import Accepted, Ask, take
from bot.domain.form import validate_form
from bot.i18n import Text
from bot.slack.listeners import Front
from bot.slack.listeners.actions import replace_buttons
from bot.slack.render import answers, views

log = logging.getLogger("bot.slack.forms")


def _channel_and_url(body: dict[str, Any], view: dict[str, Any], values: dict[str, str]) -> tuple[str, str]:
    meta = views.read_metadata(view.get("private_metadata", ""))
    channel = meta.get("channel_id") or values.get(views.CHANNEL_BLOCK, "")
    url = meta.get("response_url", "")
    for item in body.get("response_urls") or []:
        if item.get("channel_id") == channel or not url:
            url = str(item.get("response_url", url))
    return channel, url


def register(app: AsyncApp, front: Front) -> None:
    services = front.services
    languages = services.languages

    async def submit_backup(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        known = await languages.known(user_id)
        lang = known or languages.default
        values = views.submitted_values(view)
        errors = validate_form(
            values,
            instance_block=views.INSTANCE_BLOCK,
            name_block=views.NAME_BLOCK,
            description_block=views.DESCRIPTION_BLOCK,
            reference_block=views.REFERENCE_BLOCK,
        )
        channel, response_url = _channel_and_url(body, view, values)
        if not channel and views.CHANNEL_BLOCK not in errors:
            errors[views.CHANNEL_BLOCK] = Text("form.error.channel")
        if errors:
            await ack(response_action="errors", errors=views.field_errors(errors, lang=lang))
            return
        ask = Ask(
            team_id=str(body.get("team", {}).get("id", "")),
            channel_id=channel,
            user_id=user_id,
            instance_ref=values[views.INSTANCE_BLOCK],
            backup_name=values[views.NAME_BLOCK].strip(),
            description=values.get(views.DESCRIPTION_BLOCK, "").strip(),
            reference=values.get(views.REFERENCE_BLOCK, "").strip(),
            response_url=response_url,
        )
        # A double submit of the same view is one request.
        taken = await take(services, ask, dedupe_key=f"view:{view['id']}", known=known)
        if not isinstance(taken, Accepted):
            refused = {views.INSTANCE_BLOCK: answers.no_role(taken.helpers, lang=lang).text}
            await ack(response_action="errors", errors=views.field_errors(refused, lang=lang))
            return
        await ack()
        if response_url:  # the acknowledgement is a courtesy; the request is recorded
            await front.responder.send(response_url, answers.received(taken.request, lang=lang))

    async def submit_reject(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        request_id = str(json.loads(view.get("private_metadata") or "{}").get("request_id", ""))
        reason = views.submitted_values(view).get(views.REASON_BLOCK, "").strip()
        user_id = body["user"]["id"]
        lang = await languages.for_reply(user_id)
        decision = await decide(services, request_id, user_id, approve=False, reason=reason)
        if decision.refusal is not None:
            errors = {views.REASON_BLOCK: answers.decision_refusal(decision.refusal, lang=lang).text}
            await ack(response_action="errors", errors=views.field_errors(errors, lang=lang))
            return
        await ack()
        await replace_buttons(client, services, request_id)

    app.view(views.FORM_CALLBACK)(submit_backup)
    app.view(views.REJECT_CALLBACK)(submit_reject)
