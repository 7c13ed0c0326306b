-- Seals and the workspace ledger in the team store (SPEC §9): each run's seals, the ledger (one
-- row a leaf of the RFC 9162 Merkle tree) and its latest signed checkpoint. A sealer takes the
-- checkpoint row's lock (FOR UPDATE) first: seals and ledger entries are appended one sealer at
-- a time, from any number of hosts, and the seal, its leaf and the new checkpoint commit together.
-- Seals and ledger rows are never changed: triggers refuse UPDATE, DELETE and TRUNCATE, whoever
-- connects; the checkpoint only grows.

CREATE TABLE drill.seal (
    run     text NOT NULL REFERENCES drill.run (id),
    n       integer NOT NULL CHECK (n >= 1),     -- the seal's place among the run's seals
    events  integer NOT NULL CHECK (events >= 1),
    note    bytea NOT NULL,                      -- the signed note, as signed
    db_user text NOT NULL DEFAULT current_user,
    CONSTRAINT seal_run_n UNIQUE (run, n)
);

CREATE TABLE drill.seal_ledger (
    n       integer PRIMARY KEY CHECK (n >= 1),  -- the leaf's index, from 1
    line    bytea NOT NULL,                      -- `<run> <events> <seal sha256>`: the leaf's data
    db_user text NOT NULL DEFAULT current_user
);

CREATE TABLE drill.seal_checkpoint (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    size     integer NOT NULL CHECK (size >= 0),
    note     bytea,                              -- the signed checkpoint of the first `size` leaves
    frontier bytea NOT NULL DEFAULT ''::bytea    -- the roots of the tree's perfect subtrees, largest first
);
INSERT INTO drill.seal_checkpoint (size) VALUES (0);

-- Seals of a run and leaves of the ledger follow each other, from 1.
CREATE FUNCTION drill.seal_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last integer;
BEGIN
    SELECT max(n) INTO last FROM drill.seal WHERE run = NEW.run;
    IF NEW.n <> coalesce(last, 0) + 1 THEN
        RAISE EXCEPTION 'seal % of run % does not follow seal %', NEW.n, NEW.run, coalesce(last, 0)
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION drill.leaf_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last integer;
BEGIN
    SELECT max(n) INTO last FROM drill.seal_ledger;
    IF NEW.n <> coalesce(last, 0) + 1 THEN
        RAISE EXCEPTION 'ledger entry % does not follow entry %', NEW.n, coalesce(last, 0)
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

-- The checkpoint moves on with the ledger, one entry at a time.
CREATE FUNCTION drill.checkpoint_grows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    leaves integer;
BEGIN
    SELECT coalesce(max(n), 0) INTO leaves FROM drill.seal_ledger;
    IF NEW.size <> OLD.size + 1 OR NEW.size <> leaves THEN
        RAISE EXCEPTION 'the seal checkpoint only moves on with the ledger (size %, ledger %)', NEW.size, leaves
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER seal_follows BEFORE INSERT ON drill.seal FOR EACH ROW EXECUTE FUNCTION drill.seal_follows();
CREATE TRIGGER seal_append_only BEFORE UPDATE OR DELETE ON drill.seal FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER seal_no_truncate BEFORE TRUNCATE ON drill.seal FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER leaf_follows BEFORE INSERT ON drill.seal_ledger FOR EACH ROW EXECUTE FUNCTION drill.leaf_follows();
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON drill.seal_ledger FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON drill.seal_ledger FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER checkpoint_grows BEFORE UPDATE ON drill.seal_checkpoint FOR EACH ROW EXECUTE FUNCTION drill.checkpoint_grows();
CREATE TRIGGER checkpoint_kept BEFORE DELETE ON drill.seal_checkpoint FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON drill.seal_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
