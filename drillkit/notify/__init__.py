"""Notifications: payloads, the senders, and the outbox. May import `render` and every layer below it
(the `[[notify]]` settings themselves live in `config.notifiers`).

The record is the outbox: matching events of a run are delivered at least once, in background
threads (to a chat robot at its platform's pace, in the record's order), with `<run>:<seq>` as
the idempotency key, and each outcome is appended to the run's record. `${VAR}` secrets are
expanded at send time only and never reach a record, export or log.

The parts, each imported from its own module:

- `payloads`: one event of a run → a `Message` → the body each platform expects (pure);
- `secrets`: `${VAR}` expansion, the scrubbing of error texts, `redact_url`, `DeliveryError`;
- `webhook` and `command`: one attempt of each kind of sender;
- `pace`: how fast each robot is sent to (its platform's rate, or `rate`), and the holds after
  a rate-limit answer, shared by the workspace's processes through `logs/notify.pace`;
- `senders`: `deliver` with retries and backoff, at a pace, `send_probe` (`drill notify test`), `Outcome`;
- `outbox`: which events are `due`, their outcome events, and the `Outbox` with one lane per robot.
"""
