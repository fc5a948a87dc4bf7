-- Notifications are sent after commit (docs/design.md §6): a batch of task events no longer calls
-- pg_notify inside its transaction, where COMMIT would take PostgreSQL's database-wide notify lock
-- and serialize every writer behind it. The change that records the batch's TASK/output history
-- event announces the task's stream once it has committed (src/db/change.ts). Otherwise the
-- function is 20261206010000_import_writes's, without its channel parameter.
DROP FUNCTION makima_record_task_events(uuid, uuid, text, jsonb, text);

CREATE FUNCTION makima_record_task_events(p_task uuid, p_owner uuid, p_worker text, p_events jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  verdict text := makima_hold_task(p_task, p_owner, p_worker);
  t tasks;
  last_seq int;
  n int := jsonb_array_length(p_events);
  stamp timestamptz := now();
  ids jsonb;
BEGIN
  IF verdict NOT IN ('owner', 'held') THEN RETURN jsonb_build_object('refer', verdict); END IF;
  SELECT * INTO t FROM tasks WHERE id = p_task;
  SELECT coalesce(max(seq), 0) INTO last_seq FROM task_events WHERE task_id = p_task;
  WITH inserted AS (
    INSERT INTO task_events (id, task_id, seq, type, data, created_at)
    SELECT gen_random_uuid(), p_task, last_seq + x.o, lower(x.e ->> 'type')::task_event_type, x.e -> 'data',
           coalesce((x.e ->> 'createdAt')::timestamptz, stamp)
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, o)
    RETURNING id, seq
  )
  SELECT jsonb_agg(id ORDER BY seq) INTO ids FROM inserted;
  RETURN jsonb_build_object(
    'now', stamp::timestamptz(3),
    'ids', ids,
    'firstSeq', last_seq + 1,
    'history', jsonb_build_object('owner_id', t.owner_id, 'contract_id', t.contract_id, 'task_id', t.id, 'event_data', jsonb_build_object(
                                'count', n,
                                'types', (SELECT jsonb_agg(y.type ORDER BY y.first) FROM (
                                            SELECT x.e -> 'type' AS type, min(x.o) AS first
                                              FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, o) GROUP BY 1) AS y),
                                'firstSeq', last_seq + 1,
                                'lastSeq', last_seq + n)));
END $$;
