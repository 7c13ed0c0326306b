"""When drills fire: cron, one-off and interval recurrences across DST, and the `ScheduleStore` port
with its SQLite and PostgreSQL adapters (schedules, fire claims, the ledger).
May import: `store`, `plans`, `config`, `model`."""
