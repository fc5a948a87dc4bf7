-- The two busiest writes, each one function whichever engine and path runs it (docs/design.md §9),
-- and the rule of who may write to a task, stated once.

-- Locks the owner's task row for the rest of the transaction and says whether the caller may write
-- to it now: 'not_found' (not the owner's), 'archived' (no one may), 'owner' (no worker: the owner's
-- own call), 'held' (the worker holds its live lease), or why a worker may not: 'lapsed' (a RUNNING
-- task's lease has lapsed), 'not_held' (not RUNNING, or leased by another worker), 'cancel_requested'
-- (cancelTask asked its worker to stop). The verdict is taken after the lock was granted, on the
-- database's clock. holdTask (src/modules/tasks/access.ts) answers each refusal.
CREATE FUNCTION makima_hold_task(p_task uuid, p_owner uuid, p_worker text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  t tasks;
BEGIN
  SELECT * INTO t FROM tasks WHERE id = p_task AND owner_id = p_owner FOR UPDATE;
  IF NOT FOUND THEN RETURN 'not_found'; END IF;
  RETURN CASE
    WHEN t.archived_at IS NOT NULL THEN 'archived'
    WHEN p_worker IS NULL THEN 'owner'
    WHEN t.status = 'running' AND t.lease_expires_at < clock_timestamp() THEN 'lapsed'
    WHEN t.status <> 'running' OR t.worker_id IS DISTINCT FROM p_worker THEN 'not_held'
    WHEN t.cancel_requested_at IS NOT NULL THEN 'cancel_requested'
    ELSE 'held'
  END;
END $$;

-- Appends `p_messages` (a JSON array of {role, content, toolCalls}) at the task's head, as a chain:
-- each message's jump pointer by Myers' skew-binary rule (docs/design.md §3), an AUTO snapshot at
-- every `p_snapshot_every`-th message of the conversation, the head and count moved. With
-- `p_check_head`, nothing is written unless the head is `p_expected_head` (null: empty).
-- Returns {refer: verdict} when the caller may not write (nothing written: holdTask answers),
-- {conflict: true, currentHeadId} when the head moved, or what was written: {task (the row), now,
-- messages [{id, parentId, depth, jumpId, jumpDepth}], snapshots [{id, messageCount,
-- headMessageId}], history (the CHAT/message event's {owner_id, contract_id, task_id, event_data})}.
CREATE FUNCTION makima_append_messages(p_task uuid, p_owner uuid, p_worker text, p_check_head boolean, p_expected_head uuid,
                                       p_messages jsonb, p_snapshot_every int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  verdict text := makima_hold_task(p_task, p_owner, p_worker);
  t tasks;
  old_head uuid;
  spine jsonb;
  n int := jsonb_array_length(p_messages);
  first_depth int;
  ids uuid[];
  depths int[];
  jump_ids uuid[];
  jump_depths int[];
  parent_id uuid;
  parent_depth int;
  parent_jump uuid;
  parent_jump_depth int;
  j_depth int;
  j_jump uuid;
  j_jump_depth int;
  k int;
  stamp timestamptz := now();
  snaps jsonb;
BEGIN
  IF verdict NOT IN ('owner', 'held') THEN RETURN jsonb_build_object('refer', verdict); END IF;
  SELECT * INTO t FROM tasks WHERE id = p_task;
  old_head := t.head_message_id;
  IF p_check_head AND t.head_message_id IS DISTINCT FROM p_expected_head THEN
    RETURN jsonb_build_object('conflict', true, 'currentHeadId', t.head_message_id);
  END IF;
  -- The head and its chain of jump targets (O(log depth) rows): every jump a new message can need
  -- is among them or among the new messages. Read after the lock, so it is the latest head's.
  WITH RECURSIVE s AS (
    SELECT m.id, m.depth, m.jump_id, m.jump_depth FROM conversation_messages m WHERE m.id = t.head_message_id
    UNION ALL
    SELECT m.id, m.depth, m.jump_id, m.jump_depth FROM conversation_messages m JOIN s ON m.id = s.jump_id
  )
  SELECT coalesce(jsonb_object_agg(s.id::text, jsonb_build_array(s.depth, s.jump_id, s.jump_depth)), '{}'::jsonb) INTO spine FROM s;
  parent_id := t.head_message_id;
  IF parent_id IS NOT NULL THEN
    parent_depth := (spine -> parent_id::text ->> 0)::int;
    parent_jump := (spine -> parent_id::text ->> 1)::uuid;
    parent_jump_depth := (spine -> parent_id::text ->> 2)::int;
  END IF;
  first_depth := coalesce(parent_depth + 1, 0);
  FOR i IN 1..n LOOP
    ids[i] := gen_random_uuid();
    depths[i] := first_depth + i - 1;
    -- The jump of a child of the parent: when the parent's jump j and j's own jump span equal
    -- distances, skip both (to j's jump); otherwise jump to the parent.
    j_depth := NULL;
    j_jump := NULL;
    j_jump_depth := NULL;
    IF parent_jump IS NOT NULL THEN
      IF parent_jump_depth >= first_depth THEN
        k := parent_jump_depth - first_depth + 1;
        j_depth := depths[k];
        j_jump := jump_ids[k];
        j_jump_depth := jump_depths[k];
      ELSIF spine ? parent_jump::text THEN
        j_depth := (spine -> parent_jump::text ->> 0)::int;
        j_jump := (spine -> parent_jump::text ->> 1)::uuid;
        j_jump_depth := (spine -> parent_jump::text ->> 2)::int;
      END IF;
    END IF;
    IF parent_id IS NULL THEN
      jump_ids[i] := NULL;
      jump_depths[i] := NULL;
    ELSIF j_jump IS NOT NULL AND j_jump_depth IS NOT NULL AND parent_depth - j_depth = j_depth - j_jump_depth THEN
      jump_ids[i] := j_jump;
      jump_depths[i] := j_jump_depth;
    ELSE
      jump_ids[i] := parent_id;
      jump_depths[i] := parent_depth;
    END IF;
    parent_id := ids[i];
    parent_depth := depths[i];
    parent_jump := jump_ids[i];
    parent_jump_depth := jump_depths[i];
  END LOOP;

  INSERT INTO conversation_messages (id, task_id, parent_id, role, content, tool_calls, depth, jump_id, jump_depth, created_at)
  SELECT ids[x.o], p_task, CASE WHEN x.o = 1 THEN old_head ELSE ids[x.o - 1] END, lower(x.m ->> 'role')::message_role,
         x.m -> 'content', nullif(x.m -> 'toolCalls', 'null'::jsonb), depths[x.o], jump_ids[x.o], jump_depths[x.o], stamp
    FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(m, o);
  WITH inserted AS (
    INSERT INTO conversation_snapshots (id, task_id, snapshot_type, message_count, head_message_id, created_at)
    SELECT gen_random_uuid(), p_task, 'auto', depths[o] + 1, ids[o], stamp
      FROM generate_subscripts(ids, 1) AS o
     WHERE (depths[o] + 1) % p_snapshot_every = 0
    RETURNING id, message_count, head_message_id
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'messageCount', message_count, 'headMessageId', head_message_id) ORDER BY message_count), '[]'::jsonb)
    INTO snaps FROM inserted;
  UPDATE tasks SET head_message_id = ids[n], message_count = depths[n] + 1, version = version + 1, updated_at = stamp
   WHERE id = p_task
  RETURNING * INTO t;

  RETURN jsonb_build_object(
    'task', to_jsonb(t),
    'now', stamp::timestamptz(3),
    'messages', (SELECT jsonb_agg(jsonb_build_object('id', ids[o], 'parentId', CASE WHEN o = 1 THEN old_head ELSE ids[o - 1] END,
                                                     'depth', depths[o], 'jumpId', jump_ids[o], 'jumpDepth', jump_depths[o]) ORDER BY o)
                   FROM generate_subscripts(ids, 1) AS o),
    'snapshots', snaps,
    'history', jsonb_build_object('owner_id', t.owner_id, 'contract_id', t.contract_id, 'task_id', t.id, 'event_data', jsonb_build_object(
      'count', n, 'headId', ids[n], 'messageCount', depths[n] + 1,
      'roles', (SELECT jsonb_agg(x.m -> 'role' ORDER BY x.o) FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(m, o)))));
END $$;

-- Appends `p_events` (a JSON array of {type, data}) to the task's stream after its last seq (under
-- the task's row lock, so concurrent batches of one task are serialized and commit in seq order) and
-- notifies `p_channel` with the task's id, delivered on commit. Returns {refer: verdict} when the
-- caller may not write (nothing written: holdTask answers), or what was written: {now, ids (in seq
-- order), firstSeq, history (the TASK/output event's {owner_id, contract_id, task_id, event_data})}.
CREATE FUNCTION makima_record_task_events(p_task uuid, p_owner uuid, p_worker text, p_events jsonb, p_channel text) RETURNS jsonb
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
    SELECT gen_random_uuid(), p_task, last_seq + x.o, lower(x.e ->> 'type')::task_event_type, x.e -> 'data', stamp
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, o)
    RETURNING id, seq
  )
  SELECT jsonb_agg(id ORDER BY seq) INTO ids FROM inserted;
  PERFORM pg_notify(p_channel, p_task::text);
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
