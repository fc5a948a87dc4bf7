-- An import writes through the same SQL as the hot writes (docs/design.md §3, §9, §12): the jump
-- rule gets one home, makima_link_messages, which both the append and the import's tree insert call;
-- a task-event batch may carry each event's own time; and "has the lease lapsed" is stated once.

-- The lease rule (docs/design.md §9): a RUNNING task's lease has lapsed once its expiry is past, by
-- the database's clock (a NULL expiry has neither lapsed nor is live). Every query that asks it
-- calls these two (VOLATILE so that they inline into the query).
CREATE FUNCTION makima_lease_lapsed(t tasks) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
  SELECT t.status = 'running' AND t.lease_expires_at < clock_timestamp()
$$;

-- The worker holds the task's lease now: RUNNING, leased by it, the lease not lapsed.
CREATE FUNCTION makima_lease_held(t tasks, p_worker text) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
  SELECT t.status = 'running' AND t.worker_id = p_worker AND NOT makima_lease_lapsed(t)
$$;

-- As in 20261205080000_hot_writes, the lapse asked of makima_lease_lapsed (once: one reading of the clock).
CREATE OR REPLACE FUNCTION makima_hold_task(p_task uuid, p_owner uuid, p_worker text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  t tasks;
BEGIN
  SELECT * INTO t FROM tasks WHERE id = p_task AND owner_id = p_owner FOR UPDATE;
  IF NOT FOUND THEN RETURN 'not_found'; END IF;
  RETURN CASE
    WHEN t.archived_at IS NOT NULL THEN 'archived'
    WHEN p_worker IS NULL THEN 'owner'
    WHEN makima_lease_lapsed(t) THEN 'lapsed'
    WHEN t.status <> 'running' OR t.worker_id IS DISTINCT FROM p_worker THEN 'not_held'
    WHEN t.cancel_requested_at IS NOT NULL THEN 'cancel_requested'
    ELSE 'held'
  END;
END $$;

-- The jump rule, its one home (docs/design.md §3): the depth and skew-binary jump pointer (Myers)
-- of each new message `p_ids[i]`, whose parent `p_parent_ids[i]` is NULL (a root), an earlier new
-- message, or a stored one. Parents come first. A child's jump: when its parent's jump j and j's own
-- jump span equal distances, skip both (to j's jump); otherwise jump to the parent. Any ancestor is
-- then reached from any message in O(log depth) steps. Stored rows are read once: the spines (chains
-- of jumps) of the stored parents, O(log depth) rows each — every jump a new message can need is
-- there or among the new messages. Nothing is written.
CREATE FUNCTION makima_link_messages(p_ids uuid[], p_parent_ids uuid[], OUT depths int[], OUT jump_ids uuid[], OUT jump_depths int[])
LANGUAGE plpgsql AS $$
DECLARE
  position jsonb;
  known jsonb;
  parent uuid;
  parent_depth int;
  parent_jump uuid;
  parent_jump_depth int;
  j_depth int;
  j_jump uuid;
  j_jump_depth int;
  o int;
BEGIN
  SELECT coalesce(jsonb_object_agg(x.id::text, x.o), '{}'::jsonb) INTO position FROM unnest(p_ids) WITH ORDINALITY AS x(id, o);
  WITH RECURSIVE s AS (
    SELECT m.id, m.depth, m.jump_id, m.jump_depth FROM conversation_messages m WHERE m.id = ANY (p_parent_ids)
    UNION
    SELECT m.id, m.depth, m.jump_id, m.jump_depth FROM conversation_messages m JOIN s ON m.id = s.jump_id
  )
  SELECT coalesce(jsonb_object_agg(s.id::text, jsonb_build_array(s.depth, s.jump_id, s.jump_depth)), '{}'::jsonb) INTO known FROM s;
  FOR i IN 1..coalesce(array_length(p_ids, 1), 0) LOOP
    parent := p_parent_ids[i];
    IF parent IS NULL THEN
      depths[i] := 0;
      jump_ids[i] := NULL;
      jump_depths[i] := NULL;
      CONTINUE;
    END IF;
    o := (position ->> parent::text)::int;
    IF o < i THEN
      parent_depth := depths[o];
      parent_jump := jump_ids[o];
      parent_jump_depth := jump_depths[o];
    ELSIF o IS NULL AND known ? parent::text THEN
      parent_depth := (known -> parent::text ->> 0)::int;
      parent_jump := (known -> parent::text ->> 1)::uuid;
      parent_jump_depth := (known -> parent::text ->> 2)::int;
    ELSE
      RAISE EXCEPTION 'makima_link_messages: the parent % of message % is neither stored nor an earlier new message', parent, p_ids[i];
    END IF;
    j_depth := NULL;
    j_jump := NULL;
    j_jump_depth := NULL;
    IF parent_jump IS NOT NULL THEN
      o := (position ->> parent_jump::text)::int;
      IF o IS NOT NULL THEN
        j_depth := depths[o];
        j_jump := jump_ids[o];
        j_jump_depth := jump_depths[o];
      ELSIF known ? parent_jump::text THEN
        j_depth := (known -> parent_jump::text ->> 0)::int;
        j_jump := (known -> parent_jump::text ->> 1)::uuid;
        j_jump_depth := (known -> parent_jump::text ->> 2)::int;
      END IF;
    END IF;
    depths[i] := parent_depth + 1;
    IF j_jump IS NOT NULL AND j_jump_depth IS NOT NULL AND parent_depth - j_depth = j_depth - j_jump_depth THEN
      jump_ids[i] := j_jump;
      jump_depths[i] := j_jump_depth;
    ELSE
      jump_ids[i] := parent;
      jump_depths[i] := parent_depth;
    END IF;
  END LOOP;
END $$;

-- Writes the new messages `p_ids` (parents `p_parent_ids`, as makima_link_messages takes them; the
-- rest of each in `p_messages`, a JSON array of {role, content, toolCalls, createdAt} in the same
-- order) into `p_task`, linked by makima_link_messages, each at its createdAt (absent: now). Returns
-- the links. The caller holds the task and moves its head.
CREATE FUNCTION makima_insert_messages(p_task uuid, p_ids uuid[], p_parent_ids uuid[], p_messages jsonb,
                                       OUT depths int[], OUT jump_ids uuid[], OUT jump_depths int[])
LANGUAGE plpgsql AS $$
BEGIN
  SELECT * INTO depths, jump_ids, jump_depths FROM makima_link_messages(p_ids, p_parent_ids);
  INSERT INTO conversation_messages (id, task_id, parent_id, role, content, tool_calls, depth, jump_id, jump_depth, created_at)
  SELECT p_ids[x.o], p_task, p_parent_ids[x.o], lower(x.m ->> 'role')::message_role, x.m -> 'content', nullif(x.m -> 'toolCalls', 'null'::jsonb),
         depths[x.o], jump_ids[x.o], jump_depths[x.o], coalesce((x.m ->> 'createdAt')::timestamptz, now())
    FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(m, o);
END $$;

-- As in 20261205080000_hot_writes (what it takes, writes and returns is unchanged), the messages
-- written by makima_insert_messages, a chain from the head (at now(): the append's stamp).
CREATE OR REPLACE FUNCTION makima_append_messages(p_task uuid, p_owner uuid, p_worker text, p_check_head boolean, p_expected_head uuid,
                                                  p_messages jsonb, p_snapshot_every int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  verdict text := makima_hold_task(p_task, p_owner, p_worker);
  t tasks;
  old_head uuid;
  n int := jsonb_array_length(p_messages);
  ids uuid[];
  parent_ids uuid[];
  link record;
  stamp timestamptz := now();
  snaps jsonb;
BEGIN
  IF verdict NOT IN ('owner', 'held') THEN RETURN jsonb_build_object('refer', verdict); END IF;
  SELECT * INTO t FROM tasks WHERE id = p_task;
  old_head := t.head_message_id;
  IF p_check_head AND t.head_message_id IS DISTINCT FROM p_expected_head THEN
    RETURN jsonb_build_object('conflict', true, 'currentHeadId', t.head_message_id);
  END IF;
  ids := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, n));
  parent_ids := old_head || ids[1:n - 1];
  -- Read after the lock, so the chain hangs from the latest head.
  SELECT * INTO link FROM makima_insert_messages(p_task, ids, parent_ids, p_messages);
  WITH inserted AS (
    INSERT INTO conversation_snapshots (id, task_id, snapshot_type, message_count, head_message_id, created_at)
    SELECT gen_random_uuid(), p_task, 'auto', link.depths[o] + 1, ids[o], stamp
      FROM generate_subscripts(ids, 1) AS o
     WHERE (link.depths[o] + 1) % p_snapshot_every = 0
    RETURNING id, message_count, head_message_id
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'messageCount', message_count, 'headMessageId', head_message_id) ORDER BY message_count), '[]'::jsonb)
    INTO snaps FROM inserted;
  UPDATE tasks SET head_message_id = ids[n], message_count = link.depths[n] + 1, version = version + 1, updated_at = stamp
   WHERE id = p_task
  RETURNING * INTO t;

  RETURN jsonb_build_object(
    'task', to_jsonb(t),
    'now', stamp::timestamptz(3),
    'messages', (SELECT jsonb_agg(jsonb_build_object('id', ids[o], 'parentId', parent_ids[o],
                                                     'depth', link.depths[o], 'jumpId', link.jump_ids[o], 'jumpDepth', link.jump_depths[o]) ORDER BY o)
                   FROM generate_subscripts(ids, 1) AS o),
    'snapshots', snaps,
    'history', jsonb_build_object('owner_id', t.owner_id, 'contract_id', t.contract_id, 'task_id', t.id, 'event_data', jsonb_build_object(
      'count', n, 'headId', ids[n], 'messageCount', link.depths[n] + 1,
      'roles', (SELECT jsonb_agg(x.m -> 'role' ORDER BY x.o) FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(m, o)))));
END $$;

-- An import's messages (docs/design.md §12): `p_messages`, a JSON array of {id, parentId, role,
-- content, toolCalls, createdAt}, parents first, a tree (a parentId names an earlier one, a stored
-- message, or none: a root), written by makima_insert_messages. Returns the depths, in order.
CREATE FUNCTION makima_import_messages(p_task uuid, p_messages jsonb) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
  parent_ids uuid[];
BEGIN
  SELECT array_agg((x.m ->> 'id')::uuid ORDER BY x.o), array_agg((x.m ->> 'parentId')::uuid ORDER BY x.o)
    INTO ids, parent_ids FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(m, o);
  RETURN (SELECT l.depths FROM makima_insert_messages(p_task, ids, parent_ids, p_messages) AS l);
END $$;

-- As in 20261205080000_hot_writes, and each event of `p_events` ({type, data, createdAt}) may carry
-- its own time (an imported session's events keep theirs); absent, it is now(). The NOTIFY is unchanged.
CREATE OR REPLACE FUNCTION makima_record_task_events(p_task uuid, p_owner uuid, p_worker text, p_events jsonb, p_channel text) RETURNS jsonb
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
