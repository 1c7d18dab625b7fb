"""What a create request must look like before the service looks at the instance (the seed's rules:
instance ID format, backup name, description), refused with the service's DBS codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import rules
from bot.local.simulator.apierror import ApiFailure, bad_instance_id


@dataclass(frozen=True)
class CreateRequest:
    instance_id: str
    name: str
    description: str


def create_request(body: Any) -> CreateRequest:
    """The request in ``body`` (parsed JSON), or the :class:`ApiFailure` the service would answer."""
    if not isinstance(body, Mapping):
        raise ApiFailure(400, "DBS.200006", "The request body is empty or not a JSON object.")
    instance_id = body.get("instance_id")
    if not isinstance(instance_id, str) or not rules.is_instance_id(instance_id):
        raise bad_instance_id()
    name = body.get("name")
    if not isinstance(name, str):
        raise ApiFailure(400, "DBS.280277", "Invalid backup name: a backup name is required.")
    if problem := rules.check_backup_name(name):
        raise ApiFailure(400, "DBS.280277", f"Invalid backup name: {problem}.")
    description = body.get("description")
    if description is not None:
        wrong = rules.check_description(description) if isinstance(description, str) else "not text"
        if wrong:
            raise ApiFailure(400, "DBS.280127", f"Invalid backup description: {wrong}.")
    return CreateRequest(instance_id, name, description or "")
