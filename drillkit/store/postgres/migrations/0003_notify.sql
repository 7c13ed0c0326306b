-- Live views across machines: every commit that moves a run's head notifies `drill_appended`
-- with `<run> <seq>` (well under NOTIFY's 8,000-byte limit: never the event itself).

CREATE FUNCTION drill.notify_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('drill_appended', NEW.id || ' ' || NEW.seq);
    RETURN NULL;
END
$$;

CREATE TRIGGER run_appended AFTER INSERT OR UPDATE ON drill.run FOR EACH ROW EXECUTE FUNCTION drill.notify_appended();
