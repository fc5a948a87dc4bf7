-- Search finds the newest matches of a common word without reading all of them (docs/design.md,
-- "Search"): each message's and task event's search vector also holds the periods its row was
-- written in, as lexemes no text can produce ('~' is a separator to both parsers):
-- '~<level>.<n>' is block n of 8^level hours since 1970 (level 0: the hour, 1: 8 hours, 2: 64
-- hours, 3: 512 hours, 4: 4,096 hours, 5: 32,768 hours). A query ANDs its words with the blocks
-- covering a time window, and the GIN index returns only that window's matches. The lexemes have
-- no positions and come after the words, so phrases and ranking read the words exactly as before.

-- epoch is the same in every time zone, so the function is immutable although extract() is not.
CREATE FUNCTION makima_search_periods(at timestamptz) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_to_tsvector(ARRAY(SELECT '~' || l || '.' || (floor(extract(epoch FROM at) / 3600)::bigint >> (3 * l)) FROM generate_series(0, 5) AS l));

-- A generated column's expression cannot be changed in place before PostgreSQL 17: dropped (with
-- its index) and added again, which computes it for every existing row.
ALTER TABLE "conversation_messages" DROP COLUMN "search_vector";
ALTER TABLE "conversation_messages" ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (makima_search_vector(makima_search_text("content") || ' ' || makima_search_text(coalesce("tool_calls", 'null'::jsonb))) || makima_search_periods("created_at")) STORED;
CREATE INDEX "conversation_messages_search_vector_idx" ON "conversation_messages" USING GIN ("search_vector");

ALTER TABLE "task_events" DROP COLUMN "search_vector";
ALTER TABLE "task_events" ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (makima_search_vector(makima_search_text("data")) || makima_search_periods("created_at")) STORED;
CREATE INDEX "task_events_search_vector_idx" ON "task_events" USING GIN ("search_vector");
