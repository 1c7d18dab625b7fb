"""backup-bot: take a manual Huawei Cloud TaurusDB backup from Slack, with approvals."""

__version__ = "0.1.0"
