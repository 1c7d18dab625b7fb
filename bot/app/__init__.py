"""The use cases: take a request, decide on it, advance it through its lifecycle, poll, look up, audit.

Every rule of a request lives here, once: the Slack listeners and the worker's handlers are thin
adapters that call these functions and render what they return. This layer talks to Redis and the
cloud through :mod:`bot.store` and :mod:`bot.cloud`, and to Slack only through the ports in
:mod:`bot.app.ports`, which the Slack adapter implements.
"""
