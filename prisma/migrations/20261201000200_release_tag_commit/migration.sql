-- Where each release's tag pointed when provwatch first resolved it, where it points now, and the
-- ETag of that answer (an unchanged ref then costs a free 304): a tag moved after release fails.
ALTER TABLE "releases" ADD COLUMN "tag_first_commit" TEXT;
ALTER TABLE "releases" ADD COLUMN "tag_commit" TEXT;
ALTER TABLE "releases" ADD COLUMN "tag_ref_etag" TEXT;
