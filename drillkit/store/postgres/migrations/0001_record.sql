-- The run records (SPEC §4, §8): one row per run (its head, locked by every append) and one
-- row per line, stored as the exact bytes that were hashed. Recorded lines are never changed:
-- triggers refuse UPDATE, DELETE and TRUNCATE whoever connects, the owner included.

CREATE TABLE drill.run (
    id      text PRIMARY KEY CHECK (id ~ '^[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+-[0-9a-f]{4}$'),
    seq     integer NOT NULL CHECK (seq >= 1),   -- the last line's seq
    head    text NOT NULL,                       -- the last line's hash
    created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drill.line (
    run     text NOT NULL REFERENCES drill.run (id),
    seq     integer NOT NULL CHECK (seq >= 1),
    line    bytea NOT NULL,                      -- the JSON line without its newline, never re-encoded
    db_user text NOT NULL DEFAULT current_user,
    CONSTRAINT line_run_seq UNIQUE (run, seq)
);

-- One row per command (its idempotency key, `req`): a retry of a command whose COMMIT was lost
-- finds the lines it wrote instead of writing them again.
CREATE TABLE drill.command (
    run       text NOT NULL REFERENCES drill.run (id),
    req       text NOT NULL,
    first_seq integer NOT NULL,
    last_seq  integer NOT NULL,
    CONSTRAINT command_run_req UNIQUE (run, req)
);

CREATE FUNCTION drill.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'drill.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'recorded lines are evidence; annotate a run instead (drill annotate)';
END
$$;

-- Lines follow each other: seq counts up by one from 1 within a run, whoever inserts.
CREATE FUNCTION drill.line_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last integer;
BEGIN
    SELECT max(seq) INTO last FROM drill.line WHERE run = NEW.run;
    IF NEW.seq <> coalesce(last, 0) + 1 THEN
        RAISE EXCEPTION 'line % of run % does not follow line %', NEW.seq, NEW.run, coalesce(last, 0)
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

-- The head only moves on, and a run keeps its id.
CREATE FUNCTION drill.head_moves_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.created <> OLD.created THEN
        RAISE EXCEPTION 'the head of run % only moves forward', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER line_follows BEFORE INSERT ON drill.line FOR EACH ROW EXECUTE FUNCTION drill.line_follows();
CREATE TRIGGER line_append_only BEFORE UPDATE OR DELETE ON drill.line FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER line_no_truncate BEFORE TRUNCATE ON drill.line FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER command_append_only BEFORE UPDATE OR DELETE ON drill.command FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER command_no_truncate BEFORE TRUNCATE ON drill.command FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER run_head_moves_on BEFORE UPDATE ON drill.run FOR EACH ROW EXECUTE FUNCTION drill.head_moves_on();
CREATE TRIGGER run_kept BEFORE DELETE ON drill.run FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER run_no_truncate BEFORE TRUNCATE ON drill.run FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
