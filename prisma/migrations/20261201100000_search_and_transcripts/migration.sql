-- Full-text search over messages, task events and checkpoints (src/modules/search), and the
-- provenance of imported transcript messages (src/modules/transcripts).

-- Every string value inside a JSON document (keys and numbers left out), space-separated: what a
-- message's content, its tool calls and a task event's data say, whatever their shape.
CREATE FUNCTION makima_search_text(doc jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN coalesce((SELECT string_agg(v #>> '{}', ' ') FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "string")') AS v), '');

-- The searchable form of a text: English words (stemmed, stop words dropped) so that "tests" finds
-- "testing", followed by every token as written ('simple': no stemming, no stop words) with path
-- and dotted-name separators turned into spaces, so that "parser.ts" finds "src/parser.ts" and an
-- identifier is found even when it is an English stop word or stems oddly.
CREATE FUNCTION makima_search_vector(body text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN to_tsvector('english'::regconfig, body) || to_tsvector('simple'::regconfig, translate(body, '/\.:', '    '));

-- AlterTable
ALTER TABLE "conversation_messages" ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (makima_search_vector(makima_search_text("content") || ' ' || makima_search_text(coalesce("tool_calls", 'null'::jsonb)))) STORED;

-- AlterTable
ALTER TABLE "task_events" ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (makima_search_vector(makima_search_text("data"))) STORED;

-- AlterTable
ALTER TABLE "task_checkpoints" ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (makima_search_vector("message" || ' ' || "commit_sha" || ' ' || makima_search_text("files_changed"))) STORED;

-- CreateIndex
CREATE INDEX "conversation_messages_search_vector_idx" ON "conversation_messages" USING GIN ("search_vector");

-- CreateIndex
CREATE INDEX "task_events_search_vector_idx" ON "task_events" USING GIN ("search_vector");

-- CreateIndex
CREATE INDEX "task_checkpoints_search_vector_idx" ON "task_checkpoints" USING GIN ("search_vector");

-- CreateTable
CREATE TABLE "transcript_records" (
    "message_id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "session_key" TEXT NOT NULL,
    "record_key" TEXT NOT NULL,
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transcript_records_pkey" PRIMARY KEY ("message_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "transcript_records_owner_id_session_key_record_key_key" ON "transcript_records"("owner_id", "session_key", "record_key");

-- CreateIndex
CREATE INDEX "transcript_records_task_id_idx" ON "transcript_records"("task_id");

-- AddForeignKey
ALTER TABLE "transcript_records" ADD CONSTRAINT "transcript_records_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "conversation_messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transcript_records" ADD CONSTRAINT "transcript_records_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
