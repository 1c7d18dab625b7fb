"""Per-request notes the middlewares leave for the call log (how the caller authenticated, whether
the answer was swallowed). A context variable, so it needs no request storage keys."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class CallNotes:
    auth: str | None = None  # "aksk" | "token"
    dropped: bool = False  # the answer was never sent (``drop_after_create``)


CURRENT = ContextVar[CallNotes]("simulator_call_notes")


def notes() -> CallNotes:
    """This request's notes (a throwaway object outside a request)."""
    try:
        return CURRENT.get()
    except LookupError:
        return CallNotes()
