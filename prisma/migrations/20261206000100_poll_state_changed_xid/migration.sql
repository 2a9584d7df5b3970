-- The transaction that last wrote each poll state (pg_current_xact_id() as a bigint), set by a
-- trigger so that no write path can forget it. /metrics reads only the poll states at or past
-- the xmin of its previous read's snapshot (as targets.verdict_xid does for verdicts): at 10,000
-- targets a scrape parses the few dozen polls since the last one, not 10,000 rows.
ALTER TABLE "poll_states" ADD COLUMN "changed_xid" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);

CREATE INDEX "poll_states_changed_xid_idx" ON "poll_states" ("changed_xid");

CREATE FUNCTION "provwatch_stamp_changed_xid"() RETURNS trigger AS $$
BEGIN
  NEW.changed_xid := pg_current_xact_id()::text::bigint;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER "poll_states_stamp_changed_xid" BEFORE UPDATE ON "poll_states"
  FOR EACH ROW EXECUTE FUNCTION "provwatch_stamp_changed_xid"();
