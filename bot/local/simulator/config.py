"""How a simulator is set up: timings, the credentials its gateway accepts, start-up faults.

Credentials left as ``None`` are not checked, so a bot with no configuration at all can talk to a
local simulator; set them (``from_env`` reads the bot's own variables) to make the gateway strict.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.local.simulator.faults import FaultKnobs

_ENV_FIELDS = {
    "project_id": "HUAWEICLOUD_SDK_PROJECT_ID",
    "access_key": "HUAWEICLOUD_SDK_AK",
    "secret_key": "HUAWEICLOUD_SDK_SK",
    "security_token": "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "iam_user": "HUAWEICLOUD_IAM_USER",
    "iam_password": "HUAWEICLOUD_IAM_PASSWORD",
    "iam_domain": "HUAWEICLOUD_IAM_DOMAIN",
    "auth_token": "HUAWEICLOUD_AUTH_TOKEN",
}


class SimulatorConfig(BaseModel):
    """Everything a simulator needs at start-up. Faults can also be changed at run time."""

    model_config = ConfigDict(extra="forbid")

    backup_seconds: float = Field(default=5.0, ge=0)
    job_invisible_seconds: float = Field(default=3.0, ge=0)
    token_ttl_seconds: float = Field(default=86400.0, gt=0)
    state_file: Path | None = None
    region: str = "ap-southeast-3"

    project_id: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    security_token: str | None = None
    iam_user: str | None = None
    iam_password: str | None = None
    iam_domain: str | None = None
    auth_token: str | None = None

    faults: FaultKnobs = Field(default_factory=FaultKnobs)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> SimulatorConfig:
        """The credentials the bot would use (same variable names); empty values count as unset."""
        values: dict[str, Any] = {
            field: environ[name] for field, name in _ENV_FIELDS.items() if environ.get(name)
        }
        values.update(overrides)
        return cls(**values)

    @property
    def strict_tokens(self) -> bool:
        """True when some credential is configured, so only tokens we issued (or ``auth_token``) pass."""
        return any(
            value is not None
            for value in (
                self.access_key,
                self.secret_key,
                self.security_token,
                self.iam_user,
                self.iam_password,
                self.iam_domain,
                self.auth_token,
            )
        )
