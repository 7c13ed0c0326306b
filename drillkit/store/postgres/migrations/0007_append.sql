-- An append decided on a state the writer already holds, in one statement (one round trip, its
-- own transaction): it locks the run's head row, and writes only if the head is still the one the
-- lines were decided on and chained to, the command's `req` is not recorded yet and (for a
-- scheduler) the lease is still at its epoch. Otherwise it writes nothing and returns false: the
-- writer then takes the head's lock, reads what it lacks and decides again in a transaction.
-- It runs with the caller's rights (the grants of docs/team.md apply as to any INSERT), and every
-- trigger on the tables fires as for any other append.

CREATE FUNCTION drill.append_unmoved(
    p_run      text,
    p_seq      integer,    -- the head the lines were decided on: its seq and hash
    p_head     text,
    p_req      text,
    p_lines    bytea[],    -- the lines from p_seq + 1 on, each without its newline
    p_new_head text,       -- the last line's hash
    p_epoch    bigint      -- the scheduler's lease epoch; NULL for anyone else
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    last integer := p_seq + cardinality(p_lines);
BEGIN
    PERFORM 1 FROM drill.run WHERE id = p_run AND seq = p_seq AND head = p_head FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- a lock that waited for another append saw that append's head (and so no longer matched);
    -- each statement here reads what was committed before it, the waited-for append's req included
    IF EXISTS (SELECT 1 FROM drill.command WHERE run = p_run AND req = p_req) THEN
        RETURN false;
    END IF;
    IF p_epoch IS NOT NULL AND NOT EXISTS (SELECT 1 FROM drill.lease WHERE epoch = p_epoch FOR SHARE) THEN
        RETURN false;
    END IF;
    INSERT INTO drill.line (run, seq, line)
        SELECT p_run, p_seq + n::integer, line FROM unnest(p_lines) WITH ORDINALITY AS t (line, n) ORDER BY n;
    INSERT INTO drill.command (run, req, first_seq, last_seq) VALUES (p_run, p_req, p_seq + 1, last);
    UPDATE drill.run SET seq = last, head = p_new_head WHERE id = p_run;
    RETURN true;
END
$$;
