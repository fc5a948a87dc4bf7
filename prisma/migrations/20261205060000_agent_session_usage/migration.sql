-- The worker's agent session (ACP) and the agent's reported usage, per task (docs/design.md §15).
-- AlterTable
ALTER TABLE "tasks" ADD COLUMN "agent_session" JSONB,
ADD COLUMN "usage_input_tokens" INTEGER,
ADD COLUMN "usage_output_tokens" INTEGER,
ADD COLUMN "usage_cost_usd" DOUBLE PRECISION;
