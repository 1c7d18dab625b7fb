"""Slack: the Bolt app, its listeners, Block Kit builders and the fake Web API used in tests."""
