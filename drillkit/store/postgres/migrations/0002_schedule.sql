-- Schedules and the ledger of their fires (SPEC §5, §8), shared by every scheduler of the team.
-- The ledger's key (schedule, nominal) makes inserting a row the claim of that fire:
-- INSERT … ON CONFLICT DO NOTHING, so of two daemons deciding about one fire exactly one wins.

CREATE TABLE drill.schedule (
    id            text PRIMARY KEY,
    scenario      text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('cron', 'at', 'every')),
    expr          text NOT NULL,
    tz            text NOT NULL,
    jitter        integer NOT NULL DEFAULT 0,
    grace         integer NOT NULL DEFAULT 3600,
    anchor        timestamptz NOT NULL,
    paused        boolean NOT NULL DEFAULT false,
    handled_until timestamptz NOT NULL,
    created       timestamptz NOT NULL
);

CREATE TABLE drill.fire (
    schedule     text NOT NULL,
    nominal      timestamptz NOT NULL,
    status       text NOT NULL,
    start_at     timestamptz NOT NULL,
    decided_at   timestamptz NOT NULL,
    run          text,
    started_at   timestamptz,
    missed_from  timestamptz,
    missed_count integer,
    detail       text,
    PRIMARY KEY (schedule, nominal)
);

-- Goes up with every add, remove, pause and resume: a scheduler polls this one value.
CREATE TABLE drill.schedule_changes (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    changed bigint NOT NULL
);
INSERT INTO drill.schedule_changes (changed) VALUES (0);
