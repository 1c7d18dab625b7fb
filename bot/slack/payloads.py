"""What Slack sends the bot, as strict models of exactly the parts the bot reads.

A request whose shape is not what Slack sends (a field missing or of the wrong kind, an empty
``actions`` list, values that are not objects) is refused before any listener runs: no traceback,
no side effect. Identifiers are checked against Slack's own shapes, free text is bounded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

UserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{1,20}$")]
TeamId = Annotated[str, StringConstraints(pattern=r"^[TE][A-Z0-9]{1,20}$")]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[CGD][A-Z0-9]{1,20}$")]
Ts = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,9}$")]
Short = Annotated[str, StringConstraints(max_length=255)]
Url = Annotated[str, StringConstraints(max_length=2000)]
RequestId = Annotated[str, StringConstraints(pattern=r"^r-[a-z0-9]{10}$")]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Command(_Part):
    """A slash command (form-encoded)."""

    command: Short
    team_id: TeamId
    enterprise_id: TeamId | None = None
    user_id: UserId
    channel_id: ChannelId
    text: Annotated[str, StringConstraints(max_length=4000)] = ""
    trigger_id: Short = ""
    response_url: Url = ""


class User(_Part):
    id: UserId
    team_id: TeamId | None = None


class Team(_Part):
    id: TeamId
    enterprise_id: TeamId | None = None


class Enterprise(_Part):
    id: TeamId


class Channel(_Part):
    id: ChannelId


class Action(_Part):
    action_id: Short
    block_id: Short = ""
    type: Short = ""
    value: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Container(_Part):
    type: Short
    message_ts: Ts | None = None
    channel_id: ChannelId | None = None
    view_id: Short | None = None


class ViewState(_Part):
    values: dict[Short, dict[Short, dict[str, Any]]] = Field(default_factory=dict)


class View(_Part):
    id: Short
    type: Short = "modal"
    callback_id: Short = ""
    private_metadata: Annotated[str, StringConstraints(max_length=3000)] = ""
    state: ViewState = Field(default_factory=ViewState)


class _Interaction(_Part):
    user: User
    team: Team | None = None
    enterprise: Enterprise | None = None

    @property
    def team_id(self) -> str:
        return self.team.id if self.team else (self.user.team_id or "")

    @property
    def enterprise_id(self) -> str:
        if self.enterprise is not None:
            return self.enterprise.id
        return self.team.enterprise_id or "" if self.team else ""


class BlockActions(_Interaction):
    type: Literal["block_actions"]
    actions: Annotated[list[Action], Field(min_length=1, max_length=5)]
    container: Container | None = None
    channel: Channel | None = None
    trigger_id: Short = ""
    response_url: Url = ""

    @property
    def seen_on(self) -> tuple[str, str] | None:
        """The (channel, ts) of the message whose button was pressed, when it was a message."""
        box = self.container
        if box is not None and box.type == "message" and box.channel_id and box.message_ts:
            return box.channel_id, box.message_ts
        return None


class ResponseUrl(_Part):
    block_id: Short = ""
    action_id: Short = ""
    channel_id: ChannelId
    response_url: Url


class ViewSubmission(_Interaction):
    type: Literal["view_submission"]
    view: View
    response_urls: list[ResponseUrl] = Field(default_factory=list)


class ViewClosed(_Interaction):
    type: Literal["view_closed"]


class BlockSuggestion(_Interaction):
    type: Literal["block_suggestion"]
    action_id: Short
    value: Annotated[str, StringConstraints(max_length=200)] = ""


class Shortcut(_Interaction):
    type: Literal["shortcut"]
    callback_id: Short
    trigger_id: Short


Interaction = BlockActions | ViewSubmission | ViewClosed | BlockSuggestion | Shortcut
_INTERACTIONS: dict[str, type[Interaction]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewClosed,
    "block_suggestion": BlockSuggestion,
    "shortcut": Shortcut,
}

Payload = Command | Interaction


class Malformed(Exception):
    """Not what Slack sends (or not a kind of request the bot takes)."""


def read(body: dict[str, Any]) -> Payload | None:
    """The typed payload of a request body as Bolt parsed it; None for requests the bot does not
    model (events, URL verification: Bolt handles those). Raises Malformed."""
    try:
        if "command" in body:
            return Command.model_validate(body)
        kind = body.get("type")
        if not isinstance(kind, str) or kind in ("url_verification", "event_callback", "app_rate_limited"):
            return None
        model = _INTERACTIONS.get(kind)
        if model is None:
            raise Malformed(f"interactions of type {kind[:40]!r} are not taken")
        return model.model_validate(body)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise Malformed(f"{where}: {exc.errors()[0]['msg']}") from None


# --- what the bot wrote in a view's private_metadata, as Slack hands it back ------------------------


class FormMetadata(_Part):
    """The backup form's metadata (:func:`bot.slack.render.views.form_metadata`): the channel it
    was opened from (none from the global shortcut), its response URL and the channel's seal."""

    channel_id: ChannelId | Literal[""] = ""
    response_url: Url = ""
    seal: Short = ""


class DecisionMetadata(_Part):
    """A decision form's metadata (reject, break glass): the request, and the message it was opened
    from."""

    request_id: RequestId | Literal[""] = ""
    channel_id: ChannelId | Literal[""] = ""
    ts: Ts | Literal[""] = ""

    @property
    def seen(self) -> tuple[str, str] | None:
        return (self.channel_id, self.ts) if self.channel_id and self.ts else None


M = TypeVar("M", FormMetadata, DecisionMetadata)


def metadata(model: type[M], text: str) -> M | None:
    """``private_metadata`` read back as the bot wrote it; None when it is not that (not JSON, not
    an object, or a field of another shape): a view the bot did not write."""
    try:
        return model.model_validate_json(text or "{}")
    except ValidationError:
        return None


_CHANNEL_ID: TypeAdapter[str] = TypeAdapter(ChannelId)


def is_channel_id(value: str) -> bool:
    """Whether ``value`` has the shape of a Slack conversation ID (a channel picked in a form)."""
    try:
        _CHANNEL_ID.validate_python(value)
    except ValidationError:
        return False
    return True
