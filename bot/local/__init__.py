"""Local-only code: the TaurusDB simulator, the fake Slack Web API, the embedded Redis server and the
terminal shell. Production code never imports this package (an import-linter contract says so);
only ``bot.__main__`` reaches it, for local mode and the ``simulator`` subcommand."""
