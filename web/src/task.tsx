// A task: its state (worker and lease while running), its conversation (paginated, read as
// reading.ts says every reader shows one: content as text, thinking folded after the reply, each
// tool call once with its result under it; long content folded), its output events live, its checkpoints with their
// diffs, its forks as a tree (each linked to its comparison with this task, compare.tsx) — and the
// steering actions (actions.tsx), each confirmed first.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql } from './api';
import * as actions from './actions';
import { Diff, type CheckpointDiff, type FileChange } from './diff';
import { asText, fullTime, relative, shortSha, shortTime } from './format';
import { useQuery } from './hooks';
import { graphql } from './generated';
import type { ConversationPageFragment, RewindMode, TaskEventFieldsFragment, TaskPageQuery } from './generated/graphql';
import { follow } from './live';
import { ApiErrorText, SteeringDialog, type Steering } from './steer';
import { acpChunkOf, callsShown, mentionOf, onlyShownResults, resultsByCall, resultText, thinkingLine, thinkingOf, toolCallIdOf, type ToolResult } from '../../src/modules/transcripts/reading';

interface ForkNode {
  id: string;
  name: string;
  status: string;
  forkedAtCheckpoint: { number: number } | null;
  forkedAtMessage: { index: number } | null;
  forks?: { edges: { node: ForkNode }[] };
}

type Task = NonNullable<TaskPageQuery['task']>;
type Checkpoint = Task['checkpoints']['edges'][number]['node'];
type ConversationPage = ConversationPageFragment;
type Message = ConversationPage['edges'][number]['node'];
type TaskEvent = TaskEventFieldsFragment;

graphql(`
  fragment ConversationPage on ConversationMessageConnection {
    edges { node { id index role content toolCalls createdAt } } pageInfo { hasNextPage endCursor }
  }
`);
graphql(`
  fragment TaskEventFields on TaskEvent { id seq cursor type data createdAt }
`);
const TASK_QUERY = graphql(`
  query TaskPage($id: ID!) {
    task(id: $id) {
      id name prompt status isSupervisor branch headCommit workerId leaseExpiresAt lastError resumeNote messageCount createdAt
      agentSession { protocol sessionId agentName agentVersion } usage { inputTokens outputTokens costUsd }
      contract { id name phase } forkedFrom { id name } forkedAtCheckpoint { number } forkedAtMessage { index } continuedFrom { id name }
      checkpoints(first: 100) { edges { node { id number message commitSha isBackup createdAt filesChanged { path status additions deletions binary } } } }
      conversation(first: 50) { ...ConversationPage }
    }
  }
`);
// Two levels of forks per request (the cost limit counts 20 × 10 nodes, and more with a fragment:
// so the fields are written out twice); deeper ones are on each fork's page.
const FORKS_QUERY = graphql(`
  query TaskForks($id: ID!) {
    task(id: $id) {
      forks(first: 20) {
        edges {
          node {
            id name status forkedAtCheckpoint { number } forkedAtMessage { index }
            forks(first: 10) { edges { node { id name status forkedAtCheckpoint { number } forkedAtMessage { index } } } }
          }
        }
      }
    }
  }
`);
const CONVERSATION_QUERY = graphql(`
  query Conversation($id: ID!, $after: String) { task(id: $id) { conversation(first: 50, after: $after) { ...ConversationPage } } }
`);
const EVENTS_QUERY = graphql(`
  query TaskEvents($id: ID!) { task(id: $id) { events(last: 100) { edges { node { ...TaskEventFields } } } } }
`);
const LIVE_EVENTS = graphql(`
  subscription LiveTaskEvents($taskId: ID!, $after: String) { taskEvents(taskId: $taskId, after: $after) { ...TaskEventFields } }
`);
const DIFF_QUERY = graphql(`
  query CheckpointDiff($id: ID!) {
    node(id: $id) { ... on Checkpoint { diff { files { path status additions deletions binary } patch truncated against { number } } } }
  }
`);

const FOLD_CHARS = 1200;
const FOLD_LINES = 16;

/** Long text folded to its first lines, with a button that shows the rest. */
function Folded({ text }: { text: string }) {
  const lines = text.split('\n');
  const long = text.length > FOLD_CHARS || lines.length > FOLD_LINES;
  const [open, setOpen] = useState(false);
  if (!long || open) return <pre class="content">{text}</pre>;
  const head = lines.slice(0, FOLD_LINES).join('\n').slice(0, FOLD_CHARS);
  return (
    <>
      <pre class="content">{head}…</pre>
      <button type="button" class="link" aria-expanded="false" onClick={() => setOpen(true)}>
        Show all ({lines.length} lines, {text.length} characters)
      </button>
    </>
  );
}

/** Tokens and cost the agent reported (Task.usage), or null when it reported none. */
function usageText(usage: Task['usage']): string | null {
  const parts = [
    usage.inputTokens == null ? null : `${usage.inputTokens.toLocaleString('en-US')} input tokens`,
    usage.outputTokens == null ? null : `${usage.outputTokens.toLocaleString('en-US')} output tokens`,
    usage.costUsd == null ? null : `$${usage.costUsd.toFixed(4)}`,
  ].filter((p) => p !== null);
  return parts.length ? parts.join(' · ') : null;
}

/**
 * A message's content: text as text; images and resources as a one-line mention; each tool call
 * with its result under it (`results`, by the call's id); the agent's thinking (Claude Code
 * `thinking`, Codex reasoning, ACP `thought`) folded to one line, after the reply.
 */
export function Content({ content, results = new Map() }: { content: unknown; results?: Map<string, ToolResult> }) {
  if (typeof content === 'string') return <Folded text={content} />;
  if (Array.isArray(content)) {
    const thoughts = content.map(thinkingOf).filter((t): t is string => t !== null);
    return (
      <>
        {content.map((block, i) => {
          if (thinkingOf(block) !== null) return null;
          const b = (block ?? {}) as { type?: string; text?: string; id?: string; name?: string; input?: unknown; content?: unknown; is_error?: boolean };
          if (typeof block === 'string') return <Folded key={i} text={block} />;
          if (b.type === 'text' && typeof b.text === 'string') return <Folded key={i} text={b.text} />;
          if (b.type === 'tool_use') return <ToolCall key={i} label={`Tool call: ${b.name ?? ''}`} input={b.input} result={typeof b.id === 'string' ? results.get(b.id) : undefined} />;
          if (b.type === 'tool_result') return <Collapsible key={i} label={b.is_error ? 'Tool result (error)' : 'Tool result'} text={resultText(b.content)} />;
          if (b.type === 'image' || b.type === 'audio' || b.type === 'resource' || b.type === 'resource_link') return <p key={i} class="mention">{mentionOf(b)}</p>;
          return <Collapsible key={i} label={mentionOf(b)} text={asText(block)} />;
        })}
        {thoughts.map((t, i) => (
          <Collapsible key={`thinking-${i}`} label={thinkingLine(t)} text={t} kind="thinking" />
        ))}
      </>
    );
  }
  const text = (content as { text?: unknown } | null)?.text;
  if (typeof text === 'string' && Object.keys(content as object).length === 1) return <Folded text={text} />;
  return <Folded text={asText(content)} />;
}

function Collapsible({ label, text, kind = 'tool' }: { label: string; text: string; kind?: string }) {
  return (
    <details class={kind}>
      <summary>{label}</summary>
      <Folded text={text} />
    </details>
  );
}

/** A tool call, folded: its input, and its result under it once it is known. */
function ToolCall({ label, input, result, extra = [] }: { label: string; input: unknown; result?: ToolResult; extra?: string[] }) {
  return (
    <details class="tool">
      <summary>{label}</summary>
      {input != null && <Folded text={asText(input)} />}
      {result && (
        <div class={`tool-result${result.isError ? ' failed' : ''}`}>
          <p class="muted">{result.isError ? 'Result (error)' : 'Result'}</p>
          <Folded text={resultText(result.content)} />
        </div>
      )}
      {extra.map((line, i) => (
        <p key={i} class="muted">
          {line}
        </p>
      ))}
    </details>
  );
}

function MessageView({ message, results, shownCalls, highlighted, onRewind, onFork }: { message: Message; results: Map<string, ToolResult>; shownCalls: Set<string>; highlighted: boolean; onRewind: () => void; onFork: () => void }) {
  const calls = Array.isArray(message.toolCalls) ? message.toolCalls : message.toolCalls ? [message.toolCalls] : [];
  const blocks = Array.isArray(message.content) ? message.content : [];
  // Tool calls beside the content: not again when the content has them as blocks.
  const callsBeside = blocks.some((b) => (b as { type?: unknown } | null)?.type === 'tool_use' || (b as { type?: unknown } | null)?.type === 'tool_result') ? [] : calls;
  const tool = message.role === 'TOOL';
  return (
    <li class={`message role-${message.role.toLowerCase()}${highlighted ? ' highlighted' : ''}`} id={`message-${message.id}`} aria-label={`Message ${message.index + 1}, ${message.role}`} tabIndex={highlighted ? -1 : undefined}>
      <div class="message-head">
        <span class="role">{message.role}</span>
        <span class="index">#{message.index + 1}</span>
        <time dateTime={message.createdAt} title={fullTime(message.createdAt)}>
          {shortTime(message.createdAt)}
        </time>
        <span class="spacer" />
        <button type="button" class="small" onClick={onRewind}>
          Rewind here
        </button>
        <button type="button" class="small" onClick={onFork}>
          Fork here
        </button>
      </div>
      {tool && onlyShownResults(message.content, shownCalls) ? (
        <p class="muted answered">The result, shown under its tool call above.</p>
      ) : tool && !Array.isArray(message.content) ? (
        <Collapsible label="Tool result" text={resultText(message.content)} />
      ) : (
        <Content content={message.content} results={results} />
      )}
      {callsBeside.map((call, i) => {
        // OpenAI- and Anthropic-style calls have a name; ACP's (makima worker --acp) a title, and
        // their input and result are in the Output panel.
        const c = call as { name?: string; function?: { name?: string }; title?: string; kind?: string; status?: string; input?: unknown; arguments?: unknown };
        if (toolCallIdOf(call) !== null) return <ToolCall key={i} label={`Tool call: ${c.title ?? toolCallIdOf(call)}`} input={null} extra={[[c.kind, c.status].filter(Boolean).join(' · '), 'Its input and result are in the Output panel.']} />;
        return <ToolCall key={i} label={`Tool call: ${c.name ?? c.function?.name ?? c.title ?? ''}`} input={c.input ?? c.arguments ?? call} />;
      })}
    </li>
  );
}

/**
 * The conversation from its root, 50 messages a page (the first page comes with the task's own
 * query); with `messageId`, pages on up to that message and shows it.
 */
function Conversation({ task, messageId, steer }: { task: Task; messageId?: string; steer: (s: Steering) => void }) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [page, setPage] = useState<ConversationPage['pageInfo']>({ hasNextPage: false, endCursor: null });
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);

  const show = async (next: ConversationPage, keep: Message[]): Promise<void> => {
    const all = [...keep, ...next.edges.map((e) => e.node)];
    setMessages(all);
    setPage(next.pageInfo);
    if (messageId && next.pageInfo.hasNextPage && !all.some((m) => m.id === messageId)) return show(await nextPage(next.pageInfo.endCursor), all);
  };
  const nextPage = async (after: string | null): Promise<ConversationPage> => {
    const { task: current } = await gql(CONVERSATION_QUERY, { id: task.id, after });
    if (!current) throw new ApiError('no task with this id is yours', 'NOT_FOUND');
    return current.conversation;
  };
  useEffect(() => {
    setLoading(true);
    show(task.conversation, [])
      .catch(setError)
      .finally(() => setLoading(false));
  }, [task]);
  useEffect(() => {
    if (!messageId || loading) return;
    const el = document.getElementById(`message-${messageId}`);
    el?.scrollIntoView({ block: 'center' });
    el?.focus();
  }, [messageId, loading]);

  const results = resultsByCall(messages);
  const shownCalls = callsShown(messages);
  const form = { name: '' };
  const nameField = (
    <label class="field">
      Name of the fork (optional)
      <input type="text" onInput={(e) => (form.name = e.currentTarget.value)} />
    </label>
  );
  return (
    <section aria-labelledby="conversation-title" class="conversation">
      <h2 id="conversation-title">
        Conversation <span class="muted">({task.messageCount} message{task.messageCount === 1 ? '' : 's'})</span>
      </h2>
      {error && <ApiErrorText error={error} />}
      {loading && <p role="status">Loading the conversation…</p>}
      {!loading && messages.length === 0 && <p class="empty">No messages yet.</p>}
      <ol class="messages">
        {messages.map((m) => (
          <MessageView
            key={m.id}
            message={m}
            results={results}
            shownCalls={shownCalls}
            highlighted={m.id === messageId}
            onRewind={() => steer(actions.rewindConversation(task, m))}
            onFork={() => steer(actions.forkTask(task, { message: m }, () => form.name, nameField))}
          />
        ))}
      </ol>
      {page.hasNextPage && (
        <button type="button" onClick={() => void nextPage(page.endCursor).then((next) => show(next, messages)).catch(setError)}>
          Show the next 50 messages
        </button>
      )}
    </section>
  );
}

/** The task's output events: the last 100, then new ones live as the task runs. */
function Output({ taskId }: { taskId: string }) {
  const [events, setEvents] = useState<TaskEvent[]>([]);
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    gql(EVENTS_QUERY, { id: taskId }).then(({ task }) => {
      if (cancelled || !task) return;
      const first = task.events.edges.map((e) => e.node);
      setEvents(first);
      stop = follow({
        document: LIVE_EVENTS,
        field: 'taskEvents',
        // With no event yet there is no cursor: follow live from now.
        after: first[first.length - 1]?.cursor,
        variables: (after) => ({ taskId, after }),
        onEvent: (event) => setEvents((old) => (old.some((e) => e.seq >= event.seq) ? old : [...old, event])),
        onError: setError,
      });
    }, setError);
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [taskId]);
  return (
    <section aria-labelledby="output-title" class="output">
      <h2 id="output-title">Output</h2>
      {error && <ApiErrorText error={error} />}
      {events.length === 0 ? (
        <p class="empty">No output yet; it appears here live while the task runs.</p>
      ) : (
        <ol class="events" aria-live="polite">
          {outputRows(events).map(({ event: e, under, chunks }) => (
            <li key={e.id} class={`task-event type-${e.type.toLowerCase()}`}>
              <time dateTime={e.createdAt}>{shortTime(e.createdAt)}</time> <span class="kind">{e.type}</span>
              {chunks ? <ChunkText kind={acpChunkOf(e.data)!.kind} chunks={chunks} /> : under ? <AcpToolCall call={e.data} under={under} /> : <EventData data={e.data} />}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

interface OutputRow {
  event: TaskEvent;
  /** An ACP tool call's result and the permission decision about it, shown under it. */
  under?: unknown[];
  /** Consecutive ACP chunks of one kind, joined into one row. */
  chunks?: unknown[];
}

/**
 * The rows of the Output panel: an import's tool events (copies of the conversation's tool blocks)
 * left out; an ACP tool call with its result and its permission decision under it; consecutive
 * ACP chunks of one kind as one row of text.
 */
function outputRows(events: TaskEvent[]): OutputRow[] {
  const announced = new Set(events.filter((e) => e.type === 'TOOL_CALL').map((e) => toolCallIdOf(e.data)).filter((id): id is string => id !== null));
  const under = new Map<string, unknown[]>();
  const rows: OutputRow[] = [];
  for (const e of events) {
    const d = (e.data ?? {}) as Record<string, unknown>;
    if (typeof d.messageId === 'string' && d.toolUseId !== undefined) continue;
    const callId = toolCallIdOf(e.data);
    if (callId !== null && announced.has(callId) && (e.type === 'TOOL_RESULT' || (e.type === 'STATUS' && (d.acp === 'tool_call_update' || d.acp === 'permission')))) {
      if (d.acp !== 'tool_call_update') (under.get(callId) ?? under.set(callId, []).get(callId)!).push(e.data);
      continue;
    }
    const chunk = acpChunkOf(e.data);
    const last = rows.at(-1);
    if (chunk && last?.chunks && acpChunkOf(last.event.data)?.kind === chunk.kind) last.chunks.push(chunk.content);
    else if (chunk) rows.push({ event: e, chunks: [chunk.content] });
    else if (e.type === 'TOOL_CALL' && callId !== null) rows.push({ event: e, under: under.get(callId) ?? under.set(callId, []).get(callId)! });
    else rows.push({ event: e });
  }
  return rows;
}

/** Chunks of a turn as the text they make; thought chunks folded like a message's thinking. */
function ChunkText({ kind, chunks }: { kind: string; chunks: unknown[] }) {
  const text = chunks.map((c) => ((c as { text?: unknown } | null)?.text === undefined ? mentionOf(c) : String((c as { text: unknown }).text))).join('');
  return kind === 'agent_thought_chunk' ? <Collapsible label={thinkingLine(text)} text={text} kind="thinking" /> : <Folded text={text} />;
}

/** An ACP tool call (makima worker --acp): its title, its input, its result (content as text, else the raw output's) and the permission decision under it. */
function AcpToolCall({ call, under }: { call: unknown; under: unknown[] }) {
  const c = (call ?? {}) as { toolCallId?: string; title?: string | null; rawInput?: unknown };
  const done = under.map((u) => u as Record<string, unknown>).find((u) => u.acp === undefined);
  const raw = done?.rawOutput as { output?: unknown } | null | undefined;
  const content = Array.isArray(done?.content) && done.content.length ? done.content : typeof raw?.output === 'string' ? raw.output : raw;
  const result = done ? { content: content ?? '', isError: done.status === 'failed' } : undefined;
  const decisions = under.map((u) => u as Record<string, unknown>).filter((u) => u.acp === 'permission').map((u) => `Permission ${String(u.decision)} (policy ${String(u.policy)})`);
  return <ToolCall label={c.title ?? c.toolCallId ?? 'tool call'} input={c.rawInput} result={result} extra={decisions} />;
}

/** An event's data: its text when it has one; an ACP event with a toolCallId under its title; else its JSON. */
function EventData({ data }: { data: unknown }) {
  const d = (data ?? {}) as { text?: unknown; acp?: unknown; toolCallId?: unknown; title?: unknown };
  if (typeof d.text === 'string') return <Folded text={d.text} />;
  if (typeof d.toolCallId === 'string' && d.acp === undefined) return <Collapsible label={typeof d.title === 'string' ? d.title : d.toolCallId} text={asText(data)} />;
  return <Folded text={asText(data)} />;
}

function CheckpointRow({ task, checkpoint, steer }: { task: Task; checkpoint: Checkpoint; steer: (s: Steering) => void }) {
  const [diff, setDiff] = useState<CheckpointDiff>();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<ApiError>();
  const added = checkpoint.filesChanged.reduce((n, f) => n + f.additions, 0);
  const removed = checkpoint.filesChanged.reduce((n, f) => n + f.deletions, 0);
  const toggle = async () => {
    setOpen(!open);
    if (diff || open) return;
    try {
      const { node } = await gql(DIFF_QUERY, { id: checkpoint.id });
      if (node && 'diff' in node) setDiff(node.diff);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const form: { mode: RewindMode; name: string } = { mode: 'CODE', name: '' };
  const modeField = (
    <fieldset class="field">
      <legend>What to rewind</legend>
      {(['CODE', 'CONVERSATION', 'BOTH'] as const).map((m) => (
        <label key={m} class="radio">
          <input type="radio" name="mode" value={m} defaultChecked={m === 'CODE'} onChange={() => (form.mode = m)} /> {m === 'CODE' ? 'Code' : m === 'CONVERSATION' ? 'Conversation' : 'Both'}
        </label>
      ))}
    </fieldset>
  );
  const nameField = (label: string, required: boolean) => (
    <label class="field">
      {label}
      <input type="text" required={required} onInput={(e) => (form.name = e.currentTarget.value)} />
    </label>
  );
  return (
    <li class={`checkpoint${checkpoint.isBackup ? ' backup' : ''}`} aria-label={`Checkpoint ${checkpoint.number}`}>
      <div class="checkpoint-head">
        <strong>#{checkpoint.number}</strong> <span>{checkpoint.message}</span>
        {checkpoint.isBackup && <span class="badge">backup</span>}
        <code>{shortSha(checkpoint.commitSha)}</code>
        <span class="plus">+{added}</span> <span class="minus">−{removed}</span>
        <span class="muted">{checkpoint.filesChanged.length} file(s)</span>
        <time dateTime={checkpoint.createdAt}>{shortTime(checkpoint.createdAt)}</time>
      </div>
      <div class="checkpoint-actions">
        <button type="button" class="small" aria-expanded={open} onClick={() => void toggle()}>
          {open ? 'Hide diff' : 'Show diff'}
        </button>
        <button type="button" class="small" onClick={() => steer(actions.rewindTask(task, checkpoint, () => form.mode, modeField))}>
          Rewind…
        </button>
        <button type="button" class="small" onClick={() => steer(actions.forkTask(task, { checkpoint }, () => form.name, nameField('Name of the fork (optional)', false)))}>
          Fork…
        </button>
        <button type="button" class="small" onClick={() => steer(actions.branchFromCheckpoint(task, checkpoint, () => form.name, nameField('Branch name', true)))}>
          Branch…
        </button>
        <button type="button" class="small" onClick={() => steer(actions.resumeFromCheckpoint(task, checkpoint))}>
          Resume from here…
        </button>
      </div>
      {open && (error ? <ApiErrorText error={error} /> : diff ? <Diff diff={diff} /> : <p role="status">Loading the diff…</p>)}
    </li>
  );
}

/** This task's forks, and theirs, each with where it left its original. */
function Forks({ task, version }: { task: Task; version: number }) {
  // `version` only makes useQuery run again after a steering action.
  const { data, error } = useQuery(FORKS_QUERY, { id: task.id }, version);
  const forks = data?.task?.forks.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="forks-title">
      <h2 id="forks-title">Forks</h2>
      {error && <ApiErrorText error={error} />}
      {data && forks.length === 0 && <p class="empty">No forks of this task.</p>}
      {forks.length > 0 && (
        <div class="tree" aria-label="Forks of this task">
          <p>
            <strong>{task.name}</strong> (this task)
          </p>
          <ForkTree forks={forks} root={task} />
        </div>
      )}
    </section>
  );
}

/** `root`: the task whose page this is; each fork links to its comparison with it. */
function ForkTree({ forks, root }: { forks: ForkNode[]; root: Task }) {
  return (
    <ul class="fork-tree">
      {forks.map((f) => (
        <li key={f.id}>
          <a href={`#/task/${f.id}`}>{f.name}</a> <span class={`status status-${f.status.toLowerCase()}`}>{f.status}</span>{' '}
          <span class="muted">
            left at {f.forkedAtCheckpoint ? `checkpoint #${f.forkedAtCheckpoint.number}` : f.forkedAtMessage ? `message ${f.forkedAtMessage.index + 1}` : 'its start'}
          </span>{' '}
          <a href={`#/compare?a=${encodeURIComponent(root.id)}&b=${encodeURIComponent(f.id)}`} aria-label={`Compare “${root.name}” with “${f.name}”`}>
            compare
          </a>
          {f.forks && f.forks.edges.length > 0 && <ForkTree forks={f.forks.edges.map((e) => e.node)} root={root} />}
        </li>
      ))}
    </ul>
  );
}

export function TaskPage({ id, messageId }: { id: string; messageId?: string }) {
  const { data, error, loading, reload } = useQuery(TASK_QUERY, { id });
  const [steering, setSteering] = useState<Steering>();
  const [version, setVersion] = useState(0);
  if (loading && !data) return <main><p role="status">Loading the task…</p></main>;
  if (error) return <main><ApiErrorText error={error} /></main>;
  const task = data?.task;
  if (!task) return <main><p class="error" role="alert">NOT_FOUND: no task with this id is yours.</p></main>;
  const cancelForm = { reason: '' };
  return (
    <main class="task-page">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/">Timeline</a> ›{' '}
        {task.contract && (
          <>
            <a href={`#/contract/${task.contract.id}`}>{task.contract.name}</a> ›{' '}
          </>
        )}
        <span aria-current="page">{task.name}</span>
      </nav>
      <h1>
        {task.name} <span class={`status status-${task.status.toLowerCase()}`}>{task.status}</span>
      </h1>
      <dl class="facts">
        {task.isSupervisor && (<><dt>Role</dt><dd>the contract's supervisor</dd></>)}
        {task.branch && (<><dt>Branch</dt><dd><code>{task.branch}</code> at <code>{shortSha(task.headCommit)}</code></dd></>)}
        {task.workerId && (<><dt>Worker</dt><dd>{task.workerId}{task.leaseExpiresAt && <> · lease ends {relative(task.leaseExpiresAt)}</>}</dd></>)}
        {task.forkedFrom && (<><dt>Forked from</dt><dd><a href={`#/task/${task.forkedFrom.id}`}>{task.forkedFrom.name}</a> at {task.forkedAtCheckpoint ? `checkpoint #${task.forkedAtCheckpoint.number}` : task.forkedAtMessage ? `message ${task.forkedAtMessage.index + 1}` : 'its start'} · <a href={`#/compare?a=${encodeURIComponent(task.forkedFrom.id)}&b=${encodeURIComponent(task.id)}`}>compare with it</a></dd></>)}
        {task.continuedFrom && (<><dt>Continues</dt><dd><a href={`#/task/${task.continuedFrom.id}`}>{task.continuedFrom.name}</a></dd></>)}
        {task.lastError && (<><dt>Last error</dt><dd>{task.lastError}</dd></>)}
        {task.agentSession && (<><dt>Agent</dt><dd>{task.agentSession.agentName ?? 'unnamed'} {task.agentSession.agentVersion ?? ''} · {task.agentSession.protocol} session <code>{task.agentSession.sessionId}</code></dd></>)}
        {usageText(task.usage) && (<><dt>Usage</dt><dd>{usageText(task.usage)}</dd></>)}
        {task.resumeNote && (<><dt>Resume note</dt><dd>{task.resumeNote}</dd></>)}
      </dl>
      {task.prompt && <details class="prompt"><summary>Prompt</summary><Folded text={task.prompt} /></details>}
      <div class="task-actions" role="group" aria-label="Steer this task">
        <button type="button" onClick={() => setSteering(actions.resumeTask(task))}>Resume…</button>
        <button type="button" onClick={() => setSteering(actions.cancelTask(task, () => cancelForm.reason, (
          <label class="field">Reason (optional)<input type="text" onInput={(e) => (cancelForm.reason = e.currentTarget.value)} /></label>
        )))}>Cancel…</button>
      </div>
      <div class="task-columns">
        <Conversation task={task} messageId={messageId} steer={setSteering} />
        <div class="side">
          <section aria-labelledby="checkpoints-title">
            <h2 id="checkpoints-title">Checkpoints</h2>
            {task.checkpoints.edges.length === 0 ? (
              <p class="empty">No checkpoints yet.</p>
            ) : (
              <ol class="checkpoints">
                {[...task.checkpoints.edges].reverse().map(({ node }) => (
                  <CheckpointRow key={node.id} task={task} checkpoint={node} steer={setSteering} />
                ))}
              </ol>
            )}
          </section>
          <Forks task={task} version={version} />
          <Output taskId={task.id} />
        </div>
      </div>
      {steering && (
        <SteeringDialog
          steering={steering}
          onClose={(changed) => {
            setSteering(undefined);
            if (changed) {
              reload();
              setVersion((v) => v + 1);
            }
          }}
        />
      )}
    </main>
  );
}
