"""The TaurusDB (GaussDB for MySQL) API and IAM: one module per job.

``fleet`` (every project, instance resolution across regions) → ``client`` (one project's
operations) → ``transport`` (the one retry loop, per-operation plans) and ``queries`` (validated
filters, paging); ``auth``/``signing`` (AK/SK, IAM tokens), ``projects`` (project IDs from IAM),
``calls`` (region/operation tags for metrics), ``models``, ``errors``, ``naming``; ``factory``
builds it all from :class:`bot.config.Settings`.
"""
