-- Evidence a target never declared and its project never published: stored and shown, never paged.
ALTER TYPE "CheckStatus" ADD VALUE IF NOT EXISTS 'not-applicable';
