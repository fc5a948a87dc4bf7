-- Accounts and tokens: scopes, expiry, the admin flag (issue #15 §1).
-- CreateEnum
CREATE TYPE "token_scope" AS ENUM ('full', 'read', 'worker');

-- AlterTable
ALTER TABLE "api_tokens" ADD COLUMN "scope" "token_scope" NOT NULL DEFAULT 'full',
ADD COLUMN "expires_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "users" ADD COLUMN "is_admin" BOOLEAN NOT NULL DEFAULT false;

-- The first user is the administrator (the local user of an embedded database, or the first
-- `makima user create`).
UPDATE "users" SET "is_admin" = true WHERE "id" = (SELECT "id" FROM "users" ORDER BY "created_at", "id" LIMIT 1);

-- Who caused each history event (user and token, or worker; null: the server itself).
-- AlterTable
ALTER TABLE "history_events" ADD COLUMN "actor" JSONB;

-- Control and clean-up: a cancel asked of a running task, and archiving (issue #15 §2).
-- AlterTable
ALTER TABLE "tasks" ADD COLUMN "cancel_requested_at" TIMESTAMPTZ(3),
ADD COLUMN "cancel_reason" TEXT,
ADD COLUMN "archived_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "contracts" ADD COLUMN "archived_at" TIMESTAMPTZ(3);
