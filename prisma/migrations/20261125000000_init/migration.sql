-- CreateEnum
CREATE TYPE "CheckStatus" AS ENUM ('pass', 'fail', 'missing', 'error');

-- CreateEnum
CREATE TYPE "SubjectKind" AS ENUM ('release', 'image');

-- CreateTable
CREATE TABLE "targets" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "github" TEXT NOT NULL,
    "config_hash" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "targets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "releases" (
    "id" SERIAL NOT NULL,
    "target_id" INTEGER NOT NULL,
    "tag" TEXT NOT NULL,
    "github_release_id" BIGINT NOT NULL,
    "name" TEXT,
    "prerelease" BOOLEAN NOT NULL DEFAULT false,
    "published_at" TIMESTAMPTZ(3),
    "discovered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "releases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "release_assets" (
    "id" SERIAL NOT NULL,
    "release_id" INTEGER NOT NULL,
    "github_asset_id" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "content_type" TEXT,
    "github_updated_at" TIMESTAMPTZ(3) NOT NULL,
    "sha256" TEXT,
    "hashed_at" TIMESTAMPTZ(3),

    CONSTRAINT "release_assets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "images" (
    "id" SERIAL NOT NULL,
    "target_id" INTEGER NOT NULL,
    "repository" TEXT NOT NULL,

    CONSTRAINT "images_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "image_digests" (
    "id" SERIAL NOT NULL,
    "image_id" INTEGER NOT NULL,
    "tag" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "moved_to_digest" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "image_digests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verification_runs" (
    "id" BIGSERIAL NOT NULL,
    "target_id" INTEGER NOT NULL,
    "subject_kind" "SubjectKind" NOT NULL,
    "subject_key" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL,
    "status" "CheckStatus" NOT NULL,

    CONSTRAINT "verification_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "check_results" (
    "id" BIGSERIAL NOT NULL,
    "run_id" BIGINT NOT NULL,
    "check" TEXT NOT NULL,
    "status" "CheckStatus" NOT NULL,
    "code" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "evidence" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "check_results_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "latest_check_status" (
    "target_id" INTEGER NOT NULL,
    "subject_kind" "SubjectKind" NOT NULL,
    "subject_key" TEXT NOT NULL,
    "check" TEXT NOT NULL,
    "status" "CheckStatus" NOT NULL,
    "code" TEXT NOT NULL,
    "check_result_id" BIGINT NOT NULL,
    "since" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "latest_check_status_pkey" PRIMARY KEY ("target_id","subject_kind","subject_key","check")
);

-- CreateTable
CREATE TABLE "sbom_summaries" (
    "check_result_id" BIGINT NOT NULL,
    "format" TEXT NOT NULL,
    "spec_version" TEXT NOT NULL,
    "component_count" INTEGER NOT NULL,
    "main_component" TEXT,

    CONSTRAINT "sbom_summaries_pkey" PRIMARY KEY ("check_result_id")
);

-- CreateTable
CREATE TABLE "poll_states" (
    "target_id" INTEGER NOT NULL,
    "source" TEXT NOT NULL,
    "etag" TEXT,
    "last_polled_at" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),
    "last_error_code" TEXT,
    "rate_limit_remaining" INTEGER,
    "rate_limit_reset_at" TIMESTAMPTZ(3),

    CONSTRAINT "poll_states_pkey" PRIMARY KEY ("target_id","source")
);

-- CreateIndex
CREATE UNIQUE INDEX "targets_name_key" ON "targets"("name");

-- CreateIndex
CREATE INDEX "releases_target_id_published_at_idx" ON "releases"("target_id", "published_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "releases_target_id_tag_key" ON "releases"("target_id", "tag");

-- CreateIndex
CREATE UNIQUE INDEX "release_assets_release_id_name_key" ON "release_assets"("release_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "images_target_id_repository_key" ON "images"("target_id", "repository");

-- CreateIndex
CREATE UNIQUE INDEX "image_digests_image_id_tag_key" ON "image_digests"("image_id", "tag");

-- CreateIndex
CREATE INDEX "verification_runs_target_id_subject_key_started_at_idx" ON "verification_runs"("target_id", "subject_key", "started_at" DESC);

-- CreateIndex
CREATE INDEX "check_results_run_id_idx" ON "check_results"("run_id");

-- CreateIndex
CREATE INDEX "latest_check_status_status_idx" ON "latest_check_status"("status");

-- AddForeignKey
ALTER TABLE "releases" ADD CONSTRAINT "releases_target_id_fkey" FOREIGN KEY ("target_id") REFERENCES "targets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "release_assets" ADD CONSTRAINT "release_assets_release_id_fkey" FOREIGN KEY ("release_id") REFERENCES "releases"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "images" ADD CONSTRAINT "images_target_id_fkey" FOREIGN KEY ("target_id") REFERENCES "targets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "image_digests" ADD CONSTRAINT "image_digests_image_id_fkey" FOREIGN KEY ("image_id") REFERENCES "images"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "verification_runs" ADD CONSTRAINT "verification_runs_target_id_fkey" FOREIGN KEY ("target_id") REFERENCES "targets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "check_results" ADD CONSTRAINT "check_results_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "verification_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sbom_summaries" ADD CONSTRAINT "sbom_summaries_check_result_id_fkey" FOREIGN KEY ("check_result_id") REFERENCES "check_results"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "poll_states" ADD CONSTRAINT "poll_states_target_id_fkey" FOREIGN KEY ("target_id") REFERENCES "targets"("id") ON DELETE CASCADE ON UPDATE CASCADE;
