-- GitHub's `immutable` flag of each release as last seen (NULL: the API did not say) and when it
-- was first seen true. The first sighting is the baseline: a release that was immutable and is
-- seen mutable again (or whose assets change anyway) fails `release-assets` with immutability-revoked.
ALTER TABLE "releases" ADD COLUMN "immutable" BOOLEAN;
ALTER TABLE "releases" ADD COLUMN "immutable_since" TIMESTAMPTZ(3);
