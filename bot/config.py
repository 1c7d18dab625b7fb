"""The whole environment contract (DESIGN.md §4) as one pydantic-settings model.

``load_settings()`` validates at start-up and raises :class:`ConfigError` naming each variable that
is wrong and why, so a bad deployment fails before it touches Slack or the cloud.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config_fleet import (
    LOCAL_PROJECT_ID,
    LOCAL_REGION,
    REGION_PLACEHOLDER,
    ProjectSpec,
    check_endpoint,
    check_project_ids,
    check_regions,
    items,
    taurusdb_host,
)

__all__ = [
    "LOCAL_PROJECT_ID",
    "LOCAL_REGION",
    "CloudAuth",
    "ConfigError",
    "ProjectSpec",
    "Settings",
    "load_settings",
]


def _validated_regions(info: ValidationInfo) -> list[str] | None:
    """HUAWEICLOUD_REGION as validated so far; None when it was itself invalid."""
    if "huaweicloud_region" not in info.data:
        return None
    return [r for r in items(info.data["huaweicloud_region"]) if r]


# Slack's token prefixes: only an app-level token (xapp-) opens a Socket Mode connection.
_APP_TOKEN_RE = re.compile(r"xapp-[A-Za-z0-9-]+")
_TOKEN_KINDS = {"xoxb": "a bot token", "xoxp": "a user token", "xoxe": "a refresh token"}


class CloudAuth(StrEnum):
    AKSK = "aksk"
    IAM_PASSWORD = "iam_password"
    TOKEN = "token"
    NONE = "none"  # talk to the bundled simulator


class ConfigError(Exception):
    """One or more environment variables are missing or malformed."""


def _env(name: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(name))


class Settings(BaseSettings):
    """Every environment variable the bot reads. Names are a public contract."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True, populate_by_name=False)

    slack_bot_token: SecretStr | None = _env("SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = _env("SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = _env("SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias="PORT")
    metrics_port: int | None = Field(default=None, ge=1, le=65535, validation_alias="METRICS_PORT")
    metrics_token: SecretStr | None = _env("METRICS_TOKEN")
    redis_url: str | None = _env("REDIS_URL")

    huaweicloud_region: str | None = _env("HUAWEICLOUD_REGION")
    sdk_project_id: str | None = _env("HUAWEICLOUD_SDK_PROJECT_ID")  # see project_id / projects
    taurusdb_endpoint: str | None = _env("TAURUSDB_ENDPOINT")
    iam_endpoint: str | None = _env("HUAWEICLOUD_SDK_IAM_ENDPOINT")
    access_key: SecretStr | None = _env("HUAWEICLOUD_SDK_AK")
    secret_key: SecretStr | None = _env("HUAWEICLOUD_SDK_SK")
    security_token: SecretStr | None = _env("HUAWEICLOUD_SDK_SECURITY_TOKEN")
    iam_user: str | None = _env("HUAWEICLOUD_IAM_USER")
    iam_password: SecretStr | None = _env("HUAWEICLOUD_IAM_PASSWORD")
    iam_domain: str | None = _env("HUAWEICLOUD_IAM_DOMAIN")
    auth_token: SecretStr | None = _env("HUAWEICLOUD_AUTH_TOKEN")

    policy_file: Path | None = _env("BACKUP_POLICY_FILE")
    poll_interval: float = Field(default=10.0, gt=0, le=3600, validation_alias="BACKUP_POLL_INTERVAL")
    poll_timeout: float = Field(default=3600.0, gt=0, validation_alias="BACKUP_POLL_TIMEOUT")
    default_language: str = Field(default="en-us", validation_alias="BACKUP_DEFAULT_LANGUAGE")
    audit_channel: str | None = _env("AUDIT_CHANNEL")

    # How the processes run (not part of the DESIGN.md contract, but read here like everything else).
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_format: str = Field(default="json", validation_alias="LOG_FORMAT")
    local_dir: Path = Field(default=Path(".local"), validation_alias="BACKUP_BOT_LOCAL_DIR")
    # Slack's limits, kept by every process together: posts per second per channel (Slack allows about
    # one), and a multiple of the tiers' published per-minute minimums (Slack may grant an app more).
    slack_post_rate: float = Field(default=1.0, gt=0, le=100, validation_alias="BACKUP_SLACK_POST_RATE")
    slack_tier_scale: float = Field(default=1.0, gt=0, le=1000, validation_alias="BACKUP_SLACK_TIER_SCALE")

    @field_validator("huaweicloud_region")
    @classmethod
    def _regions(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else check_regions(value)

    @field_validator("sdk_project_id")
    @classmethod
    def _project_ids(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_project_ids(value, _validated_regions(info))

    @field_validator("taurusdb_endpoint", "iam_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_endpoint(value, _validated_regions(info))

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        """Slack refuses any other token on every connect: stop here, naming its kind, never the token."""
        token = "" if value is None else value.get_secret_value().strip()
        if not token or _APP_TOKEN_RE.fullmatch(token):
            return SecretStr(token) if token else None
        kind = _TOKEN_KINDS.get(token.partition("-")[0])
        raise ValueError(
            "must be an app-level token (xapp-…) with the connections:write scope; "
            + (f"this is {kind} ({token.partition('-')[0]}-…)" if kind else "this is not one")
        )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if urlsplit(value.strip()).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                "must be a redis://, rediss:// or unix:// URL (unset it for the embedded server)"
            )
        return value.strip()

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value if value.endswith("/") else value + "/"

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        lowered = value.strip().lower().replace("_", "-")
        if lowered.startswith("zh"):
            return "zh-cn"
        if lowered.startswith("en"):
            return "en-us"
        raise ValueError(f"must be en-us or zh-cn, got {value!r}")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
        return level

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.strip().lower() not in ("json", "text"):
            raise ValueError(f"must be json or text, got {value!r}")
        return value.strip().lower()

    @field_validator("policy_file")
    @classmethod
    def _policy_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _credentials_complete(self) -> Settings:
        if self.slack_bot_token is None and (self.slack_app_token or self.slack_signing_secret):
            # Else the process would start as the local shell, with a demo policy, on this Redis.
            raise ValueError(
                "SLACK_BOT_TOKEN is required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set "
                "(unset every SLACK_ variable for the local shell)"
            )
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError("METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT)")
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK must be set together")
        if self.iam_password is not None and not (self.iam_user and self.iam_domain):
            raise ValueError(
                "HUAWEICLOUD_IAM_PASSWORD needs HUAWEICLOUD_IAM_USER and HUAWEICLOUD_IAM_DOMAIN too"
            )
        if self.cloud_auth is not CloudAuth.NONE:
            # Without a region there is no project name to look an ID up by.
            missing = [
                name
                for name, value in (
                    ("HUAWEICLOUD_SDK_PROJECT_ID", self.sdk_project_id or self.huaweicloud_region),
                    (
                        "HUAWEICLOUD_REGION or TAURUSDB_ENDPOINT",
                        self.huaweicloud_region or self.taurusdb_endpoint,
                    ),
                )
                if not value
            ]
            if missing:
                raise ValueError("cloud credentials are set but " + " and ".join(missing) + " is not")
        unknown = [p.region for p in self.projects if p.project_id is None]
        if self.cloud_auth is CloudAuth.TOKEN and unknown:
            raise ValueError(
                f"HUAWEICLOUD_SDK_PROJECT_ID has no project ID for {', '.join(unknown)}, and a static "
                "HUAWEICLOUD_AUTH_TOKEN cannot look one up: set it (region=project_id pairs for several "
                "regions)"
            )
        return self

    @property
    def regions(self) -> tuple[str, ...]:
        """HUAWEICLOUD_REGION as a list; empty when it is not set."""
        return tuple(items(self.huaweicloud_region))

    @property
    def project_ids(self) -> dict[str, str]:
        """The configured project ID of each region (the single-ID form belongs to the one region)."""
        raw = self.sdk_project_id
        if raw is None:
            return {}
        if "=" not in raw:
            return {(self.regions or (LOCAL_REGION,))[0]: raw}
        return dict(item.split("=", 1) for item in items(raw))

    @property
    def projects(self) -> tuple[ProjectSpec, ...]:
        """Every project the bot serves, in HUAWEICLOUD_REGION order. ``project_id`` is None where
        IAM must be asked. No region: one project, the simulator's pseudo-project unless an ID is set."""
        ids = self.project_ids
        if not self.regions:
            return (ProjectSpec(LOCAL_REGION, ids.get(LOCAL_REGION, LOCAL_PROJECT_ID)),)
        if len(self.regions) == 1 and not ids and self.cloud_auth is CloudAuth.NONE:
            return (ProjectSpec(self.regions[0], LOCAL_PROJECT_ID),)  # simulator mode, as ever
        return tuple(ProjectSpec(region, ids.get(region)) for region in self.regions)

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1

    @property
    def project_id(self) -> str | None:
        """The one configured project ID of a single-project deployment (None for several)."""
        ids = self.project_ids
        return next(iter(ids.values())) if len(ids) == 1 and len(self.projects) == 1 else None

    def endpoint_for(self, region: str) -> str | None:
        """The TaurusDB endpoint of ``region``: TAURUSDB_ENDPOINT (with {region} filled in), else
        the region's public host; None for the unnamed local region without TAURUSDB_ENDPOINT."""
        if self.taurusdb_endpoint:
            return self.taurusdb_endpoint.replace(REGION_PLACEHOLDER, region)
        if region == LOCAL_REGION and not self.regions:
            return None
        return f"https://{taurusdb_host(region)}"

    def iam_url_for(self, region: str) -> str:
        if self.iam_endpoint:
            return self.iam_endpoint.replace(REGION_PLACEHOLDER, region)
        if region == LOCAL_REGION and not self.regions:
            return "https://iam.myhuaweicloud.com"
        return f"https://iam.{region}.myhuaweicloud.com"

    @property
    def cloud_auth(self) -> CloudAuth:
        """Credentials in DESIGN.md order: AK/SK, IAM password, static token, else the simulator."""
        if self.access_key is not None and self.secret_key is not None:
            return CloudAuth.AKSK
        if self.iam_password is not None:
            return CloudAuth.IAM_PASSWORD
        if self.auth_token is not None:
            return CloudAuth.TOKEN
        return CloudAuth.NONE

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def cloud_endpoint(self) -> str | None:
        """The first project's TaurusDB endpoint (None: the built-in simulator)."""
        return self.endpoint_for(self.projects[0].region)

    @property
    def iam_url(self) -> str:
        """The first project's IAM endpoint."""
        return self.iam_url_for(self.projects[0].region)


_ALIASES = {name: field.validation_alias for name, field in Settings.model_fields.items()}


def _variable(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "configuration"
    alias = _ALIASES.get(str(loc[0]))
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias or loc[0])


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the environment; raise ConfigError naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{_variable(err['loc'])}: {message}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
