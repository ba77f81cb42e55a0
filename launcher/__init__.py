"""The local launcher: ``make run``'s supervisor and the Redis it finds or embeds.

Tooling around the arena, not part of the app: nothing in ``arena/`` or ``marl/`` imports it, and it
imports no Django (the project is loaded in subprocesses). ``python -m launcher`` runs it.
"""
