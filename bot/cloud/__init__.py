"""The TaurusDB (GaussDB for MySQL) API: client, authentication, models and errors."""
