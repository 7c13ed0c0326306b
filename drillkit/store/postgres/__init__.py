"""The team store (SPEC §8): run records (and, in `drillkit.schedule.postgres`, schedules) in one
PostgreSQL database shared by every machine of a team.

This package and the schedule adapter are the only importers of psycopg, which costs well over
100 ms to import: nothing imports them unless a workspace names a team store.
"""
