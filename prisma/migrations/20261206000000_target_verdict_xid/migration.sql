-- Which transaction last moved a target's verdict_version (pg_current_xact_id() as a bigint).
-- Readers keep the xmin of the snapshot they last read with and ask only for targets with
-- verdict_xid >= it: every transaction that was not yet visible to that snapshot has an xid at
-- least that large, so a change committed late (a low sequence value committed after a higher
-- one) is still found, which "verdict_version > the highest seen" would miss. A read then costs
-- the targets that changed, not all of them (issue 13: 10,000 versions parsed on every refresh).
ALTER TABLE "targets" ADD COLUMN "verdict_xid" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);

CREATE INDEX "targets_verdict_xid_idx" ON "targets" ("verdict_xid");

CREATE OR REPLACE FUNCTION "provwatch_bump_verdict_version"() RETURNS trigger AS $$
DECLARE
  changed_target INTEGER;
BEGIN
  IF TG_TABLE_NAME = 'image_digests' THEN
    SELECT target_id INTO changed_target FROM images WHERE id = COALESCE(NEW.image_id, OLD.image_id);
  ELSIF TG_OP = 'DELETE' THEN
    changed_target := OLD.target_id;
  ELSE
    changed_target := NEW.target_id;
  END IF;
  UPDATE targets SET verdict_version = nextval('verdict_version_seq'), verdict_xid = pg_current_xact_id()::text::bigint
    WHERE id = changed_target;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
