"""Seals on what the bot hands Slack to give back: a form's ``private_metadata`` says which channel
it was opened from, and a seal (an HMAC under a key only this deployment knows) shows the channel
came from Slack's own command payload rather than from a forged submission."""

from __future__ import annotations

import hashlib
import hmac

from bot.config import Settings


def key_of(settings: Settings) -> bytes:
    """This deployment's sealing key, from its Slack secrets (never sent anywhere)."""
    material = "\n".join(
        secret.get_secret_value()
        for secret in (settings.slack_signing_secret, settings.slack_bot_token, settings.slack_app_token)
        if secret is not None
    )
    return hashlib.sha256(b"backup-bot form seal\n" + material.encode()).digest()


def seal(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def is_sealed(key: bytes, signature: str, *parts: str) -> bool:
    return bool(signature) and hmac.compare_digest(signature, seal(key, *parts))
