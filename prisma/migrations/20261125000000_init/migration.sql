-- CreateEnum
CREATE TYPE "contract_phase" AS ENUM ('research', 'specify', 'plan', 'execute', 'review', 'done');

-- CreateEnum
CREATE TYPE "task_status" AS ENUM ('pending', 'running', 'interrupted', 'completed', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "message_role" AS ENUM ('system', 'user', 'assistant', 'tool');

-- CreateEnum
CREATE TYPE "task_event_type" AS ENUM ('output', 'tool_call', 'tool_result', 'error', 'status');

-- CreateEnum
CREATE TYPE "snapshot_type" AS ENUM ('auto', 'manual', 'checkpoint');

-- CreateEnum
CREATE TYPE "history_event_type" AS ENUM ('task', 'chat', 'checkpoint', 'phase', 'file');

-- CreateEnum
CREATE TYPE "assignment_reason" AS ENUM ('new', 'resume', 'resume_from_checkpoint', 'fork');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "contracts" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "phase" "contract_phase" NOT NULL DEFAULT 'research',
    "repository_path" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "contracts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tasks" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "contract_id" UUID,
    "name" TEXT NOT NULL,
    "prompt" TEXT,
    "status" "task_status" NOT NULL DEFAULT 'pending',
    "is_supervisor" BOOLEAN NOT NULL DEFAULT false,
    "worktree_path" TEXT,
    "branch" TEXT,
    "base_commit" TEXT,
    "head_commit" TEXT,
    "forked_from_task_id" UUID,
    "forked_at_checkpoint_id" UUID,
    "forked_at_message_id" UUID,
    "continued_from_task_id" UUID,
    "head_message_id" UUID,
    "message_count" INTEGER NOT NULL DEFAULT 0,
    "pending_reason" "assignment_reason",
    "resume_note" TEXT,
    "last_error" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "worker_id" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_events" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" "task_event_type" NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversation_messages" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "parent_id" UUID,
    "role" "message_role" NOT NULL,
    "content" JSONB NOT NULL,
    "tool_calls" JSONB,
    "depth" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversation_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_checkpoints" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "commit_sha" TEXT NOT NULL,
    "branch" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "files_changed" JSONB NOT NULL DEFAULT '[]',
    "is_backup" BOOLEAN NOT NULL DEFAULT false,
    "conversation_snapshot_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversation_snapshots" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "checkpoint_id" UUID,
    "snapshot_type" "snapshot_type" NOT NULL,
    "message_count" INTEGER NOT NULL,
    "head_message_id" UUID,
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversation_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "history_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "owner_id" UUID NOT NULL,
    "contract_id" UUID,
    "task_id" UUID,
    "event_type" "history_event_type" NOT NULL,
    "event_subtype" TEXT,
    "phase" "contract_phase",
    "event_data" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "history_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens"("user_id");

-- CreateIndex
CREATE INDEX "contracts_owner_id_created_at_idx" ON "contracts"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "tasks_owner_id_created_at_idx" ON "tasks"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "tasks_contract_id_created_at_idx" ON "tasks"("contract_id", "created_at");

-- CreateIndex
CREATE INDEX "tasks_status_created_at_idx" ON "tasks"("status", "created_at");

-- CreateIndex
CREATE INDEX "tasks_forked_from_task_id_idx" ON "tasks"("forked_from_task_id");

-- CreateIndex
CREATE INDEX "tasks_continued_from_task_id_idx" ON "tasks"("continued_from_task_id");

-- CreateIndex
CREATE UNIQUE INDEX "task_events_task_id_seq_key" ON "task_events"("task_id", "seq");

-- CreateIndex
CREATE INDEX "conversation_messages_parent_id_idx" ON "conversation_messages"("parent_id");

-- CreateIndex
CREATE INDEX "conversation_messages_task_id_created_at_idx" ON "conversation_messages"("task_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "task_checkpoints_conversation_snapshot_id_key" ON "task_checkpoints"("conversation_snapshot_id");

-- CreateIndex
CREATE UNIQUE INDEX "task_checkpoints_task_id_number_key" ON "task_checkpoints"("task_id", "number");

-- CreateIndex
CREATE UNIQUE INDEX "conversation_snapshots_checkpoint_id_key" ON "conversation_snapshots"("checkpoint_id");

-- CreateIndex
CREATE INDEX "conversation_snapshots_task_id_created_at_idx" ON "conversation_snapshots"("task_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "history_events_seq_key" ON "history_events"("seq");

-- CreateIndex
CREATE INDEX "history_events_owner_id_seq_idx" ON "history_events"("owner_id", "seq");

-- CreateIndex
CREATE INDEX "history_events_contract_id_seq_idx" ON "history_events"("contract_id", "seq");

-- CreateIndex
CREATE INDEX "history_events_task_id_seq_idx" ON "history_events"("task_id", "seq");

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "contracts" ADD CONSTRAINT "contracts_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_contract_id_fkey" FOREIGN KEY ("contract_id") REFERENCES "contracts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_forked_from_task_id_fkey" FOREIGN KEY ("forked_from_task_id") REFERENCES "tasks"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_forked_at_checkpoint_id_fkey" FOREIGN KEY ("forked_at_checkpoint_id") REFERENCES "task_checkpoints"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_forked_at_message_id_fkey" FOREIGN KEY ("forked_at_message_id") REFERENCES "conversation_messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_continued_from_task_id_fkey" FOREIGN KEY ("continued_from_task_id") REFERENCES "tasks"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_head_message_id_fkey" FOREIGN KEY ("head_message_id") REFERENCES "conversation_messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_events" ADD CONSTRAINT "task_events_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation_messages" ADD CONSTRAINT "conversation_messages_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation_messages" ADD CONSTRAINT "conversation_messages_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "conversation_messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_checkpoints" ADD CONSTRAINT "task_checkpoints_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_checkpoints" ADD CONSTRAINT "task_checkpoints_conversation_snapshot_id_fkey" FOREIGN KEY ("conversation_snapshot_id") REFERENCES "conversation_snapshots"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation_snapshots" ADD CONSTRAINT "conversation_snapshots_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation_snapshots" ADD CONSTRAINT "conversation_snapshots_checkpoint_id_fkey" FOREIGN KEY ("checkpoint_id") REFERENCES "task_checkpoints"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation_snapshots" ADD CONSTRAINT "conversation_snapshots_head_message_id_fkey" FOREIGN KEY ("head_message_id") REFERENCES "conversation_messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "history_events" ADD CONSTRAINT "history_events_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "history_events" ADD CONSTRAINT "history_events_contract_id_fkey" FOREIGN KEY ("contract_id") REFERENCES "contracts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "history_events" ADD CONSTRAINT "history_events_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
