"""The whole environment contract (DESIGN.md §4) as one pydantic-settings model.

``load_settings()`` validates at start-up and raises :class:`ConfigError` naming each variable that
is wrong and why, so a bad deployment fails before it touches Slack or the cloud.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain import rules

# Region → TaurusDB host (fact sheet §1.1). The prefix is not uniform across regions.
_GAUSSDB_FORMYSQL = {"ap-southeast-1", "ap-southeast-2", "tr-west-1", "cn-north-11", "me-east-1"}
_GAUSSDB_MYSQL = {"af-south-1", "cn-east-5", "la-north-2", "cn-southwest-3"}


def taurusdb_host(region: str) -> str:
    if region in _GAUSSDB_FORMYSQL:
        return f"gaussdbformysql.{region}.myhuaweicloud.com"
    if region in _GAUSSDB_MYSQL:
        return f"gaussdb-mysql.{region}.myhuaweicloud.com"
    return f"gaussdb.{region}.myhuaweicloud.com"


class CloudAuth(StrEnum):
    AKSK = "aksk"
    IAM_PASSWORD = "iam_password"
    TOKEN = "token"
    NONE = "none"  # talk to the bundled simulator


class ConfigError(Exception):
    """One or more environment variables are missing or malformed."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    redis_url: str | None = _env("REDIS_URL")

    huaweicloud_region: str | None = _env("HUAWEICLOUD_REGION")
    project_id: str | None = _env("HUAWEICLOUD_SDK_PROJECT_ID")
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

    @field_validator("project_id")
    @classmethod
    def _project_id(cls, value: str | None) -> str | None:
        if value is not None and (problem := rules.check_project_id(value)):
            raise ValueError(problem)
        return value

    @field_validator("taurusdb_endpoint", "iam_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"must be a URL like https://host, got {value!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("http:// is allowed only for a loopback host; use https://")
        return value.rstrip("/")

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
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK must be set together")
        if self.iam_password is not None and not (self.iam_user and self.iam_domain):
            raise ValueError(
                "HUAWEICLOUD_IAM_PASSWORD needs HUAWEICLOUD_IAM_USER and HUAWEICLOUD_IAM_DOMAIN too"
            )
        if self.cloud_auth is not CloudAuth.NONE:
            missing = [
                name
                for name, value in (
                    ("HUAWEICLOUD_SDK_PROJECT_ID", self.project_id),
                    (
                        "HUAWEICLOUD_REGION or TAURUSDB_ENDPOINT",
                        self.huaweicloud_region or self.taurusdb_endpoint,
                    ),
                )
                if not value
            ]
            if missing:
                raise ValueError("cloud credentials are set but " + " and ".join(missing) + " is not")
        return self

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
        if self.taurusdb_endpoint:
            return self.taurusdb_endpoint
        if self.huaweicloud_region:
            return f"https://{taurusdb_host(self.huaweicloud_region)}"
        return None

    @property
    def iam_url(self) -> str:
        if self.iam_endpoint:
            return self.iam_endpoint
        if self.huaweicloud_region:
            return f"https://iam.{self.huaweicloud_region}.myhuaweicloud.com"
        return "https://iam.myhuaweicloud.com"


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
