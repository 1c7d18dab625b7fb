"""Everything the bot says in Slack, built in one place from domain objects: pure functions, no I/O.

- :mod:`pieces` — safe text and Block Kit primitives; :mod:`states` — how each state reads;
- :mod:`request` — the parent message and the thread replies; :mod:`answers` — private answers and
  notices; :mod:`audit` — audit lines; :mod:`policy` — the policy in words; :mod:`views` — modals;
- :mod:`text` — escaping, dates, sizes and durations.
"""
