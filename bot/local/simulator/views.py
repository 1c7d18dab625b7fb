"""The JSON shapes the simulator answers with, field for field as the fact sheet documents them.

Times are written like the service writes them: ``2020-07-07T01:17:05+0800`` for TaurusDB (China
Standard Time) and ``2026-01-01T00:00:00.000000Z`` for IAM.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bot.cloud.models import format_cloud_time
from bot.local.simulator.records import InstanceState, IssuedToken, SimBackup
from bot.local.simulator.seed import FAIL_REASON, stable_id

CHINA_TIME = timezone(timedelta(hours=8))
DATASTORE = {"type": "gaussdb-mysql", "version": "8.0", "kernel_version": "2.0.57.240900"}
JOB_NAME = "CreateMysqlBackup"


def cloud_time(epoch: float) -> str:
    return format_cloud_time(datetime.fromtimestamp(int(epoch), CHINA_TIME))


def iam_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instance_summary(instance: InstanceState, status: str, region: str) -> dict[str, Any]:
    """One item of ``GET /v3/{project_id}/instances``."""
    seed = instance.seed
    return {
        "id": seed.id,
        "name": seed.name,
        "status": status,
        "type": "Cluster",
        "region": region,
        "datastore": dict(DATASTORE),
        "port": "3306",
        "created": seed.created,
        "updated": seed.created,
        "private_ips": [seed.private_ip],
        "public_ips": [],
        "proxy_ips": [],
        "readonly_private_ips": [],
        "vpc_id": "3cedfc54-b105-4652-a4e0-847b65576b9e",
        "subnet_id": "c1cfa53c-65bf-42a4-8b4c-f7f4b0c5d3a9",
        "db_user_name": "root",
        "node_count": 2,
        "flavor_ref": "gaussdb.mysql.large.x86.4",
        "flavor_info": {"vcpus": "2", "ram": "8"},
        "volume": {"type": "POOL", "size": "40"},
        "backup_strategy": {"start_time": "18:00-19:00", "keep_days": "7"},
        "enterprise_project_id": "0",
        "time_zone": "UTC+08:00",
        "charge_info": {"charge_mode": "postPaid"},
        "tags": [],
    }


def instance_detail(
    instance: InstanceState, status: str, region: str, backup_used_gb: float
) -> dict[str, Any]:
    """``GET /v3/{project_id}/instances/{instance_id}`` → ``instance``."""
    detail = instance_summary(instance, status, region)
    detail.update(
        {
            "az_mode": "single",
            "master_az_code": f"{region}a",
            "maintenance_window": "18:00-22:00",
            "backup_used_space": round(backup_used_gb, 3),
            "nodes": [
                {
                    "id": f"{instance.id[:32]}no{n:02d}",
                    "name": f"{instance.name}_node_{n}",
                    "type": role,
                    "status": "ACTIVE" if status != "FROZEN" else "FROZEN",
                    "private_read_ips": [],
                }
                for n, role in ((1, "master"), (2, "slave"))
            ],
            "proxies": [],
        }
    )
    return detail


def created_backup(backup: SimBackup) -> dict[str, Any]:
    """The ``backup`` object of a create answer."""
    return {
        "id": backup.id,
        "name": backup.name,
        "description": backup.description,
        "begin_time": cloud_time(backup.begin),
        "status": "BUILDING",
        "type": backup.type,
        "instance_id": backup.instance_id,
    }


def backup_item(backup: SimBackup, now: float) -> dict[str, Any]:
    """One item of ``GET /v3/{project_id}/backups``; ``size`` only once completed."""
    status = backup.status(now)
    finished = status != "BUILDING"
    item: dict[str, Any] = {
        "id": backup.id,
        "name": backup.name,
        "description": backup.description,
        "instance_id": backup.instance_id,
        "instance_name": backup.instance_name,
        "begin_time": cloud_time(backup.begin),
        "end_time": cloud_time(backup.finish) if finished else "",
        "take_up_time": int((backup.finish - backup.begin) // 60) if finished else 0,
        "status": status,
        "type": backup.type,
        "datastore": {"type": DATASTORE["type"], "version": DATASTORE["version"]},
    }
    if status == "COMPLETED":
        item["size"] = backup.size_mb
    if status == "FAILED":
        item["fail_reason"] = FAIL_REASON
    return item


def job_view(backup: SimBackup, now: float) -> dict[str, Any]:
    """``GET /v3/{project_id}/jobs?id=`` → ``job``."""
    status = backup.status(now)
    job_status = {"BUILDING": "Running", "COMPLETED": "Completed"}.get(status, "Failed")
    job: dict[str, Any] = {
        "id": backup.job_id,
        "name": JOB_NAME,
        "status": job_status,
        "created": cloud_time(backup.begin),
        "ended": cloud_time(backup.finish) if job_status != "Running" else "",
        "process": f"{backup.progress(now)}%" if job_status == "Running" else "",
        "instance": {"id": backup.instance_id, "name": backup.instance_name},
        "entities": {"backup_id": backup.id, "backup_name": backup.name},
    }
    if job_status == "Failed":
        job["fail_reason"] = FAIL_REASON
    return job


def token_body(token: IssuedToken, *, catalog: bool) -> dict[str, Any]:
    """The body of ``POST /v3/auth/tokens`` (the token itself travels in ``X-Subject-Token``)."""
    domain = {"id": stable_id("domain", token.domain), "name": token.domain}
    body: dict[str, Any] = {
        "expires_at": iam_time(token.expires),
        "issued_at": iam_time(token.issued),
        "methods": ["password"],
        "project": {"id": token.project_id, "name": token.project_name, "domain": domain},
        "user": {
            "id": stable_id("user", token.user),
            "name": token.user,
            "domain": domain,
            "password_expires_at": "",
        },
        "roles": [{"id": "0", "name": "te_admin"}],
    }
    if catalog:
        body["catalog"] = []
    return {"token": body}


def project_item(project_id: str, name: str, domain_id: str, base_url: str) -> dict[str, Any]:
    """One project of IAM's ``GET /v3/projects``; a region's project is a child of the account."""
    return {
        "is_domain": False,
        "description": "",
        "links": {"self": f"{base_url}/v3/projects/{project_id}"},
        "enabled": True,
        "id": project_id,
        "parent_id": domain_id,
        "domain_id": domain_id,
        "name": name,
    }
