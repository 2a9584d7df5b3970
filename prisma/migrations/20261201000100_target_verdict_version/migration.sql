-- A version per target that moves in the same transaction as every change a status read or a
-- metrics scrape can show: readers compare one small column of the targets table instead of
-- aggregating latest statuses, releases and image tags over every target (hundreds of ms at
-- 5,000 targets). Triggers, not application code, so no write path can forget it.
CREATE SEQUENCE "verdict_version_seq";

ALTER TABLE "targets" ADD COLUMN "verdict_version" BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION "provwatch_bump_verdict_version"() RETURNS trigger AS $$
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
  UPDATE targets SET verdict_version = nextval('verdict_version_seq') WHERE id = changed_target;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER "latest_check_status_bump_verdict_version" AFTER INSERT OR UPDATE OR DELETE ON "latest_check_status"
  FOR EACH ROW EXECUTE FUNCTION "provwatch_bump_verdict_version"();
CREATE TRIGGER "releases_bump_verdict_version" AFTER INSERT OR UPDATE OR DELETE ON "releases"
  FOR EACH ROW EXECUTE FUNCTION "provwatch_bump_verdict_version"();
CREATE TRIGGER "image_digests_bump_verdict_version" AFTER INSERT OR UPDATE OR DELETE ON "image_digests"
  FOR EACH ROW EXECUTE FUNCTION "provwatch_bump_verdict_version"();
