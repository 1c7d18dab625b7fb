"""Error answers in the service's own shapes: ``{"error_code", "error_msg"}`` (gateway and TaurusDB)
and the Keystone-style ``{"error": {...}}`` of IAM. Handlers raise :class:`ApiFailure`; the server
turns it into a response."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class ApiFailure(Exception):
    """A refusal with an HTTP status, a service error code and a message."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        super().__init__(f"{status} {code}: {message}")

    def body(self) -> dict[str, Any]:
        return {"error_code": self.code, "error_msg": self.message}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


class IamFailure(ApiFailure):
    """IAM answers errors Keystone-style, with the HTTP status as the code."""

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "title": self.code, "message": self.message}}


def bad_parameter(name: str, detail: str = "") -> ApiFailure:
    suffix = f": {detail}" if detail else ""
    return ApiFailure(400, "DBS.200001", f"Invalid parameter {name}{suffix}.")


def no_such_api() -> ApiFailure:
    return ApiFailure(
        404, "APIGW.0101", "The API does not exist or has not been published in the environment."
    )


def bad_instance_id() -> ApiFailure:
    return ApiFailure(400, "DBS.280404", "Invalid DB instance ID or node ID format.")


def instance_not_found() -> ApiFailure:
    return ApiFailure(404, "DBS.200002", "The DB instance does not exist.")


def backup_not_found() -> ApiFailure:
    """The delete API documents only 400 and 500 answers, so the 400 "backup does not exist" code."""
    return ApiFailure(400, "DBS.280214", "The backup does not exist.")


def project_unavailable() -> ApiFailure:
    """A path whose project the gateway does not serve (no such project, or another account's)."""
    return ApiFailure(403, "APIGW.0310", "The project is unavailable.")
