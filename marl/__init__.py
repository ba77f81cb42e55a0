"""Arena's game and learning core.

Nothing in this package imports Django, Channels or Celery: the web app calls it with plain values and
callbacks. Tianshou is imported only by ``marl.train`` (and the modules it alone uses); PettingZoo only
by ``marl.games``.
"""
