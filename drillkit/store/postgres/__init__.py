"""The team store (SPEC §8): run records (and, in `drillkit.schedule.postgres`, schedules) in one
PostgreSQL database shared by every machine of a team.

This package and the schedule adapter are the only importers of psycopg, which costs well over
100 ms to import: nothing imports them unless a workspace names a team store.

psycopg is imported here, before any module of the package, as `drill` imports its own start-up:
with the collector off, then frozen. Its import makes some 30,000 objects that live until exit;
with the collector on, about 45 collections walked them as they came, and every later one,
exit's included, walked them all again (`drill act`: 865 M instructions to 814 M, some 25 ms
less CPU).
"""

import gc

from drillkit.store.reader import collector_paused

with collector_paused():
    import psycopg  # noqa: F401

    gc.freeze()  # before the collector is back: its first collection would walk them all
