-- References people can type (docs/design.md §16): a number per task (#42), per user and never
-- reused, and a short name per contract, unique among its owner's contracts.

-- AlterTable
ALTER TABLE "users" ADD COLUMN "last_task_number" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN "number" INTEGER;

-- Existing tasks are numbered in the order they were created, per owner.
UPDATE "tasks" SET "number" = numbered."n"
FROM (SELECT "id", row_number() OVER (PARTITION BY "owner_id" ORDER BY "created_at", "id") AS "n" FROM "tasks") AS numbered
WHERE "tasks"."id" = numbered."id";

UPDATE "users" SET "last_task_number" = COALESCE((SELECT max("number") FROM "tasks" WHERE "tasks"."owner_id" = "users"."id"), 0);

ALTER TABLE "tasks" ALTER COLUMN "number" SET NOT NULL;

-- AlterTable
ALTER TABLE "contracts" ADD COLUMN "short_name" TEXT;

-- Existing contracts get the slug of their name (as src/modules/contracts/short-name.ts derives
-- it); the second and later contracts of one owner with the same slug get the first 8 characters
-- of their id appended, which no other slug of theirs can already be.
UPDATE "contracts" SET "short_name" = CASE WHEN slugged."n" = 1 THEN slugged."slug" ELSE slugged."slug" || '-' || left(slugged."id"::text, 8) END
FROM (
  SELECT "id", "slug", row_number() OVER (PARTITION BY "owner_id", "slug" ORDER BY "created_at", "id") AS "n"
  FROM (
    SELECT "id", "owner_id", "created_at",
      COALESCE(NULLIF(trim(BOTH '-' FROM left(trim(BOTH '-' FROM regexp_replace(lower("name"), '[^a-z0-9]+', '-', 'g')), 40)), ''), 'contract') AS "slug"
    FROM "contracts"
  ) AS slugs
) AS slugged
WHERE "contracts"."id" = slugged."id";

ALTER TABLE "contracts" ALTER COLUMN "short_name" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "tasks_owner_id_number_key" ON "tasks"("owner_id", "number");

-- CreateIndex
CREATE UNIQUE INDEX "contracts_owner_id_short_name_key" ON "contracts"("owner_id", "short_name");
