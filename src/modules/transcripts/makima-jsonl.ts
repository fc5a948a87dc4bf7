// makima's own transcript format: one JSON record per line — a `task` header, then every `message`
// of the task's conversation tree (branches included, parents first), every `event` of its stream,
// every `checkpoint` and every `marker` (rewinds, forks, resumes). Nothing is summarised, so
// importTranscript(MAKIMA_JSONL) rebuilds the same conversation: same tree, roles, content, tool
// calls, times and head.
import type { MessageRole, TaskEventType } from '../../generated/prisma/client.js';
import { MAX_PROMPT_LENGTH } from '../tasks/index.js';
import { asRecord, jsonLines, parseTime, sessionKeyOf, usableText, type DraftEvent, type DraftMessage, type TranscriptDraft, type TranscriptSkip } from './draft.js';

export const FORMAT = 'makima-transcript';
export const VERSION = 1;

export interface TranscriptData {
  task: { id: string; name: string; prompt: string | null; status: string; contractId: string | null; branch: string | null; baseCommit: string | null; headCommit: string | null; headMessageId: string | null; forkedFromTaskId: string | null; createdAt: Date };
  messages: { id: string; parentId: string | null; role: MessageRole; content: unknown; toolCalls: unknown; depth: number; createdAt: Date; taskId: string; metadata: unknown }[];
  events: { seq: number; type: TaskEventType; data: unknown; createdAt: Date }[];
  checkpoints: { number: number; commitSha: string; branch: string; message: string; filesChanged: unknown; isBackup: boolean; createdAt: Date }[];
  markers: { kind: string; data: unknown; createdAt: Date }[];
}

export function writeMakimaJsonl(data: TranscriptData): string {
  const t = data.task;
  const records: unknown[] = [
    { type: 'task', format: FORMAT, version: VERSION, id: t.id, name: t.name, prompt: t.prompt, status: t.status, contractId: t.contractId, branch: t.branch, baseCommit: t.baseCommit, headCommit: t.headCommit, headMessageId: t.headMessageId, forkedFromTaskId: t.forkedFromTaskId, createdAt: t.createdAt },
    ...data.messages.map((m) => ({ type: 'message', id: m.id, parentId: m.parentId, role: m.role, content: m.content, toolCalls: m.toolCalls, index: m.depth, taskId: m.taskId, metadata: m.metadata ?? null, createdAt: m.createdAt })),
    ...data.events.map((e) => ({ type: 'event', seq: e.seq, eventType: e.type, data: e.data, createdAt: e.createdAt })),
    ...data.checkpoints.map((c) => ({ type: 'checkpoint', ...c })),
    ...data.markers.map((m) => ({ type: 'marker', kind: m.kind, data: m.data, createdAt: m.createdAt })),
  ];
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

const ROLES = new Set(['SYSTEM', 'USER', 'ASSISTANT', 'TOOL']);
const EVENT_TYPES = new Set(['OUTPUT', 'TOOL_CALL', 'TOOL_RESULT', 'ERROR', 'STATUS']);

export function readMakimaJsonl(content: string): TranscriptDraft {
  const skipped: TranscriptSkip[] = [];
  const messages: DraftMessage[] = [];
  const events: DraftEvent[] = [];
  let header: Record<string, unknown> | null = null;
  let headerLine = 0;
  for (const entry of jsonLines(content)) {
    if ('torn' in entry) {
      skipped.push({ line: entry.line, reason: entry.torn });
      continue;
    }
    const record = asRecord(entry.value);
    const skip = (reason: string) => skipped.push({ line: entry.line, reason });
    switch (record?.type) {
      case 'task':
        if (record.format !== FORMAT || record.version !== VERSION) skip(`a task header of another format (${String(record.format)} v${String(record.version)}); expected ${FORMAT} v${VERSION}`);
        else if (header) skip('a second task header');
        else {
          header = record;
          headerLine = entry.line;
        }
        break;
      case 'message':
        if (typeof record.id !== 'string' || !ROLES.has(record.role as string) || record.content === undefined || record.content === null) {
          skip('a message without an id, a role (SYSTEM, USER, ASSISTANT, TOOL) or content');
          break;
        }
        messages.push({
          key: record.id,
          parentKey: typeof record.parentId === 'string' ? record.parentId : null,
          role: record.role as MessageRole,
          content: record.content,
          toolCalls: record.toolCalls ?? null,
          createdAt: parseTime(record.createdAt),
          metadata: asRecord(record.metadata),
          sidechain: asRecord(record.metadata)?.isSidechain === true,
          line: entry.line,
        });
        break;
      case 'event':
        if (!EVENT_TYPES.has(record.eventType as string) || record.data === undefined || record.data === null) skip('an event without a type or data');
        else events.push({ messageKey: null, type: record.eventType as DraftEvent['type'], data: record.data as Record<string, unknown>, createdAt: parseTime(record.createdAt), line: entry.line });
        break;
      case 'checkpoint':
        skip(`checkpoint #${String(record.number)} is not imported: its commit ${String(record.commitSha).slice(0, 12)} belongs to the original repository`);
        break;
      case 'marker':
        skip(`${String(record.kind)} marker: part of the original task's history, not of its conversation`);
        break;
      default:
        skip(record ? `unknown record type "${String(record.type)}"` : 'not a JSON object');
    }
  }
  if (!header) skipped.unshift({ line: 0, reason: `no task header (a {"type":"task","format":"${FORMAT}"} line): the messages are imported under a new session` });
  const headKey = typeof header?.headMessageId === 'string' ? header.headMessageId : (messages.at(-1)?.key ?? null);
  const headerText = (field: 'name' | 'prompt') => {
    const usable = usableText(header?.[field], MAX_PROMPT_LENGTH);
    if (usable.problem) skipped.push({ line: headerLine, reason: `the task header's ${field} ${usable.problem}, so it is not used` });
    return usable.text;
  };
  return {
    sessionKey: sessionKeyOf('makima', typeof header?.id === 'string' ? header.id : (messages[0]?.key ?? 'empty')),
    name: headerText('name'),
    prompt: headerText('prompt'),
    messages,
    headKey,
    // A stream's events belong to the task, not to a message: they come with the session's first import only.
    events,
    skipped,
  };
}
