-- The active scheduler's lease (SPEC §8): one row. A scheduler becomes active by taking an
-- advisory lock on a connection of its own and raising `epoch`; every fire claim and every
-- append it makes checks that `epoch` is still its own (FOR SHARE: a takeover waits for them),
-- so a scheduler cut off from the database that comes back never fires or writes twice.

CREATE TABLE drill.lease (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch   bigint NOT NULL,
    host    text,
    pid     integer,
    backend integer,          -- the server process of the active scheduler's lock connection
    since   timestamptz,
    renewed timestamptz
);
INSERT INTO drill.lease (epoch) VALUES (0);

-- The epoch only grows.
CREATE FUNCTION drill.epoch_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        RAISE EXCEPTION 'the lease epoch only grows' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER lease_epoch_grows BEFORE UPDATE ON drill.lease FOR EACH ROW EXECUTE FUNCTION drill.epoch_grows();
CREATE TRIGGER lease_kept BEFORE DELETE ON drill.lease FOR EACH ROW EXECUTE FUNCTION drill.refuse_change();
CREATE TRIGGER lease_no_truncate BEFORE TRUNCATE ON drill.lease FOR EACH STATEMENT EXECUTE FUNCTION drill.refuse_change();
