-- The corrective actions' ledger (SPEC §10) in the team store: the same hash-chained lines as
-- `logs/actions.jsonl`, stored as the exact bytes that were hashed. One head row, locked by
-- every append, so appends from any number of hosts take turns; `req` names the write a line
-- came with, so a command whose COMMIT was lost finds its lines instead of writing them again.
-- Recorded lines are never changed: triggers refuse UPDATE, DELETE and TRUNCATE whoever connects.

CREATE TABLE drill.action_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  integer NOT NULL CHECK (seq >= 0),      -- the last line's seq
    head text NOT NULL                           -- the last line's hash
);
INSERT INTO drill.action_head (seq, head) VALUES (0, repeat('0', 64));

CREATE TABLE drill.action_line (
    seq     integer PRIMARY KEY CHECK (seq >= 1),
    line    bytea NOT NULL,                      -- the JSON line without its newline, never re-encoded
    req     text NOT NULL,
    db_user text NOT NULL DEFAULT current_user
);
CREATE INDEX action_line_req ON drill.action_line (req);

-- Lines follow each other: seq counts up by one from 1, whoever inserts.
CREATE FUNCTION drill.action_line_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last integer;
BEGIN
    SELECT max(seq) INTO last FROM drill.action_line;
    IF NEW.seq <> coalesce(last, 0) + 1 THEN
        RAISE EXCEPTION 'action line % does not follow line %', NEW.seq, coalesce(last, 0)
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

-- The head only moves on.
CREATE FUNCTION drill.action_head_moves_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'the head of the actions ledger only moves forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER action_line_follows BEFORE INSERT ON drill.action_line FOR EACH ROW EXECUTE FUNCTION drill.action_line_follows();
CREATE TRIGGER action_line_append_only BEFORE UPDATE OR DELETE ON drill.action_line FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER action_line_no_truncate BEFORE TRUNCATE ON drill.action_line FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER action_head_moves_on BEFORE UPDATE ON drill.action_head FOR EACH ROW EXECUTE FUNCTION drill.action_head_moves_on();
CREATE TRIGGER action_head_kept BEFORE DELETE ON drill.action_head FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER action_head_no_truncate BEFORE TRUNCATE ON drill.action_head FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
