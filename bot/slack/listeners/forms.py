"""Modal submissions: the backup form and the reject-with-reason form. Field errors are answered
inline (``response_action: errors``) before anything is recorded; nothing reaches the cloud. Errors
and acknowledgements are in the language of the person who submitted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.app.decisions import Decision, Unavailable, break_glass, decide
from bot.app.intake import Accepted, Ask, Refused, take
from bot.domain import rules
from bot.domain.form import check_reason, validate_form
from bot.domain.lifetimes import is_start_time, parse_keep, picked_start
from bot.i18n import Text
from bot.slack.listeners import Front
from bot.slack.listeners.actions import show_now
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET, record_deadline
from bot.slack.payloads import DecisionMetadata, FormMetadata, ViewSubmission, is_channel_id, metadata
from bot.slack.render import answers, views
from bot.slack.seal import is_sealed, key_of

log = logging.getLogger("bot.slack.forms")


def _channel_and_url(
    submission: ViewSubmission, meta: FormMetadata, values: dict[str, str], key: bytes
) -> tuple[str, str, bool]:
    """Where to post, the response URL to answer through, and whether the channel must be checked:
    only a channel from the slash command (sealed by us, for this user) is taken as it is."""
    channel = meta.channel_id or values.get(views.CHANNEL_BLOCK, "")
    trusted = bool(meta.channel_id) and is_sealed(key, meta.seal, meta.channel_id, submission.user.id)
    url = meta.response_url
    for item in submission.response_urls:
        if item.channel_id == channel or not url:
            url = item.response_url
    return channel, url, not trusted


def _start_field(state: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> tuple[str, Text | None]:
    """The form's start time as the worker reads it ("" = at once, ``@<epoch seconds>`` when picked),
    or why it cannot be taken: only the form's own date-time picker holding a moment a datetime can
    hold is. Text where the picker belongs, or a number past the calendar, is refused as the slash
    command's ``--at`` refuses what is not a time (a time typed where no text field was, as a form
    the bot did not build), and never recorded."""
    elements = state.get(views.AT_BLOCK)
    if not elements:
        return "", None
    element = next(iter(elements.values())) if len(elements) == 1 else {}
    moment = element.get("selected_date_time")
    if element.get("type") == "datetimepicker":
        if moment is None:  # nothing picked: at once
            return "", None
        if (token := picked_start(moment)) is not None:
            return token, None
    raw = moment if element.get("type") == "datetimepicker" else element.get("value")
    if isinstance(raw, str) and is_start_time(raw):  # a time, but not from the form the bot built
        return "", Text("form.error.metadata")
    shown = raw if isinstance(raw, str) else str(raw) if isinstance(raw, int | float) else ""
    shown = shown.replace("`", "'").encode("utf-8", "replace").decode() or "?"
    return "", Text("problem.at", value=shown if len(shown) <= 20 else shown[:19] + "…")


def _decision_metadata(submission: ViewSubmission) -> DecisionMetadata:
    """A decision form's metadata; one the bot did not write names no request (so decides nothing)."""
    meta = metadata(DecisionMetadata, submission.view.private_metadata)
    if meta is None:
        log.info("a decision form came back with metadata the bot did not write")
        return DecisionMetadata()
    return meta


def register(app: AsyncApp, front: Front) -> None:
    services = front.services
    people = services.people
    seal_key = key_of(services.settings)

    async def submit_backup(ack: AsyncAck, context: dict[str, Any]) -> None:
        submission: ViewSubmission = context["payload"]
        user_id = submission.user.id
        lang = people.default
        meta = metadata(FormMetadata, submission.view.private_metadata)
        if meta is None:  # not what the bot wrote: a forged (or garbled) view
            log.info("refused a backup form whose metadata the bot did not write")
            errors = {views.INSTANCE_BLOCK: Text("form.error.metadata")}
            await ack(response_action="errors", errors=views.field_errors(errors, lang=lang))
            return
        values = views.submitted_values(submission.view.state.values)
        errors = validate_form(
            values,
            instance_block=views.INSTANCE_BLOCK,
            name_block=views.NAME_BLOCK,
            description_block=views.DESCRIPTION_BLOCK,
            reference_block=views.REFERENCE_BLOCK,
        )
        keep_value = values.get(views.KEEP_BLOCK, "default")
        keep = "" if keep_value in ("", "default") else keep_value
        if keep and parse_keep(keep) is None:
            errors[views.KEEP_BLOCK] = Text("problem.keep", value=keep[:20])
        at, at_problem = _start_field(submission.view.state.values)
        if at_problem is not None:
            errors[views.AT_BLOCK] = at_problem
        channel, response_url, verify = _channel_and_url(submission, meta, values, seal_key)
        if not is_channel_id(channel) and views.CHANNEL_BLOCK not in errors:
            errors[views.CHANNEL_BLOCK] = Text("form.error.channel")
        taken: Accepted | Refused | None = None
        problems: dict[str, str] = dict(errors)
        try:
            async with asyncio.timeout(WEB_BUDGET):
                known = await people.known(user_id)
                lang = known or people.default
                if not errors:
                    ask = Ask(
                        team_id=submission.team_id,
                        channel_id=channel,
                        user_id=user_id,
                        instance_ref=values[views.INSTANCE_BLOCK],
                        backup_name=values[views.NAME_BLOCK].strip(),
                        description=values.get(views.DESCRIPTION_BLOCK, "").strip(),
                        reference=values.get(views.REFERENCE_BLOCK, "").strip(),
                        response_url=response_url,
                        # A channel picked in the form (or metadata we did not seal): the worker
                        # checks the submitter is in it before posting there.
                        verify_channel=verify,
                        keep=keep,
                        at=at,
                    )
                    # A double submit of the same view is one request (one person's: the key says whose).
                    dedupe_key = f"view:{submission.team_id}:{user_id}:{submission.view.id}"
                    taken = await take(
                        services, ask, dedupe_key=dedupe_key, known=known, deadline=record_deadline(services)
                    )
        except UNAVAILABLE:
            problems = {views.INSTANCE_BLOCK: answers.unavailable(lang=lang).text}
        if isinstance(taken, Refused):
            problems = {views.INSTANCE_BLOCK: answers.no_role(taken.helpers, lang=lang).text}
        if not isinstance(taken, Accepted):
            await ack(response_action="errors", errors=views.field_errors(problems, lang=lang))
            return
        await ack()
        if response_url:  # the acknowledgement is a courtesy; the request is recorded
            label = views.picked_label(submission.view.state.values, views.INSTANCE_BLOCK)
            await front.responder.send(response_url, answers.received(taken.request, lang=lang, label=label))

    async def submit_reject(ack: AsyncAck, context: dict[str, Any]) -> None:
        submission: ViewSubmission = context["payload"]
        meta = _decision_metadata(submission)
        reason = views.submitted_values(submission.view.state.values).get(views.REASON_BLOCK, "").strip()
        user_id = submission.user.id
        lang = people.default
        if (problem := check_reason(reason)) is not None:
            lang = await people.for_reply(user_id)
            await ack(
                response_action="errors", errors=views.field_errors({views.REASON_BLOCK: problem}, lang=lang)
            )
            return
        try:
            async with asyncio.timeout(WEB_BUDGET):
                lang = await people.for_reply(user_id)
                decision = await decide(
                    services,
                    meta.request_id,
                    user_id,
                    approve=False,
                    reason=reason,
                    seen=meta.seen,
                    deadline=record_deadline(services),
                )
        except UNAVAILABLE:
            decision = Decision(None, Unavailable())
        if decision.refusal is not None:
            errors = {views.REASON_BLOCK: answers.decision_refusal(decision.refusal, lang=lang).text}
            await ack(response_action="errors", errors=views.field_errors(errors, lang=lang))
            return
        await ack()
        if decision.request is not None:
            await show_now(services, decision.request.id)

    async def submit_break_glass(ack: AsyncAck, context: dict[str, Any]) -> None:
        submission: ViewSubmission = context["payload"]
        meta = _decision_metadata(submission)
        reason = views.submitted_values(submission.view.state.values).get(views.REASON_BLOCK, "").strip()
        user_id = submission.user.id
        lang = await people.for_reply(user_id)
        problem = Text("rule.reason_required") if not reason else rules.check_description(reason)
        if problem is not None:
            await ack(
                response_action="errors", errors=views.field_errors({views.REASON_BLOCK: problem}, lang=lang)
            )
            return
        try:
            async with asyncio.timeout(WEB_BUDGET):
                decision = await break_glass(
                    services,
                    meta.request_id,
                    user_id,
                    reason=reason,
                    seen=meta.seen,
                    deadline=record_deadline(services),
                )
        except UNAVAILABLE:
            decision = Decision(None, Unavailable())
        if decision.refusal is not None:
            errors = {views.REASON_BLOCK: answers.decision_refusal(decision.refusal, lang=lang).text}
            await ack(response_action="errors", errors=views.field_errors(errors, lang=lang))
            return
        await ack()
        if decision.request is not None:
            await show_now(services, decision.request.id)

    front.listen(app.view(views.FORM_CALLBACK), submit_backup)
    front.listen(app.view(views.REJECT_CALLBACK), submit_reject)
    front.listen(app.view(views.BREAK_GLASS_CALLBACK), submit_break_glass)
