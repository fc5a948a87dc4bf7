-- CreateTable
CREATE TABLE "git_change_commits" (
    "id" UUID NOT NULL,
    "committed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "git_change_commits_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "git_change_commits_committed_at_idx" ON "git_change_commits"("committed_at");
